"""How numbers are written inside explanations ("实际值 312.456 … 得分 39.32"): one set of helpers
for the scoring methods, grading, the rules and the pay components, so that a score is written the
same way on the sheet, in a grade's reason and on the pay slip."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from core.numbers import quantize
from core.translation import pgettext

HUNDRED = Decimal(100)


def plain(value: Decimal) -> str:
    """A count, rate, coefficient or threshold as written: no exponent, no trailing zeros (1.2, 300, 79.5)."""
    shown = str(value)
    if "E" in shown or "e" in shown:
        shown = format(value, "f")
    if "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def show(value: Decimal) -> str:
    """A score or an input: two decimals at least, but never rounded away (coal 312.456 g/kWh)."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return plain(value)
    return str(quantize(value, 2))


def money(value: Decimal) -> str:
    """An amount of money or a result in points: to the fen / 0.01 point (half up)."""
    return str(quantize(value, 2))


def percent(share: Decimal) -> str:
    """A share (0.2) as a percentage (20%), never rounded."""
    return f"{plain(share * HUNDRED)}%"


def sep() -> str:
    """Between the steps of one explanation."""
    return pgettext("explanation separator", "; ")


def listed(parts: Iterable[str]) -> str:
    """Items named one after another in an explanation."""
    return pgettext("explanation list", ", ").join(parts)
