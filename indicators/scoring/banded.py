"""banded — a ladder of bands::

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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core import configs
from core.configs import ConfigError
from core.explain import listed
from core.translation import _
from indicators.scoring.common import (
    ZERO,
    LineInput,
    ScoreResult,
    ScoringError,
    Trace,
    exact,
    exact_or_none,
    finish_unit,
    pct,
    show,
    unit_keys,
)
from indicators.scoring.rates import RATE_KEYS, RateRules, need, rate, read_rate_rules


@dataclass(frozen=True)
class Band:
    low: Decimal | None
    high: Decimal | None
    value: Decimal
    position: int  # as listed in the config, for messages


@dataclass(frozen=True)
class Banded:
    measure: str
    boundary: str
    unit: str
    bands: tuple[Band, ...]
    otherwise: Decimal | None
    rules: RateRules


def read_banded(config: Mapping[str, Any], names: frozenset[str]) -> tuple[Banded, dict[str, Any]]:
    configs.known_keys(config, ("measure", "boundary", "unit", "bands", "otherwise", *RATE_KEYS), suggest=True)
    measure = configs.choice(config, "measure", ("actual", "rate"), "actual")
    boundary = configs.choice(config, "boundary", ("lower_inclusive", "upper_inclusive"), "lower_inclusive")
    unit = configs.choice(config, "unit", ("points", "share"), "points")
    rules, rate_normalised = read_rate_rules(config)
    bands = [
        _read_band(raw, position, unit) for position, raw in enumerate(configs.sequence(config.get("bands"), "bands"))
    ]
    bands.sort(key=lambda b: (b.low is not None, b.low if b.low is not None else ZERO))
    _check_ladder(bands)
    otherwise = configs.optional_number(config, "otherwise", "otherwise")
    normalised = {
        "measure": measure,
        "boundary": boundary,
        "unit": unit,
        "bands": [{"from": exact_or_none(b.low), "to": exact_or_none(b.high), unit: exact(b.value)} for b in bands],
        "otherwise": exact_or_none(otherwise),
        **rate_normalised,
    }
    return Banded(measure, boundary, unit, tuple(bands), otherwise, rules), normalised


def _read_band(raw: object, position: int, unit: str) -> Band:
    where = configs.path("bands", position)
    entry = configs.mapping(raw, where)
    unit_keys(entry, unit, where, ("from", "to"))
    low = configs.optional_number(entry, "from", configs.path(where, "from"))
    high = configs.optional_number(entry, "to", configs.path(where, "to"))
    value = configs.required_number(entry, unit, configs.path(where, unit))
    if low is not None and high is not None and low >= high:
        raise ConfigError(
            where, _("A band must end above where it starts: %(low)s to %(high)s.") % {"low": low, "high": high}
        )
    return Band(low, high, value, position)


def _check_ladder(bands: list[Band]) -> None:
    """Sorted bands must form one ladder: open only at its ends, no overlap, no gap."""
    for index, band in enumerate(bands):
        where = configs.path("bands", band.position)
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


def _in_band(spec: Banded, index: int, value: Decimal) -> bool:
    band = spec.bands[index]
    first, last = index == 0, index == len(spec.bands) - 1
    if spec.boundary == "lower_inclusive":
        above = band.low is None or value >= band.low
        below = band.high is None or value < band.high or (last and value == band.high)
    else:
        above = band.low is None or value > band.low or (first and value == band.low)
        below = band.high is None or value <= band.high
    return above and below


def _band_text(spec: Banded, index: int, label: str, shown: Callable[[Decimal], str]) -> str:
    band = spec.bands[index]
    first, last = index == 0, index == len(spec.bands) - 1
    low_inclusive = spec.boundary == "lower_inclusive" or first
    high_inclusive = spec.boundary == "upper_inclusive" or last
    parts = []
    if band.low is not None:
        parts.append(f"{shown(band.low)} {'≤' if low_inclusive else '<'} ")
    parts.append(label)
    if band.high is not None:
        parts.append(f" {'≤' if high_inclusive else '<'} {shown(band.high)}")
    return "".join(parts)


def score_banded(spec: Banded, line: LineInput) -> ScoreResult:
    trace = Trace()
    shown: Callable[[Decimal], str]
    if spec.measure == "rate":
        value = rate(line, spec.rules, trace, floor=None, cap=None, unbounded=True)
        label, shown = _("rate"), pct
    else:
        value = need(line.actual, "actual", line)
        label, shown = _("actual"), show
    matched = next((i for i in range(len(spec.bands)) if _in_band(spec, i, value)), None)
    if matched is None:
        if spec.otherwise is None:
            raise ScoringError(
                _("%(measure)s %(value)s is in no band (%(bands)s).")
                % {
                    "measure": label,
                    "value": shown(value),
                    "bands": listed(_band_text(spec, i, label, shown) for i in range(len(spec.bands))),
                },
                subject=line.subject,
            )
        amount = spec.otherwise
        trace.say(
            _("%(measure)s %(value)s is in no band: the otherwise value applies")
            % {"measure": label, "value": shown(value)}
        )
        trace.step("band.otherwise", value=value, amount=amount)
    else:
        band = spec.bands[matched]
        amount = band.value
        trace.say(
            _("%(measure)s %(value)s is in the band %(band)s")
            % {"measure": label, "value": shown(value), "band": _band_text(spec, matched, label, shown)}
        )
        trace.step("band", value=value, band=band.position + 1, band_from=band.low, band_to=band.high, amount=amount)
    return finish_unit(trace, spec.unit, amount, line)
