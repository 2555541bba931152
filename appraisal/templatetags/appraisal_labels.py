"""Template filters that show appraisal's keys by their labels (appraisal.labels).

    {% load appraisal_labels %}
    {{ flag|flag_label:policy }}     末三名 · 不发放奖励   (policy: the period's grading policy, or None)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.safestring import SafeString

from appraisal import labels, tables

register = template.Library()


@register.filter
def flag_label(flag: Mapping[str, Any], policy: Any = None) -> str:
    return labels.flag_label(flag, labels.rule_names(getattr(policy, "rules", None)))


@register.filter
def outcome_label(outcome: str) -> str:
    return labels.outcome_label(outcome)


@register.filter
def names_its_dates(period: Any) -> bool:
    """Whether the period's name already gives its first and last day ("2026年11月（10月26日—11月25日）"):
    a heading then shows the range once, in the name, not again beside it."""
    name = str(getattr(period, "name", "") or "")
    start, end = getattr(period, "start", None), getattr(period, "end", None)
    if start is None or end is None:
        return False
    return all(f"{day.month}月{day.day}日" in name or day.isoformat() in name for day in (start, end))


@register.filter
def sheet_progress(sheet: Any) -> SafeString:
    """A sheet's progress bar in a row of the sheet table (appraisal.tables.sheet_progress)."""
    return tables.sheet_progress(sheet)
