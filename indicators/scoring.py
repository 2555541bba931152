"""The scoring engine: how one line of a score sheet turns its inputs into points and money.

Every scheme in SCHEMES.md is run as data: an indicator names a *method* and a *config* (a JSON
object whose numbers are strings, so nothing passes through a float). This module checks configs
(:func:`validate_config`, when HR saves them) and scores lines (:func:`score`). It is pure
Python + Decimal: no database, no models. Every result carries a readable explanation in the
active language and a machine-readable trace of the rules applied, for audits and appeals.

Public API::

    validate_config(method, config, *, input_names=()) -> dict   # normalised config, or ConfigError
    score(method, config, line: LineInput) -> ScoreResult           # or ConfigError / ScoringError
    required_inputs(method, config, *, input_names=()) -> set[str] # what the line must provide

Common rules
    * ``line.max_points`` is the line's full marks (its weight in points), never negative.
    * Points are rounded once, at the end, to 0.01 half up; money to the fen (see
      core.numbers.quantize). Rates and intermediate values are exact (28 digits).
    * Unknown config keys are refused (a typo must not silently fall back to a default).
    * Rates are fractions in configs ("1.2" = 120 %) and percentages in explanations.
    * Explanations show inputs with at least two decimals (never rounding an input away) and
      results, rates and amounts with exactly two.

completion — rate against a target, benchmark (标杆值) or baseline (基数), S0-2::

    {"basis": "benchmark", "lower_mode": "ratio", "floor_rate": "0", "cap_rate": "1.2",
     "zero_target": "met_full", "rate_places": null}

    The caller resolves the target and passes it as ``line.target``; ``basis`` only labels it.
    Higher is better: rate = actual ÷ target. Lower is better (``line.direction == "lower"``):
    ``lower_mode`` "ratio" (default) rate = target ÷ actual, where an actual ≤ 0 gets the cap
    rate (no cap → ScoringError); "difference" rate = 2 − actual ÷ target. The rate is then
    clamped to [floor_rate, cap_rate] (floor default "0", null = no floor; cap default null = no
    cap). ``rate_places`` (default null = exact) rounds the rate *as a percentage* first, as
    hand calculations often do (2 → 95.24 %). points = max_points × rate.
    Target 0 (``zero_target``): "met_full" (default) full marks (rate 100 %) when actual ≥ 0
    (higher) or actual ≤ 0 (lower), otherwise the floor rate (0 when there is none); "zero"
    rate 0; "full" rate 100 %. The rate is clamped as usual afterwards. A negative target is
    refused (rates against negative numbers are meaningless; use a formula).

banded — a ladder of bands::

    {"measure": "actual", "boundary": "lower_inclusive", "unit": "points",
     "bands": [{"from": null, "to": "60", "points": "0"}, {"from": "60", "to": "80", "points": "6"},
               {"from": "80", "to": null, "points": "10"}],
     "otherwise": null}

    ``measure`` "actual" or "rate" (the completion rate, as above, with ``basis``,
    ``lower_mode``, ``zero_target`` and ``rate_places``; rate bands are fractions: "1" = 100 %).
    ``boundary`` "lower_inclusive" (from ≤ v < to, default) or "upper_inclusive" (from < v ≤ to);
    the outer closed ends are always inclusive, so bands 0–60–100 take both 0 and 100.
    ``unit`` "points" (each band has "points") or "share" (each band has "share", × max_points).
    Bands may be listed in any order; they must not overlap or leave gaps, only the lowest may
    be open below and only the highest open above. A value in no band takes ``otherwise`` (same
    unit) or raises ScoringError. A lower-is-better ratio rate with actual ≤ 0 is infinite and
    lands in the open top band.

deduction — per-occurrence deductions from a base (S1-1, S1-3, S1-10, S0-2 management KPIs)::

    {"items": [{"code": "smoke", "name": "柜台内烟头", "points": "5", "money": null,
                "cap_points": null, "cap_money": null,
                "tiers": [{"from_count": 4, "points": "8", "money": null}]}],
     "money_per_point": "20", "total_cap_points": null, "total_cap_money": "300", "floor": "0"}

    ``line.occurrences`` maps item codes to counts. Each occurrence costs the item's points, or
    its tier's once the occurrence's number reaches the tier's ``from_count`` (marginal: with
    the example five occurrences cost 5+5+5+8+8 = 31). Money, one of two ways:
    ``money_per_point`` set (S1-1: 1 point = 20 CNY) → money = points × money_per_point, worked
    out after the point caps so that the rule holds for the points actually deducted; items and
    tiers must then leave ``money`` empty. Otherwise each occurrence costs its tier's ``money``,
    else its item's (tiers inherit it), else nothing (S1-3, S1-10). Caps: ``cap_points`` /
    ``cap_money`` per item, then ``total_cap_points`` / ``total_cap_money``.
    score = max_points − deducted points, not below ``floor`` (default "0"; null = no floor, the
    line may go negative: S1-8 security). The floor limits points only; money is limited by the
    money caps. money = −(deducted money).

bonus — added points and awards (S1-3 media praise +3)::

    {"items": [{"code": "praise", "name": "媒体表扬", "points": "3", "money": "0"}],
     "money_per_point": null, "total_cap_points": "6", "total_cap_money": null}

    Same items as deduction, no floor. score = Σ bonus points after caps; ``max_points`` is NOT
    added and NOT a cap (a bonus line usually has max_points 0; cap it with total_cap_points).
    money = +(bonus money).

rating — a scale of labels::

    {"unit": "points", "scale": [{"label": "优秀", "points": "10"}, {"label": "良好", "points": "8"},
                                 {"label": "合格", "points": "6"}, {"label": "差", "points": "0"}]}

    ``unit`` "points" (entries carry "points") or "share" (entries carry "share", × max_points).
    Labels are unique after trimming spaces. ``line.rating`` must be one of them.

pass_fail — acceptance (验收) with remediation rounds (S0-1)::

    {"round_shares": ["1", "0.8", "0.6"], "fail_share": "0"}

    Accepted at round r (``line.acceptance_round``, default 1) → round_shares[r−1] × max_points,
    rounds beyond the list take the last share; not accepted → fail_share × max_points.

formula — an expression in core.formula::

    {"expression": "MIN(actual / target, 1.2) * max_points", "inputs": ["deposits"]}

    Names available: actual, target, max_points, the declared ``inputs`` and the caller's
    ``input_names``; ``line.inputs`` supplies the values. The formula is checked when the config
    is validated. score = the formula's value (neither clamped nor floored; use MIN/MAX).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from functools import lru_cache
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy

from core import configs
from core.configs import ConfigError
from core.formula import FUNCTIONS, Formula, FormulaError
from core.numbers import quantize, to_decimal
from core.translation import _, pgettext

__all__ = [
    "ConfigError",
    "LineInput",
    "Method",
    "ScoreResult",
    "ScoringError",
    "required_inputs",
    "score",
    "validate_config",
]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
INFINITY = Decimal("Infinity")

# Rates are divisions; 28 digits as Decimal's default, but fixed here so that a caller who
# changed the thread's context cannot change a score.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)

FORMULA_NAMES = frozenset({"actual", "target", "max_points"})


class Method(TextChoices):
    COMPLETION = "completion", gettext_lazy("completion rate")
    BANDED = "banded", gettext_lazy("bands")
    DEDUCTION = "deduction", gettext_lazy("deductions")
    BONUS = "bonus", gettext_lazy("bonus items")
    RATING = "rating", gettext_lazy("rating scale")
    PASS_FAIL = "pass_fail", gettext_lazy("pass/fail acceptance")
    FORMULA = "formula", gettext_lazy("formula")


class ScoringError(ValueError):
    """A line that cannot be scored as it stands (no actual, unknown label …), naming the subject."""

    def __init__(self, message: str, *, subject: str = "") -> None:
        text = message if not subject else _("%(message)s (for %(subject)s)") % {"message": message, "subject": subject}
        super().__init__(text)
        self.message = text
        self.subject = subject


@dataclass(frozen=True)
class LineInput:
    """What a score-sheet line knows when it is scored; the caller has resolved targets already."""

    max_points: Decimal
    direction: str = "higher"
    target: Decimal | None = None
    actual: Decimal | None = None
    inputs: Mapping[str, Decimal] = field(default_factory=dict)
    occurrences: Mapping[str, int] = field(default_factory=dict)
    rating: str | None = None
    accepted: bool | None = None
    acceptance_round: int | None = None
    subject: str = ""

    def __post_init__(self) -> None:
        # Numbers arrive from forms and imports as ints or strings too; keep them exact, refuse floats.
        object.__setattr__(self, "max_points", to_decimal(self.max_points, what="max_points"))
        for name in ("target", "actual"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, to_decimal(value, what=name))
        if self.max_points < 0:
            raise ScoringError(
                _("Full marks cannot be negative (%(points)s).") % {"points": self.max_points}, subject=self.subject
            )
        if self.direction not in ("higher", "lower"):
            raise ScoringError(
                _('Direction must be "higher" or "lower", not "%(direction)s".') % {"direction": self.direction},
                subject=self.subject,
            )


@dataclass(frozen=True)
class ScoreResult:
    points: Decimal
    money: Decimal
    explanation: str
    steps: tuple[dict[str, str], ...]


# --- formatting -------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """A Decimal as a plain string for configs and traces: no exponent, nothing rounded."""
    return format(value, "f")


def _num(value: Decimal) -> str:
    """A result (points, money) in an explanation: two decimals."""
    return str(quantize(value, 2))


def _show(value: Decimal) -> str:
    """An input in an explanation: two decimals at least, but never rounded (coal 312.456 g/kWh)."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return _plain(value.normalize())
    return str(quantize(value, 2))


def _pct(rate: Decimal) -> str:
    if rate.is_infinite():
        return "∞"
    return f"{quantize(rate * HUNDRED, 2)}%"


def _sep() -> str:
    return pgettext("explanation separator", "; ")


class _Trace:
    """Collects the explanation's phrases and the audit steps while a line is scored."""

    def __init__(self) -> None:
        self.phrases: list[str] = []
        self.steps: list[dict[str, str]] = []

    def say(self, phrase: str) -> None:
        self.phrases.append(phrase)

    def step(self, rule: str, **values: object) -> None:
        entry = {"rule": rule}
        for key, value in values.items():
            if value is None:
                continue
            entry[key] = _plain(value) if isinstance(value, Decimal) else str(value)
        self.steps.append(entry)

    def result(self, points: Decimal, money: Decimal = ZERO) -> ScoreResult:
        return ScoreResult(
            points=quantize(points, 2),
            money=quantize(money, 2),
            explanation=_sep().join(self.phrases),
            steps=tuple(self.steps),
        )


# --- reading configs --------------------------------------------------------------------------

_REQUIRED = object()


_path = configs.path
_mapping = configs.mapping


def _known_keys(config: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    configs.known_keys(config, allowed, prefix, suggest=True)


def _decimal(
    config: Mapping[str, Any],
    key: str,
    where: str,
    *,
    default: object = _REQUIRED,
    minimum: Decimal | None = None,
) -> Decimal | None:
    """``config[key]`` as a Decimal; None when the value is null (or absent with default None)."""
    if key in config:
        value = config[key]
    elif default is _REQUIRED:
        raise ConfigError(where, _("This setting is required."))
    else:
        value = default
    if value is None:
        return None
    try:
        number = to_decimal(value, what=where)
    except (TypeError, ValueError) as error:
        raise ConfigError(where, str(error)) from None
    if minimum is not None and number < minimum:
        raise ConfigError(
            where, _("Must be at least %(minimum)s, not %(value)s.") % {"minimum": minimum, "value": value}
        )
    return number


def _required_decimal(config: Mapping[str, Any], key: str, where: str, *, minimum: Decimal | None = None) -> Decimal:
    number = _decimal(config, key, where, minimum=minimum)
    if number is None:
        raise ConfigError(where, _("This setting is required."))
    return number


def _choice(config: Mapping[str, Any], key: str, options: tuple[str, ...], default: str) -> str:
    value = config.get(key, default)
    if value not in options:
        raise ConfigError(
            key, _('"%(value)s" is not one of %(options)s.') % {"value": value, "options": ", ".join(options)}
        )
    return str(value)


def _text(config: Mapping[str, Any], key: str, where: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, _("Enter a text."))
    return value.strip()


def _list(config: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> list[Any]:
    value = config.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list | tuple) or (required and not value):
        raise ConfigError(where, _("Enter a non-empty list."))
    return list(value)


def _count(value: object, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(where, _("Enter a whole number."))
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(where, _("Enter a whole number.")) from None
    if number < minimum:
        raise ConfigError(
            where, _("Must be at least %(minimum)s, not %(value)s.") % {"minimum": minimum, "value": value}
        )
    return number


def _unit_keys(entry: Mapping[str, Any], unit: str, where: str, allowed: tuple[str, ...]) -> None:
    """Bands and ratings carry "points" or "share" as the config's ``unit`` says; say so plainly."""
    other = "share" if unit == "points" else "points"
    if other in entry and unit not in entry:
        raise ConfigError(
            _path(where, other),
            _('With unit "%(unit)s" each entry gives "%(unit)s", not "%(other)s".') % {"unit": unit, "other": other},
        )
    _known_keys(entry, (*allowed, unit), where)


def _d(value: Decimal | None) -> str | None:
    return None if value is None else _plain(value)


# --- completion rates (shared by completion and banded) ----------------------------------------

BASES = ("target", "benchmark", "baseline")
LOWER_MODES = ("ratio", "difference")
ZERO_TARGET_RULES = ("met_full", "zero", "full")
RATE_KEYS = ("basis", "lower_mode", "zero_target", "rate_places")


@dataclass(frozen=True)
class _RateRules:
    basis: str
    lower_mode: str
    zero_target: str
    rate_places: int | None


def _read_rate_rules(config: Mapping[str, Any]) -> tuple[_RateRules, dict[str, Any]]:
    places = config.get("rate_places")
    rules = _RateRules(
        basis=_choice(config, "basis", BASES, "target"),
        lower_mode=_choice(config, "lower_mode", LOWER_MODES, "ratio"),
        zero_target=_choice(config, "zero_target", ZERO_TARGET_RULES, "met_full"),
        rate_places=None if places is None else _count(places, "rate_places", minimum=0),
    )
    if rules.rate_places is not None and rules.rate_places > 10:
        raise ConfigError("rate_places", _("Must be at most %(maximum)s.") % {"maximum": 10})
    normalised = {
        "basis": rules.basis,
        "lower_mode": rules.lower_mode,
        "zero_target": rules.zero_target,
        "rate_places": rules.rate_places,
    }
    return rules, normalised


def _basis_label(basis: str) -> str:
    return {"target": _("target"), "benchmark": _("benchmark"), "baseline": _("baseline")}[basis]


def _need(value: Decimal | None, what: str, line: LineInput) -> Decimal:
    if value is None:
        message = {
            "actual": _("No actual value was entered."),
            "target": _("No target, benchmark or baseline is set."),
        }[what]
        raise ScoringError(message, subject=line.subject)
    return value


def _rate(
    line: LineInput, rules: _RateRules, trace: _Trace, *, floor: Decimal | None, cap: Decimal | None, unbounded: bool
) -> Decimal:
    """The completion rate (1 = 100 %) before clamping, explained. ``unbounded``: an infinite
    rate is acceptable (banded), otherwise a lower-is-better ratio with actual ≤ 0 needs a cap."""
    actual = _need(line.actual, "actual", line)
    target = _need(line.target, "target", line)
    basis = _basis_label(rules.basis)
    values = {"actual": _show(actual), "target": _show(target), "basis": basis}
    if target < 0:
        raise ScoringError(
            _("A completion rate needs a %(basis)s of 0 or more, not %(target)s; use a formula instead.") % values,
            subject=line.subject,
        )
    with localcontext(_CONTEXT):
        if target == 0:
            rate = _zero_target_rate(line, rules, actual, floor, trace, values)
        elif line.direction == "higher":
            rate = actual / target
            trace.say(_("actual %(actual)s ÷ %(basis)s %(target)s = %(rate)s") % {**values, "rate": _pct(rate)})
            trace.step("rate.higher", actual=actual, target=target, rate=rate)
        elif rules.lower_mode == "ratio":
            if actual <= 0:
                if cap is None and not unbounded:
                    raise ScoringError(
                        _(
                            "Actual %(actual)s is the best possible result when lower is better, but the ratio "
                            "%(basis)s ÷ actual has no value for it: set a cap rate."
                        )
                        % values,
                        subject=line.subject,
                    )
                rate = INFINITY if cap is None else cap
                trace.say(
                    _("lower is better and actual %(actual)s ≤ 0: the best rate %(rate)s applies")
                    % {**values, "rate": _pct(rate)}
                )
                trace.step("rate.lower_ratio.best", actual=actual, target=target, rate=rate)
            else:
                rate = target / actual
                trace.say(
                    _("lower is better: %(basis)s %(target)s ÷ actual %(actual)s = %(rate)s")
                    % {**values, "rate": _pct(rate)}
                )
                trace.step("rate.lower_ratio", actual=actual, target=target, rate=rate)
        else:
            rate = 2 - actual / target
            trace.say(
                _("lower is better: 2 − actual %(actual)s ÷ %(basis)s %(target)s = %(rate)s")
                % {**values, "rate": _pct(rate)}
            )
            trace.step("rate.lower_difference", actual=actual, target=target, rate=rate)
    if rules.rate_places is not None and rate.is_finite():
        rounded = quantize(rate * HUNDRED, rules.rate_places) / HUNDRED
        if rounded != rate:
            trace.step("rate.rounded", rate_places=rules.rate_places, rate_before=rate, rate=rounded)
        rate = rounded
    return rate


def _zero_target_rate(
    line: LineInput,
    rules: _RateRules,
    actual: Decimal,
    floor: Decimal | None,
    trace: _Trace,
    values: dict[str, str],
) -> Decimal:
    if rules.zero_target == "full":
        trace.say(_("%(basis)s is 0: full marks by rule") % values)
        trace.step("rate.zero_target.full", actual=actual, rate=ONE)
        return ONE
    if rules.zero_target == "zero":
        trace.say(_("%(basis)s is 0: no points by rule") % values)
        trace.step("rate.zero_target.zero", actual=actual, rate=ZERO)
        return ZERO
    met = actual >= 0 if line.direction == "higher" else actual <= 0
    if met:
        trace.say(_("%(basis)s is 0 and actual %(actual)s meets it: full marks") % values)
        trace.step("rate.zero_target.met", actual=actual, rate=ONE)
        return ONE
    rate = floor if floor is not None else ZERO
    trace.say(
        _("%(basis)s is 0 and actual %(actual)s misses it: the floor rate %(rate)s applies")
        % {**values, "rate": _pct(rate)}
    )
    trace.step("rate.zero_target.missed", actual=actual, rate=rate)
    return rate


# --- completion ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Completion:
    rules: _RateRules
    floor_rate: Decimal | None
    cap_rate: Decimal | None


def _read_completion(config: Mapping[str, Any], names: frozenset[str]) -> tuple[_Completion, dict[str, Any]]:
    _known_keys(config, (*RATE_KEYS, "floor_rate", "cap_rate"))
    rules, normalised = _read_rate_rules(config)
    floor = _decimal(config, "floor_rate", "floor_rate", default="0")
    cap = _decimal(config, "cap_rate", "cap_rate", default=None)
    if cap is not None and cap <= 0:
        raise ConfigError("cap_rate", _("The cap rate must be above 0, not %(cap)s.") % {"cap": cap})
    if cap is not None and floor is not None and floor > cap:
        raise ConfigError(
            "floor_rate",
            _("The floor rate %(floor)s is above the cap rate %(cap)s.") % {"floor": floor, "cap": cap},
        )
    return _Completion(rules, floor, cap), {**normalised, "floor_rate": _d(floor), "cap_rate": _d(cap)}


def _score_completion(spec: _Completion, line: LineInput) -> ScoreResult:
    trace = _Trace()
    rate = _rate(line, spec.rules, trace, floor=spec.floor_rate, cap=spec.cap_rate, unbounded=False)
    floor, cap = spec.floor_rate, spec.cap_rate
    if cap is not None and rate > cap:
        trace.say(_("above the cap of %(cap)s, counted as %(cap)s") % {"cap": _pct(cap)})
        trace.step("rate.cap", rate_before=rate, cap_rate=cap, rate=cap)
        rate = cap
    elif floor is not None and rate < floor:
        trace.say(_("below the floor of %(floor)s, counted as %(floor)s") % {"floor": _pct(floor)})
        trace.step("rate.floor", rate_before=rate, floor_rate=floor, rate=floor)
        rate = floor
    elif floor is not None and cap is not None:
        trace.say(_("within %(floor)s–%(cap)s") % {"floor": _pct(floor), "cap": _pct(cap)})
    elif cap is not None:
        trace.say(_("not above the cap of %(cap)s") % {"cap": _pct(cap)})
    elif floor is not None:
        trace.say(_("not below the floor of %(floor)s") % {"floor": _pct(floor)})
    points = line.max_points * rate
    trace.say(
        _("score %(max)s × %(rate)s = %(points)s")
        % {"max": _show(line.max_points), "rate": _pct(rate), "points": _num(points)}
    )
    trace.step("points", max_points=line.max_points, rate=rate, points=quantize(points, 2))
    return trace.result(points)


# --- banded -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Band:
    low: Decimal | None
    high: Decimal | None
    value: Decimal
    position: int  # as listed in the config, for messages


@dataclass(frozen=True)
class _Banded:
    measure: str
    boundary: str
    unit: str
    bands: tuple[_Band, ...]
    otherwise: Decimal | None
    rules: _RateRules


def _read_banded(config: Mapping[str, Any], names: frozenset[str]) -> tuple[_Banded, dict[str, Any]]:
    _known_keys(config, ("measure", "boundary", "unit", "bands", "otherwise", *RATE_KEYS))
    measure = _choice(config, "measure", ("actual", "rate"), "actual")
    boundary = _choice(config, "boundary", ("lower_inclusive", "upper_inclusive"), "lower_inclusive")
    unit = _choice(config, "unit", ("points", "share"), "points")
    rules, rate_normalised = _read_rate_rules(config)
    bands: list[_Band] = []
    for position, raw in enumerate(_list(config, "bands", "bands")):
        where = _path("bands", position)
        entry = _mapping(raw, where)
        _unit_keys(entry, unit, where, ("from", "to"))
        low = _decimal(entry, "from", _path(where, "from"), default=None)
        high = _decimal(entry, "to", _path(where, "to"), default=None)
        value = _required_decimal(entry, unit, _path(where, unit))
        if low is not None and high is not None and low >= high:
            raise ConfigError(
                where, _("A band must end above where it starts: %(low)s to %(high)s.") % {"low": low, "high": high}
            )
        bands.append(_Band(low, high, value, position))
    bands.sort(key=lambda b: (b.low is not None, b.low if b.low is not None else ZERO))
    for index, band in enumerate(bands):
        where = _path("bands", band.position)
        if band.low is None and index > 0:
            raise ConfigError(where, _("Only one band may be open at the bottom (no from)."))
        if band.high is None and index < len(bands) - 1:
            raise ConfigError(where, _("Only the highest band may be open at the top (no to)."))
        if index == 0:
            continue
        previous = bands[index - 1]
        assert previous.high is not None and band.low is not None  # guaranteed by the two checks above
        if previous.high > band.low:
            raise ConfigError(
                where,
                _("Bands overlap: %(a_low)s–%(a_high)s and %(b_low)s–%(b_high)s.")
                % {
                    "a_low": previous.low if previous.low is not None else "−∞",
                    "a_high": previous.high,
                    "b_low": band.low,
                    "b_high": band.high if band.high is not None else "+∞",
                },
            )
        if previous.high < band.low:
            raise ConfigError(
                where,
                _("Gap between bands: no band covers %(low)s to %(high)s.") % {"low": previous.high, "high": band.low},
            )
    otherwise = _decimal(config, "otherwise", "otherwise", default=None)
    normalised = {
        "measure": measure,
        "boundary": boundary,
        "unit": unit,
        "bands": [{"from": _d(b.low), "to": _d(b.high), unit: _plain(b.value)} for b in bands],
        "otherwise": _d(otherwise),
        **rate_normalised,
    }
    return _Banded(measure, boundary, unit, tuple(bands), otherwise, rules), normalised


def _in_band(spec: _Banded, index: int, value: Decimal) -> bool:
    band = spec.bands[index]
    first, last = index == 0, index == len(spec.bands) - 1
    if spec.boundary == "lower_inclusive":
        above = band.low is None or value >= band.low
        below = band.high is None or value < band.high or (last and value == band.high)
    else:
        above = band.low is None or value > band.low or (first and value == band.low)
        below = band.high is None or value <= band.high
    return above and below


def _band_text(spec: _Banded, index: int, label: str, show: Callable[[Decimal], str]) -> str:
    band = spec.bands[index]
    first, last = index == 0, index == len(spec.bands) - 1
    low_inclusive = spec.boundary == "lower_inclusive" or first
    high_inclusive = spec.boundary == "upper_inclusive" or last
    parts = []
    if band.low is not None:
        parts.append(f"{show(band.low)} {'≤' if low_inclusive else '<'} ")
    parts.append(label)
    if band.high is not None:
        parts.append(f" {'≤' if high_inclusive else '<'} {show(band.high)}")
    return "".join(parts)


def _score_banded(spec: _Banded, line: LineInput) -> ScoreResult:
    trace = _Trace()
    show: Callable[[Decimal], str]
    if spec.measure == "rate":
        value = _rate(line, spec.rules, trace, floor=None, cap=None, unbounded=True)
        label, show = _("rate"), _pct
    else:
        value = _need(line.actual, "actual", line)
        label, show = _("actual"), _show
    matched = next((i for i in range(len(spec.bands)) if _in_band(spec, i, value)), None)
    if matched is None:
        if spec.otherwise is None:
            raise ScoringError(
                _("%(measure)s %(value)s is in no band (%(bands)s).")
                % {
                    "measure": label,
                    "value": show(value),
                    "bands": ", ".join(_band_text(spec, i, label, show) for i in range(len(spec.bands))),
                },
                subject=line.subject,
            )
        amount = spec.otherwise
        trace.say(_("%(measure)s %(value)s is in no band: the otherwise value applies") % {
            "measure": label, "value": show(value)})
        trace.step("band.otherwise", value=value, amount=amount)
    else:
        band = spec.bands[matched]
        amount = band.value
        trace.say(
            _("%(measure)s %(value)s is in the band %(band)s")
            % {"measure": label, "value": show(value), "band": _band_text(spec, matched, label, show)}
        )
        trace.step("band", value=value, band=band.position + 1, band_from=band.low, band_to=band.high, amount=amount)
    return _finish_unit(trace, spec.unit, amount, line)


def _finish_unit(trace: _Trace, unit: str, amount: Decimal, line: LineInput) -> ScoreResult:
    """Points straight from the config, or a share of the line's full marks."""
    if unit == "share":
        points = line.max_points * amount
        trace.say(
            _("score %(max)s × %(rate)s = %(points)s")
            % {"max": _show(line.max_points), "rate": _pct(amount), "points": _num(points)}
        )
        trace.step("points", max_points=line.max_points, share=amount, points=quantize(points, 2))
    else:
        points = amount
        trace.say(_("score %(points)s") % {"points": _num(points)})
        trace.step("points", points=quantize(points, 2))
    return trace.result(points)


# --- deduction and bonus items ------------------------------------------------------------------


@dataclass(frozen=True)
class _Tier:
    from_count: int
    points: Decimal
    money: Decimal | None


@dataclass(frozen=True)
class _Item:
    code: str
    name: str
    points: Decimal
    money: Decimal | None
    cap_points: Decimal | None
    cap_money: Decimal | None
    tiers: tuple[_Tier, ...]


@dataclass(frozen=True)
class _Items:
    items: tuple[_Item, ...]
    money_per_point: Decimal | None
    total_cap_points: Decimal | None
    total_cap_money: Decimal | None
    floor: Decimal | None  # deduction only


def _read_items(config: Mapping[str, Any], *, deduction: bool) -> tuple[_Items, dict[str, Any]]:
    keys = ["items", "money_per_point", "total_cap_points", "total_cap_money"]
    if deduction:
        keys.append("floor")
    _known_keys(config, keys)
    items: list[_Item] = []
    seen: set[str] = set()
    for position, raw in enumerate(_list(config, "items", "items")):
        where = _path("items", position)
        entry = _mapping(raw, where)
        _known_keys(entry, ("code", "name", "points", "money", "cap_points", "cap_money", "tiers"), where)
        code = _text(entry, "code", _path(where, "code"))
        if code in seen:
            raise ConfigError(_path(where, "code"), _('The item code "%(code)s" is used twice.') % {"code": code})
        seen.add(code)
        tiers: list[_Tier] = []
        for number, raw_tier in enumerate(_list(entry, "tiers", _path(where, "tiers"), required=False)):
            tier_where = _path(_path(where, "tiers"), number)
            tier = _mapping(raw_tier, tier_where)
            _known_keys(tier, ("from_count", "points", "money"), tier_where)
            from_count = _count(tier.get("from_count"), _path(tier_where, "from_count"), minimum=2)
            if tiers and from_count <= tiers[-1].from_count:
                raise ConfigError(
                    _path(tier_where, "from_count"),
                    _("Tiers must start at increasing counts: %(count)s does not come after %(previous)s.")
                    % {"count": from_count, "previous": tiers[-1].from_count},
                )
            tiers.append(
                _Tier(
                    from_count,
                    _required_decimal(tier, "points", _path(tier_where, "points"), minimum=ZERO),
                    _decimal(tier, "money", _path(tier_where, "money"), default=None, minimum=ZERO),
                )
            )
        items.append(
            _Item(
                code=code,
                name=_text(entry, "name", _path(where, "name")),
                points=_required_decimal(entry, "points", _path(where, "points"), minimum=ZERO),
                money=_decimal(entry, "money", _path(where, "money"), default=None, minimum=ZERO),
                cap_points=_decimal(entry, "cap_points", _path(where, "cap_points"), default=None, minimum=ZERO),
                cap_money=_decimal(entry, "cap_money", _path(where, "cap_money"), default=None, minimum=ZERO),
                tiers=tuple(tiers),
            )
        )
    spec = _Items(
        items=tuple(items),
        money_per_point=_decimal(config, "money_per_point", "money_per_point", default=None, minimum=ZERO),
        total_cap_points=_decimal(config, "total_cap_points", "total_cap_points", default=None, minimum=ZERO),
        total_cap_money=_decimal(config, "total_cap_money", "total_cap_money", default=None, minimum=ZERO),
        floor=_decimal(config, "floor", "floor", default="0") if deduction else None,
    )
    if spec.money_per_point is not None:
        # Two sources of money for one occurrence would make "each point = 20 CNY" untrue.
        for position, item in enumerate(items):
            where = _path("items", position)
            money_fields = [("money", item.money)] + [
                (f"tiers[{number}].money", tier.money) for number, tier in enumerate(item.tiers)
            ]
            for key, amount in money_fields:
                if amount is not None:
                    raise ConfigError(
                        _path(where, key),
                        _("With money_per_point, money follows the points; leave this amount empty."),
                    )
    normalised: dict[str, Any] = {
        "items": [
            {
                "code": item.code,
                "name": item.name,
                "points": _plain(item.points),
                "money": _d(item.money),
                "cap_points": _d(item.cap_points),
                "cap_money": _d(item.cap_money),
                "tiers": [
                    {"from_count": t.from_count, "points": _plain(t.points), "money": _d(t.money)} for t in item.tiers
                ],
            }
            for item in items
        ],
        "money_per_point": _d(spec.money_per_point),
        "total_cap_points": _d(spec.total_cap_points),
        "total_cap_money": _d(spec.total_cap_money),
    }
    if deduction:
        normalised["floor"] = _d(spec.floor)
    return spec, normalised


def _occurrence_money(item: _Item, money: Decimal | None) -> Decimal:
    # Without money_per_point: the tier's amount, else the item's (tiers inherit it), else nothing.
    if money is not None:
        return money
    return item.money if item.money is not None else ZERO


def _tally(spec: _Items, line: LineInput, trace: _Trace, *, unit: str) -> tuple[Decimal, Decimal]:
    """Σ points and Σ money of the items that occurred, after per-item and total caps."""
    by_code = {item.code: item for item in spec.items}
    for code, count in line.occurrences.items():
        if code not in by_code:
            suggestion = difflib.get_close_matches(code, by_code, n=1)
            message = _('Unknown item code "%(code)s"; the codes are: %(codes)s') % {
                "code": code,
                "codes": ", ".join(by_code),
            }
            if suggestion:
                message = _('Unknown item code "%(code)s"; did you mean "%(suggestion)s"?') % {
                    "code": code,
                    "suggestion": suggestion[0],
                }
            raise ScoringError(message, subject=line.subject)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScoringError(
                _('The count of item "%(code)s" must be a whole number of 0 or more, not %(count)r.')
                % {"code": code, "count": count},
                subject=line.subject,
            )
    total_points = ZERO
    total_money = ZERO
    for item in spec.items:  # config order, so explanations read like the catalogue
        count = line.occurrences.get(item.code, 0)
        if not count:
            continue
        # Occurrences 1 … first tier − 1 at the item's rate, then each tier up to the next one.
        segments: list[tuple[int, Decimal, Decimal]] = []  # (occurrences, points each, money each)
        starts = [(1, item.points, item.money), *((t.from_count, t.points, t.money) for t in item.tiers)]
        for index, (start, points_each, money_each) in enumerate(starts):
            end = starts[index + 1][0] - 1 if index + 1 < len(starts) else count
            n = min(end, count) - start + 1
            if n > 0:
                segments.append((n, points_each, _occurrence_money(item, money_each)))
        points = sum((n * p for n, p, _m in segments), ZERO)
        money = sum((n * m for n, _p, m in segments), ZERO)
        calc = " + ".join(f"{n} × {_show(p)}" for n, p, _m in segments)
        phrase = _("%(name)s × %(count)s: %(calc)s = %(points)s points") % {
            "name": item.name,
            "count": count,
            "calc": calc,
            "points": _num(points),
        }
        capped_points = points
        if item.cap_points is not None and points > item.cap_points:
            capped_points = item.cap_points
            phrase += " " + _("(capped at %(cap)s points)") % {"cap": _num(item.cap_points)}
        if spec.money_per_point is not None:
            money = capped_points * spec.money_per_point  # each point costs the same, after the point cap
        capped_money = money
        if item.cap_money is not None and money > item.cap_money:
            capped_money = item.cap_money
        if capped_money:
            phrase += pgettext("explanation list", ", ") + _("%(money)s CNY") % {"money": _num(capped_money)}
            if capped_money != money:
                phrase += " " + _("(capped at %(cap)s CNY)") % {"cap": _num(capped_money)}
        trace.say(phrase)
        trace.step(
            f"{unit}.item",
            code=item.code,
            count=count,
            points=points,
            capped_points=capped_points,
            money=money,
            capped_money=capped_money,
        )
        total_points += capped_points
        total_money += capped_money
    if spec.total_cap_points is not None and total_points > spec.total_cap_points:
        trace.say(
            _("total %(total)s points, capped at %(cap)s")
            % {"total": _num(total_points), "cap": _num(spec.total_cap_points)}
        )
        trace.step(f"{unit}.total_cap_points", points_before=total_points, points=spec.total_cap_points)
        total_points = spec.total_cap_points
        if spec.money_per_point is not None:
            total_money = min(total_money, total_points * spec.money_per_point)
    if spec.total_cap_money is not None and total_money > spec.total_cap_money:
        trace.say(
            _("total %(total)s CNY, capped at %(cap)s CNY")
            % {"total": _num(total_money), "cap": _num(spec.total_cap_money)}
        )
        trace.step(f"{unit}.total_cap_money", money_before=total_money, money=spec.total_cap_money)
        total_money = spec.total_cap_money
    return total_points, total_money


def _score_deduction(spec: _Items, line: LineInput) -> ScoreResult:
    trace = _Trace()
    deducted, money = _tally(spec, line, trace, unit="deduction")
    if not trace.steps:
        trace.say(_("no deductions"))
    points = line.max_points - deducted
    trace.say(
        _("score %(max)s − %(deducted)s = %(points)s")
        % {"max": _show(line.max_points), "deducted": _num(deducted), "points": _num(points)}
    )
    trace.step("deduction.points", max_points=line.max_points, deducted=deducted, points=points)
    if spec.floor is not None and points < spec.floor:
        trace.say(_("below the floor of %(floor)s, counted as %(floor)s") % {"floor": _num(spec.floor)})
        trace.step("deduction.floor", points_before=points, floor=spec.floor, points=spec.floor)
        points = spec.floor
    if money:
        trace.say(_("%(money)s CNY deducted") % {"money": _num(money)})
    return trace.result(points, -money)


def _score_bonus(spec: _Items, line: LineInput) -> ScoreResult:
    trace = _Trace()
    points, money = _tally(spec, line, trace, unit="bonus")
    if not trace.steps:
        trace.say(_("no bonus items"))
    trace.say(_("bonus %(points)s points") % {"points": _num(points)})
    trace.step("bonus.points", points=points)
    if money:
        trace.say(_("%(money)s CNY awarded") % {"money": _num(money)})
    return trace.result(points, money)


# --- rating -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rating:
    unit: str
    scale: tuple[tuple[str, Decimal], ...]


def _read_rating(config: Mapping[str, Any], names: frozenset[str]) -> tuple[_Rating, dict[str, Any]]:
    _known_keys(config, ("unit", "scale"))
    unit = _choice(config, "unit", ("points", "share"), "points")
    scale: list[tuple[str, Decimal]] = []
    for position, raw in enumerate(_list(config, "scale", "scale")):
        where = _path("scale", position)
        entry = _mapping(raw, where)
        _unit_keys(entry, unit, where, ("label",))
        label = _text(entry, "label", _path(where, "label"))
        if any(label == existing for existing, _v in scale):
            raise ConfigError(_path(where, "label"), _('The label "%(label)s" is used twice.') % {"label": label})
        scale.append((label, _required_decimal(entry, unit, _path(where, unit))))
    normalised = {"unit": unit, "scale": [{"label": label, unit: _plain(value)} for label, value in scale]}
    return _Rating(unit, tuple(scale)), normalised


def _score_rating(spec: _Rating, line: LineInput) -> ScoreResult:
    labels = dict(spec.scale)
    rating = line.rating.strip() if isinstance(line.rating, str) else None
    if not rating:
        raise ScoringError(
            _("No rating was given; the ratings are: %(labels)s") % {"labels": ", ".join(labels)}, subject=line.subject
        )
    if rating not in labels:
        raise ScoringError(
            _('Unknown rating "%(rating)s"; the ratings are: %(labels)s')
            % {"rating": rating, "labels": ", ".join(labels)},
            subject=line.subject,
        )
    trace = _Trace()
    trace.say(_("rated %(rating)s") % {"rating": rating})
    trace.step("rating", rating=rating, amount=labels[rating])
    return _finish_unit(trace, spec.unit, labels[rating], line)


# --- pass / fail --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PassFail:
    round_shares: tuple[Decimal, ...]
    fail_share: Decimal


def _read_pass_fail(config: Mapping[str, Any], names: frozenset[str]) -> tuple[_PassFail, dict[str, Any]]:
    _known_keys(config, ("round_shares", "fail_share"))
    shares = tuple(
        _required_decimal({"share": value}, "share", _path("round_shares", position), minimum=ZERO)
        for position, value in enumerate(_list(config, "round_shares", "round_shares"))
    )
    fail = _decimal(config, "fail_share", "fail_share", default="0", minimum=ZERO)
    assert fail is not None
    normalised = {"round_shares": [_plain(s) for s in shares], "fail_share": _plain(fail)}
    return _PassFail(shares, fail), normalised


def _score_pass_fail(spec: _PassFail, line: LineInput) -> ScoreResult:
    if line.accepted is None:
        raise ScoringError(_("The acceptance result has not been recorded."), subject=line.subject)
    trace = _Trace()
    if not line.accepted:
        trace.say(_("not accepted"))
        trace.step("acceptance.failed", share=spec.fail_share)
        return _finish_unit(trace, "share", spec.fail_share, line)
    round_ = 1 if line.acceptance_round is None else line.acceptance_round
    if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 1:
        raise ScoringError(
            _("The acceptance round must be 1 or more, not %(round)r.") % {"round": line.acceptance_round},
            subject=line.subject,
        )
    last = len(spec.round_shares)
    share = spec.round_shares[min(round_, last) - 1]
    if round_ > last:
        trace.say(
            _("accepted at round %(round)s (rounds after %(last)s count as round %(last)s)")
            % {"round": round_, "last": last}
        )
    else:
        trace.say(_("accepted at round %(round)s") % {"round": round_})
    trace.step("acceptance.passed", round=round_, share=share)
    return _finish_unit(trace, "share", share, line)


# --- formula ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FormulaSpec:
    formula: Formula
    inputs: tuple[str, ...]


@lru_cache(maxsize=512)
def _compile(expression: str, names: frozenset[str]) -> Formula:
    # Scoring a period compiles the same few formulas thousands of times; a Formula is immutable.
    return Formula.compile(expression, names=names)


def _read_formula(config: Mapping[str, Any], names: frozenset[str]) -> tuple[_FormulaSpec, dict[str, Any]]:
    _known_keys(config, ("expression", "inputs"))
    expression = config.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError("expression", _("Enter a formula."))
    inputs: list[str] = []
    for position, name in enumerate(_list(config, "inputs", "inputs", required=False)):
        where = _path("inputs", position)
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(
                where, _('"%(name)s" is not a valid input name: use letters, digits and _.') % {"name": name}
            )
        if name in FORMULA_NAMES or name in FUNCTIONS:
            raise ConfigError(where, _('"%(name)s" is a reserved name.') % {"name": name})
        if name in inputs:
            raise ConfigError(where, _('The input "%(name)s" is declared twice.') % {"name": name})
        inputs.append(name)
    try:
        formula = _compile(expression.strip(), FORMULA_NAMES | frozenset(inputs) | names)
    except FormulaError as error:
        raise ConfigError("expression", str(error)) from None
    return _FormulaSpec(formula, tuple(inputs)), {"expression": formula.expression, "inputs": inputs}


def _score_formula(spec: _FormulaSpec, line: LineInput) -> ScoreResult:
    values: dict[str, Decimal] = {**line.inputs, "max_points": line.max_points}
    if line.actual is not None:
        values["actual"] = line.actual
    if line.target is not None:
        values["target"] = line.target
    try:
        points = spec.formula.evaluate(values, subject=line.subject)
    except FormulaError as error:
        failure = ScoringError(str(error))  # the message already names formula and subject
        failure.subject = line.subject
        raise failure from None
    trace = _Trace()
    substituted = spec.formula.substitute(values, show=lambda v: _show(to_decimal(v, what="input")))
    trace.say(
        _("formula %(formula)s = %(substituted)s = %(points)s")
        % {"formula": spec.formula.expression, "substituted": substituted, "points": _num(points)}
    )
    trace.step(
        "formula",
        expression=spec.formula.expression,
        **{f"input.{name}": to_decimal(values[name], what=name) for name in sorted(spec.formula.names)},
        value=points,
        points=quantize(points, 2),
    )
    return trace.result(points)


# --- public API ---------------------------------------------------------------------------------

_READERS: dict[str, Callable[[Mapping[str, Any], frozenset[str]], tuple[Any, dict[str, Any]]]] = {
    Method.COMPLETION: _read_completion,
    Method.BANDED: _read_banded,
    Method.DEDUCTION: lambda config, names: _read_items(config, deduction=True),
    Method.BONUS: lambda config, names: _read_items(config, deduction=False),
    Method.RATING: _read_rating,
    Method.PASS_FAIL: _read_pass_fail,
    Method.FORMULA: _read_formula,
}

_SCORERS: dict[str, Callable[[Any, LineInput], ScoreResult]] = {
    Method.COMPLETION: _score_completion,
    Method.BANDED: _score_banded,
    Method.DEDUCTION: _score_deduction,
    Method.BONUS: _score_bonus,
    Method.RATING: _score_rating,
    Method.PASS_FAIL: _score_pass_fail,
    Method.FORMULA: _score_formula,
}


def _read(method: str, config: Mapping[str, Any], input_names: Iterable[str]) -> tuple[Any, dict[str, Any]]:
    if method not in _READERS:
        raise ConfigError(
            "method",
            _('Unknown scoring method "%(method)s"; use one of %(methods)s.')
            % {"method": method, "methods": ", ".join(Method.values)},
        )
    return _READERS[method](_mapping(config, "config"), frozenset(input_names))


def validate_config(method: str, config: Mapping[str, Any], *, input_names: Iterable[str] = ()) -> dict[str, Any]:
    """The config with defaults filled in and numbers as plain strings; ConfigError if it is wrong.

    ``input_names`` are extra names the caller will supply to a formula (besides actual, target,
    max_points and the config's own ``inputs``).
    """
    return _read(method, config, input_names)[1]


def score(method: str, config: Mapping[str, Any], line: LineInput, *, spec: Any = None) -> ScoreResult:
    """Score one line. ConfigError for a bad config, ScoringError for missing or invalid inputs.
    ``spec``: what :func:`read_spec` gave for this method, config and the line's input names, for a
    caller scoring many lines of one config (reading a config costs more than scoring a line)."""
    if spec is None:
        spec, _normalised = _read(method, config, line.inputs.keys())
    return _SCORERS[method](spec, line)


def read_spec(method: str, config: Mapping[str, Any], input_names: Iterable[str]) -> Any:
    """The checked, parsed form of ``config`` that :func:`score` takes as ``spec``; ConfigError."""
    return _read(method, config, input_names)[0]


def required_inputs(method: str, config: Mapping[str, Any], *, input_names: Iterable[str] = ()) -> set[str]:
    """The LineInput fields (or, for formulas, input names) a line needs for ``method``."""
    spec, _normalised = _read(method, config, input_names)
    if method == Method.COMPLETION:
        return {"actual", "target"}
    if method == Method.BANDED:
        return {"actual", "target"} if spec.measure == "rate" else {"actual"}
    if method in (Method.DEDUCTION, Method.BONUS):
        return {"occurrences"}
    if method == Method.RATING:
        return {"rating"}
    if method == Method.PASS_FAIL:
        return {"accepted", "acceptance_round"}
    return set(spec.formula.names - {"max_points"})
