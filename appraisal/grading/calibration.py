"""How far calibration may move a score.

Calibration cap (S1-9: HR may move a final score by at most ±5 % of it)::

    check_calibration(original, new, max_share)  # |new − original| ≤ |original| × max_share
"""

from __future__ import annotations

from decimal import Decimal

from appraisal.grading.common import written_percent
from core.explain import show
from core.numbers import to_decimal
from core.translation import _

__all__ = ["CalibrationError", "check_calibration"]


class CalibrationError(ValueError):
    """A calibrated score moved further from the original than the scheme allows."""

    def __init__(self, message: str, *, low: Decimal, high: Decimal) -> None:
        super().__init__(message)
        self.message = message
        self.low = low
        self.high = high


def check_calibration(original: object, new: object, max_share: object) -> None:
    """Refuse ``new`` when it is further from ``original`` than ``|original| × max_share`` (S1-9: 0.05)."""
    before = to_decimal(original, what="original")
    after = to_decimal(new, what="new")
    share = to_decimal(max_share, what="max_share")
    if share < 0:
        raise ValueError(_("max_share: must be at least 0, not %(value)s.") % {"value": share})
    margin = abs(before) * share
    low, high = before - margin, before + margin
    if abs(after - before) > margin:
        raise CalibrationError(
            _(
                "The calibrated score %(new)s is outside the allowed range: ±%(share)s of %(original)s = "
                "%(low)s–%(high)s."
            )
            % {
                "new": show(after),
                # A share of "-0" is allowed (it is not below 0) and has always been written "-0%".
                "share": written_percent(share),
                "original": show(before),
                "low": show(low),
                "high": show(high),
            },
            low=low,
            high=high,
        )
