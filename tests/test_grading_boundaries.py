"""appraisal.grading at its edges: every band edge, quota line and calibration limit, at the edge
and one step either side (0.01 point, one person), with the expected outcome written out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from appraisal.grading import CalibrationError, GradeScale, GradingError, check_calibration, distribute

OUTSIDE = None  # grade_for refuses the score: it is outside the scale


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def s1_4(boundary: str) -> dict[str, Any]:
    """S1-4: S 90–100, A 80, B 70, C open below."""
    return {
        "boundary": boundary,
        "bands": [
            {"grade": "S", "from": "90", "max": "100"},
            {"grade": "A", "from": "80"},
            {"grade": "B", "from": "70"},
            {"grade": "C", "from": None},
        ],
    }


def s1_9(boundary: str) -> dict[str, Any]:
    """S1-9: A 90–100, B 80, C 70, D 60, E from 0 (closed below)."""
    return {
        "boundary": boundary,
        "bands": [
            {"grade": "A", "from": "90", "max": "100"},
            {"grade": "B", "from": "80"},
            {"grade": "C", "from": "70"},
            {"grade": "D", "from": "60"},
            {"grade": "E", "from": "0"},
        ],
    }


def graded(config: dict[str, Any], score: str) -> str | None:
    try:
        return GradeScale.from_config(config).grade_for(D(score)).code
    except GradingError:
        return OUTSIDE


# --- band edges -------------------------------------------------------------------------------

# lower_inclusive (the default): from ≤ score < the better band's from; the top band's max is inclusive.
LOWER_INCLUSIVE_EDGES = [
    ("100.01", OUTSIDE),
    ("100.00", "S"),
    ("99.99", "S"),
    ("90.01", "S"),
    ("90.00", "S"),
    ("89.99", "A"),
    ("80.01", "A"),
    ("80.00", "A"),
    ("79.99", "B"),
    ("70.01", "B"),
    ("70.00", "B"),
    ("69.99", "C"),
    ("-1000", "C"),
]


@pytest.mark.parametrize(("score", "grade"), LOWER_INCLUSIVE_EDGES)
def test_it_grades_each_lower_inclusive_band_edge_of_s1_4(score: str, grade: str | None) -> None:
    assert graded(s1_4("lower_inclusive"), score) == grade


# upper_inclusive: from < score ≤ the better band's from; the outer ends stay closed.
UPPER_INCLUSIVE_EDGES = [
    ("100.01", OUTSIDE),
    ("100.00", "S"),
    ("99.99", "S"),
    ("90.01", "S"),
    ("90.00", "A"),
    ("89.99", "A"),
    ("80.01", "A"),
    ("80.00", "B"),
    ("79.99", "B"),
    ("70.01", "B"),
    ("70.00", "C"),
    ("69.99", "C"),
    ("-1000", "C"),
]


@pytest.mark.parametrize(("score", "grade"), UPPER_INCLUSIVE_EDGES)
def test_it_grades_each_upper_inclusive_band_edge_of_s1_4(score: str, grade: str | None) -> None:
    assert graded(s1_4("upper_inclusive"), score) == grade


# The bottom band's from is closed whichever way the boundary goes: 0 is E, -0.01 is outside.
BOTTOM_EDGES = [
    ("lower_inclusive", "0.01", "E"),
    ("lower_inclusive", "0.00", "E"),
    ("lower_inclusive", "-0.01", OUTSIDE),
    ("upper_inclusive", "0.01", "E"),
    ("upper_inclusive", "0.00", "E"),
    ("upper_inclusive", "-0.01", OUTSIDE),
    ("upper_inclusive", "60.01", "D"),
    ("upper_inclusive", "60.00", "E"),
    ("upper_inclusive", "59.99", "E"),
    ("lower_inclusive", "60.01", "D"),
    ("lower_inclusive", "60.00", "D"),
    ("lower_inclusive", "59.99", "E"),
]


@pytest.mark.parametrize(("boundary", "score", "grade"), BOTTOM_EDGES)
def test_it_grades_the_edges_of_a_bottom_band_closed_at_zero(boundary: str, score: str, grade: str | None) -> None:
    assert graded(s1_9(boundary), score) == grade


# One band that is both the best and the lowest: both of its ends are closed.
SINGLE_BAND_EDGES = [
    ("lower_inclusive", "-0.01", OUTSIDE),
    ("lower_inclusive", "0.00", "P"),
    ("lower_inclusive", "0.01", "P"),
    ("lower_inclusive", "99.99", "P"),
    ("lower_inclusive", "100.00", "P"),
    ("lower_inclusive", "100.01", OUTSIDE),
    ("upper_inclusive", "-0.01", OUTSIDE),
    ("upper_inclusive", "0.00", "P"),
    ("upper_inclusive", "0.01", "P"),
    ("upper_inclusive", "100.00", "P"),
    ("upper_inclusive", "100.01", OUTSIDE),
]


@pytest.mark.parametrize(("boundary", "score", "grade"), SINGLE_BAND_EDGES)
def test_it_closes_both_ends_of_a_single_band_scale(boundary: str, score: str, grade: str | None) -> None:
    config = {"boundary": boundary, "bands": [{"grade": "P", "from": "0", "max": "100"}]}
    assert graded(config, score) == grade


# A top band without a max is open above; the bottom band with from null is open below.
OPEN_ENDS = [("1000000", "S"), ("100.01", "S"), ("-1000000", "C")]


@pytest.mark.parametrize(("score", "grade"), OPEN_ENDS)
def test_it_leaves_a_scale_without_max_or_bottom_from_open(score: str, grade: str) -> None:
    config = s1_4("lower_inclusive")
    config["bands"][0] = {"grade": "S", "from": "90"}
    assert graded(config, score) == grade


# --- quota lines: allowed count = population × share, rounded -----------------------------------

TWO_BANDS: dict[str, Any] = {"bands": [{"grade": "S", "from": "90"}, {"grade": "A", "from": None}]}

# S ≤ 10 %: everyone scores S, so the S count is exactly the allowed count.
# half_up: 14 × 10 % = 1.4 → 1, 15 → 1.5 → 2, 16 → 1.6 → 2.
# down: 19 → 1.9 → 1, 20 → 2.0 → 2, 21 → 2.1 → 2.
# up: 9 → 0.9 → 1, 10 → 1.0 → 1, 11 → 1.1 → 2.
CAP_ROUNDING = [
    ("half_up", 14, 1),
    ("half_up", 15, 2),
    ("half_up", 16, 2),
    ("down", 19, 1),
    ("down", 20, 2),
    ("down", 21, 2),
    ("up", 9, 1),
    ("up", 10, 1),
    ("up", 11, 2),
]


def everyone_in_s(population: int) -> list[tuple[str, D]]:
    return [(f"p{index:02d}", D(99) - D("0.25") * index) for index in range(population)]


@pytest.mark.parametrize(("rounding", "population", "allowed"), CAP_ROUNDING)
def test_it_rounds_a_cap_at_its_line_with_each_rounding_mode(rounding: str, population: int, allowed: int) -> None:
    quotas = [{"grade": "S", "op": "<=", "share": "0.10"}]
    result = distribute(everyone_in_s(population), TWO_BANDS, quotas, rounding=rounding)
    assert result.counts[0].allowed == allowed
    assert result.count("S") == allowed
    assert result.count("A") == population - allowed


# The same lines for "=", which caps like "<=" (and also asks for a minimum).
@pytest.mark.parametrize(("rounding", "population", "allowed"), CAP_ROUNDING)
def test_it_rounds_an_exact_quota_at_its_line_with_each_rounding_mode(
    rounding: str, population: int, allowed: int
) -> None:
    quotas = [{"grade": "S", "op": "=", "share": "0.10"}]
    result = distribute(everyone_in_s(population), TWO_BANDS, quotas, rounding=rounding)
    assert result.count("S") == allowed
    assert result.shortfalls == ()


# S ≤ 10 % of 20 = 2 places: one person under, at and over the line.
CAP_LINE = [
    (1, ["S"], []),
    (2, ["S", "S"], []),
    (3, ["S", "S", "A"], ["p02"]),
]


@pytest.mark.parametrize(("holders", "final", "demoted"), CAP_LINE)
def test_it_demotes_only_the_person_over_the_cap_line(holders: int, final: list[str], demoted: list[str]) -> None:
    scores = [(f"p{index:02d}", D(95) - index) for index in range(holders)]
    scores += [(f"q{index:02d}", D(50)) for index in range(20 - holders)]
    result = distribute(scores, TWO_BANDS, [{"grade": "S", "op": "<=", "share": "0.10"}])
    assert [result.result(f"p{index:02d}").final_grade.code for index in range(holders)] == final
    assert [s.key for s in result.subjects if s.demoted] == demoted


# B ≥ 65 % of 10 = 6.5: half_up → 7, down → 6, up → 7. B holders one under, at and over the line.
MINIMUM_LINE = [
    ("half_up", 6, 7, 1),
    ("half_up", 7, 7, 0),
    ("half_up", 8, 7, 0),
    ("down", 5, 6, 1),
    ("down", 6, 6, 0),
    ("down", 7, 6, 0),
    ("up", 6, 7, 1),
    ("up", 7, 7, 0),
    ("up", 8, 7, 0),
]


@pytest.mark.parametrize(("rounding", "holders", "required", "missing"), MINIMUM_LINE)
def test_it_reports_a_minimum_shortfall_only_below_its_line(
    rounding: str, holders: int, required: int, missing: int
) -> None:
    scale = {"bands": [{"grade": "A", "from": "80"}, {"grade": "B", "from": "70"}, {"grade": "C", "from": None}]}
    scores = [(f"b{index}", D(75)) for index in range(holders)] + [
        (f"c{index}", D(60)) for index in range(10 - holders)
    ]
    result = distribute(scores, scale, [{"grade": "B", "op": ">=", "share": "0.65"}], rounding=rounding)
    assert [(s.grade, s.required, s.actual) for s in result.shortfalls] == (
        [("B", required, holders)] if missing else []
    )
    assert result.is_final


# S ≤ 10 % of 20 = 2 places: the second and third S scores equal, one step apart, or the first two equal.
TIE_LINE = [
    (["95", "94", "94"], True, ["S", "S", "S"]),
    (["95", "94.01", "94"], False, ["S", "S", "A"]),
    (["95", "95", "94"], False, ["S", "S", "A"]),
]


@pytest.mark.parametrize(("top", "tied", "final"), TIE_LINE)
def test_it_reports_a_tie_only_when_equal_scores_straddle_the_cap_line(
    top: list[str], tied: bool, final: list[str]
) -> None:
    scores = [(f"p{index}", D(score)) for index, score in enumerate(top)]
    scores += [(f"q{index:02d}", D(50)) for index in range(17)]
    result = distribute(scores, TWO_BANDS, [{"grade": "S", "op": "<=", "share": "0.10"}])
    assert bool(result.ties) is tied
    assert [result.result(f"p{index}").final_grade.code for index in range(3)] == final
    assert [result.result(f"p{index}").needs_calibration for index in range(3)] == [False, tied, tied]
    assert result.is_final is not tied


# C (the lowest grade) ≤ 10 % of 20 = 2 places: one person under, at and over the line.
LOWEST_LINE = [
    (1, [False], True),
    (2, [False, False], True),
    (3, [False, False, True], False),
]


@pytest.mark.parametrize(("holders", "flagged", "final"), LOWEST_LINE)
def test_it_flags_only_whoever_is_over_the_lowest_grades_cap(holders: int, flagged: list[bool], final: bool) -> None:
    scores = [(f"c{index}", D(60) - index) for index in range(holders)]
    scores += [(f"s{index:02d}", D(95)) for index in range(20 - holders)]
    result = distribute(scores, TWO_BANDS, [{"grade": "A", "op": "<=", "share": "0.10"}])
    assert [result.result(f"c{index}").needs_calibration for index in range(holders)] == flagged
    assert [result.result(f"c{index}").final_grade.code for index in range(holders)] == ["A"] * holders
    assert result.is_final is final


# --- the calibration cap (S1-9: ±5 % of 80.00 = 76.00–84.00) ----------------------------------

CALIBRATION_EDGES = [
    ("84.01", False),
    ("84.00", True),
    ("83.99", True),
    ("76.01", True),
    ("76.00", True),
    ("75.99", False),
]


@pytest.mark.parametrize(("new", "allowed"), CALIBRATION_EDGES)
def test_it_allows_a_calibration_up_to_the_cap_and_not_a_fen_beyond(new: str, allowed: bool) -> None:
    if allowed:
        check_calibration(D("80.00"), D(new), D("0.05"))
    else:
        with pytest.raises(CalibrationError):
            check_calibration(D("80.00"), D(new), D("0.05"))


# The share itself: 0 is allowed (no movement at all), anything below 0 is refused.
SHARE_EDGES = [("-0.01", False), ("0", True), ("0.01", True)]


@pytest.mark.parametrize(("share", "allowed"), SHARE_EDGES)
def test_it_accepts_a_calibration_share_from_zero_up(share: str, allowed: bool) -> None:
    if allowed:
        check_calibration(D("80.00"), D("80.00"), D(share))
    else:
        with pytest.raises(ValueError, match="max_share"):
            check_calibration(D("80.00"), D("80.00"), D(share))
