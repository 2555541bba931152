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


def input_label(name: str) -> str:
    return str(INPUT_LABELS.get(name, name))


def run_reason(reason: str) -> str:
    return str(RUN_REASONS.get(reason, reason))


def explained(text: str) -> str:
    """An explanation the engine wrote, its standard input names given by their labels
    ("base_salary 为 7600" → "基本工资 为 7600")."""
    return _NAME.sub(lambda match: input_label(match.group(1)), text)
