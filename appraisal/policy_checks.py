"""Every problem of a grading policy, by field: the one check behind the model's clean(), the
service that saves a policy, the API and the pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import gettext as _

from appraisal import grading
from appraisal import rules as rule_engine
from appraisal.choices import SpecialStatus
from core.configs import ConfigError
from core.explain import listed

STATUSES_WITH_GRADES = (SpecialStatus.EXEMPT, SpecialStatus.LONG_LEAVE)


def _add(problems: dict[str, list[str]], field: str, error: ConfigError) -> None:
    path = f"{field}.{error.field}" if error.field else field
    problems.setdefault(field, []).append(f"{path}: {error.message}")


def policy_problems(*, scale: object, quotas: object, rounding: str, status_grades: object,
                    rules: object) -> dict[str, list[str]]:
    """Every problem of a policy, by field (empty when it is sound)."""
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
            _('"%(value)s" is not one of %(options)s.') % {"value": rounding, "options": listed(grading.ROUNDINGS)}
        )
    if not isinstance(status_grades, Mapping):
        problems.setdefault("status_grades", []).append(_("Enter an object such as {\"exempt\": \"B\"}."))
    else:
        codes = {grade.code for grade in grade_scale.grades} if grade_scale else set()
        for status, grade in status_grades.items():
            if status not in STATUSES_WITH_GRADES:
                problems.setdefault("status_grades", []).append(
                    _('"%(status)s" is not a status with a set grade; use %(options)s.')
                    % {"status": status, "options": listed(STATUSES_WITH_GRADES)}
                )
            elif grade is not None and grade_scale is not None and grade not in codes:
                problems.setdefault("status_grades", []).append(
                    _('%(status)s: "%(grade)s" is not a grade of the scale (%(grades)s).')
                    % {"status": status, "grade": grade, "grades": listed(sorted(codes))}
                )
    _rule_problems(problems, rules, grade_scale)
    return problems


def _rule_problems(problems: dict[str, list[str]], rules: object, grade_scale: grading.GradeScale | None) -> None:
    """Each rule read on its own; the grade a set_grade rule sets must be one of the scale."""
    if not isinstance(rules, Sequence) or isinstance(rules, str):
        problems.setdefault("rules", []).append(_("Enter a list of rules."))
        return
    codes = [grade.code for grade in grade_scale.grades] if grade_scale else []
    for index, rule in enumerate(rules):
        try:
            normal = rule_engine.validate_rule(rule)
        except ConfigError as error:
            problems.setdefault("rules", []).append(f"rules[{index}].{error.field}: {error.message}")
            continue
        if grade_scale is not None and normal.get("grade") is not None and normal["grade"] not in codes:
            problems.setdefault("rules", []).append(
                f"rules[{index}].grade: "
                + _('"%(grade)s" is not a grade of the scale (%(grades)s).')
                % {"grade": normal["grade"], "grades": listed(codes)}
            )
