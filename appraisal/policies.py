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
from appraisal import rules as rule_engine
from appraisal.models import GradingPolicy
from appraisal.policy_checks import policy_problems
from core.explain import listed
from organizations.models import Organization, ReviewGroup, User


class PolicyRejected(ValueError):
    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.problems.items()))


@transaction.atomic
def save_grading_policy(*, organization: Organization, acting_user: User | None, code: str, name: str,
                        scale: Any, quotas: Any = (), rounding: str = "half_up",
                        population: str = GradingPolicy.Population.ORGANIZATION,
                        calibration_share: Decimal = Decimal("0.05"), status_grades: Mapping[str, Any] | None = None,
                        rules: Sequence[Any] = (), appeal_group: ReviewGroup | None = None,
                        untold_extension_days: int = 0) -> GradingPolicy:
    """Writes the next version of the policy ``code`` (version 1 when new), or refuses with every problem."""
    status_grades = dict(status_grades or {})
    problems = policy_problems(scale=scale, quotas=list(quotas), rounding=rounding, status_grades=status_grades,
                               rules=list(rules))
    if population not in GradingPolicy.Population.values:
        problems.setdefault("population", []).append(
            _('"%(value)s" is not one of %(options)s.')
            % {"value": population, "options": listed(GradingPolicy.Population.values)}
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
        untold_extension_days=untold_extension_days,
    )
    policy._history_user = acting_user  # type: ignore[attr-defined]
    policy.save()
    return policy
