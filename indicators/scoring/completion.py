"""completion — rate against a target, benchmark (标杆值) or baseline (基数), S0-2::

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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import configs, explain
from core.configs import ConfigError
from core.numbers import quantize
from core.translation import _
from indicators.scoring.common import LineInput, ScoreResult, Trace, exact_or_none, pct, show
from indicators.scoring.rates import RATE_KEYS, RateRules, rate, read_rate_rules


@dataclass(frozen=True)
class Completion:
    rules: RateRules
    floor_rate: Decimal | None
    cap_rate: Decimal | None


def read_completion(config: Mapping[str, Any], names: frozenset[str]) -> tuple[Completion, dict[str, Any]]:
    configs.known_keys(config, (*RATE_KEYS, "floor_rate", "cap_rate"), suggest=True)
    rules, normalised = read_rate_rules(config)
    floor = configs.optional_number(config, "floor_rate", "floor_rate", default="0")
    cap = configs.optional_number(config, "cap_rate", "cap_rate")
    if cap is not None and cap <= 0:
        raise ConfigError("cap_rate", _("The cap rate must be above 0, not %(cap)s.") % {"cap": cap})
    if cap is not None and floor is not None and floor > cap:
        raise ConfigError(
            "floor_rate",
            _("The floor rate %(floor)s is above the cap rate %(cap)s.") % {"floor": floor, "cap": cap},
        )
    return Completion(rules, floor, cap), {
        **normalised,
        "floor_rate": exact_or_none(floor),
        "cap_rate": exact_or_none(cap),
    }


def score_completion(spec: Completion, line: LineInput) -> ScoreResult:
    trace = Trace()
    completion = rate(line, spec.rules, trace, floor=spec.floor_rate, cap=spec.cap_rate, unbounded=False)
    floor, cap = spec.floor_rate, spec.cap_rate
    if cap is not None and completion > cap:
        trace.say(_("above the cap of %(cap)s, counted as %(cap)s") % {"cap": pct(cap)})
        trace.step("rate.cap", rate_before=completion, cap_rate=cap, rate=cap)
        completion = cap
    elif floor is not None and completion < floor:
        trace.say(_("below the floor of %(floor)s, counted as %(floor)s") % {"floor": pct(floor)})
        trace.step("rate.floor", rate_before=completion, floor_rate=floor, rate=floor)
        completion = floor
    elif floor is not None and cap is not None:
        trace.say(_("within %(floor)s–%(cap)s") % {"floor": pct(floor), "cap": pct(cap)})
    elif cap is not None:
        trace.say(_("not above the cap of %(cap)s") % {"cap": pct(cap)})
    elif floor is not None:
        trace.say(_("not below the floor of %(floor)s") % {"floor": pct(floor)})
    points = line.max_points * completion
    trace.say(
        _("score %(max)s × %(rate)s = %(points)s")
        % {"max": show(line.max_points), "rate": pct(completion), "points": explain.money(points)}
    )
    trace.step("points", max_points=line.max_points, rate=completion, points=quantize(points, 2))
    return trace.result(points)
