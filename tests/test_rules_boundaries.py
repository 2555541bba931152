"""appraisal.rules at its edges: every threshold, streak length, window edge and ranking line, at
the edge and one step either side (0.01 point, one period, one subject), with the expected flag
written out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from appraisal.rules import Outcome, Past, evaluate


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def scored(key: str, score: str) -> Outcome:
    return Outcome(key=key, score=D(score), grade=None, rank=None, population=0)


def graded(key: str, grade: str) -> Outcome:
    return Outcome(key=key, score=None, grade=grade, rank=None, population=0)


def this_period(condition: dict[str, Any]) -> dict[str, Any]:
    return {"code": "now", "kind": "streak", "config": {"periods": 1, "condition": condition}, "outcome": "warning"}


# --- thresholds ---------------------------------------------------------------------------------

THRESHOLDS = [
    ({"score_below": "80"}, "79.99", True),
    ({"score_below": "80"}, "80.00", False),
    ({"score_below": "80"}, "80.01", False),
    ({"score_at_most": "59"}, "58.99", True),
    ({"score_at_most": "59"}, "59.00", True),
    ({"score_at_most": "59"}, "59.01", False),
    ({"score_at_least": "90"}, "89.99", False),
    ({"score_at_least": "90"}, "90.00", True),
    ({"score_at_least": "90"}, "90.01", True),
    ({"score_below": "-0"}, "-0.01", True),
    ({"score_below": "-0"}, "0.00", False),
    ({"score_at_least": "0"}, "-0.01", False),
    ({"score_at_least": "0"}, "0.00", True),
]


@pytest.mark.parametrize(("condition", "score", "flagged"), THRESHOLDS)
def test_it_meets_each_threshold_exactly_as_written(condition: dict[str, Any], score: str, flagged: bool) -> None:
    flags = evaluate([this_period(condition)], [scored("x", score)], {}, period="2025-03")
    assert bool(flags) is flagged


# --- streak length (periods 3: the current period and the two before it) ------------------------

STREAKS = [
    (["85", "78", "77"], False),  # two in a row
    (["78", "79.99", "77"], True),  # three
    (["78", "80", "77"], False),  # the middle one at the threshold breaks it
    (["79", "78", "79.99"], True),
]


@pytest.mark.parametrize(("scores", "flagged"), STREAKS)
def test_it_flags_a_streak_only_when_the_last_n_periods_all_meet(scores: list[str], flagged: bool) -> None:
    rule = {"code": "s", "kind": "streak", "config": {"periods": 3, "condition": {"score_below": "80"}}, "outcome": "x"}
    *earlier, current = scores
    history = {"x": [Past(f"2025-0{month}", D(score), None) for month, score in enumerate(earlier, start=1)]}
    assert bool(evaluate([rule], [scored("x", current)], history, period="2025-03")) is flagged


# Past periods available: one short of a streak of 3, exactly enough, one more.
STREAK_HISTORY = [(1, False), (2, True), (3, True)]


@pytest.mark.parametrize(("past", "flagged"), STREAK_HISTORY)
def test_it_needs_n_minus_one_past_periods_for_a_streak(past: int, flagged: bool) -> None:
    rule = {"code": "s", "kind": "streak", "config": {"periods": 3, "condition": {"score_below": "80"}}, "outcome": "x"}
    history = {"x": [Past(f"2025-0{month}", D(70), None) for month in range(1, past + 1)]}
    assert bool(evaluate([rule], [scored("x", "70")], history, period="2025-09")) is flagged


# --- the window: at least 2 of the last 4 periods, current included (S1-4 without the year) ------


def window(count: int = 2, **extra: Any) -> dict[str, Any]:
    config = {"count": count, "of_last": 4, "condition": {"grade_in": ["C"]}, **extra}
    return {"code": "w", "kind": "count_in_window", "config": config, "outcome": "unfit"}


# The earlier C quarter k periods before the current C quarter: 3 is the window's oldest, 4 just outside.
WINDOW_EDGE = [(2, True), (3, True), (4, False), (5, False)]
QUARTERS = ["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]  # oldest first, before 2025-Q1


@pytest.mark.parametrize(("back", "flagged"), WINDOW_EDGE)
def test_it_counts_a_c_quarter_only_inside_the_window(back: int, flagged: bool) -> None:
    history = {
        "x": [Past(code, None, "C" if index == len(QUARTERS) - back else "B") for index, code in enumerate(QUARTERS)]
    }
    assert bool(evaluate([window()], [graded("x", "C")], history, period="2025-Q1")) is flagged


# With same_year (S1-4): the previous year's Q4 is outside even though it is in the last four periods.
SAME_YEAR_EDGE = [("2024-Q4", False), ("2025-Q1", True), ("2025-Q2", True)]


@pytest.mark.parametrize(("c_quarter", "flagged"), SAME_YEAR_EDGE)
def test_it_counts_only_the_c_quarters_of_the_current_year(c_quarter: str, flagged: bool) -> None:
    codes = ["2024-Q4", "2025-Q1", "2025-Q2"]
    history = {"x": [Past(code, None, "C" if code == c_quarter else "B") for code in codes]}
    rule = window(same_year=True)
    assert bool(evaluate([rule], [graded("x", "C")], history, period="2025-Q3")) is flagged


# How many of the window meet: one short of the count, exactly the count, one more.
COUNT_EDGE = [(["B", "B", "C"], False), (["B", "C", "C"], True), (["C", "C", "C"], True)]


@pytest.mark.parametrize(("grades", "flagged"), COUNT_EDGE)
def test_it_flags_from_the_count_up(grades: list[str], flagged: bool) -> None:
    history = {"x": [Past(code, None, grade) for code, grade in zip(QUARTERS[-3:], grades, strict=True)]}
    assert bool(evaluate([window(count=3)], [graded("x", "C")], history, period="2025-Q1")) is flagged


# --- bottom-N: the population (one subject under, at and over N) and the line ------------------

POPULATION_EDGE = [(2, []), (3, []), (4, ["s1", "s2", "s3"])]


@pytest.mark.parametrize(("population", "flagged"), POPULATION_EDGE)
def test_it_flags_the_bottom_three_only_in_a_ranking_of_more_than_three(population: int, flagged: list[str]) -> None:
    rule = {"code": "b", "kind": "bottom_n", "config": {"n": 3}, "outcome": "not_advanced"}
    current = [scored(f"s{index}", str(100 - index)) for index in range(population)]
    flags = evaluate([rule], current, {}, period="2025-03")
    assert [flag.key for flag in flags] == flagged
    assert len(flags.notices) == (0 if flagged else 1)


MIN_POPULATION_EDGE = [(4, 0), (5, 3), (6, 3)]


@pytest.mark.parametrize(("population", "flagged"), MIN_POPULATION_EDGE)
def test_it_flags_nobody_below_the_minimum_population(population: int, flagged: int) -> None:
    rule = {"code": "b", "kind": "bottom_n", "config": {"n": 3, "min_population": 5}, "outcome": "not_advanced"}
    current = [scored(f"s{index}", str(100 - index)) for index in range(population)]
    flags = evaluate([rule], current, {}, period="2025-03")
    assert len(flags) == flagged
    assert len(flags.notices) == (0 if flagged else 1)


# Seven departments, bottom 3: the line is the 5th (84.50). The 4th one step above it, on it, below it.
LINE_EDGE = [
    ("84.51", ["化学部", "后勤部", "综合部"], False),
    ("84.50", ["燃料部", "化学部", "后勤部", "综合部"], True),
    ("84.49", ["燃料部", "后勤部", "综合部"], False),
]


@pytest.mark.parametrize(("fourth", "flagged", "tied"), LINE_EDGE)
def test_it_flags_whoever_is_at_or_below_the_bottom_three_line(fourth: str, flagged: list[str], tied: bool) -> None:
    month = [
        ("生产一部", "95.20"),
        ("生产二部", "91.00"),
        ("检修部", "88.40"),
        ("燃料部", fourth),
        ("化学部", "84.50"),
        ("后勤部", "82.00"),
        ("综合部", "79.30"),
    ]
    rule = {"code": "b", "kind": "bottom_n", "config": {"n": 3}, "outcome": "not_advanced"}
    flags = evaluate([rule], [scored(key, score) for key, score in month], {}, period="2025-03")
    assert [flag.key for flag in flags] == flagged
    assert any(flag.tied for flag in flags) is tied
