"""What the pay pages call the engine's keys: component kinds, standard inputs and the reasons a pay
run is computed. The engine (payroll.engine) knows only keys; a page shows a key by its label, in
the reader's language (/work/shared/GLOSSARY.md: no English key on a zh-Hans page). A key with no
label here (an input a policy declares itself, a reason finance typed) is shown as it was typed.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# payroll/engine/kinds/: one label per kind (tests/test_wording.py checks every kind has one).
KIND_LABELS: dict[str, Promise] = {
    "accrual": pgettext_lazy("pay component kind", "Accrued balance"),
    "fixed": pgettext_lazy("pay component kind", "Fixed amount"),
    "fixed_floating_split": pgettext_lazy("pay component kind", "Fixed and floating split"),
    "formula": pgettext_lazy("pay component kind", "Formula"),
    "grade_coefficient": pgettext_lazy("pay component kind", "Grade coefficient"),
    "leader_bonus": pgettext_lazy("pay component kind", "Leader bonus"),
    "lookup": pgettext_lazy("pay component kind", "Lookup table"),
    "penalty_points": pgettext_lazy("pay component kind", "Penalty points"),
    "per_unit": pgettext_lazy("pay component kind", "Per-unit rate"),
    "pool_split": pgettext_lazy("pay component kind", "Two-level pool split"),
    "population_average": pgettext_lazy("pay component kind", "Population average"),
    "quarter_true_up": pgettext_lazy("pay component kind", "Quarterly true-up"),
    "quota_saving": pgettext_lazy("pay component kind", "Quota saving"),
    "revenue_pool": pgettext_lazy("pay component kind", "Revenue pool"),
    "tiered": pgettext_lazy("pay component kind", "Tiered rates"),
    "weighted_annual": pgettext_lazy("pay component kind", "Weighted annual"),
    "withheld": pgettext_lazy("pay component kind", "Withheld balance"),
}

# The engine's standard inputs (payroll.engine.STANDARD_NUMBERS and STANDARD_TEXTS).
INPUT_LABELS: dict[str, Promise] = {
    "base_salary": pgettext_lazy("pay input", "Base salary"),
    "score": pgettext_lazy("pay input", "Final score"),
    "grade_coefficient": pgettext_lazy("pay input", "Grade coefficient"),
    "days_worked": pgettext_lazy("pay input", "Days worked"),
    "days_in_period": pgettext_lazy("pay input", "Days in the period"),
    "grade": pgettext_lazy("pay input", "Grade"),
    "level": pgettext_lazy("pay input", "Level"),
    "role": pgettext_lazy("pay input", "Role"),
    # The pay run's standard inputs (payroll.standard); line_<CODE>_… and dept_type_<TYPE>_… are
    # named after the organisation's codes: input_label words them with the code (_CODED).
    "year": pgettext_lazy("pay input", "Year"),
    "month": pgettext_lazy("pay input", "Month in the year"),
    "calendar_month": pgettext_lazy("pay input", "Calendar month"),
    "quarter": pgettext_lazy("pay input", "Quarter"),
    "half": pgettext_lazy("pay input", "Half-year"),
    "is_quarter_end": pgettext_lazy("pay input", "Quarter end"),
    "is_half_end": pgettext_lazy("pay input", "Half-year end"),
    "is_year_end": pgettext_lazy("pay input", "Year end"),
    "period_months": pgettext_lazy("pay input", "Months in the period"),
    "period_kind": pgettext_lazy("pay input", "Period kind"),
    "left_in_period": pgettext_lazy("pay input", "Left in the period"),
    "left_in_year": pgettext_lazy("pay input", "Left in the year"),
    "years_of_service": pgettext_lazy("pay input", "Years of service"),
    "salary_grade": pgettext_lazy("pay input", "Salary grade"),
    "position": pgettext_lazy("pay input", "Position"),
    "salary_band": pgettext_lazy("pay input", "Salary band"),
    "sheet_points": pgettext_lazy("pay input", "Score sheet points"),
    "sheet_money": pgettext_lazy("pay input", "Score sheet money"),
    "dept_headcount": pgettext_lazy("pay input", "People of the department assessed"),
    "team_headcount": pgettext_lazy("pay input", "People of the team or shift assessed"),
    "dept_score": pgettext_lazy("pay input", "Department score"),
    "dept_coefficient": pgettext_lazy("pay input", "Department performance coefficient"),
    "dept_rank": pgettext_lazy("pay input", "Department rank"),
    "dept_grade": pgettext_lazy("pay input", "Department grade"),
    "team_score": pgettext_lazy("pay input", "Team or shift score"),
    "team_coefficient": pgettext_lazy("pay input", "Team or shift performance coefficient"),
    "team_rank": pgettext_lazy("pay input", "Team or shift rank"),
    "team_grade": pgettext_lazy("pay input", "Team or shift grade"),
    "unit_score": pgettext_lazy("pay input", "Own unit's score"),
    "unit_coefficient": pgettext_lazy("pay input", "Own unit's performance coefficient"),
    "unit_rank": pgettext_lazy("pay input", "Own unit's rank"),
    "unit_grade": pgettext_lazy("pay input", "Own unit's grade"),
    "dept_up1_score": pgettext_lazy("pay input", "Parent department's score"),
    "dept_up1_coefficient": pgettext_lazy("pay input", "Parent department's performance coefficient"),
    "dept_up1_rank": pgettext_lazy("pay input", "Parent department's rank"),
    "dept_up1_grade": pgettext_lazy("pay input", "Parent department's grade"),
    "dept_up2_score": pgettext_lazy("pay input", "Department two levels up's score"),
    "dept_up2_coefficient": pgettext_lazy("pay input", "Department two levels up's performance coefficient"),
    "dept_up2_rank": pgettext_lazy("pay input", "Department two levels up's rank"),
    "dept_up2_grade": pgettext_lazy("pay input", "Department two levels up's grade"),
    "dept_up3_score": pgettext_lazy("pay input", "Department three levels up's score"),
    "dept_up3_coefficient": pgettext_lazy("pay input", "Department three levels up's performance coefficient"),
    "dept_up3_rank": pgettext_lazy("pay input", "Department three levels up's rank"),
    "dept_up3_grade": pgettext_lazy("pay input", "Department three levels up's grade"),
}

# The reasons the system records when it computes a pay run by itself (payroll.tasks, from
# appraisal.signals.results_changed); finance's own reasons are shown as typed.
RUN_REASONS: dict[str, Promise] = {
    "closed": _("computed by the system after the close"),
    "calibrated": _("computed again by the system after a calibration"),
    "reopened": _("computed again by the system after the period was sent back to calibration"),
    "appeal": _("computed again by the system after an upheld appeal"),
}

_NAME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(INPUT_LABELS, key=len, reverse=True)) + r")(?![A-Za-z0-9_])")


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


# Standard inputs named after the organisation's codes (payroll.standard): line_<CODE>_points /
# _money, dept_type_<TYPE>_score / _coefficient / _rank / _grade.
_CODED: dict[str, Promise] = {
    "points": pgettext_lazy("pay input", "Points of line %(code)s"),
    "money": pgettext_lazy("pay input", "Money of line %(code)s"),
    "score": pgettext_lazy("pay input", "Score of the %(code)s department above"),
    "coefficient": pgettext_lazy("pay input", "Performance coefficient of the %(code)s department above"),
    "rank": pgettext_lazy("pay input", "Rank of the %(code)s department above"),
    "grade": pgettext_lazy("pay input", "Grade of the %(code)s department above"),
    # sums of a declared pay input (payroll.standard.SUM_PREFIXES): ytd_<input>, dept_sum_<input>, …
    "ytd_": pgettext_lazy("pay input", "%(code)s of the year so far"),
    "dept_sum_": pgettext_lazy("pay input", "%(code)s of the whole department"),
    "team_sum_": pgettext_lazy("pay input", "%(code)s of the whole team or shift"),
}
_CODED_NAME = re.compile(r"^(?:line_(?P<line>.+)_(?P<what>points|money)|dept_type_(?P<type>.+)_"
                         r"(?P<field>score|coefficient|rank|grade)|(?P<sum>ytd_|dept_sum_|team_sum_)(?P<input>.+))$")


def input_label(name: str) -> str:
    label = INPUT_LABELS.get(name)
    if label is not None:
        return str(label)
    coded = _CODED_NAME.match(name)
    if coded is None:
        return name
    code = coded.group("line") or coded.group("type") or coded.group("input")
    return str(_CODED[coded.group("what") or coded.group("field") or coded.group("sum")]) % {"code": code}


def run_reason(reason: str) -> str:
    return str(RUN_REASONS.get(reason, reason))


def explained(text: str) -> str:
    """An explanation the engine wrote, its standard input names given by their labels
    ("base_salary 为 7600" → "基本工资 为 7600")."""
    return _NAME.sub(lambda match: input_label(match.group(1)), text)
