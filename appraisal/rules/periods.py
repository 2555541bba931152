"""A subject's periods as the rules see them: the one that closes and the past ones, read from
:class:`~appraisal.rules.outcomes.Outcome` and :class:`~appraisal.rules.outcomes.Past`."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appraisal.rules.outcomes import RANKED, STATUSES, Outcome, Past, RulesError
from appraisal.rules.reading import Condition
from core.numbers import to_decimal

__all__ = ["Period", "current_period", "details", "newest", "past_periods"]

ZERO = Decimal(0)

_YEAR = re.compile(r"^(\d{4})")


def _status_label(status: str) -> str:
    labels = {
        "refused": _("refused"),
        "exempt": _("exempt"),
        "long_leave": _("on long leave"),
        "not_assessed": _("not assessed"),
    }
    return labels.get(status, status)


@dataclass(frozen=True)
class Period:
    """One period of a subject as the rules see it."""

    code: str
    score: Decimal | None
    grade: str | None
    year: int | None
    status: str = "normal"
    facts: Mapping[str, Decimal] = field(default_factory=dict)

    def detail(self, condition: Condition) -> str:
        """The period in a message: "2025-03 77.25", "2025-Q1 C", "2025-02 not assessed", a fact's
        value ("2025-Q3 22"), "2025-Q2 no value" for a fact the period does not have."""
        if self.status not in RANKED:
            value = _status_label(self.status)
        else:
            shown = condition.value_of(self.score, self.grade, self.facts)
            if shown is None:
                value = _("no value") if condition.fact is not None else _("not assessed")
            else:
                value = shown
            if self.status == "refused":
                value = _("%(value)s (refused)") % {"value": value}
        return f"{self.code} {value}"

    def meets(self, condition: Condition) -> bool:
        return self.status in RANKED and condition.meets(self.score, self.grade, self.facts)


def details(periods: Iterable[Period], condition: Condition) -> str:
    """The periods that made a flag, one after another, for its message."""
    return pgettext("list separator", ", ").join(period.detail(condition) for period in periods)


def _year_of(code: str, year: int | None) -> int | None:
    if year is not None:
        return year
    match = _YEAR.match(code)
    return int(match.group(1)) if match else None


def _score(value: object, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return to_decimal(value, what=what)
    except (TypeError, ValueError) as error:
        raise RulesError(str(error)) from None


def _facts(facts: Mapping[str, object], what: str) -> dict[str, Decimal]:
    """A period's facts as Decimals (a fact given as None is a fact the period does not have)."""
    read = {name: _score(value, f"{what}.{name}") for name, value in facts.items()}
    return {name: value for name, value in read.items() if value is not None}


def current_period(outcome: Outcome, period: str, year: int | None) -> Period:
    """The period that closes, for one subject: "refused" scores 0, the unranked statuses nothing."""
    if outcome.status not in STATUSES:
        raise RulesError(
            _('%(key)s: "%(status)s" is not one of %(options)s.')
            % {"key": outcome.key, "status": outcome.status, "options": ", ".join(STATUSES)}
        )
    score = _score(outcome.score, f"{outcome.key}.score")
    if outcome.status == "refused":
        score = ZERO
    elif outcome.status not in RANKED:
        score = None
    grade = outcome.grade if outcome.status in RANKED else None
    return Period(code=period, score=score, grade=grade, year=_year_of(period, year), status=outcome.status,
                  facts=_facts(outcome.facts, f"{outcome.key}"))


def past_periods(key: Hashable, entries: Sequence[Past], period: str) -> list[Period]:
    """A subject's history, oldest first, each period once and none of them the one that closes."""
    result: list[Period] = []
    seen: set[str] = set()
    for index, past in enumerate(entries):
        if not isinstance(past, Past):
            raise RulesError(_("%(key)s: history entry %(index)s is not a Past.") % {"key": key, "index": index + 1})
        if past.period == period or past.period in seen:
            raise RulesError(_("%(key)s: the period %(period)s is given twice.") % {"key": key, "period": past.period})
        seen.add(past.period)
        result.append(
            Period(
                code=past.period,
                score=_score(past.score, f"{key}.{past.period}.score"),
                grade=past.grade,
                year=_year_of(past.period, past.year),
                facts=_facts(past.facts, f"{key}.{past.period}"),
            )
        )
    return result


def newest(periods: Sequence[Period], count: int) -> list[Period]:
    """The ``count`` newest of ``periods`` (all when there are fewer); none for count 0."""
    return list(periods[max(len(periods) - count, 0) :]) if count > 0 else []
