"""Rankings and rules over consecutive periods, as data, evaluated when a period closes.

S0-2 (bottom 3 departments by monthly average cannot be "advanced collective"), S0-5 (three
consecutive satisfaction scores below 80 → the head is held accountable), S1-4 (two C quarters
within a natural year → unfit), S1-7 (last place eliminated), S1-9 (salary grade up after two A
quarters or four B quarters in a row, down after two D quarters in a row or one E).

Pure Python + Decimal: no database, no models. A rule is a JSON object whose numbers are strings
(floats are refused: they lose fen), checked with :class:`~core.configs.ConfigError` naming
the wrong field, and every flag explains itself in the active language.

Public API::

    validate_rule(rule) -> dict            # normalised rule, or ConfigError (field: "config.condition.score_below")
    validate_rules(rules) -> list[dict]    # every rule, codes unique, or ConfigError (field: "rules[1].code")
    evaluate(rules, current, history, *, period, year=None) -> list[Flag]   # or ConfigError / RulesError
    Outcome, Past, Flag                    # dataclasses, below
    KINDS, CONDITIONS, STATUSES            # the allowed values

A rule::

    {"code": "s0_5_below_80", "name": "连续三次低于80分", "kind": "streak",
     "config": {"periods": 3, "condition": {"score_below": "80"}}, "outcome": "accountability"}

    ``code``, ``kind``, ``config`` and ``outcome`` are required, ``name`` defaults to the code.
    ``outcome`` is a free label the caller acts on ("unfit", "salary_up", "salary_down",
    "warning", "dismissal_review" …). Counts (``n``, ``periods`` …) are whole numbers, given as
    ints or digit strings ("3"); scores are strings ("80", "79.5"). Unknown keys are refused.

Kinds:

bottom_n — the last N of the current period's ranking (S0-2 n=3, S1-7 n=1)::

    {"n": 3, "min_population": null}

    Only subjects with status "normal" or "refused" are ranked and counted in the population;
    "refused" counts as a score of 0 (S1-4: refusing to take part → 0), whatever score it
    carries. The ranking is worked out here from the scores (best first, equal scores share a
    rank: 1, 2, 2, 4) over that population, so ``Outcome.rank`` and ``Outcome.population`` are
    informational only: an exempt colleague can never move the line. A "normal" subject without a
    score cannot be ranked and raises :class:`RulesError` (give it a score or a status such as
    "not_assessed"; nobody escapes the bottom by having no score).
    The line is the score of the Nth subject from the bottom. Everyone at or below it is flagged;
    when several subjects share the line score and there are fewer places than tied subjects, all
    of them are flagged, ``Flag.tied`` is True and the message says they tie: a tie is never
    broken silently. With fewer than N subjects everyone is flagged. ``min_population``
    (optional, ≥ 1): no flags at all when fewer subjects are ranked.

streak — the current period and the N−1 newest past periods all meet a condition::

    {"periods": 3, "condition": {"score_below": "80"}}                # S0-5
    {"periods": 2, "condition": {"grade_in": ["A"]}}                   # S1-9, outcome "salary_up"
    {"periods": 1, "condition": {"grade_in": ["E"]}}                   # S1-9 fail, "salary_down"

    A subject with fewer than N−1 past periods is never flagged. A streak still running is
    flagged again at every close ("below 80 for 3 consecutive periods" is true again at the 4th).

count_in_window — at least ``count`` of the last ``of_last`` periods (current included)::

    {"count": 2, "of_last": 4, "condition": {"grade_in": ["C"]}, "same_year": true,
     "current_must_meet": true}                                        # S1-4, outcome "unfit"

    ``same_year`` (default false): only periods of the current period's year are looked at (S1-4:
    "within a natural year"). ``current_must_meet`` (default true): the rule fires only at a
    close whose own period meets the condition, the period that makes the count; without it the
    same two C quarters would be flagged again at every close until they leave the window. Set it
    to false to flag everyone who stands at the count. Fewer past periods than ``of_last`` − 1
    simply make a shorter window.

Conditions — an object with exactly one key::

    {"score_below": "80"}  {"score_at_most": "59"}  {"score_at_least": "90"}  {"grade_in": ["C", "D"]}

    A period without a score (or grade, for ``grade_in``) never meets a condition.

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
    The year of a period (for ``same_year``) is ``Past.year`` / evaluate's ``year`` when given,
    otherwise the first four digits of the period code ("2025-Q1", "2025-03", "2025" → 2025).
    Give it explicitly for codes that do not start with their year, or for periods that run
    across the new year (S0-2: 26 December to 25 January is the January period).

Output: flags in rule order, and within a rule in the order of ``current``. Each :class:`Flag`
carries the key, the rule's code, name and outcome, the periods that made it and a message such
as "below 80 for 3 consecutive periods (2025-01 78.50, 2025-02 79.00, 2025-03 77.25)".
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from core import configs
from core.configs import ConfigError
from core.numbers import quantize, to_decimal

__all__ = [
    "CONDITIONS",
    "KINDS",
    "STATUSES",
    "ConfigError",
    "Flag",
    "Outcome",
    "Past",
    "RulesError",
    "evaluate",
    "validate_rule",
    "validate_rules",
]

ZERO = Decimal(0)

KINDS = ("bottom_n", "streak", "count_in_window")
CONDITIONS = ("score_below", "score_at_most", "score_at_least", "grade_in")
STATUSES = ("normal", "refused", "exempt", "long_leave", "not_assessed")
RANKED = ("normal", "refused")  # ranked, counted in the population, may meet conditions

_RULE_KEYS = ("code", "name", "kind", "config", "outcome")
_CONFIG_KEYS = {
    "bottom_n": ("n", "min_population"),
    "streak": ("periods", "condition"),
    "count_in_window": ("count", "of_last", "condition", "same_year", "current_must_meet"),
}
_YEAR = re.compile(r"^(\d{4})")


class RulesError(ValueError):
    """Inputs that cannot be evaluated as they stand (a key listed twice, an unknown status …)."""


# --- inputs and outputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A subject's result in the period that closes. ``rank``/``population`` are informational."""

    key: Hashable
    score: Decimal | None
    grade: str | None
    rank: int | None
    population: int
    status: str = "normal"


@dataclass(frozen=True)
class Past:
    """A subject's result in an earlier period; ``Past(code, None, None)`` = not assessed then."""

    period: str
    score: Decimal | None
    grade: str | None
    year: int | None = None  # None: the first four digits of ``period``


@dataclass(frozen=True)
class Flag:
    key: Hashable
    rule_code: str
    outcome: str
    message: str
    rule_name: str = ""
    periods: tuple[str, ...] = ()  # the periods that made the flag, oldest first
    tied: bool = False  # bottom_n: on the line together with more subjects than places


# --- formatting -------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """A threshold as written in the rule: no exponent, no trailing zeros (80, 79.5)."""
    return format(value.normalize(), "f")


def _show(value: Decimal) -> str:
    """A score in a message: two decimals at least, never rounded away."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return _plain(value)
    return str(quantize(value, 2))


def _list(items: Iterable[str]) -> str:
    return pgettext("list separator", ", ").join(items)


def _status_label(status: str) -> str:
    labels = {
        "refused": _("refused"),
        "exempt": _("exempt"),
        "long_leave": _("on long leave"),
        "not_assessed": _("not assessed"),
    }
    return labels.get(status, status)


# --- reading configs --------------------------------------------------------------------------


_where = configs.path
_known_keys = configs.known_keys
_text = configs.text


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    return configs.mapping(value, where, top="rule")


def _required(config: Mapping[str, Any], key: str, prefix: str) -> object:
    if config.get(key) is None:
        raise ConfigError(_where(prefix, key), _("This setting is required."))
    return config[key]


def _whole(value: object, where: str, *, minimum: int = 1) -> int:
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


def _yes_no(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(where, _("Enter true or false, not %(value)r.") % {"value": value})
    return value


def _number(value: object, where: str) -> Decimal:
    try:
        return to_decimal(value, what=where)
    except (TypeError, ValueError) as error:
        raise ConfigError(where, str(error)) from None


def _condition(value: object, where: str) -> dict[str, Any]:
    condition = _mapping(value, where)
    _known_keys(condition, CONDITIONS, where)
    if len(condition) != 1:
        raise ConfigError(
            where,
            _("Give exactly one of %(options)s, not %(count)s.")
            % {"options": ", ".join(CONDITIONS), "count": len(condition)},
        )
    ((key, raw),) = condition.items()
    path = _where(where, key)
    if key != "grade_in":
        if raw is None:
            raise ConfigError(path, _("This setting is required."))
        return {key: format(_number(raw, path), "f")}
    if not isinstance(raw, list | tuple) or not raw:
        raise ConfigError(path, _("Enter a non-empty list of grades."))
    grades: list[str] = []
    for index, item in enumerate(raw):
        grade = _text(item, _where(path, index))
        if grade in grades:
            raise ConfigError(_where(path, index), _('Grade "%(grade)s" is listed twice.') % {"grade": grade})
        grades.append(grade)
    return {key: grades}


def validate_rule(rule: object) -> dict[str, Any]:
    """``rule`` checked and normalised (defaults filled in, counts as ints, scores as strings)."""
    data = _mapping(rule, "")
    _known_keys(data, _RULE_KEYS)
    code = _text(data.get("code"), "code")
    name = _text(data["name"], "name") if data.get("name") is not None else code
    kind = data.get("kind")
    if kind not in KINDS:
        raise ConfigError(
            "kind", _('"%(value)s" is not one of %(options)s.') % {"value": kind, "options": ", ".join(KINDS)}
        )
    outcome = _text(data.get("outcome"), "outcome")
    config = _mapping(_required(data, "config", ""), "config")
    _known_keys(config, _CONFIG_KEYS[kind], "config")
    normal: dict[str, Any]
    if kind == "bottom_n":
        minimum = config.get("min_population")
        normal = {
            "n": _whole(_required(config, "n", "config"), "config.n"),
            "min_population": None if minimum is None else _whole(minimum, "config.min_population"),
        }
    elif kind == "streak":
        normal = {
            "periods": _whole(_required(config, "periods", "config"), "config.periods"),
            "condition": _condition(_required(config, "condition", "config"), "config.condition"),
        }
    else:
        count = _whole(_required(config, "count", "config"), "config.count")
        of_last = _whole(_required(config, "of_last", "config"), "config.of_last")
        if of_last < count:
            raise ConfigError(
                "config.of_last",
                _("The window of %(of_last)s periods cannot hold %(count)s periods.")
                % {"of_last": of_last, "count": count},
            )
        same_year = config.get("same_year", False)
        current_must_meet = config.get("current_must_meet", True)
        normal = {
            "count": count,
            "of_last": of_last,
            "condition": _condition(_required(config, "condition", "config"), "config.condition"),
            "same_year": _yes_no(same_year, "config.same_year"),
            "current_must_meet": _yes_no(current_must_meet, "config.current_must_meet"),
        }
    return {"code": code, "name": name, "kind": kind, "config": normal, "outcome": outcome}


def validate_rules(rules: object) -> list[dict[str, Any]]:
    """Every rule checked (errors named "rules[2].config.n") and codes unique."""
    if not isinstance(rules, list | tuple):
        raise ConfigError("rules", _("Enter a list (it may be empty)."))
    result: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        where = _where("rules", index)
        try:
            normal = validate_rule(rule)
        except ConfigError as error:
            field = where if error.field == "rule" else f"{where}.{error.field}"
            raise ConfigError(field, error.message) from None
        if normal["code"] in seen:
            raise ConfigError(
                f"{where}.code",
                _('The code "%(code)s" is already used by rule %(index)s.')
                % {"code": normal["code"], "index": seen[normal["code"]] + 1},
            )
        seen[normal["code"]] = index
        result.append(normal)
    return result


# --- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    key: str
    threshold: Decimal | None
    grades: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> _Condition:
        ((key, value),) = config.items()
        if key == "grade_in":
            return cls(key=key, threshold=None, grades=tuple(value))
        return cls(key=key, threshold=Decimal(value), grades=())

    @property
    def on_grades(self) -> bool:
        return self.key == "grade_in"

    def meets(self, score: Decimal | None, grade: str | None) -> bool:
        if self.on_grades:
            return grade is not None and grade in self.grades
        if score is None or self.threshold is None:
            return False
        if self.key == "score_below":
            return score < self.threshold
        if self.key == "score_at_most":
            return score <= self.threshold
        return score >= self.threshold

    def describe(self) -> str:
        if self.on_grades:
            return _("grade %(grades)s") % {"grades": pgettext("grade alternatives", " or ").join(self.grades)}
        assert self.threshold is not None
        phrases = {
            "score_below": _("below %(score)s"),
            "score_at_most": _("%(score)s or below"),
            "score_at_least": _("%(score)s or above"),
        }
        return phrases[self.key] % {"score": _plain(self.threshold)}


@dataclass(frozen=True)
class _Period:
    """One period of a subject as the rules see it."""

    code: str
    score: Decimal | None
    grade: str | None
    year: int | None
    status: str = "normal"

    def detail(self, condition: _Condition) -> str:
        """The period in a message: "2025-03 77.25", "2025-Q1 C", "2025-02 not assessed"."""
        if self.status not in RANKED:
            value = _status_label(self.status)
        else:
            shown = self.grade if condition.on_grades else (None if self.score is None else _show(self.score))
            value = _("not assessed") if shown is None else shown
            if self.status == "refused":
                value = _("%(value)s (refused)") % {"value": value}
        return f"{self.code} {value}"

    def meets(self, condition: _Condition) -> bool:
        return self.status in RANKED and condition.meets(self.score, self.grade)


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


def _current_period(outcome: Outcome, period: str, year: int | None) -> _Period:
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
    return _Period(code=period, score=score, grade=grade, year=_year_of(period, year), status=outcome.status)


def _past_periods(key: Hashable, entries: Sequence[Past], period: str) -> list[_Period]:
    result: list[_Period] = []
    seen: set[str] = set()
    for index, past in enumerate(entries):
        if not isinstance(past, Past):
            raise RulesError(_("%(key)s: history entry %(index)s is not a Past.") % {"key": key, "index": index + 1})
        if past.period == period or past.period in seen:
            raise RulesError(_("%(key)s: the period %(period)s is given twice.") % {"key": key, "period": past.period})
        seen.add(past.period)
        result.append(
            _Period(
                code=past.period,
                score=_score(past.score, f"{key}.{past.period}.score"),
                grade=past.grade,
                year=_year_of(past.period, past.year),
            )
        )
    return result


def _newest(periods: Sequence[_Period], count: int) -> list[_Period]:
    """The ``count`` newest of ``periods`` (all when there are fewer); none for count 0."""
    return list(periods[max(len(periods) - count, 0) :]) if count > 0 else []


def _bottom_n(rule: Mapping[str, Any], current: Sequence[tuple[Outcome, _Period]]) -> list[Flag]:
    config = rule["config"]
    ranked: list[tuple[Outcome, Decimal]] = []
    for outcome, entry in current:
        if entry.status not in RANKED:
            continue
        if entry.score is None:
            raise RulesError(
                _(
                    "%(key)s has status normal but no score, so it cannot be ranked for %(rule)s; give it a score "
                    "or a status such as not_assessed."
                )
                % {"key": outcome.key, "rule": rule["code"]}
            )
        ranked.append((outcome, entry.score))
    population = len(ranked)
    if population == 0 or (config["min_population"] is not None and population < config["min_population"]):
        return []
    n = config["n"]
    ascending = sorted(score for _outcome, score in ranked)
    line = ascending[min(n, population) - 1]
    below = sum(1 for score in ascending if score < line)
    on_line = sum(1 for score in ascending if score == line)
    places = min(n, population) - below
    tie = on_line > places
    flags: list[Flag] = []
    for outcome, score in ranked:
        if score > line:
            continue
        rank = 1 + sum(1 for other in ascending if other > score)
        shown = _show(score)
        if outcome.status == "refused":
            shown = _("%(score)s (refused to take part)") % {"score": shown}
        values = {"rank": rank, "population": population, "score": shown, "n": n}
        tied = tie and score == line
        if tied:
            values.update({"tied": on_line, "places": places, "line": _show(line)})
            message = (
                ngettext(
                    "rank %(rank)s of %(population)s with %(score)s: %(tied)s subjects tie at %(line)s on the line of "
                    "the bottom %(n)s with %(places)s place left, so all of them are flagged",
                    "rank %(rank)s of %(population)s with %(score)s: %(tied)s subjects tie at %(line)s on the line of "
                    "the bottom %(n)s with %(places)s places left, so all of them are flagged",
                    places,
                )
                % values
            )
        elif n == 1:
            message = _("last of %(population)s with %(score)s") % values
        else:
            message = _("rank %(rank)s of %(population)s with %(score)s, in the bottom %(n)s") % values
        flags.append(
            Flag(
                key=outcome.key,
                rule_code=rule["code"],
                outcome=rule["outcome"],
                message=message,
                rule_name=rule["name"],
                tied=tied,
            )
        )
    return flags


def _streak(rule: Mapping[str, Any], entry: _Period, past: Sequence[_Period]) -> tuple[str, list[_Period]] | None:
    config = rule["config"]
    condition = _Condition.from_config(config["condition"])
    needed = config["periods"] - 1
    if len(past) < needed:
        return None
    window = [*_newest(past, needed), entry]
    if not all(period.meets(condition) for period in window):
        return None
    values = {
        "condition": condition.describe(),
        "count": len(window),
        "details": _list(period.detail(condition) for period in window),
    }
    if len(window) == 1:
        return _("%(condition)s this period (%(details)s)") % values, window
    return _("%(condition)s for %(count)s consecutive periods (%(details)s)") % values, window


def _count_in_window(
    rule: Mapping[str, Any], entry: _Period, past: Sequence[_Period]
) -> tuple[str, list[_Period]] | None:
    config = rule["config"]
    condition = _Condition.from_config(config["condition"])
    window = [*_newest(past, config["of_last"] - 1), entry]
    if config["same_year"]:
        for period in window:
            if period.year is None:
                raise RulesError(
                    _(
                        "The year of the period %(period)s is not known for %(rule)s: give the year, or a period "
                        "code starting with it."
                    )
                    % {"period": period.code, "rule": rule["code"]}
                )
        window = [period for period in window if period.year == entry.year]
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
        "details": _list(period.detail(condition) for period in window),
    }
    if config["same_year"]:
        message = _("%(condition)s in %(met)s of the last %(window)s periods of %(year)s (%(details)s)") % values
    else:
        message = _("%(condition)s in %(met)s of the last %(window)s periods (%(details)s)") % values
    return message, met


_KINDS = {"streak": _streak, "count_in_window": _count_in_window}


def evaluate(
    rules: Sequence[Mapping[str, Any]],
    current: Sequence[Outcome],
    history: Mapping[Any, Sequence[Past]],  # keys as in ``current`` (Any: Mapping keys are invariant)
    *,
    period: str,
    year: int | None = None,
) -> list[Flag]:
    """The flags ``rules`` raise at the close of ``period``; see the module's rules."""
    checked = validate_rules(list(rules))
    if not isinstance(period, str) or not period.strip():
        raise RulesError(_("Give the code of the period that closes, not %(value)r.") % {"value": period})
    code = period.strip()
    entries: list[tuple[Outcome, _Period]] = []
    keys: set[Hashable] = set()
    for outcome in current:
        if outcome.key in keys:
            raise RulesError(_("%(key)s is listed twice.") % {"key": outcome.key})
        keys.add(outcome.key)
        entries.append((outcome, _current_period(outcome, code, year)))
    pasts = {outcome.key: _past_periods(outcome.key, history.get(outcome.key, ()), code) for outcome in current}

    flags: list[Flag] = []
    for rule in checked:
        if rule["kind"] == "bottom_n":
            flags.extend(_bottom_n(rule, entries))
            continue
        check = _KINDS[rule["kind"]]
        for outcome, entry in entries:
            found = check(rule, entry, pasts[outcome.key])
            if found is None:
                continue
            message, periods = found
            flags.append(
                Flag(
                    key=outcome.key,
                    rule_code=rule["code"],
                    outcome=rule["outcome"],
                    message=message,
                    rule_name=rule["name"],
                    periods=tuple(p.code for p in periods),
                )
            )
    return flags
