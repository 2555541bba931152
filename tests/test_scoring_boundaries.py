"""indicators.scoring at its edges: every band, tier, threshold and cap, at the edge and one step
either side (0.01 point, one occurrence, one unit).

The expected values are worked out by hand from the rule each method's docstring states; the
comment on a row shows the working where it is not obvious. Nothing here asks the engine what to
expect."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from indicators.scoring import ConfigError, LineInput, ScoreResult, ScoringError, score, validate_config


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def run(method: str, config: dict[str, Any], **fields: Any) -> ScoreResult:
    fields.setdefault("max_points", D(100))
    for name in ("max_points", "actual", "target"):
        if isinstance(fields.get(name), str):
            fields[name] = D(fields[name])
    return score(method, config, LineInput(**fields))


def refusal(method: str, config: dict[str, Any]) -> str:
    """The field path a config is refused at."""
    with pytest.raises(ConfigError) as error:
        validate_config(method, config)
    return error.value.field


# --- completion: floor and cap on the rate (target 100, full marks 100: 1 unit = 1 point) ------


@pytest.mark.parametrize(
    ("config", "actual", "expected"),
    [
        ({"cap_rate": "1.2"}, "119.99", "119.99"),
        ({"cap_rate": "1.2"}, "120", "120.00"),
        ({"cap_rate": "1.2"}, "120.01", "120.00"),  # 120.01 % > 120 %: counted as 120 %
        ({"floor_rate": "0.6"}, "59.99", "60.00"),  # 59.99 % < 60 %: counted as 60 %
        ({"floor_rate": "0.6"}, "60", "60.00"),
        ({"floor_rate": "0.6"}, "60.01", "60.01"),
        ({}, "-0.01", "0.00"),  # the default floor is 0
        ({}, "0", "0.00"),
        ({}, "0.01", "0.01"),
        ({"floor_rate": None}, "-0.01", "-0.01"),  # no floor: the rate may go negative
        ({}, "1000", "1000.00"),  # no cap by default
        ({"floor_rate": "1.2", "cap_rate": "1.2"}, "50", "120.00"),  # floor = cap: a fixed rate
        ({"floor_rate": "1.2", "cap_rate": "1.2"}, "150", "120.00"),
    ],
)
def test_it_clamps_the_completion_rate_at_the_floor_and_the_cap(
    config: dict[str, Any], actual: str, expected: str
) -> None:
    assert run("completion", config, actual=actual, target="100").points == D(expected)


# --- completion: lower is better, ratio against difference --------------------------------------


@pytest.mark.parametrize(
    ("config", "actual", "expected"),
    [
        ({}, "99.99", "100.01"),  # 100 ÷ 99.99 = 1.00010001…
        ({}, "100", "100.00"),
        ({}, "100.01", "99.99"),  # 100 ÷ 100.01 = 0.99990000…
        ({}, "125", "80.00"),  # 100 ÷ 125
        ({"cap_rate": "1.2"}, "83.33", "120.00"),  # 100 ÷ 83.33 = 1.20004… > 1.2
        ({"cap_rate": "1.2"}, "83.34", "119.99"),  # 100 ÷ 83.34 = 1.19990…
        ({"cap_rate": "1.2"}, "0.01", "120.00"),  # 100 ÷ 0.01 = 100 → the cap
        ({"cap_rate": "1.2"}, "0", "120.00"),  # actual ≤ 0: the best rate, i.e. the cap
        ({"cap_rate": "1.2"}, "-0.01", "120.00"),
        ({}, "0.01", "1000000.00"),  # no cap: 100 ÷ 0.01 = 10 000 %
        ({"lower_mode": "difference"}, "99.99", "100.01"),  # 2 − 0.9999
        ({"lower_mode": "difference"}, "100", "100.00"),
        ({"lower_mode": "difference"}, "100.01", "99.99"),  # 2 − 1.0001
        ({"lower_mode": "difference"}, "125", "75.00"),  # 2 − 1.25
        ({"lower_mode": "difference"}, "199.99", "0.01"),  # 2 − 1.9999
        ({"lower_mode": "difference"}, "200", "0.00"),
        ({"lower_mode": "difference"}, "200.01", "0.00"),  # −0.01 % → the floor 0
        ({"lower_mode": "difference", "floor_rate": None}, "200.01", "-0.01"),
        ({"lower_mode": "difference"}, "0", "200.00"),  # no special rule for 0 by difference
        ({"lower_mode": "difference"}, "-0.01", "200.01"),
    ],
)
def test_it_scores_lower_is_better_by_ratio_or_difference(config: dict[str, Any], actual: str, expected: str) -> None:
    assert run("completion", config, actual=actual, target="100", direction="lower").points == D(expected)


@pytest.mark.parametrize("actual", ["0", "-0.01"])
def test_it_refuses_a_best_lower_ratio_without_a_cap(actual: str) -> None:
    with pytest.raises(ScoringError, match="set a cap rate"):
        run("completion", {}, actual=actual, target="100", direction="lower")


# --- completion: a target of 0 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "direction", "actual", "expected"),
    [
        ({}, "higher", "-0.01", "0.00"),  # missed: the floor rate, 0 by default
        ({}, "higher", "0", "100.00"),  # met: full marks
        ({}, "higher", "0.01", "100.00"),
        ({}, "lower", "0.01", "0.00"),
        ({}, "lower", "0", "100.00"),
        ({}, "lower", "-0.01", "100.00"),
        ({"floor_rate": "0.5"}, "higher", "-0.01", "50.00"),
        ({"floor_rate": "0.5"}, "lower", "0.01", "50.00"),
        ({"floor_rate": None}, "higher", "-0.01", "0.00"),  # no floor: 0
        ({"zero_target": "zero"}, "higher", "0", "0.00"),
        ({"zero_target": "zero"}, "lower", "0", "0.00"),
        ({"zero_target": "zero", "floor_rate": "0.5"}, "higher", "0.01", "50.00"),  # clamped afterwards
        ({"zero_target": "full"}, "higher", "-0.01", "100.00"),
        ({"zero_target": "full"}, "lower", "0.01", "100.00"),
        ({"zero_target": "full", "cap_rate": "0.8"}, "higher", "5", "80.00"),  # clamped afterwards
    ],
)
def test_it_applies_the_zero_target_rules(config: dict[str, Any], direction: str, actual: str, expected: str) -> None:
    assert run("completion", config, actual=actual, target="0", direction=direction).points == D(expected)


@pytest.mark.parametrize(("target", "expected"), [("0", "100.00"), ("0.01", "50000.00")])  # 5 ÷ 0.01 = 500
def test_it_switches_from_the_zero_rule_to_the_ratio_one_unit_above_zero(target: str, expected: str) -> None:
    assert run("completion", {}, actual="5", target=target).points == D(expected)


def test_it_refuses_a_target_one_unit_below_zero() -> None:
    with pytest.raises(ScoringError, match="0 or more"):
        run("completion", {}, actual="5", target="-0.01")


# --- completion: the rate rounded as a percentage (full marks 1000: 0.01 % = 0.1 point) ---------


@pytest.mark.parametrize(
    ("rate_places", "actual", "expected"),
    [
        (None, "12.345", "123.45"),  # exact: 12.345 %
        (2, "12.344", "123.40"),  # 12.344 % → 12.34 %
        (2, "12.345", "123.50"),  # 12.345 % → 12.35 % (half up)
        (0, "12.49", "120.00"),  # 12.49 % → 12 %
        (0, "12.5", "130.00"),  # 12.5 % → 13 %
        (1, "12.45", "125.00"),  # 12.45 % → 12.5 %
    ],
)
def test_it_rounds_the_rate_as_a_percentage_half_up(rate_places: int | None, actual: str, expected: str) -> None:
    config = {"rate_places": rate_places}
    assert run("completion", config, max_points="1000", actual=actual, target="100").points == D(expected)


# --- completion: settings at their limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"cap_rate": "-0.01"}, "cap_rate"),
        ({"cap_rate": "0"}, "cap_rate"),
        ({"floor_rate": "1.21", "cap_rate": "1.2"}, "floor_rate"),
        ({"rate_places": 11}, "rate_places"),
        ({"rate_places": -1}, "rate_places"),
    ],
)
def test_it_refuses_completion_settings_just_past_their_limits(config: dict[str, Any], field: str) -> None:
    assert refusal("completion", config) == field


@pytest.mark.parametrize(
    "config",
    [{"cap_rate": "0.01"}, {"floor_rate": "1.2", "cap_rate": "1.2"}, {"rate_places": 10}, {"rate_places": 0}],
)
def test_it_accepts_completion_settings_at_their_limits(config: dict[str, Any]) -> None:
    assert validate_config("completion", config)


# --- banded: the ladder 60 / 80 / 100 (points 0, 6, 10) -----------------------------------------

LADDER = [
    {"from": None, "to": "60", "points": "0"},
    {"from": "60", "to": "80", "points": "6"},
    {"from": "80", "to": "100", "points": "10"},
]


@pytest.mark.parametrize(
    ("boundary", "actual", "expected"),
    [
        ("lower_inclusive", "59.99", "0"),
        ("lower_inclusive", "60", "6"),  # from ≤ v < to
        ("lower_inclusive", "60.01", "6"),
        ("lower_inclusive", "79.99", "6"),
        ("lower_inclusive", "80", "10"),
        ("lower_inclusive", "99.99", "10"),
        ("lower_inclusive", "100", "10"),  # the closed top end is inclusive
        ("upper_inclusive", "59.99", "0"),
        ("upper_inclusive", "60", "0"),  # from < v ≤ to
        ("upper_inclusive", "60.01", "6"),
        ("upper_inclusive", "80", "6"),
        ("upper_inclusive", "80.01", "10"),
        ("upper_inclusive", "100", "10"),
        ("lower_inclusive", "-1000000", "0"),  # the open bottom
        ("upper_inclusive", "-1000000", "0"),
    ],
)
def test_it_puts_values_at_the_ladder_edges_in_the_documented_band(boundary: str, actual: str, expected: str) -> None:
    config = {"bands": LADDER, "boundary": boundary}
    assert run("banded", config, max_points="10", actual=actual).points == D(expected)


@pytest.mark.parametrize("boundary", ["lower_inclusive", "upper_inclusive"])
def test_it_finds_no_band_one_step_above_the_closed_top(boundary: str) -> None:
    with pytest.raises(ScoringError, match="in no band"):
        run("banded", {"bands": LADDER, "boundary": boundary}, actual="100.01")


@pytest.mark.parametrize(("actual", "expected"), [("100", "10"), ("100.01", "12")])
def test_it_takes_the_otherwise_value_one_step_past_the_ladder(actual: str, expected: str) -> None:
    assert run("banded", {"bands": LADDER, "otherwise": "12"}, actual=actual).points == D(expected)


CLOSED = [{"from": "0", "to": "60", "points": "1"}, {"from": "60", "to": "100", "points": "2"}]


@pytest.mark.parametrize(
    ("boundary", "actual", "expected"),
    [
        ("lower_inclusive", "0", "1"),
        ("lower_inclusive", "0.01", "1"),
        ("upper_inclusive", "0", "1"),  # the closed bottom end is inclusive in both modes
        ("upper_inclusive", "0.01", "1"),
        ("upper_inclusive", "60", "1"),
        ("upper_inclusive", "60.01", "2"),
    ],
)
def test_it_includes_the_closed_bottom_end(boundary: str, actual: str, expected: str) -> None:
    assert run("banded", {"bands": CLOSED, "boundary": boundary}, actual=actual).points == D(expected)


@pytest.mark.parametrize("boundary", ["lower_inclusive", "upper_inclusive"])
def test_it_finds_no_band_one_step_below_the_closed_bottom(boundary: str) -> None:
    with pytest.raises(ScoringError, match="in no band"):
        run("banded", {"bands": CLOSED, "boundary": boundary}, actual="-0.01")


def test_it_puts_any_high_value_in_an_open_top_band() -> None:
    bands = [{"from": None, "to": "60", "points": "1"}, {"from": "60", "to": None, "points": "2"}]
    assert run("banded", {"bands": bands}, actual="1000000").points == D(2)


RATE_LADDER = [
    {"from": None, "to": "0.9", "points": "0"},
    {"from": "0.9", "to": "1", "points": "8"},
    {"from": "1", "to": None, "points": "10"},
]


@pytest.mark.parametrize(
    ("config", "actual", "expected"),
    [
        ({}, "89.99", "0"),
        ({}, "90", "8"),
        ({}, "90.01", "8"),
        ({}, "99.99", "8"),
        ({}, "100", "10"),
        ({"boundary": "upper_inclusive"}, "90", "0"),
        ({"boundary": "upper_inclusive"}, "100", "8"),
        ({"boundary": "upper_inclusive"}, "100.01", "10"),
        ({"rate_places": 0}, "89.49", "0"),  # 89.49 % → 89 %
        ({"rate_places": 0}, "89.5", "8"),  # 89.5 % → 90 %
    ],
)
def test_it_bands_the_rate_at_its_edges(config: dict[str, Any], actual: str, expected: str) -> None:
    config = {"measure": "rate", "bands": RATE_LADDER, **config}
    assert run("banded", config, actual=actual, target="100").points == D(expected)


@pytest.mark.parametrize(
    ("lower_mode", "actual", "expected"),
    [
        ("ratio", "111.11", "8"),  # 100 ÷ 111.11 = 0.90000…
        ("ratio", "111.12", "0"),  # 100 ÷ 111.12 = 0.89992…
        ("ratio", "0", "10"),  # actual ≤ 0: an infinite rate, in the open top band
        ("difference", "110", "8"),  # 2 − 1.1 = 0.9
        ("difference", "110.01", "0"),  # 2 − 1.1001 = 0.8999
    ],
)
def test_it_bands_a_lower_is_better_rate(lower_mode: str, actual: str, expected: str) -> None:
    config = {"measure": "rate", "bands": RATE_LADDER, "lower_mode": lower_mode}
    assert run("banded", config, actual=actual, target="100", direction="lower").points == D(expected)


@pytest.mark.parametrize(("actual", "expected"), [("59.99", "7.50"), ("60", "15.00")])
def test_it_gives_a_band_share_of_full_marks(actual: str, expected: str) -> None:
    bands = [{"from": None, "to": "60", "share": "0.5"}, {"from": "60", "to": None, "share": "1"}]
    assert run("banded", {"unit": "share", "bands": bands}, max_points="15", actual=actual).points == D(expected)


@pytest.mark.parametrize(
    ("bands", "field"),
    [
        ([{"from": "60", "to": "60", "points": "0"}], "bands[0]"),  # empty
        ([{"from": "60.01", "to": "60", "points": "0"}], "bands[0]"),  # backwards
        ([{"from": None, "to": "60", "points": "0"}, {"from": "60.01", "to": None, "points": "1"}], "bands[1]"),
        ([{"from": None, "to": "60.01", "points": "0"}, {"from": "60", "to": None, "points": "1"}], "bands[1]"),
    ],
)
def test_it_refuses_a_band_one_step_past_its_neighbour(bands: list[dict[str, Any]], field: str) -> None:
    assert refusal("banded", {"bands": bands}) == field


@pytest.mark.parametrize(
    "bands",
    [
        [{"from": "60", "to": "60.01", "points": "0"}],
        [{"from": None, "to": "60", "points": "0"}, {"from": "60", "to": None, "points": "1"}],
    ],
)
def test_it_accepts_bands_that_just_meet(bands: list[dict[str, Any]]) -> None:
    assert validate_config("banded", {"bands": bands})


# --- deduction: tiers (marginal) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (3, "85.00"),  # 3 × 5
        (4, "77.00"),  # 3 × 5 + 8
        (5, "69.00"),  # 3 × 5 + 2 × 8
    ],
)
def test_it_charges_the_tier_from_its_count_on(count: int, expected: str) -> None:
    item = {"code": "x", "name": "X", "points": "5", "tiers": [{"from_count": 4, "points": "8"}]}
    assert run("deduction", {"items": [item]}, occurrences={"x": count}).points == D(expected)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (2, "98.00"),  # 1 + 1
        (3, "96.00"),  # 1 + 1 + 2
        (4, "94.00"),  # 1 + 1 + 2 + 2
        (5, "90.00"),  # 1 + 1 + 2 + 2 + 4
        (6, "86.00"),  # … + 4 + 4
    ],
)
def test_it_charges_each_tier_up_to_the_next_one(count: int, expected: str) -> None:
    tiers = [{"from_count": 3, "points": "2"}, {"from_count": 5, "points": "4"}]
    item = {"code": "x", "name": "X", "points": "1", "tiers": tiers}
    assert run("deduction", {"items": [item]}, occurrences={"x": count}).points == D(expected)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (2, "0.00"),  # money 0 before the tier
        (3, "-200.00"),  # the tier's money from the third occurrence
        (4, "-400.00"),
    ],
)
def test_it_charges_the_tier_money_from_its_count_on(count: int, expected: str) -> None:
    item = {
        "code": "x",
        "name": "X",
        "points": "1",
        "money": "0",
        "tiers": [{"from_count": 3, "points": "1", "money": "200"}],
    }
    assert run("deduction", {"items": [item]}, occurrences={"x": count}).money == D(expected)


@pytest.mark.parametrize(("count", "expected"), [(2, "-100.00"), (3, "-150.00")])
def test_it_lets_a_tier_without_money_inherit_the_item_money(count: int, expected: str) -> None:
    item = {"code": "x", "name": "X", "points": "1", "money": "50", "tiers": [{"from_count": 3, "points": "2"}]}
    assert run("deduction", {"items": [item]}, occurrences={"x": count}).money == D(expected)


@pytest.mark.parametrize(
    ("from_count", "field"),
    [(1, "items[0].tiers[0].from_count"), (0, "items[0].tiers[0].from_count")],
)
def test_it_refuses_a_tier_before_the_second_occurrence(from_count: int, field: str) -> None:
    item = {"code": "x", "name": "X", "points": "1", "tiers": [{"from_count": from_count, "points": "2"}]}
    assert refusal("deduction", {"items": [item]}) == field


def test_it_accepts_a_tier_from_the_second_occurrence() -> None:
    item = {"code": "x", "name": "X", "points": "1", "tiers": [{"from_count": 2, "points": "2"}]}
    assert run("deduction", {"items": [item]}, occurrences={"x": 2}).points == D("97.00")  # 1 + 2


# --- deduction: caps per item and in total, in points and money ---------------------------------


@pytest.mark.parametrize(
    ("cap_points", "count", "expected"),
    [
        ("10", 1, "95.00"),
        ("10", 2, "90.00"),  # exactly the cap
        ("10", 3, "90.00"),  # 15 → 10
        ("9.99", 2, "90.01"),  # 10 → 9.99
        ("10.01", 2, "90.00"),
        ("0", 2, "100.00"),
    ],
)
def test_it_caps_the_points_of_an_item(cap_points: str, count: int, expected: str) -> None:
    item = {"code": "x", "name": "X", "points": "5", "cap_points": cap_points}
    assert run("deduction", {"items": [item]}, occurrences={"x": count}).points == D(expected)


@pytest.mark.parametrize(
    ("cap_money", "count", "expected"),
    [
        ("100", 1, "-50.00"),
        ("100", 2, "-100.00"),
        ("100", 3, "-100.00"),  # 150 → 100
        ("99.99", 2, "-99.99"),
        ("100.01", 2, "-100.00"),
    ],
)
def test_it_caps_the_money_of_an_item(cap_money: str, count: int, expected: str) -> None:
    item = {"code": "x", "name": "X", "points": "1", "money": "50", "cap_money": cap_money}
    assert run("deduction", {"items": [item]}, occurrences={"x": count}).money == D(expected)


@pytest.mark.parametrize(("count", "expected"), [(1, "-100.00"), (2, "-200.00"), (3, "-200.00")])
def test_it_charges_money_per_point_after_the_item_cap(count: int, expected: str) -> None:
    item = {"code": "x", "name": "X", "points": "5", "cap_points": "10"}
    assert run("deduction", {"items": [item], "money_per_point": "20"}, occurrences={"x": count}).money == D(expected)


@pytest.mark.parametrize(
    ("count", "points", "money"),
    [
        (19, "81.00", "-38.00"),
        (20, "80.00", "-40.00"),
        (21, "80.00", "-40.00"),  # 21 points → 20, money follows the points left: 20 × 2
    ],
)
def test_it_caps_the_total_points_and_the_money_that_follows_them(count: int, points: str, money: str) -> None:
    config = {"items": [{"code": "x", "name": "X", "points": "1"}], "money_per_point": "2", "total_cap_points": "20"}
    result = run("deduction", config, occurrences={"x": count})
    assert (result.points, result.money) == (D(points), D(money))


@pytest.mark.parametrize(
    ("cap", "expected"),
    [("19.99", "80.01"), ("20", "80.00"), ("20.01", "80.00")],  # 10 + 10 deducted
)
def test_it_caps_the_total_points_across_items(cap: str, expected: str) -> None:
    items = [{"code": "a", "name": "A", "points": "5"}, {"code": "b", "name": "B", "points": "10"}]
    result = run("deduction", {"items": items, "total_cap_points": cap}, occurrences={"a": 2, "b": 1})
    assert result.points == D(expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (19, 10, "-290.00"),
        (20, 10, "-300.00"),
        (21, 10, "-300.00"),  # 210 + 100 → 300
    ],
)
def test_it_caps_the_total_money_across_items(a: int, b: int, expected: str) -> None:
    items = [
        {"code": "a", "name": "A", "points": "0", "money": "10"},
        {"code": "b", "name": "B", "points": "0", "money": "10"},
    ]
    result = run("deduction", {"items": items, "total_cap_money": "300"}, occurrences={"a": a, "b": b})
    assert result.money == D(expected)


# --- deduction: the floor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "points", "expected"),
    [
        ({}, "24.99", "0.01"),
        ({}, "25", "0.00"),
        ({}, "25.01", "0.00"),  # −0.01 → the default floor 0
        ({"floor": None}, "25.01", "-0.01"),  # no floor: negative
        ({"floor": "10"}, "14.99", "10.01"),
        ({"floor": "10"}, "15", "10.00"),
        ({"floor": "10"}, "15.01", "10.00"),
        ({"floor": "-5"}, "30.01", "-5.00"),
    ],
)
def test_it_floors_a_deduction_score(config: dict[str, Any], points: str, expected: str) -> None:
    config = {"items": [{"code": "x", "name": "X", "points": points}], **config}
    assert run("deduction", config, max_points="25", occurrences={"x": 1}).points == D(expected)


def test_it_charges_the_money_of_points_below_the_floor() -> None:
    config = {"items": [{"code": "x", "name": "X", "points": "5"}], "money_per_point": "20"}
    result = run("deduction", config, max_points="10", occurrences={"x": 3})  # 15 deducted from 10
    assert (result.points, result.money) == (D("0.00"), D("-300.00"))


# --- deduction and bonus: settings at their limits -----------------------------------------------


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"items": [{"code": "x", "name": "X", "points": "-0.01"}]}, "items[0].points"),
        ({"items": [{"code": "x", "name": "X", "points": "1", "money": "-0.01"}]}, "items[0].money"),
        ({"items": [{"code": "x", "name": "X", "points": "1", "cap_points": "-0.01"}]}, "items[0].cap_points"),
        ({"items": [{"code": "x", "name": "X", "points": "1", "cap_money": "-0.01"}]}, "items[0].cap_money"),
        ({"items": [{"code": "x", "name": "X", "points": "1"}], "money_per_point": "-0.01"}, "money_per_point"),
        ({"items": [{"code": "x", "name": "X", "points": "1"}], "total_cap_points": "-0.01"}, "total_cap_points"),
        ({"items": [{"code": "x", "name": "X", "points": "1"}], "total_cap_money": "-0.01"}, "total_cap_money"),
    ],
)
def test_it_refuses_amounts_one_step_below_zero(config: dict[str, Any], field: str) -> None:
    assert refusal("deduction", config) == field
    assert refusal("bonus", config) == field


def test_it_accepts_amounts_of_zero() -> None:
    item = {"code": "x", "name": "X", "points": "0", "money": "0", "cap_points": "0", "cap_money": "0"}
    config = {"items": [item], "total_cap_points": "0", "total_cap_money": "0"}
    result = run("deduction", config, occurrences={"x": 3})
    assert (result.points, result.money) == (D("100.00"), D("0.00"))


# --- bonus: caps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cap", "mentions", "expected"),
    [
        ("6", 1, "3.00"),
        ("6", 2, "6.00"),
        ("6", 3, "6.00"),  # 9 → 6
        ("5.99", 2, "5.99"),
        ("6.01", 2, "6.00"),
    ],
)
def test_it_caps_the_bonus_points(cap: str, mentions: int, expected: str) -> None:
    config = {"items": [{"code": "p", "name": "媒体表扬", "points": "3"}], "total_cap_points": cap}
    assert run("bonus", config, max_points="0", occurrences={"p": mentions}).points == D(expected)


@pytest.mark.parametrize(("mentions", "expected"), [(1, "3.00"), (2, "5.00"), (3, "5.00")])
def test_it_caps_the_bonus_points_of_an_item(mentions: int, expected: str) -> None:
    config = {"items": [{"code": "p", "name": "媒体表扬", "points": "3", "cap_points": "5"}]}
    assert run("bonus", config, max_points="0", occurrences={"p": mentions}).points == D(expected)


@pytest.mark.parametrize(
    ("cap", "count", "expected"),
    [
        ("200", 1, "100.00"),
        ("200", 2, "200.00"),
        ("200", 3, "200.00"),  # 300 → 200
        ("199.99", 2, "199.99"),
        ("200.01", 2, "200.00"),
    ],
)
def test_it_caps_the_bonus_money(cap: str, count: int, expected: str) -> None:
    config = {"items": [{"code": "i", "name": "好点子", "points": "0", "money": "100"}], "total_cap_money": cap}
    assert run("bonus", config, max_points="0", occurrences={"i": count}).money == D(expected)


@pytest.mark.parametrize(("count", "points", "money"), [(2, "2.00", "20.00"), (3, "5.00", "50.00")])
def test_it_awards_a_bonus_tier_and_its_money_per_point(count: int, points: str, money: str) -> None:
    item = {"code": "i", "name": "I", "points": "1", "tiers": [{"from_count": 3, "points": "3"}]}
    result = run("bonus", {"items": [item], "money_per_point": "10"}, max_points="0", occurrences={"i": count})
    assert (result.points, result.money) == (D(points), D(money))


# --- rating: the ends of the scale --------------------------------------------------------------

SCALE = {"scale": [{"label": "优秀", "points": "10"}, {"label": "良好", "points": "8"}, {"label": "差", "points": "0"}]}


@pytest.mark.parametrize(
    ("rating", "expected"), [("优秀", "10.00"), ("良好", "8.00"), ("差", "0.00"), (" 差 ", "0.00")]
)
def test_it_scores_each_end_of_the_rating_scale(rating: str, expected: str) -> None:
    assert run("rating", SCALE, rating=rating).points == D(expected)


@pytest.mark.parametrize("rating", ["中", "优秀秀", ""])
def test_it_refuses_a_rating_just_off_the_scale(rating: str) -> None:
    with pytest.raises(ScoringError):
        run("rating", SCALE, rating=rating)


@pytest.mark.parametrize(("rating", "expected"), [("5", "20.00"), ("4", "16.00"), ("1", "0.00")])
def test_it_scores_rating_shares_of_full_marks(rating: str, expected: str) -> None:
    scale = [{"label": "5", "share": "1"}, {"label": "4", "share": "0.8"}, {"label": "1", "share": "0"}]
    assert run("rating", {"unit": "share", "scale": scale}, max_points="20", rating=rating).points == D(expected)


# --- pass / fail: the rounds --------------------------------------------------------------------

ACCEPTANCE = {"round_shares": ["1", "0.8", "0.6"], "fail_share": "0.2"}


@pytest.mark.parametrize(
    ("accepted", "round_", "expected"),
    [
        (True, None, "10.00"),  # round 1 by default
        (True, 1, "10.00"),
        (True, 2, "8.00"),
        (True, 3, "6.00"),  # the last round listed
        (True, 4, "6.00"),  # one past it: the last share
        (True, 100, "6.00"),
        (False, 1, "2.00"),  # not accepted: the fail share, whatever the round
        (False, None, "2.00"),
    ],
)
def test_it_scores_each_acceptance_round(accepted: bool, round_: int | None, expected: str) -> None:
    result = run("pass_fail", ACCEPTANCE, max_points="10", accepted=accepted, acceptance_round=round_)
    assert result.points == D(expected)


@pytest.mark.parametrize("round_", [0, -1, True])
def test_it_refuses_an_acceptance_round_below_one(round_: Any) -> None:
    with pytest.raises(ScoringError, match="1 or more"):
        run("pass_fail", ACCEPTANCE, accepted=True, acceptance_round=round_)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"round_shares": ["1", "-0.01"]}, "round_shares[1]"),
        ({"round_shares": ["1"], "fail_share": "-0.01"}, "fail_share"),
    ],
)
def test_it_refuses_a_share_one_step_below_zero(config: dict[str, Any], field: str) -> None:
    assert refusal("pass_fail", config) == field


def test_it_accepts_shares_of_zero() -> None:
    assert validate_config("pass_fail", {"round_shares": ["0"], "fail_share": "0"}) == {
        "round_shares": ["0"],
        "fail_share": "0",
    }
