"""What the scale, the forced distribution and the calibration cap share: the error for scores
that cannot be graded and how a number taken from a config is written back."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["HUNDRED", "ONE", "ZERO", "GradingError", "written", "written_percent"]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


class GradingError(ValueError):
    """Scores that cannot be graded as they stand (outside the scale, a key given twice …)."""


def written(value: Decimal) -> str:
    """A bound or share as written: no exponent, no trailing zeros (90, 12.5).

    Not :func:`core.explain.plain`: that one writes a negative zero as "0", and a config may say
    "-0" (a bound, a share). Scales have always been normalised and explained with the sign kept,
    so the numbers a config carries are written this way; numbers that cannot be a negative zero
    use ``core.explain``.
    """
    return format(value.normalize(), "f")


def written_percent(share: Decimal) -> str:
    """A share from a config (0.05) as a percentage (5%), written like :func:`written`."""
    return f"{written(share * HUNDRED)}%"
