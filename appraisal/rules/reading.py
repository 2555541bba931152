"""Reading a rule's config: the checks every kind shares, and the conditions a period may meet.

Conditions — an object with exactly one key::

    {"score_below": "80"}  {"score_at_most": "59"}  {"score_at_least": "90"}  {"grade_in": ["C", "D"]}

    A period without a score (or grade, for ``grade_in``) never meets a condition.

    Or a fact of the period and one test (:mod:`appraisal.rules.facts`)::

    {"fact": "missed_self_assessments", "at_least": "2"}  {"fact": "line:LEAVE_PERSONAL.actual", "above": "20"}

    A period without the fact never meets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appraisal.rules.facts import TESTS, fact_label, read_fact
from core import configs
from core.configs import ConfigError
from core.explain import plain, show
from core.numbers import to_decimal

__all__ = [
    "CONDITIONS",
    "Condition",
    "read_condition",
    "required",
    "rule_mapping",
    "whole",
    "written",
    "yes_no",
]

CONDITIONS = ("score_below", "score_at_most", "score_at_least", "grade_in")


def written(value: Decimal) -> str:
    """A threshold as written in the rule: no exponent, no trailing zeros (80, 79.5).

    Not :func:`core.explain.plain`: that one writes a negative zero as "0", and a rule may say
    "score_at_least": "-0"; its message has always kept the sign.
    """
    return format(value.normalize(), "f")


# --- the checks every kind shares -------------------------------------------------------------


def rule_mapping(value: object, where: str) -> Mapping[str, Any]:
    """``value`` when it is an object; a wrong rule itself is named "rule"."""
    return configs.mapping(value, where, top="rule")


def required(config: Mapping[str, Any], key: str, prefix: str) -> object:
    if config.get(key) is None:
        raise ConfigError(configs.path(prefix, key), _("This setting is required."))
    return config[key]


def whole(value: object, where: str, *, minimum: int = 1) -> int:
    """A count: an int or a string of digits ("3"); never a bool or a float."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None:
        raise ConfigError(where, _("Enter a whole number, not %(value)r.") % {"value": value})
    if number < minimum:
        raise ConfigError(
            where, _("Must be at least %(minimum)s, not %(value)s.") % {"minimum": minimum, "value": value}
        )
    return number


def yes_no(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(where, _("Enter true or false, not %(value)r.") % {"value": value})
    return value


def _number(value: object, where: str) -> Decimal:
    try:
        return to_decimal(value, what=where)
    except (TypeError, ValueError) as error:
        raise ConfigError(where, str(error)) from None


# --- conditions -------------------------------------------------------------------------------


def read_condition(value: object, where: str) -> dict[str, Any]:
    """A condition checked and normalised (a threshold as a plain string, grades as a list)."""
    condition = rule_mapping(value, where)
    if "fact" in condition:
        return _read_fact_condition(condition, where)
    configs.known_keys(condition, CONDITIONS, where)
    if len(condition) != 1:
        raise ConfigError(
            where,
            _("Give exactly one of %(options)s, not %(count)s.")
            % {"options": ", ".join(CONDITIONS), "count": len(condition)},
        )
    ((key, raw),) = condition.items()
    path = configs.path(where, key)
    if key != "grade_in":
        if raw is None:
            raise ConfigError(path, _("This setting is required."))
        return {key: format(_number(raw, path), "f")}
    if not isinstance(raw, list | tuple) or not raw:
        raise ConfigError(path, _("Enter a non-empty list of grades."))
    grades: list[str] = []
    for index, item in enumerate(raw):
        grade = configs.text(item, configs.path(path, index))
        if grade in grades:
            raise ConfigError(configs.path(path, index), _('Grade "%(grade)s" is listed twice.') % {"grade": grade})
        grades.append(grade)
    return {key: grades}


def _read_fact_condition(condition: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``{"fact": name, test: number}`` with exactly one of the tests."""
    configs.known_keys(condition, ("fact", *TESTS), where)
    fact = read_fact(condition["fact"], configs.path(where, "fact"))
    tests = [key for key in TESTS if key in condition]
    if len(tests) != 1:
        raise ConfigError(
            where,
            _("Give exactly one of %(options)s with the fact, not %(count)s.")
            % {"options": ", ".join(TESTS), "count": len(tests)},
        )
    path = configs.path(where, tests[0])
    if condition[tests[0]] is None:
        raise ConfigError(path, _("This setting is required."))
    return {"fact": fact, tests[0]: format(_number(condition[tests[0]], path), "f")}


@dataclass(frozen=True)
class Condition:
    """A normalised condition, ready to test periods against. A fact condition keeps the fact's name
    in ``fact`` and its test in ``key`` ("above" …)."""

    key: str
    threshold: Decimal | None
    grades: tuple[str, ...]
    fact: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Condition:
        if "fact" in config:
            ((key, value),) = ((k, v) for k, v in config.items() if k != "fact")
            return cls(key=key, threshold=Decimal(value), grades=(), fact=config["fact"])
        ((key, value),) = config.items()
        if key == "grade_in":
            return cls(key=key, threshold=None, grades=tuple(value))
        return cls(key=key, threshold=Decimal(value), grades=())

    @property
    def on_grades(self) -> bool:
        return self.key == "grade_in"

    def meets(self, score: Decimal | None, grade: str | None, facts: Mapping[str, Decimal] | None = None) -> bool:
        if self.fact is not None:
            return self._fact_meets((facts or {}).get(self.fact))
        if self.on_grades:
            return grade is not None and grade in self.grades
        if score is None or self.threshold is None:
            return False
        if self.key == "score_below":
            return score < self.threshold
        if self.key == "score_at_most":
            return score <= self.threshold
        return score >= self.threshold

    def _fact_meets(self, value: Decimal | None) -> bool:
        assert self.threshold is not None  # a fact condition always has its number
        if value is None:
            return False
        tests = {
            "above": value > self.threshold,
            "at_least": value >= self.threshold,
            "below": value < self.threshold,
            "at_most": value <= self.threshold,
        }
        return tests.get(self.key, value == self.threshold)

    def value_of(self, score: Decimal | None, grade: str | None, facts: Mapping[str, Decimal]) -> str | None:
        """What the condition reads of a period, as its message shows it (None: nothing to read)."""
        if self.fact is not None:
            value = facts.get(self.fact)
            return None if value is None else plain(value)
        if self.on_grades:
            return grade
        return None if score is None else show(score)

    def describe(self) -> str:
        if self.fact is not None:
            assert self.threshold is not None
            tests = {
                "above": pgettext("fact test", "above %(value)s"),
                "at_least": pgettext("fact test", "%(value)s or more"),
                "below": pgettext("fact test", "below %(value)s"),
                "at_most": pgettext("fact test", "%(value)s or less"),
                "equals": pgettext("fact test", "equal to %(value)s"),
            }
            return pgettext("fact condition", "%(fact)s %(test)s") % {
                "fact": fact_label(self.fact),
                "test": tests[self.key] % {"value": written(self.threshold)},
            }
        if self.on_grades:
            return _("grade %(grades)s") % {"grades": pgettext("grade alternatives", " or ").join(self.grades)}
        assert self.threshold is not None
        phrases = {
            "score_below": _("below %(score)s"),
            "score_at_most": _("%(score)s or below"),
            "score_at_least": _("%(score)s or above"),
        }
        return phrases[self.key] % {"score": written(self.threshold)}
