"""Quotas per grade: how they are written, read and normalised, and the count each stands for.

A quota gives a share of the population with an operator (S1-4)::

    {"grade": "S", "op": "<=", "share": "0.05"}      # ≤ 5 %; "op" is "<=", ">=" or "="

    Allowed count = population × share, rounded to a whole number with the policy's rounding:
    "half_up" (default, 四舍五入: 1.5 → 2), "down" (1.5 → 1) or "up" (1.2 → 2). The minimum shares
    (">=" and "=") may not add up to more than the whole population.

or a head count instead (S1-3: 1–2 people with full marks)::

    {"grade": "S", "op": "<=", "count": 2}      {"grade": "A", "min_count": 1, "max_count": 2}

    ``count`` (a whole number ≥ 0) goes with ``op`` like a share; ``min_count`` and/or
    ``max_count`` go without one (only ``max_count``: "<=", only ``min_count``: ">=", both
    equal: "="; normalised so). A quota gives a share, a count, or min/max counts, never two of
    them. A count is not rounded; a minimum count never asks for more people than the population
    has (min_count 1 over nobody is met).

What the forced distribution does with them is in :mod:`appraisal.grading.distribution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from django.utils.translation import ngettext

from appraisal.grading.common import ONE, ZERO, written_percent
from appraisal.grading.scale import GradeScale, as_scale
from core import configs
from core.configs import ConfigError
from core.explain import percent
from core.numbers import quantize
from core.translation import _

__all__ = ["BETWEEN", "OPERATORS", "ROUNDINGS", "Quota", "quota_list", "read_quotas", "validate_quotas"]

OPERATORS = ("<=", ">=", "=")
ROUNDINGS = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}

_QUOTA_KEYS = ("grade", "op", "share", "count", "min_count", "max_count")
_AMOUNTS = ("share", "count", "min_count", "max_count")
_RANGE = ("min_count", "max_count")
BETWEEN = "between"  # the op of a quota given as min_count … max_count


@dataclass(frozen=True)
class Quota:
    """One grade's quota: a ``share`` of the population with ``op``, a head ``count`` with ``op``,
    or a range of head counts (op "between", ``min_count`` … ``max_count``)."""

    grade: str
    op: str
    share: Decimal | None = None
    count: int | None = None
    min_count: int | None = None
    max_count: int | None = None

    @property
    def caps(self) -> bool:
        return self.op in ("<=", "=", BETWEEN)

    @property
    def requires(self) -> bool:
        return self.op in (">=", "=", BETWEEN)

    def cap(self, population: int, rounding: str) -> tuple[Decimal | None, int]:
        """How many may hold the grade: (population × share before rounding, or None for a count;
        the count)."""
        if self.share is not None:
            return _allowed(population, self.share, rounding)
        return None, self._counts()[1]

    def minimum(self, population: int, rounding: str) -> tuple[Decimal | None, int]:
        """How many must hold the grade, as :meth:`cap`; a count never asks for more people than
        the population has."""
        if self.share is not None:
            return _allowed(population, self.share, rounding)
        return None, min(self._counts()[0], population)

    def _counts(self) -> tuple[int, int]:
        """(minimum, cap) of a quota given as a head count."""
        if self.op == BETWEEN:
            return int(self.min_count or 0), int(self.max_count or 0)
        return int(self.count or 0), int(self.count or 0)

    def describe(self) -> str:
        """"≤5%", "≤2 people", "1–2 people"."""
        op = {"<=": "≤", ">=": "≥", "=": "="}.get(self.op, "")
        if self.share is not None:
            return f"{op}{written_percent(self.share)}"
        low, count = self._counts()
        if self.op == BETWEEN:
            return _("%(low)s–%(high)s people") % {"low": low, "high": count}
        return ngettext("%(op)s%(count)s person", "%(op)s%(count)s people", count) % {"op": op, "count": count}

    def config(self) -> dict[str, Any]:
        """The quota as a normalised config."""
        if self.share is not None:
            return {"grade": self.grade, "op": self.op, "share": format(self.share, "f")}
        if self.op == BETWEEN:
            return {"grade": self.grade, "min_count": self.min_count, "max_count": self.max_count}
        return {"grade": self.grade, "op": self.op, "count": self.count}


def quota_list(quotas: object, scale: GradeScale) -> list[Quota]:
    """``quotas`` checked against ``scale`` (a list of configs or Quota objects)."""
    if not isinstance(quotas, list | tuple):
        raise ConfigError("quotas", _("Enter a list (it may be empty)."))
    codes = [grade.code for grade in scale.grades]
    result: list[Quota] = []
    seen: set[str] = set()
    for index, raw in enumerate(quotas):
        where = configs.path("quotas", index)
        entry = configs.mapping(raw.config() if isinstance(raw, Quota) else raw, where)
        configs.known_keys(entry, _QUOTA_KEYS, where)
        grade = configs.text(entry.get("grade"), configs.path(where, "grade"))
        if grade not in codes:
            raise ConfigError(
                configs.path(where, "grade"),
                _('"%(value)s" is not one of %(options)s.') % {"value": grade, "options": ", ".join(codes)},
            )
        if grade in seen:
            raise ConfigError(
                configs.path(where, "grade"), _('Grade "%(grade)s" has a quota already.') % {"grade": grade}
            )
        seen.add(grade)
        result.append(_quota(entry, grade, where))
    required = sum((quota.share for quota in result if quota.requires and quota.share is not None), ZERO)
    if required > ONE:
        raise ConfigError(
            "quotas",
            _("The minimum shares add up to %(total)s, more than the whole population.") % {"total": percent(required)},
        )
    return result


def _quota(entry: Mapping[str, Any], grade: str, where: str) -> Quota:
    """One quota read: a share or a count with its op, or min_count and/or max_count without one."""
    amounts = [key for key in _AMOUNTS if entry.get(key) is not None]
    ranged = bool(amounts) and all(key in _RANGE for key in amounts)
    op = entry.get("op")
    if ranged and op is not None:
        raise ConfigError(configs.path(where, "op"), _("A quota given as min_count or max_count takes no op."))
    if not ranged and op not in OPERATORS:
        raise ConfigError(
            configs.path(where, "op"),
            _('"%(value)s" is not one of %(options)s.') % {"value": op, "options": ", ".join(OPERATORS)},
        )
    if not amounts:
        raise ConfigError(configs.path(where, "share"), _("This setting is required."))
    if len(amounts) > 1 and not ranged:
        raise ConfigError(
            configs.path(where, amounts[-1]),
            _("Give a share, a count, or min_count and/or max_count, not %(keys)s together.")
            % {"keys": ", ".join(amounts)},
        )
    if amounts == ["share"]:
        share = configs.number(entry["share"], configs.path(where, "share"), minimum=ZERO, maximum=ONE)
        return Quota(grade=grade, op=str(op), share=share)
    if amounts == ["count"]:
        return Quota(grade=grade, op=str(op), count=_head_count(entry, "count", where))
    return _range(entry, grade, where)


def _head_count(entry: Mapping[str, Any], key: str, where: str) -> int | None:
    """A head count (a whole number, at least 0), None when not given."""
    if entry.get(key) is None:
        return None
    return configs.whole_number(entry[key], configs.path(where, key), minimum=0)


def _range(entry: Mapping[str, Any], grade: str, where: str) -> Quota:
    """min_count … max_count; one of them alone is "≥" or "≤" that count, both equal "="."""
    low, high = _head_count(entry, "min_count", where), _head_count(entry, "max_count", where)
    if low is None:
        return Quota(grade=grade, op="<=", count=high)
    if high is None:
        return Quota(grade=grade, op=">=", count=low)
    if high < low:
        raise ConfigError(
            configs.path(where, "max_count"),
            _("The max_count %(high)s is below the min_count %(low)s.") % {"high": high, "low": low},
        )
    if high == low:
        return Quota(grade=grade, op="=", count=low)
    return Quota(grade=grade, op=BETWEEN, min_count=low, max_count=high)


def read_quotas(quotas: object, scale: GradeScale | Mapping[str, Any]) -> list[Quota]:
    """``quotas`` checked against ``scale``, as :class:`Quota` objects."""
    return quota_list(quotas, as_scale(scale))


def validate_quotas(quotas: object, scale: GradeScale | Mapping[str, Any]) -> list[dict[str, Any]]:
    """``quotas`` checked against ``scale`` and normalised (shares as plain strings, counts as ints)."""
    return [quota.config() for quota in quota_list(quotas, as_scale(scale))]


def _allowed(population: int, share: Decimal, rounding: str) -> tuple[Decimal, int]:
    exact = Decimal(population) * share
    return exact, int(quantize(exact, 0, ROUNDINGS[rounding]))
