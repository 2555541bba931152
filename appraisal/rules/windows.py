"""The count_in_window kind: N of the last M periods, read from its config and checked per subject.

count_in_window — at least ``count`` of the last ``of_last`` periods (current included)::

    {"count": 2, "of_last": 4, "condition": {"grade_in": ["C"]}, "same_year": true,
     "current_must_meet": true}                                        # S1-4, outcome "unfit"

    ``same_year`` (default false): only periods of the current period's year are looked at (S1-4:
    "within a natural year"). ``current_must_meet`` (default true): the rule fires only at a
    close whose own period meets the condition, the period that makes the count; without it the
    same two C quarters would be flagged again at every close until they leave the window. Set it
    to false to flag everyone who stands at the count. Fewer past periods than ``of_last`` − 1
    simply make a shorter window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from appraisal.rules.outcomes import RulesError
from appraisal.rules.periods import Period, details, newest
from appraisal.rules.reading import Condition, read_condition, required, whole, yes_no
from core.configs import ConfigError

__all__ = ["CONFIG_KEYS", "check", "read_config"]

CONFIG_KEYS = ("count", "of_last", "condition", "same_year", "current_must_meet")


def read_config(config: Mapping[str, Any]) -> dict[str, Any]:
    count = whole(required(config, "count", "config"), "config.count")
    of_last = whole(required(config, "of_last", "config"), "config.of_last")
    if of_last < count:
        raise ConfigError(
            "config.of_last",
            _("The window of %(of_last)s periods cannot hold %(count)s periods.")
            % {"of_last": of_last, "count": count},
        )
    same_year = config.get("same_year", False)
    current_must_meet = config.get("current_must_meet", True)
    return {
        "count": count,
        "of_last": of_last,
        "condition": read_condition(required(config, "condition", "config"), "config.condition"),
        "same_year": yes_no(same_year, "config.same_year"),
        "current_must_meet": yes_no(current_must_meet, "config.current_must_meet"),
    }


def check(rule: Mapping[str, Any], entry: Period, past: Sequence[Period]) -> tuple[str, list[Period]] | None:
    """The message and the periods that meet the condition when ``entry`` makes the count, or None."""
    config = rule["config"]
    condition = Condition.from_config(config["condition"])
    window = [*newest(past, config["of_last"] - 1), entry]
    if config["same_year"]:
        window = _same_year(rule, entry, window)
    if config["current_must_meet"] and not entry.meets(condition):
        return None
    met = [period for period in window if period.meets(condition)]
    if len(met) < config["count"]:
        return None
    values = {
        "condition": condition.describe(),
        "met": len(met),
        "window": len(window),
        "year": entry.year,
        "details": details(window, condition),
    }
    if config["same_year"]:
        message = _("%(condition)s in %(met)s of the last %(window)s periods of %(year)s (%(details)s)") % values
    else:
        message = _("%(condition)s in %(met)s of the last %(window)s periods (%(details)s)") % values
    return message, met


def _same_year(rule: Mapping[str, Any], entry: Period, window: list[Period]) -> list[Period]:
    """The periods of ``window`` in the year of ``entry``; every year must be known to tell."""
    for period in window:
        if period.year is None:
            raise RulesError(
                _(
                    "The year of the period %(period)s is not known for %(rule)s: give the year, or a period "
                    "code starting with it."
                )
                % {"period": period.code, "rule": rule["code"]}
            )
    return [period for period in window if period.year == entry.year]
