"""What the rules are given and what they return.

Inputs:

    ``current`` — one :class:`Outcome` per subject for the period that closes (``period``, its
    code, e.g. "2025-03" or "2025-Q3"). ``status`` is "normal", "refused" (counts, score 0),
    or "exempt" / "long_leave" / "not_assessed": such a subject's current period never meets a
    condition and is never ranked, so nothing flags it this period.
    ``history`` — for each key, a sequence of :class:`Past` ordered OLDEST → NEWEST covering the
    periods of the same kind immediately before ``period``. A period in which the subject was not
    assessed (joined later, on leave …) must still be given, as ``Past(code, None, None)``: it
    meets no condition and so BREAKS a streak. Leaving it out would join two runs that were not
    consecutive. A key missing from ``history`` has no past periods; keys in ``history`` without
    a current outcome are ignored.
    ``facts`` (on both) — the period's facts by name (:mod:`appraisal.rules.facts`), numbers as
    Decimals, ints or strings; a fact given as None, or left out, is one the period does not have.
    The year of a period (for ``same_year``) is ``Past.year`` / evaluate's ``year`` when given,
    otherwise the first four digits of the period code ("2025-Q1", "2025-03", "2025" → 2025).
    Give it explicitly for codes that do not start with their year, or for periods that run
    across the new year (S0-2: 26 December to 25 January is the January period).

Output: flags in rule order, and within a rule in the order of ``current``. Each :class:`Flag`
carries the key, the rule's code, name and outcome, the periods that made it and a message such
as "below 80 for 3 consecutive periods (2025-01 78.50, 2025-02 79.00, 2025-03 77.25)".
The list is a :class:`Flags`: its ``notices`` name, in rule order, the rules that could not be
applied this period and why (a :class:`Notice`, e.g. a bottom-N ranking with no more subjects
than places: nobody is flagged, and the notice says the population is too small).
A rule whose outcome is "set_grade" puts its grade on its flags (``Flag.grade``).

Outcomes with a meaning (any other outcome is a label the caller acts on as it likes):

    "set_grade" (with the rule's "grade") and "not_assessed" FORCE the result: the close applies
    them before the forced distribution and leaves those subjects out of it (see
    :func:`~appraisal.rules.evaluation.forced`); "salary_up", "salary_down", "eliminated" and
    "unfit" change the person once HR confirms them (appraisal.services.outcomes).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["FORCING", "NOT_ASSESSED", "PERSON_OUTCOMES", "RANKED", "SET_GRADE", "STATUSES", "Flag", "Flags",
           "Notice", "Outcome", "Past", "RulesError"]

STATUSES = ("normal", "refused", "exempt", "long_leave", "not_assessed")
RANKED = ("normal", "refused")  # ranked, counted in the population, may meet conditions

# Outcomes the close acts on before the distribution is final (a rule's "grade" says which grade):
SET_GRADE = "set_grade"
NOT_ASSESSED = "not_assessed"
FORCING = (SET_GRADE, NOT_ASSESSED)
# Outcomes that change the person, written to them once HR confirms (appraisal.services.outcomes).
PERSON_OUTCOMES = ("salary_up", "salary_down", "eliminated", "unfit")


class RulesError(ValueError):
    """Inputs that cannot be evaluated as they stand (a key listed twice, an unknown status …)."""


@dataclass(frozen=True)
class Outcome:
    """A subject's result in the period that closes. ``rank``/``population`` are informational."""

    key: Hashable
    score: Decimal | None
    grade: str | None
    rank: int | None
    population: int
    status: str = "normal"
    facts: Mapping[str, object] = field(default_factory=dict)  # appraisal.rules.facts; numbers


@dataclass(frozen=True)
class Past:
    """A subject's result in an earlier period; ``Past(code, None, None)`` = not assessed then."""

    period: str
    score: Decimal | None
    grade: str | None
    year: int | None = None  # None: the first four digits of ``period``
    facts: Mapping[str, object] = field(default_factory=dict)  # the period's facts, as for Outcome


@dataclass(frozen=True)
class Flag:
    key: Hashable
    rule_code: str
    outcome: str
    message: str
    rule_name: str = ""
    periods: tuple[str, ...] = ()  # the periods that made the flag, oldest first
    tied: bool = False  # bottom_n: on the line together with more subjects than places
    grade: str | None = None  # the grade a "set_grade" rule sets


@dataclass(frozen=True)
class Notice:
    """A rule that flagged nobody because it could not be applied, and why (for HR, not a subject)."""

    rule_code: str
    outcome: str  # the rule's outcome, which nobody gets this period
    message: str
    rule_name: str = ""


class Flags(list[Flag]):
    """The flags the rules raise (a plain list of :class:`Flag`), with the rules' ``notices``."""

    def __init__(self, flags: Iterable[Flag] = (), notices: Iterable[Notice] = ()) -> None:
        super().__init__(flags)
        self.notices: list[Notice] = list(notices)
