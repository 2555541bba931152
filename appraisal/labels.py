"""What the pages call the keys appraisal stores: the outcomes of the rules over consecutive periods
(appraisal.rules: a rule's ``outcome`` is a key its caller acts on) and the machine reasons the
services write into the audit trail. A result's flag reads "末三名 · 不发放奖励", never
"bottom3 · no_award" (/work/shared/GLOSSARY.md: no English key on a zh-Hans page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# The outcomes the schemes use (appraisal.rules, SCHEMES.md) and the two the close adds itself.
OUTCOME_LABELS: dict[str, Promise] = {
    "no_award": pgettext_lazy("rule outcome", "no award"),
    "accountability": pgettext_lazy("rule outcome", "held accountable"),
    "unfit": pgettext_lazy("rule outcome", "unfit for the post"),
    "salary_up": pgettext_lazy("rule outcome", "salary grade up"),
    "salary_down": pgettext_lazy("rule outcome", "salary grade down"),
    "warning": pgettext_lazy("rule outcome", "warning"),
    "dismissal_review": pgettext_lazy("rule outcome", "dismissal review"),
    "eliminated": pgettext_lazy("rule outcome", "eliminated"),
    "advanced": pgettext_lazy("rule outcome", "advanced collective"),
    "set_grade": pgettext_lazy("rule outcome", "grade set by the rule"),
    "not_assessed": pgettext_lazy("rule outcome", "not assessed"),
    # appraisal.services.closing: a rule that could not apply, a sheet closed incomplete.
    "not_applied": pgettext_lazy("rule outcome", "not applied"),
    "closed_anyway": pgettext_lazy("rule outcome", "closed incomplete"),
}


def outcome_label(outcome: str) -> str:
    """The outcome's label; an outcome HR invented without a label here is not shown as a key."""
    found = OUTCOME_LABELS.get(outcome)
    return str(found) if found is not None else ""


def rule_names(rules: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """code → name of a grading policy's rules (a rule without a name is called by its code)."""
    return {str(rule.get("code", "")): str(rule.get("name") or rule.get("code", "")) for rule in rules or []}


def flag_label(flag: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """A result's flag as the pages show it: the rule's name and the outcome's label."""
    rule = str(flag.get("rule", ""))
    parts = [names.get(rule, rule), outcome_label(str(flag.get("outcome", "")))]
    return " · ".join(part for part in parts if part)
