"""The streak kind: N periods in a row, read from its config and checked per subject.

streak — the current period and the N−1 newest past periods all meet a condition::

    {"periods": 3, "condition": {"score_below": "80"}}                # S0-5
    {"periods": 2, "condition": {"grade_in": ["A"]}}                   # S1-9, outcome "salary_up"
    {"periods": 1, "condition": {"grade_in": ["E"]}}                   # S1-9 fail, "salary_down"

    A subject with fewer than N−1 past periods is never flagged. A streak still running is
    flagged again at every close ("below 80 for 3 consecutive periods" is true again at the 4th).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from appraisal.rules.periods import Period, details, newest
from appraisal.rules.reading import Condition, read_condition, required, whole

__all__ = ["CONFIG_KEYS", "check", "read_config"]

CONFIG_KEYS = ("periods", "condition")


def read_config(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "periods": whole(required(config, "periods", "config"), "config.periods"),
        "condition": read_condition(required(config, "condition", "config"), "config.condition"),
    }


def check(rule: Mapping[str, Any], entry: Period, past: Sequence[Period]) -> tuple[str, list[Period]] | None:
    """The message and the periods of the streak ``entry`` ends, or None."""
    config = rule["config"]
    condition = Condition.from_config(config["condition"])
    needed = config["periods"] - 1
    if len(past) < needed:
        return None
    window = [*newest(past, needed), entry]
    if not all(period.meets(condition) for period in window):
        return None
    values = {
        "condition": condition.describe(),
        "count": len(window),
        "details": details(window, condition),
    }
    if len(window) == 1:
        return _("%(condition)s this period (%(details)s)") % values, window
    return _("%(condition)s for %(count)s consecutive periods (%(details)s)") % values, window
