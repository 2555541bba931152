"""The completion rate, shared by the completion and banded methods: actual against a target,
benchmark (标杆值) or baseline (基数), with the rules for lower-is-better and for a target of 0.

Config keys (see completion for their meaning)::

    {"basis": "target", "lower_mode": "ratio", "zero_target": "met_full", "rate_places": null}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from core import configs
from core.configs import ConfigError
from core.numbers import quantize
from core.translation import _
from indicators.scoring.common import CONTEXT, HUNDRED, INFINITY, ONE, ZERO, LineInput, ScoringError, Trace, pct, show

BASES = ("target", "benchmark", "baseline")
LOWER_MODES = ("ratio", "difference")
ZERO_TARGET_RULES = ("met_full", "zero", "full")
RATE_KEYS = ("basis", "lower_mode", "zero_target", "rate_places")


@dataclass(frozen=True)
class RateRules:
    basis: str
    lower_mode: str
    zero_target: str
    rate_places: int | None


def read_rate_rules(config: Mapping[str, Any]) -> tuple[RateRules, dict[str, Any]]:
    places = config.get("rate_places")
    rules = RateRules(
        basis=configs.choice(config, "basis", BASES, "target"),
        lower_mode=configs.choice(config, "lower_mode", LOWER_MODES, "ratio"),
        zero_target=configs.choice(config, "zero_target", ZERO_TARGET_RULES, "met_full"),
        rate_places=None if places is None else configs.whole_number(places, "rate_places", minimum=0),
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


def need(value: Decimal | None, what: str, line: LineInput) -> Decimal:
    """``value`` (the line's actual or target), or a ScoringError saying which one is missing."""
    if value is None:
        message = {
            "actual": _("No actual value was entered."),
            "target": _("No target, benchmark or baseline is set."),
        }[what]
        raise ScoringError(message, subject=line.subject)
    return value


def rate(
    line: LineInput, rules: RateRules, trace: Trace, *, floor: Decimal | None, cap: Decimal | None, unbounded: bool
) -> Decimal:
    """The completion rate (1 = 100 %) before clamping, explained. ``unbounded``: an infinite
    rate is acceptable (banded), otherwise a lower-is-better ratio with actual ≤ 0 needs a cap."""
    actual = need(line.actual, "actual", line)
    target = need(line.target, "target", line)
    values = {"actual": show(actual), "target": show(target), "basis": _basis_label(rules.basis)}
    if target < 0:
        raise ScoringError(
            _("A completion rate needs a %(basis)s of 0 or more, not %(target)s; use a formula instead.") % values,
            subject=line.subject,
        )
    with localcontext(CONTEXT):
        if target == 0:
            result = _zero_target_rate(line, rules, actual, floor, trace, values)
        elif line.direction == "higher":
            result = actual / target
            trace.say(_("actual %(actual)s ÷ %(basis)s %(target)s = %(rate)s") % {**values, "rate": pct(result)})
            trace.step("rate.higher", actual=actual, target=target, rate=result)
        elif rules.lower_mode == "ratio":
            result = _lower_ratio(line, actual, target, trace, values, cap=cap, unbounded=unbounded)
        else:
            result = 2 - actual / target
            trace.say(
                _("lower is better: 2 − actual %(actual)s ÷ %(basis)s %(target)s = %(rate)s")
                % {**values, "rate": pct(result)}
            )
            trace.step("rate.lower_difference", actual=actual, target=target, rate=result)
    if rules.rate_places is not None and result.is_finite():
        rounded = quantize(result * HUNDRED, rules.rate_places) / HUNDRED
        if rounded != result:
            trace.step("rate.rounded", rate_places=rules.rate_places, rate_before=result, rate=rounded)
        result = rounded
    return result


def _lower_ratio(
    line: LineInput,
    actual: Decimal,
    target: Decimal,
    trace: Trace,
    values: dict[str, str],
    *,
    cap: Decimal | None,
    unbounded: bool,
) -> Decimal:
    """Lower is better, by ratio: target ÷ actual; an actual ≤ 0 is the best result there is and
    gets the cap (or ∞ where that is acceptable). Runs inside :func:`rate`'s decimal context."""
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
        best = INFINITY if cap is None else cap
        trace.say(
            _("lower is better and actual %(actual)s ≤ 0: the best rate %(rate)s applies")
            % {**values, "rate": pct(best)}
        )
        trace.step("rate.lower_ratio.best", actual=actual, target=target, rate=best)
        return best
    result = target / actual
    trace.say(
        _("lower is better: %(basis)s %(target)s ÷ actual %(actual)s = %(rate)s") % {**values, "rate": pct(result)}
    )
    trace.step("rate.lower_ratio", actual=actual, target=target, rate=result)
    return result


def _zero_target_rate(
    line: LineInput,
    rules: RateRules,
    actual: Decimal,
    floor: Decimal | None,
    trace: Trace,
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
    result = floor if floor is not None else ZERO
    trace.say(
        _("%(basis)s is 0 and actual %(actual)s misses it: the floor rate %(rate)s applies")
        % {**values, "rate": pct(result)}
    )
    trace.step("rate.zero_target.missed", actual=actual, rate=result)
    return result
