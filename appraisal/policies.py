"""Grading policies: checking one as a whole, and saving a new version.

A policy is data (scale, quotas, population, calibration cap, status grades, rules); it is
checked as a whole and refused with every problem named by field, so HR fixes everything in one
round. Saving never edits a version a period may have been closed with: it writes version n + 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from appraisal import grading
from appraisal.models import GradingPolicy, SpecialStatus
from core.configs import ConfigError
from organizations.models import Organization, ReviewGroup, User

STATUSES_WITH_GRADES = (SpecialStatus.EXEMPT, SpecialStatus.LONG_LEAVE)


class PolicyRejected(ValueError):
    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.problems.items()))


def _add(problems: dict[str, list[str]], field: str, error: ConfigError) -> None:
    path = f"{field}.{error.field}" if error.field else field
    problems.setdefault(field, []).append(f"{path}: {error.message}")


def policy_problems(*, scale: object, quotas: object, rounding: str, status_grades: object,
                    rules: object) -> dict[str, list[str]]:
    """Every problem of a policy, by field (empty when it is sound)."""
    from appraisal import rules as rule_engine

    problems: dict[str, list[str]] = {}
    try:
        grade_scale = grading.GradeScale.from_config(scale)
    except ConfigError as error:
        _add(problems, "scale", error)
        grade_scale = None
    if grade_scale is not None:
        try:
            grading.validate_quotas(quotas, grade_scale)
        except ConfigError as error:
            _add(problems, "quotas", error)
    if rounding not in grading.ROUNDINGS:
        problems.setdefault("rounding", []).append(
            _('"%(value)s" is not one of %(options)s.') % {"value": rounding, "options": ", ".join(grading.ROUNDINGS)}
        )
    if not isinstance(status_grades, Mapping):
        problems.setdefault("status_grades", []).append(_("Enter an object such as {\"exempt\": \"B\"}."))
    else:
        codes = {grade.code for grade in grade_scale.grades} if grade_scale else set()
        for status, grade in status_grades.items():
            if status not in STATUSES_WITH_GRADES:
                problems.setdefault("status_grades", []).append(
                    _('"%(status)s" is not a status with a set grade; use %(options)s.')
                    % {"status": status, "options": ", ".join(STATUSES_WITH_GRADES)}
                )
            elif grade is not None and grade_scale is not None and grade not in codes:
                problems.setdefault("status_grades", []).append(
                    _('%(status)s: "%(grade)s" is not a grade of the scale (%(grades)s).')
                    % {"status": status, "grade": grade, "grades": ", ".join(sorted(codes))}
                )
    if not isinstance(rules, Sequence) or isinstance(rules, str):
        problems.setdefault("rules", []).append(_("Enter a list of rules."))
    else:
        for index, rule in enumerate(rules):
            try:
                rule_engine.validate_rule(rule)
            except ConfigError as error:
                problems.setdefault("rules", []).append(f"rules[{index}].{error.field}: {error.message}")
    return problems


@transaction.atomic
def save_grading_policy(*, organization: Organization, acting_user: User | None, code: str, name: str,
                        scale: Any, quotas: Any = (), rounding: str = "half_up",
                        population: str = GradingPolicy.Population.ORGANIZATION,
                        calibration_share: Decimal = Decimal("0.05"), status_grades: Mapping[str, Any] | None = None,
                        rules: Sequence[Any] = (), appeal_group: ReviewGroup | None = None) -> GradingPolicy:
    """Writes the next version of the policy ``code`` (version 1 when new), or refuses with every problem."""
    from appraisal import rules as rule_engine

    status_grades = dict(status_grades or {})
    problems = policy_problems(scale=scale, quotas=list(quotas), rounding=rounding, status_grades=status_grades,
                               rules=list(rules))
    if population not in GradingPolicy.Population.values:
        problems.setdefault("population", []).append(
            _('"%(value)s" is not one of %(options)s.')
            % {"value": population, "options": ", ".join(GradingPolicy.Population.values)}
        )
    if not Decimal(0) <= calibration_share <= Decimal(1):
        problems.setdefault("calibration_share", []).append(_("Enter a share from 0 to 1, such as 0.05."))
    if problems:
        raise PolicyRejected(problems)
    grade_scale = grading.GradeScale.from_config(scale)
    latest = GradingPolicy.objects.filter(code=code).aggregate(v=Max("version"))["v"] or 0
    policy = GradingPolicy(
        organization=organization, code=code, version=latest + 1, name=name, scale=grade_scale.to_config(),
        quotas=grading.validate_quotas(list(quotas), grade_scale), rounding=rounding, population=population,
        calibration_share=calibration_share, status_grades=status_grades,
        rules=[rule_engine.validate_rule(rule) for rule in rules], appeal_group=appeal_group,
    )
    policy._history_user = acting_user  # type: ignore[attr-defined]
    policy.save()
    return policy
