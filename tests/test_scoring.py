"""indicators.scoring: every method as data, at its boundaries, explained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from indicators.scoring import (
    ConfigError,
    LineInput,
    Method,
    ScoreResult,
    ScoringError,
    required_inputs,
    score,
    validate_config,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def line(**fields: Any) -> LineInput:
    fields.setdefault("max_points", D(15))
    return LineInput(**fields)


def completion(actual: str, target: str = "100", direction: str = "higher", **config: Any) -> ScoreResult:
    return score("completion", config, line(actual=D(actual), target=D(target), direction=direction))


def config_error(method: str, config: Any, **kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        validate_config(method, config, **kwargs)
    return error.value


# --- common -----------------------------------------------------------------------------------


def test_it_offers_the_seven_methods() -> None:
    assert Method.values == ["completion", "banded", "deduction", "bonus", "rating", "pass_fail", "formula"]


def test_it_refuses_an_unknown_method() -> None:
    error = config_error("weighted", {})
    assert error.field == "method"
    assert "weighted" in str(error)


def test_it_refuses_a_config_that_is_not_an_object() -> None:
    assert config_error("completion", ["cap_rate"]).field == "config"


def test_it_refuses_an_unknown_setting_and_suggests_the_right_one() -> None:
    error = config_error("completion", {"cap_rte": "1.2"})
    assert error.field == "cap_rte"
    assert str(error) == 'Unknown setting "cap_rte"; did you mean "cap_rate"?'


def test_it_refuses_float_config_values_because_they_lose_fen() -> None:
    error = config_error("completion", {"cap_rate": 1.2})
    assert error.field == "cap_rate"
    assert "lose fen" in str(error)


def test_it_refuses_garbage_config_values_naming_the_field() -> None:
    error = config_error("deduction", {"items": [{"code": "a", "name": "A", "points": "five"}]})
    assert error.field == "items[0].points"
    assert '"five" is not a number' in str(error)


def test_it_refuses_negative_full_marks() -> None:
    with pytest.raises(ScoringError, match="Full marks cannot be negative"):
        line(max_points=D(-1))


def test_it_refuses_an_unknown_direction() -> None:
    with pytest.raises(ScoringError, match="Direction"):
        line(direction="sideways")


def test_it_refuses_float_inputs_on_a_line() -> None:
    with pytest.raises(TypeError, match="float"):
        line(actual=95.5)


def test_it_rounds_points_half_up_to_two_places() -> None:
    result = score("completion", {}, line(max_points=D(1), actual=D("12.5"), target=D(100)))
    assert str(result.points) == "0.13"  # 0.125 → 0.13


def test_it_rounds_money_to_the_fen() -> None:
    config = {"items": [{"code": "a", "name": "A", "points": "1"}], "money_per_point": "0.125"}
    assert str(score("deduction", config, line(occurrences={"a": 1})).money) == "-0.13"


@pytest.mark.parametrize(
    ("method", "config", "expected"),
    [
        ("completion", {}, {"actual", "target"}),
        ("banded", {"bands": [{"from": None, "to": None, "points": "1"}]}, {"actual"}),
        ("banded", {"measure": "rate", "bands": [{"from": None, "to": None, "points": "1"}]}, {"actual", "target"}),
        ("deduction", {"items": [{"code": "a", "name": "A", "points": "1"}]}, {"occurrences"}),
        ("bonus", {"items": [{"code": "a", "name": "A", "points": "1"}]}, {"occurrences"}),
        ("rating", {"scale": [{"label": "A", "points": "1"}]}, {"rating"}),
        ("pass_fail", {"round_shares": ["1"]}, {"accepted", "acceptance_round"}),
        ("formula", {"expression": "actual * rate", "inputs": ["rate"]}, {"actual", "rate"}),
    ],
)
def test_it_tells_the_ui_which_inputs_each_method_needs(method: str, config: Any, expected: set[str]) -> None:
    assert required_inputs(method, config) == expected


# --- completion -------------------------------------------------------------------------------


def test_it_scores_completion_against_the_target() -> None:
    result = completion("95", cap_rate="1.2")
    assert result.points == D("14.25")
    assert result.money == D("0.00")


def test_it_explains_completion_with_the_numbers() -> None:
    explanation = completion("95", cap_rate="1.2").explanation
    assert explanation == "actual 95.00 ÷ target 100.00 = 95.00%; within 0.00%–120.00%; score 15.00 × 95.00% = 14.25"


def test_it_explains_completion_in_chinese() -> None:
    with translation.override("zh-hans"):
        explanation = completion("95", cap_rate="1.2").explanation
    assert explanation == "实际值 95.00 ÷ 目标值 100.00 = 95.00%；在 0.00%–120.00% 之间；得分 15.00 × 95.00% = 14.25"


def test_it_labels_the_basis_as_configured() -> None:
    assert "benchmark 100.00" in completion("95", basis="benchmark").explanation
    with translation.override("zh-hans"):
        assert "标杆值 100.00" in completion("95", basis="benchmark").explanation


def test_it_traces_completion_steps_as_strings() -> None:
    steps = completion("95", cap_rate="1.2").steps
    assert steps[0] == {"rule": "rate.higher", "actual": "95", "target": "100", "rate": "0.95"}
    assert steps[-1] == {"rule": "points", "max_points": "15", "rate": "0.95", "points": "14.25"}


def test_it_scores_exactly_the_cap() -> None:
    result = completion("120", cap_rate="1.2")
    assert result.points == D("18.00")
    assert "counted as" not in result.explanation


def test_it_caps_a_rate_just_above_the_cap() -> None:
    result = completion("120.01", cap_rate="1.2")
    assert result.points == D("18.00")
    assert "above the cap of 120.00%, counted as 120.00%" in result.explanation
    assert {"rule": "rate.cap", "rate_before": "1.2001", "cap_rate": "1.2", "rate": "1.2"} in result.steps


def test_it_does_not_cap_without_a_cap_rate() -> None:
    assert completion("150").points == D("22.50")


def test_it_scores_exactly_the_floor() -> None:
    result = completion("60", floor_rate="0.6")
    assert result.points == D("9.00")
    assert "counted as" not in result.explanation


def test_it_lifts_a_rate_below_the_floor() -> None:
    result = completion("50", floor_rate="0.6")
    assert result.points == D("9.00")
    assert "below the floor of 60.00%, counted as 60.00%" in result.explanation


def test_it_floors_at_zero_by_default() -> None:
    assert completion("-5").points == D("0.00")


def test_it_lets_the_rate_go_negative_without_a_floor() -> None:
    # difference mode, lower is better: 2 − 250/100 = −50 %
    assert completion("250", direction="lower", lower_mode="difference", floor_rate=None).points == D("-7.50")


def test_it_inverts_a_lower_is_better_ratio() -> None:
    # coal per kWh, benchmark 300 g, actual 312 g: 300 / 312 = 96.1538…% × 15 = 14.42
    result = completion("312", "300", "lower")
    assert result.points == D("14.42")
    assert "lower is better: target 300.00 ÷ actual 312.00 = 96.15%" in result.explanation


def test_it_rewards_beating_a_lower_is_better_benchmark_up_to_the_cap() -> None:
    assert completion("285", "300", "lower", cap_rate="1.2").points == D("15.79")  # 300/285 = 105.26 %
    assert completion("240", "300", "lower", cap_rate="1.2").points == D("18.00")  # 125 % → 120 %


def test_it_scores_lower_is_better_by_difference() -> None:
    # 2 − 312 / 300 = 96 % × 15 = 14.40
    result = completion("312", "300", "lower", lower_mode="difference")
    assert result.points == D("14.40")
    assert "2 − actual 312.00 ÷ target 300.00 = 96.00%" in result.explanation


def test_it_gives_the_cap_rate_for_actual_zero_when_lower_is_better() -> None:
    result = completion("0", "300", "lower", cap_rate="1.2")
    assert result.points == D("18.00")
    assert "the best rate 120.00% applies" in result.explanation


def test_it_needs_a_cap_for_actual_zero_when_lower_is_better() -> None:
    with pytest.raises(ScoringError, match="set a cap rate"):
        completion("0", "300", "lower")


def test_it_keeps_inputs_unrounded_in_explanations() -> None:
    assert "actual 312.456" in completion("312.456", "300", "lower").explanation


def test_it_rounds_the_rate_as_a_percentage_when_asked() -> None:
    exact = score("completion", {}, line(max_points=D(100), actual=D(2), target=D(3)))
    rounded = score("completion", {"rate_places": 0}, line(max_points=D(100), actual=D(2), target=D(3)))
    assert (exact.points, rounded.points) == (D("66.67"), D("67.00"))


@pytest.mark.parametrize(
    ("direction", "actual", "expected"),
    [
        ("higher", "0", "15.00"),
        ("higher", "3", "15.00"),
        ("higher", "-1", "0.00"),
        ("lower", "0", "15.00"),
        ("lower", "-1", "15.00"),
        ("lower", "3", "0.00"),
    ],
)
def test_it_gives_full_marks_for_meeting_a_zero_target(direction: str, actual: str, expected: str) -> None:
    assert completion(actual, "0", direction).points == D(expected)


def test_it_gives_the_floor_for_missing_a_zero_target() -> None:
    result = completion("2", "0", "lower", floor_rate="0.5")
    assert result.points == D("7.50")
    assert "target is 0 and actual 2.00 misses it: the floor rate 50.00% applies" in result.explanation


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_it_gives_nothing_for_a_zero_target_by_the_zero_rule(direction: str) -> None:
    result = completion("0", "0", direction, zero_target="zero")
    assert result.points == D("0.00")
    assert "no points by rule" in result.explanation


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_it_gives_full_marks_for_a_zero_target_by_the_full_rule(direction: str) -> None:
    result = completion("-7", "0", direction, zero_target="full")
    assert result.points == D("15.00")
    assert "full marks by rule" in result.explanation


def test_it_refuses_a_negative_target() -> None:
    with pytest.raises(ScoringError, match="use a formula"):
        completion("5", "-10")


def test_it_names_the_subject_when_the_actual_is_missing() -> None:
    with pytest.raises(ScoringError) as error:
        score("completion", {}, line(target=D(100), subject="运行一值"))
    assert str(error.value) == "No actual value was entered. (for 运行一值)"


def test_it_needs_a_target_for_completion() -> None:
    with pytest.raises(ScoringError, match="No target"):
        score("completion", {}, line(actual=D(100)))


def test_it_refuses_a_floor_above_the_cap() -> None:
    assert config_error("completion", {"floor_rate": "1.3", "cap_rate": "1.2"}).field == "floor_rate"


def test_it_refuses_an_unknown_lower_mode() -> None:
    error = config_error("completion", {"lower_mode": "inverse"})
    assert error.field == "lower_mode"
    assert "ratio, difference" in str(error)


def test_it_normalises_a_completion_config_with_defaults_and_string_decimals() -> None:
    assert validate_config("completion", {"cap_rate": D("1.20"), "floor_rate": 0}) == {
        "basis": "target",
        "lower_mode": "ratio",
        "zero_target": "met_full",
        "rate_places": None,
        "floor_rate": "0",
        "cap_rate": "1.20",
    }


def test_it_keeps_28_digits_of_a_rate_in_the_trace() -> None:
    steps = score("completion", {}, line(actual=D(2), target=D(3))).steps
    assert steps[0]["rate"] == "0.6666666666666666666666666667"


def test_it_traces_the_rate_rounding_when_it_changes_the_rate() -> None:
    steps = score("completion", {"rate_places": 0}, line(actual=D(2), target=D(3))).steps
    rounded = {
        "rule": "rate.rounded",
        "rate_places": "0",
        "rate_before": "0.6666666666666666666666666667",
        "rate": "0.67",
    }
    assert rounded in steps


def test_it_traces_no_rounding_of_a_rate_that_is_already_round() -> None:
    steps = score("completion", {"rate_places": 2}, line(actual=D(95), target=D(100))).steps
    assert [step["rule"] for step in steps] == ["rate.higher", "points"]


def test_it_names_the_limit_of_rate_places() -> None:
    assert str(config_error("completion", {"rate_places": 11})) == "Must be at most 10."


def test_it_explains_a_rate_under_a_cap_without_a_floor() -> None:
    explanation = completion("95", cap_rate="1.2", floor_rate=None).explanation
    assert (
        explanation
        == "actual 95.00 ÷ target 100.00 = 95.00%; not above the cap of 120.00%; score 15.00 × 95.00% = 14.25"
    )


def test_it_explains_a_rate_above_the_default_floor() -> None:
    explanation = completion("95").explanation
    assert (
        explanation
        == "actual 95.00 ÷ target 100.00 = 95.00%; not below the floor of 0.00%; score 15.00 × 95.00% = 14.25"
    )


def test_it_explains_a_rate_with_neither_floor_nor_cap() -> None:
    explanation = completion("95", floor_rate=None).explanation
    assert explanation == "actual 95.00 ÷ target 100.00 = 95.00%; score 15.00 × 95.00% = 14.25"


# --- banded -----------------------------------------------------------------------------------

LADDER = [
    {"from": None, "to": "60", "points": "0"},
    {"from": "60", "to": "80", "points": "6"},
    {"from": "80", "to": "100", "points": "10"},
]


def banded(actual: str, **config: Any) -> ScoreResult:
    config.setdefault("bands", LADDER)
    return score("banded", config, line(max_points=D(10), actual=D(actual)))


@pytest.mark.parametrize(("actual", "expected"), [("59.99", "0"), ("60", "6"), ("79.99", "6"), ("80", "10")])
def test_it_puts_a_boundary_value_in_the_upper_band_when_lower_inclusive(actual: str, expected: str) -> None:
    assert banded(actual).points == D(expected)


@pytest.mark.parametrize(("actual", "expected"), [("60", "0"), ("60.01", "6"), ("80", "6"), ("80.01", "10")])
def test_it_puts_a_boundary_value_in_the_lower_band_when_upper_inclusive(actual: str, expected: str) -> None:
    assert banded(actual, boundary="upper_inclusive").points == D(expected)


@pytest.mark.parametrize("boundary", ["lower_inclusive", "upper_inclusive"])
def test_it_includes_the_closed_outer_ends_in_both_modes(boundary: str) -> None:
    bands = [{"from": "0", "to": "60", "points": "0"}, {"from": "60", "to": "100", "points": "10"}]
    assert banded("100", bands=bands, boundary=boundary).points == D(10)
    assert banded("0", bands=bands, boundary=boundary).points == D(0)


def test_it_refuses_a_value_outside_every_band() -> None:
    with pytest.raises(ScoringError) as error:
        banded("100.01")
    assert "actual 100.01 is in no band" in str(error.value)
    assert "80.00 ≤ actual ≤ 100.00" in str(error.value)


def test_it_uses_the_otherwise_points_outside_every_band() -> None:
    result = banded("120", otherwise="12")
    assert result.points == D(12)
    assert "in no band: the otherwise value applies" in result.explanation


def test_it_explains_the_band() -> None:
    assert banded("75").explanation == "actual 75.00 is in the band 60.00 ≤ actual < 80.00; score 6.00"


def test_it_explains_the_band_in_chinese() -> None:
    with translation.override("zh-hans"):
        assert banded("75").explanation == "实际值 75.00 落在 60.00 ≤ 实际值 < 80.00 档；得分 6.00"


def test_it_scores_a_share_of_full_marks() -> None:
    bands = [{"from": None, "to": "60", "share": "0.5"}, {"from": "60", "to": None, "share": "1"}]
    result = score("banded", {"unit": "share", "bands": bands}, line(actual=D(50)))
    assert result.points == D("7.50")
    assert "score 15.00 × 50.00% = 7.50" in result.explanation


def test_it_refuses_a_band_value_in_the_wrong_unit() -> None:
    error = config_error("banded", {"unit": "share", "bands": [{"from": None, "to": None, "points": "1"}]})
    assert error.field == "bands[0].points"
    assert 'gives "share"' in str(error)


def test_it_bands_the_completion_rate() -> None:
    bands = [
        {"from": None, "to": "0.9", "points": "0"},
        {"from": "0.9", "to": "1", "points": "8"},
        {"from": "1", "to": None, "points": "10"},
    ]
    config = {"measure": "rate", "bands": bands}
    assert score("banded", config, line(actual=D(95), target=D(100))).points == D(8)
    assert score("banded", config, line(actual=D(100), target=D(100))).points == D(10)
    explanation = score("banded", config, line(actual=D(95), target=D(100))).explanation
    assert "rate 95.00% is in the band 90.00% ≤ rate < 100.00%" in explanation


def test_it_puts_an_infinite_lower_is_better_rate_in_the_open_top_band() -> None:
    bands = [{"from": None, "to": "1", "points": "0"}, {"from": "1", "to": None, "points": "10"}]
    result = score("banded", {"measure": "rate", "bands": bands}, line(actual=D(0), target=D(5), direction="lower"))
    assert result.points == D(10)


def test_it_refuses_a_gap_between_bands_and_reports_it() -> None:
    bands = [{"from": None, "to": "60", "points": "0"}, {"from": "70", "to": None, "points": "10"}]
    error = config_error("banded", {"bands": bands})
    assert error.field == "bands[1]"
    assert str(error) == "Gap between bands: no band covers 60 to 70."


def test_it_refuses_overlapping_bands() -> None:
    bands = [{"from": None, "to": "70", "points": "0"}, {"from": "60", "to": None, "points": "10"}]
    assert "Bands overlap" in str(config_error("banded", {"bands": bands}))


def test_it_refuses_two_bands_open_at_the_bottom() -> None:
    bands = [{"from": None, "to": "60", "points": "0"}, {"from": None, "to": "70", "points": "10"}]
    assert "open at the bottom" in str(config_error("banded", {"bands": bands}))


def test_it_refuses_an_open_top_below_another_band() -> None:
    bands = [{"from": "0", "to": None, "points": "0"}, {"from": "60", "to": "70", "points": "10"}]
    assert "open at the top" in str(config_error("banded", {"bands": bands}))


def test_it_refuses_an_empty_band() -> None:
    error = config_error("banded", {"bands": [{"from": "60", "to": "60", "points": "0"}]})
    assert error.field == "bands[0]"


def test_it_refuses_no_bands() -> None:
    assert config_error("banded", {"bands": []}).field == "bands"


def test_it_sorts_bands_listed_out_of_order() -> None:
    normalised = validate_config("banded", {"bands": [LADDER[2], LADDER[0], LADDER[1]]})
    assert [b["from"] for b in normalised["bands"]] == [None, "60", "80"]
    assert banded("70", bands=[LADDER[2], LADDER[0], LADDER[1]]).points == D(6)


def test_it_explains_the_closed_bottom_of_the_first_band_when_upper_inclusive() -> None:
    bands = [{"from": "0", "to": "60", "points": "1"}, {"from": "60", "to": "100", "points": "2"}]
    explanation = banded("0", bands=bands, boundary="upper_inclusive").explanation
    assert explanation == "actual 0.00 is in the band 0.00 ≤ actual ≤ 60.00; score 1.00"


def test_it_explains_an_open_lower_edge_when_upper_inclusive() -> None:
    bands = [{"from": "0", "to": "60", "points": "1"}, {"from": "60", "to": "100", "points": "2"}]
    explanation = banded("70", bands=bands, boundary="upper_inclusive").explanation
    assert explanation == "actual 70.00 is in the band 60.00 < actual ≤ 100.00; score 2.00"


def test_it_traces_the_band_by_its_place_in_the_config() -> None:
    assert banded("75").steps == (
        {"rule": "band", "value": "75", "band": "2", "band_from": "60", "band_to": "80", "amount": "6"},
        {"rule": "points", "points": "6.00"},
    )


def test_it_names_open_ends_when_bands_overlap() -> None:
    bands = [{"from": None, "to": "70", "points": "0"}, {"from": "60", "to": None, "points": "10"}]
    assert str(config_error("banded", {"bands": bands})) == "Bands overlap: −∞–70 and 60–+∞."


def test_it_refuses_a_band_that_overlaps_its_previous_band_not_only_the_first() -> None:
    # ends 10, 30, then a band from 20: each band is checked against the one before it
    bands = [
        {"from": None, "to": "10", "points": "0"},
        {"from": "10", "to": "30", "points": "5"},
        {"from": "20", "to": None, "points": "10"},
    ]
    error = config_error("banded", {"bands": bands})
    assert error.field == "bands[2]"
    assert str(error) == "Bands overlap: 10–30 and 20–+∞."


def test_it_refuses_a_band_whose_end_falls_below_its_start() -> None:
    bands = [
        {"from": None, "to": "10", "points": "0"},
        {"from": "10", "to": "30", "points": "5"},
        {"from": "30", "to": "20", "points": "10"},
    ]
    assert config_error("banded", {"bands": bands}).field == "bands[2]"


def test_it_suggests_the_banded_setting_meant() -> None:
    error = config_error("banded", {"bands": LADDER, "boundry": "upper_inclusive"})
    assert (error.field, str(error)) == ("boundry", 'Unknown setting "boundry"; did you mean "boundary"?')


def test_it_suggests_the_band_setting_meant() -> None:
    error = config_error("banded", {"bands": [{"from": None, "too": None, "points": "1"}]})
    assert (error.field, str(error)) == ("bands[0].too", 'Unknown setting "too"; did you mean "to"?')


def test_it_requires_a_value_in_each_band() -> None:
    error = config_error("banded", {"bands": [{"from": None, "to": None}]})
    assert (error.field, str(error)) == ("bands[0].points", "This setting is required.")


def test_it_refuses_a_band_with_both_points_and_a_share() -> None:
    error = config_error("banded", {"bands": [{"from": None, "to": None, "points": "1", "share": "1"}]})
    assert error.field == "bands[0].share"
    assert str(error).startswith('Unknown setting "share"')


# --- deduction --------------------------------------------------------------------------------

# S1-1: a cigarette end behind the counter costs 5 points, from the fourth on 8; 1 point = 20 CNY.
SMOKING = {
    "items": [
        {"code": "smoke", "name": "柜台内烟头", "points": "5", "tiers": [{"from_count": 4, "points": "8"}]},
        {"code": "dress", "name": "着装不规范", "points": "2"},
    ],
    "money_per_point": "20",
}


def deduct(config: Any, max_points: str = "100", **occurrences: int) -> ScoreResult:
    return score("deduction", config, line(max_points=D(max_points), occurrences=occurrences))


def test_it_escalates_from_the_tier_count_on() -> None:
    result = deduct(SMOKING, smoke=5)
    assert result.points == D("69.00")  # 100 − (5 + 5 + 5 + 8 + 8)
    assert result.money == D("-620.00")  # 31 points × 20 CNY


def test_it_keeps_the_base_rate_before_the_tier() -> None:
    assert deduct(SMOKING, smoke=3).points == D("85.00")


def test_it_explains_each_item_with_its_count() -> None:
    explanation = deduct(SMOKING, smoke=5, dress=1).explanation
    assert "柜台内烟头 × 5: 3 × 5.00 + 2 × 8.00 = 31.00 points, 620.00 CNY" in explanation
    assert "着装不规范 × 1: 1 × 2.00 = 2.00 points, 40.00 CNY" in explanation
    assert "score 100.00 − 33.00 = 67.00" in explanation
    assert "660.00 CNY deducted" in explanation


def test_it_explains_deductions_in_chinese() -> None:
    with translation.override("zh-hans"):
        explanation = deduct(SMOKING, smoke=5).explanation
    assert "柜台内烟头 × 5 次：3 × 5.00 + 2 × 8.00 = 31.00 分" in explanation
    assert "得分 100.00 − 31.00 = 69.00" in explanation
    assert "扣款 620.00 元" in explanation


def test_it_caps_an_item() -> None:
    config = {"items": [{"code": "late", "name": "迟到", "points": "5", "cap_points": "10"}]}
    result = deduct(config, late=3)
    assert result.points == D("90.00")
    assert "(capped at 10.00 points)" in result.explanation


def test_it_does_not_cap_an_item_at_exactly_its_cap() -> None:
    config = {"items": [{"code": "late", "name": "迟到", "points": "5", "cap_points": "10"}]}
    result = deduct(config, late=2)
    assert result.points == D("90.00")
    assert "capped" not in result.explanation


def test_it_charges_money_for_the_points_left_after_an_item_cap() -> None:
    item = {"code": "smoke", "name": "柜台内烟头", "points": "5", "cap_points": "10"}
    config = {"items": [item], "money_per_point": "20"}
    assert deduct(config, smoke=3).money == D("-200.00")  # 15 points capped at 10 → 10 × 20 CNY


def test_it_charges_money_for_the_points_left_after_the_total_cap() -> None:
    config = {**SMOKING, "total_cap_points": "20"}
    assert deduct(config, smoke=3, dress=5).money == D("-400.00")  # 25 points capped at 20 → 20 × 20 CNY


def test_it_refuses_an_amount_next_to_money_per_point() -> None:
    config = {"items": [{"code": "a", "name": "A", "points": "5", "money": "100"}], "money_per_point": "20"}
    error = config_error("deduction", config)
    assert error.field == "items[0].money"
    assert "money follows the points" in str(error)


def test_it_caps_the_total() -> None:
    config = {**SMOKING, "total_cap_points": "20"}
    result = deduct(config, smoke=3, dress=5)  # 15 + 10 = 25 → 20
    assert result.points == D("80.00")
    assert "total 25.00 points, capped at 20.00" in result.explanation


def test_it_floors_the_score_at_zero_by_default() -> None:
    config = {"items": [{"code": "x", "name": "违规", "points": "30"}]}
    result = deduct(config, "25", x=1)
    assert result.points == D("0.00")
    assert "below the floor of 0.00, counted as 0.00" in result.explanation


def test_it_lets_the_score_go_negative_without_a_floor() -> None:
    # S1-8: security is capped at its weight but a negative score eats into other indicators.
    config = {"items": [{"code": "x", "name": "安全事故", "points": "30"}], "floor": None}
    assert deduct(config, "25", x=1).points == D("-5.00")


def test_it_adds_up_money_per_item() -> None:
    config = {
        "items": [
            {"code": "a", "name": "A", "points": "1", "money": "50"},
            {"code": "b", "name": "B", "points": "0", "money": "30"},
        ]
    }
    assert deduct(config, a=2, b=1).money == D("-130.00")


def test_it_caps_the_money_per_month_s1_10() -> None:
    # S1-10: tier 1 −300, tier 2 −200, tier 3 −100, tier 4 10 CNY per point; at most 300 a month.
    config = {
        "items": [
            {"code": "t1", "name": "一档", "points": "0", "money": "300"},
            {"code": "t2", "name": "二档", "points": "0", "money": "200"},
            {"code": "t3", "name": "三档", "points": "0", "money": "100"},
            {"code": "t4", "name": "四档（每分）", "points": "1", "money": "10"},
        ],
        "total_cap_money": "300",
    }
    assert deduct(config, t3=1, t4=7).money == D("-170.00")
    result = deduct(config, t2=1, t3=1, t4=5)  # 200 + 100 + 50 = 350 → 300
    assert result.money == D("-300.00")
    assert "total 350.00 CNY, capped at 300.00 CNY" in result.explanation


def test_it_caps_the_money_of_an_item() -> None:
    config = {"items": [{"code": "late", "name": "迟到", "points": "1", "money": "50", "cap_money": "100"}]}
    assert deduct(config, late=3).money == D("-100.00")


def test_it_charges_money_from_a_tier_only_s1_3() -> None:
    # S1-3: being late costs nothing until the third time in a month, which costs 200 CNY.
    tiers = [{"from_count": 3, "points": "1", "money": "200"}]
    config = {"items": [{"code": "late", "name": "迟到", "points": "1", "money": "0", "tiers": tiers}]}
    assert deduct(config, late=2).money == D("0.00")
    assert deduct(config, late=3).money == D("-200.00")


def test_it_gives_full_marks_without_occurrences() -> None:
    result = deduct(SMOKING, smoke=0)
    assert result.points == D("100.00")
    assert result.money == D("0.00")
    assert result.explanation == "no deductions; score 100.00 − 0.00 = 100.00"


def test_it_refuses_an_unknown_item_code() -> None:
    with pytest.raises(ScoringError) as error:
        score("deduction", SMOKING, line(occurrences={"smok": 1}, subject="1002 张三"))
    assert str(error.value) == 'Unknown item code "smok"; did you mean "smoke"? (for 1002 张三)'


def test_it_lists_the_codes_for_an_unrecognisable_item_code() -> None:
    with pytest.raises(ScoringError, match='Unknown item code "zzz"; the codes are: smoke, dress'):
        deduct(SMOKING, zzz=1)


def test_it_refuses_a_negative_count() -> None:
    with pytest.raises(ScoringError, match="whole number of 0 or more"):
        deduct(SMOKING, smoke=-1)


def test_it_refuses_duplicate_item_codes() -> None:
    config = {"items": [{"code": "a", "name": "A", "points": "1"}, {"code": "a", "name": "B", "points": "2"}]}
    assert config_error("deduction", config).field == "items[1].code"


def test_it_refuses_tiers_out_of_order() -> None:
    tiers = [{"from_count": 4, "points": "8"}, {"from_count": 3, "points": "9"}]
    error = config_error("deduction", {"items": [{"code": "a", "name": "A", "points": "1", "tiers": tiers}]})
    assert error.field == "items[0].tiers[1].from_count"


def test_it_refuses_a_tier_from_the_first_occurrence() -> None:
    tiers = [{"from_count": 1, "points": "8"}]
    error = config_error("deduction", {"items": [{"code": "a", "name": "A", "points": "1", "tiers": tiers}]})
    assert error.field == "items[0].tiers[0].from_count"


def test_it_refuses_negative_deduction_points() -> None:
    error = config_error("deduction", {"items": [{"code": "a", "name": "A", "points": "-1"}]})
    assert error.field == "items[0].points"


def test_it_normalises_deduction_items() -> None:
    normalised = validate_config("deduction", SMOKING)
    assert normalised["items"][0] == {
        "code": "smoke",
        "name": "柜台内烟头",
        "points": "5",
        "money": None,
        "cap_points": None,
        "cap_money": None,
        "tiers": [{"from_count": 4, "points": "8", "money": None}],
    }
    assert normalised["floor"] == "0"
    assert normalised["money_per_point"] == "20"


def test_it_refuses_tier_counts_that_fall_back_below_an_earlier_tier() -> None:
    # ends 10, 30, 20: the third tier is checked against the second, not the first
    tiers = [{"from_count": 10, "points": "1"}, {"from_count": 30, "points": "2"}, {"from_count": 20, "points": "3"}]
    error = config_error("deduction", {"items": [{"code": "a", "name": "A", "points": "1", "tiers": tiers}]})
    assert error.field == "items[0].tiers[2].from_count"
    assert str(error) == "Tiers must start at increasing counts: 20 does not come after 30."


def test_it_refuses_a_tier_count_given_twice() -> None:
    tiers = [{"from_count": 10, "points": "1"}, {"from_count": "10", "points": "2"}]
    error = config_error("deduction", {"items": [{"code": "a", "name": "A", "points": "1", "tiers": tiers}]})
    assert error.field == "items[0].tiers[1].from_count"


def test_it_refuses_tier_money_next_to_money_per_point() -> None:
    tiers = [{"from_count": 3, "points": "1", "money": "10"}]
    config = {"items": [{"code": "a", "name": "A", "points": "1", "tiers": tiers}], "money_per_point": "20"}
    assert config_error("deduction", config).field == "items[0].tiers[0].money"


@pytest.mark.parametrize(
    ("config", "field", "meant"),
    [
        ({"items": [{"code": "a", "name": "A", "points": "1"}], "floors": "0"}, "floors", "floor"),
        ({"items": [{"code": "a", "name": "A", "points": "1", "cap_point": "1"}]}, "items[0].cap_point", "cap_points"),
        (
            {"items": [{"code": "a", "name": "A", "points": "1", "tiers": [{"from_counts": 2, "points": "1"}]}]},
            "items[0].tiers[0].from_counts",
            "from_count",
        ),
    ],
)
def test_it_suggests_the_deduction_setting_meant(config: dict[str, Any], field: str, meant: str) -> None:
    error = config_error("deduction", config)
    assert error.field == field
    assert str(error).endswith(f'did you mean "{meant}"?')


def test_it_explains_occurrences_before_the_first_tier_without_the_tier() -> None:
    assert "柜台内烟头 × 3: 3 × 5.00 = 15.00 points, 300.00 CNY;" in deduct(SMOKING, smoke=3).explanation


def test_it_explains_an_item_money_cap() -> None:
    config = {"items": [{"code": "late", "name": "迟到", "points": "1", "money": "50", "cap_money": "100"}]}
    explanation = deduct(config, late=3).explanation
    assert "迟到 × 3: 3 × 1.00 = 3.00 points, 100.00 CNY (capped at 100.00 CNY)" in explanation


def test_it_does_not_mention_total_caps_reached_exactly() -> None:
    config = {
        "items": [{"code": "a", "name": "A", "points": "1", "money": "15"}],
        "total_cap_points": "20",
        "total_cap_money": "300",
    }
    result = deduct(config, a=20)
    assert (result.points, result.money) == (D("80.00"), D("-300.00"))
    assert "capped" not in result.explanation


def test_it_does_not_mention_the_floor_reached_exactly() -> None:
    result = deduct({"items": [{"code": "x", "name": "违规", "points": "25"}]}, "25", x=1)
    assert result.explanation == "违规 × 1: 1 × 25.00 = 25.00 points; score 25.00 − 25.00 = 0.00"


# --- bonus ------------------------------------------------------------------------------------

# S1-3: praise from a customer or the media +3 points; here capped at 6 a month.
PRAISE = {"items": [{"code": "praise", "name": "媒体表扬", "points": "3"}], "total_cap_points": "6"}


@pytest.mark.parametrize(("mentions", "expected"), [(0, "0.00"), (1, "3.00"), (2, "6.00"), (3, "6.00")])
def test_it_adds_bonus_points_up_to_the_cap(mentions: int, expected: str) -> None:
    result = score("bonus", PRAISE, line(max_points=D(0), occurrences={"praise": mentions}))
    assert result.points == D(expected)


def test_it_explains_a_capped_bonus() -> None:
    result = score("bonus", PRAISE, line(max_points=D(0), occurrences={"praise": 3}))
    assert result.explanation == (
        "媒体表扬 × 3: 3 × 3.00 = 9.00 points; total 9.00 points, capped at 6.00; bonus 6.00 points"
    )


def test_it_does_not_add_full_marks_to_a_bonus() -> None:
    assert score("bonus", PRAISE, line(max_points=D(10), occurrences={"praise": 1})).points == D("3.00")


def test_it_pays_bonus_money_as_a_positive_amount() -> None:
    config = {"items": [{"code": "best", "name": "季度最佳", "points": "0", "money": "300"}]}
    result = score("bonus", config, line(max_points=D(0), occurrences={"best": 1}))
    assert result.money == D("300.00")
    assert "300.00 CNY awarded" in result.explanation


def test_it_caps_bonus_money() -> None:
    config = {"items": [{"code": "idea", "name": "好点子", "points": "0", "money": "100"}], "total_cap_money": "150"}
    assert score("bonus", config, line(max_points=D(0), occurrences={"idea": 2})).money == D("150.00")


def test_it_refuses_a_floor_on_a_bonus() -> None:
    assert config_error("bonus", {**PRAISE, "floor": "0"}).field == "floor"


def test_it_explains_a_bonus_without_occurrences() -> None:
    result = score("bonus", PRAISE, line(max_points=D(0)))
    assert result.explanation == "no bonus items; bonus 0.00 points"


# --- rating -----------------------------------------------------------------------------------

SCALE = {"scale": [{"label": "优秀", "points": "10"}, {"label": "良好", "points": "8"}, {"label": "差", "points": "0"}]}


def test_it_scores_a_rating() -> None:
    result = score("rating", SCALE, line(rating="良好"))
    assert result.points == D("8.00")
    assert result.explanation == "rated 良好; score 8.00"


def test_it_scores_a_rating_as_a_share_of_full_marks() -> None:
    config = {"unit": "share", "scale": [{"label": "5", "share": "1"}, {"label": "4", "share": "0.8"}]}
    assert score("rating", config, line(max_points=D(20), rating="4")).points == D("16.00")


def test_it_refuses_an_unknown_rating_listing_the_labels() -> None:
    with pytest.raises(ScoringError) as error:
        score("rating", SCALE, line(rating="很好", subject="1002 张三"))
    assert str(error.value) == 'Unknown rating "很好"; the ratings are: 优秀, 良好, 差 (for 1002 张三)'


def test_it_needs_a_rating() -> None:
    with pytest.raises(ScoringError, match="No rating"):
        score("rating", SCALE, line())


def test_it_refuses_duplicate_labels() -> None:
    config = {"scale": [{"label": "优秀", "points": "10"}, {"label": " 优秀 ", "points": "9"}]}
    assert config_error("rating", config).field == "scale[1].label"


def test_it_suggests_the_rating_setting_meant() -> None:
    error = config_error("rating", {"scales": []})
    assert str(error) == 'Unknown setting "scales"; did you mean "scale"?'


def test_it_traces_a_rating() -> None:
    assert score("rating", SCALE, line(rating="良好")).steps == (
        {"rule": "rating", "rating": "良好", "amount": "8"},
        {"rule": "points", "points": "8.00"},
    )


def test_it_traces_a_rating_share() -> None:
    config = {"unit": "share", "scale": [{"label": "5", "share": "1"}, {"label": "4", "share": "0.8"}]}
    steps = score("rating", config, line(max_points=D(20), rating="4")).steps
    assert steps[-1] == {"rule": "points", "max_points": "20", "share": "0.8", "points": "16.00"}


# --- pass / fail ------------------------------------------------------------------------------

ACCEPTANCE = {"round_shares": ["1", "0.8", "0.6"]}


@pytest.mark.parametrize(("round_", "expected"), [(1, "10.00"), (2, "8.00"), (3, "6.00"), (4, "6.00")])
def test_it_scores_acceptance_by_round(round_: int, expected: str) -> None:
    result = score("pass_fail", ACCEPTANCE, line(max_points=D(10), accepted=True, acceptance_round=round_))
    assert result.points == D(expected)


def test_it_takes_round_one_when_no_round_is_given() -> None:
    assert score("pass_fail", ACCEPTANCE, line(max_points=D(10), accepted=True)).points == D("10.00")


def test_it_names_the_round_in_the_explanation() -> None:
    with translation.override("zh-hans"):
        result = score("pass_fail", ACCEPTANCE, line(max_points=D(10), accepted=True, acceptance_round=2))
    assert result.explanation == "第 2 轮验收通过；得分 10.00 × 80.00% = 8.00"


def test_it_explains_rounds_beyond_the_list() -> None:
    result = score("pass_fail", ACCEPTANCE, line(max_points=D(10), accepted=True, acceptance_round=4))
    assert "accepted at round 4 (rounds after 3 count as round 3)" in result.explanation


def test_it_gives_the_fail_share_when_not_accepted() -> None:
    assert score("pass_fail", ACCEPTANCE, line(max_points=D(10), accepted=False)).points == D("0.00")
    config = {**ACCEPTANCE, "fail_share": "0.2"}
    assert score("pass_fail", config, line(max_points=D(10), accepted=False)).points == D("2.00")


def test_it_needs_an_acceptance_result() -> None:
    with pytest.raises(ScoringError, match="acceptance result"):
        score("pass_fail", ACCEPTANCE, line())


def test_it_refuses_round_zero() -> None:
    with pytest.raises(ScoringError, match="round must be 1 or more"):
        score("pass_fail", ACCEPTANCE, line(accepted=True, acceptance_round=0))


def test_it_refuses_no_round_shares() -> None:
    assert config_error("pass_fail", {"round_shares": []}).field == "round_shares"


def test_it_names_the_last_listed_round_plainly() -> None:
    result = score("pass_fail", ACCEPTANCE, line(max_points=D(10), accepted=True, acceptance_round=3))
    assert result.explanation == "accepted at round 3; score 10.00 × 60.00% = 6.00"


def test_it_suggests_the_pass_fail_setting_meant() -> None:
    error = config_error("pass_fail", {"round_shares": ["1"], "fail_shares": "0"})
    assert str(error) == 'Unknown setting "fail_shares"; did you mean "fail_share"?'


# --- formula ----------------------------------------------------------------------------------


def test_it_scores_a_formula_and_shows_the_values() -> None:
    config = {"expression": "MIN(actual / target, 1.2) * max_points"}
    result = score("formula", config, line(max_points=D(10), actual=D(95), target=D(100)))
    assert result.points == D("9.50")
    assert result.explanation == (
        "formula MIN(actual / target, 1.2) * max_points = MIN(95.00 / 100.00, 1.2) * 10.00 = 9.50"
    )


def test_it_explains_a_formula_in_chinese() -> None:
    with translation.override("zh-hans"):
        result = score("formula", {"expression": "actual * 2"}, line(actual=D(3)))
    assert result.explanation == "公式 actual * 2 = 3.00 * 2 = 6.00"


def test_it_scores_a_formula_with_declared_inputs() -> None:
    config = {"expression": "ROUND(deposits * rate, 2)", "inputs": ["deposits", "rate"]}
    result = score("formula", config, line(inputs={"deposits": D("123456.78"), "rate": D("0.003")}))
    assert result.points == D("370.37")


def test_it_checks_the_formula_when_the_config_is_validated() -> None:
    error = config_error("formula", {"expression": "actual / tagret"})
    assert error.field == "expression"
    assert str(error) == 'Unknown name "tagret" in formula "actual / tagret"; did you mean "target"?'


def test_it_accepts_names_the_caller_provides() -> None:
    assert validate_config("formula", {"expression": "actual + kpi_7"}, input_names=["kpi_7"])["inputs"] == []


def test_it_refuses_an_invalid_input_name() -> None:
    assert config_error("formula", {"expression": "1", "inputs": ["two words"]}).field == "inputs[0]"


def test_it_refuses_a_reserved_input_name() -> None:
    assert "reserved" in str(config_error("formula", {"expression": "1", "inputs": ["actual"]}))


def test_it_names_the_formula_and_subject_when_a_formula_divides_by_zero() -> None:
    with pytest.raises(ScoringError) as error:
        score("formula", {"expression": "actual / target"}, line(actual=D(1), target=D(0), subject="1002 张三"))
    assert str(error.value) == 'Division by zero in formula "actual / target" (for 1002 张三)'
    assert error.value.subject == "1002 张三"


def test_it_reports_a_missing_formula_input() -> None:
    with pytest.raises(ScoringError, match='Missing input "target"'):
        score("formula", {"expression": "actual / target"}, line(actual=D(1)))


@pytest.mark.parametrize("config", [{}, {"expression": ""}, {"expression": " \n "}, {"expression": 5}])
def test_it_asks_for_a_formula(config: dict[str, Any]) -> None:
    error = config_error("formula", config)
    assert (error.field, str(error)) == ("expression", "Enter a formula.")


def test_it_suggests_the_formula_setting_meant() -> None:
    error = config_error("formula", {"expresion": "actual"})
    assert str(error) == 'Unknown setting "expresion"; did you mean "expression"?'


def test_it_refuses_an_input_declared_twice() -> None:
    error = config_error("formula", {"expression": "k", "inputs": ["k", "k"]})
    assert (error.field, str(error)) == ("inputs[1]", 'The input "k" is declared twice.')


def test_it_refuses_a_function_name_as_an_input() -> None:
    assert str(config_error("formula", {"expression": "1", "inputs": ["ROUND"]})) == '"ROUND" is a reserved name.'


def test_it_traces_a_formula() -> None:
    assert score("formula", {"expression": "actual / 3"}, line(actual=D(2))).steps == (
        {
            "rule": "formula",
            "expression": "actual / 3",
            "input.actual": "2",
            "value": "0.6666666666666666666666666667",
            "points": "0.67",
        },
    )


# --- normalised configs -----------------------------------------------------------------------

EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("completion", {"basis": "benchmark", "cap_rate": "1.2", "floor_rate": None, "rate_places": 2}),
    ("banded", {"measure": "rate", "unit": "share", "bands": [{"from": None, "to": None, "share": "1"}]}),
    ("deduction", {**SMOKING, "floor": None, "total_cap_money": "300"}),
    ("bonus", PRAISE),
    ("rating", SCALE),
    ("pass_fail", ACCEPTANCE),
    ("formula", {"expression": " MIN(actual,\n max_points) * k ", "inputs": ["k"]}),
]


@pytest.mark.parametrize(("method", "config"), EXAMPLES)
def test_it_returns_a_json_config_that_validates_to_itself(method: str, config: dict[str, Any]) -> None:
    normalised = validate_config(method, config)
    assert json.loads(json.dumps(normalised)) == normalised
    assert validate_config(method, normalised) == normalised


def test_it_lists_the_ratings_with_full_width_commas_in_chinese() -> None:
    config = {"scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "80"}]}
    with translation.override("zh-hans"), pytest.raises(ScoringError) as error:
        score("rating", config, line(rating="A"))
    assert "优秀，良好" in str(error.value)
