"""Field helpers shared by the editors: numbers as the configs write them (strings, never floats),
percentages shown to HR for the fractions configs keep, and the Bootstrap classes of the pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

HUNDRED = Decimal(100)


def number_text(value: Decimal | None) -> str | None:
    """A cleaned number as a config writes it: "1.2", never "1.2E+1"; None stays None (not set)."""
    return None if value is None else format(value, "f")


def from_percent(value: Decimal | None) -> str | None:
    """120 (%) → "1.2": the fraction a config keeps for a percentage HR typed."""
    return None if value is None else format(value / HUNDRED, "f")


def to_percent(value: Any) -> str | None:
    """"1.2" → "120": what HR sees of a fraction a config keeps; None (not set) stays None."""
    if value in (None, ""):
        return None
    try:
        return format((Decimal(str(value)) * HUNDRED).normalize(), "f")
    except ArithmeticError:
        return str(value)


def plain(value: Any) -> str | None:
    """A config's number as the field shows it (as written); None stays None."""
    return None if value in (None, "") else str(value)


def amount(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DecimalField:
    """A number field (points, money, a count's amount) that keeps the digits HR typed."""
    return forms.DecimalField(label=label, required=required, max_digits=20, decimal_places=6, help_text=help_text,
                              widget=forms.TextInput(attrs={"inputmode": "decimal"}))


def percent(label: Any, *, required: bool = False, help_text: Any = "") -> forms.DecimalField:
    """A rate or share typed as a percentage (120 for 120 %)."""
    return amount(format_lazy("{}（%）", label), required=required, help_text=help_text)


def style(form: forms.BaseForm) -> None:
    """The Bootstrap classes the pages use, small in rows."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


REMOVE = _("Remove")
