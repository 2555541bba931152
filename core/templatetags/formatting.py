"""How numbers, dates and times read on a page (/work/shared/GLOSSARY.md, writing rules): one filter
for each, used by every template, so that a total reads the same on the run page, the slip and the
dashboard card.

    {% load formatting %}
    {{ amount|money }}            26,800.00     money: always two decimals and thousands separators
    {{ share|percent }}           80%           a weight or share (0.8)
    {{ day|long_date }}           2026年11月25日  a date in a sentence or heading
    {{ day|short_date }}          2026-11-25    a date in a table or a filter
    {{ period|date_range }}       2026-10-26 至 2026-11-25   (anything with .start and .end)
    {{ moment|long_time }}        2026年10月11日 00:00        a time in a sentence (add 北京时间 beside it)
    {{ moment|short_time }}       2026-10-11 00:00           a time in a table
    {{ field|with_empty_choice }} a select whose empty choice reads 请选择, never ---------

Times are shown in the organisation's time zone (settings.TIME_ZONE, Asia/Shanghai). Money and
shares that are not numbers (None, "") come back as an em dash, so a missing amount never reads 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.forms import BoundField
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import pgettext

from core.explain import plain
from core.numbers import quantize

register = template.Library()

MISSING = "—"


def _number(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@register.filter
def money(value: Any) -> str:
    """An amount to the fen with thousands separators: 1680 → 1,680.00, -12.5 → -12.50."""
    number = _number(value)
    if number is None:
        return MISSING if value in (None, "") else str(value)
    return f"{quantize(number, 2):,.2f}"


@register.filter
def signed_money(value: Any) -> str:
    """A difference: +120.00, -60.00, 0.00."""
    number = _number(value)
    if number is None:
        return money(value)
    shown = money(number)
    return f"+{shown}" if quantize(number, 2) > 0 else shown


@register.filter
def percent(value: Any) -> str:
    """A weight or share as a percentage, never rounded: 0.8 → 80%, 0.125 → 12.5%."""
    number = _number(value)
    if number is None:
        return MISSING
    return f"{plain(number * 100)}%"


def _local(value: dt.date | dt.datetime) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def long_date(value: dt.date | dt.datetime | None) -> str:
    """A date in a sentence or a heading: 2026年11月25日 (November 25, 2026)."""
    if not value:
        return ""
    return date_format(_local(value), pgettext("date in a sentence (Django date format)", "F j, Y"))


@register.filter
def short_date(value: dt.date | dt.datetime | None) -> str:
    """A date in a table, a filter or an export: 2026-11-25 in every language."""
    if not value:
        return ""
    return date_format(_local(value), "Y-m-d")


@register.filter
def date_range(value: Any, end: dt.date | None = None) -> str:
    """``period|date_range`` (anything with .start and .end) or ``start|date_range:end``:
    2026-10-26 至 2026-11-25."""
    start = value
    if end is None and hasattr(value, "start") and hasattr(value, "end"):
        start, end = value.start, value.end
    return pgettext("date range", "%(start)s to %(end)s") % {"start": short_date(start), "end": short_date(end)}


@register.filter
def long_time(value: dt.datetime | None) -> str:
    """A moment in a sentence: 2026年10月11日 00:00 (local time, to the minute)."""
    if not value:
        return ""
    return date_format(_local(value), pgettext("time in a sentence (Django date format)", "F j, Y H:i"))


@register.filter
def short_time(value: dt.datetime | None) -> str:
    """A moment in a table: 2026-10-11 00:00 (local time, to the minute)."""
    if not value:
        return ""
    return date_format(_local(value), "Y-m-d H:i")


@register.filter
def with_empty_choice(field: BoundField) -> BoundField:
    """The field, its empty choice labelled 请选择 (Django's default is a row of dashes)."""
    label = pgettext("empty choice of a select", "Choose")
    form_field: Any = field.field
    if hasattr(form_field, "empty_label"):  # a ModelChoiceField: its options come from a query
        if form_field.empty_label is not None and str(form_field.empty_label).strip("-") == "":
            form_field.empty_label = label
        return field
    choices = getattr(form_field, "choices", None)
    if choices is not None:
        options = list(choices)
        if any(value == "" and str(text).strip("-") == "" for value, text in options):
            form_field.choices = [("", label) if value == "" and str(text).strip("-") == "" else (value, text)
                                  for value, text in options]
    return field
