"""appraisal.rules as properties: saved rules flag what the fresh ones did, and each kind flags
exactly whom its documented rule names, for any valid rule and any subjects with their histories.

"Saved" is what the database holds: the rules as :func:`validate_rules` returns them, through
``json.dumps`` / ``json.loads``. Each kind is checked against a small model of its docstring written
here (hypothesis, the project profile in tests/conftest.py: fixed seed, bounded count).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from appraisal.rules import Flags, Outcome, Past, evaluate, validate_rules

PERIOD = "2025-Q3"
# The quarters before PERIOD, oldest first: two years back, across two new years.
QUARTERS = ["2023-Q2", "2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
GRADES = ("A", "B", "C", "D")
THRESHOLDS = ("60", "70", "79.5", "80", "80.00", "8E+1", "-0")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


# --- strategies ---------------------------------------------------------------------------------


def count(draw: st.DrawFn, low: int, high: int) -> int | str:
    """A count as a rule may give it: an int or a string of digits."""
    value = draw(st.integers(low, high))
    chosen: int | str = draw(st.sampled_from([value, str(value)]))  # type: ignore[assignment]
    return chosen


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from(["score_below", "score_at_most", "score_at_least", "grade_in"]))
    if key == "grade_in":
        return {key: draw(st.lists(st.sampled_from(GRADES), unique=True, min_size=1, max_size=3))}
    return {key: draw(st.sampled_from(THRESHOLDS))}


@st.composite
def rule_configs(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    if kind == "bottom_n":
        config: dict[str, Any] = {"n": count(draw, 1, 4)}
        if draw(st.booleans()):
            config["min_population"] = draw(st.sampled_from([None, 1, 3, 6, "5"]))
        return config
    if kind == "streak":
        return {"periods": count(draw, 1, 4), "condition": draw(conditions())}
    of_last = draw(st.integers(1, 5))
    config = {"count": count(draw, 1, of_last), "of_last": draw(st.sampled_from([of_last, str(of_last)]))}
    config["condition"] = draw(conditions())
    for key in ("same_year", "current_must_meet"):
        if draw(st.booleans()):
            config[key] = draw(st.booleans())
    return config


@st.composite
def rule_lists(draw: st.DrawFn, kinds: tuple[str, ...] = ("bottom_n", "streak", "count_in_window")) -> list[Any]:
    rules: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        rule: dict[str, Any] = {"code": f"r{index}", "kind": kind, "config": draw(rule_configs(kind))}
        rule["outcome"] = draw(st.sampled_from(["unfit", "warning", "salary_up"]))
        if draw(st.booleans()):
            rule["name"] = f"规则{index}"
        rules.append(rule)
    return rules


SCORES = st.sampled_from(["55", "60", "69.99", "70", "79.50", "79.99", "80", "80.01", "90", "100"]).map(D)


@st.composite
def subjects(draw: st.DrawFn) -> tuple[list[Outcome], dict[str, list[Past]]]:
    """Subjects of the closing period (most of them ranked) with their past quarters."""
    current: list[Outcome] = []
    history: dict[str, list[Past]] = {}
    for index in range(draw(st.integers(0, 7))):
        key = f"k{index}"
        status = draw(st.sampled_from(["normal"] * 5 + ["refused", "exempt", "long_leave", "not_assessed"]))
        # Each subject keeps to a score or two and a grade or two, so that streaks and counts happen.
        scores = draw(st.lists(SCORES, min_size=1, max_size=2))
        grades = draw(st.lists(st.sampled_from(GRADES), min_size=1, max_size=2))
        score = draw(st.sampled_from(scores)) if status == "normal" else draw(st.sampled_from([None, *scores]))
        current.append(Outcome(key, score, draw(st.sampled_from(grades)), None, 0, status))
        depth = draw(st.integers(0, len(QUARTERS)))
        history[key] = [
            Past(code, draw(st.sampled_from([None, *scores * 3])), draw(st.sampled_from([None, *grades * 3])))
            for code in QUARTERS[len(QUARTERS) - depth :]
        ]
    return current, history


# --- a model of each kind, from its docstring -------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A period as the docstrings describe it: the score and grade it counts with, if any."""

    code: str
    score: D | None
    grade: str | None


def meets(condition: dict[str, Any], period: Seen) -> bool:
    ((key, value),) = condition.items()
    if key == "grade_in":
        return period.grade is not None and period.grade in value
    if period.score is None:
        return False
    threshold = D(value)
    return {
        "score_below": period.score < threshold,
        "score_at_most": period.score <= threshold,
        "score_at_least": period.score >= threshold,
    }[key]


def now(outcome: Outcome) -> Seen:
    """The closing period: "refused" counts as 0 with its grade, the unranked statuses as nothing."""
    if outcome.status == "refused":
        return Seen(PERIOD, D(0), outcome.grade)
    if outcome.status == "normal":
        return Seen(PERIOD, outcome.score, outcome.grade)
    return Seen(PERIOD, None, None)


def earlier(history: dict[Any, list[Past]], key: Any) -> list[Seen]:
    return [Seen(past.period, past.score, past.grade) for past in history.get(key, [])]


def streak_flagged(config: dict[str, Any], outcome: Outcome, history: dict[str, list[Past]]) -> bool:
    periods = [*earlier(history, outcome.key), now(outcome)]
    wanted = int(config["periods"])
    return len(periods) >= wanted and all(meets(config["condition"], p) for p in periods[-wanted:])


def window_flagged(config: dict[str, Any], outcome: Outcome, history: dict[str, list[Past]]) -> bool:
    periods = [*earlier(history, outcome.key), now(outcome)][-int(config["of_last"]) :]
    if config.get("same_year"):
        periods = [period for period in periods if period.code[:4] == PERIOD[:4]]
    if config.get("current_must_meet", True) and not meets(config["condition"], now(outcome)):
        return False
    return sum(meets(config["condition"], period) for period in periods) >= int(config["count"])


def ranked(current: list[Outcome]) -> list[Any]:
    return [(o.key, D(0) if o.status == "refused" else o.score) for o in current if o.status in ("normal", "refused")]


def too_small(config: dict[str, Any], current: list[Outcome]) -> bool:
    population = len(ranked(current))
    minimum = config.get("min_population")
    return 0 < population and (population <= int(config["n"]) or (minimum is not None and population < int(minimum)))


def bottom_flagged(config: dict[str, Any], current: list[Outcome]) -> list[tuple[Any, bool]]:
    """(key, tied) of everyone at or below the line, in the order of ``current``."""
    scores = ranked(current)
    n = int(config["n"])
    if not scores or too_small(config, current):
        return []
    ascending = sorted(score for _key, score in scores)
    line = ascending[n - 1]
    places = n - sum(1 for score in ascending if score < line)
    tie = ascending.count(line) > places
    return [(key, tie and score == line) for key, score in scores if score <= line]


def saved(rules: list[Any]) -> Any:
    return json.loads(json.dumps(validate_rules(rules)))


def run(rules: list[Any], current: list[Outcome], history: dict[str, list[Past]]) -> Flags:
    return evaluate(rules, current, history, period=PERIOD)


# --- round trip -------------------------------------------------------------------------------


@given(rule_lists())
def test_it_saves_rules_in_a_form_that_reads_back_unchanged(rules: list[Any]) -> None:
    stored = saved(rules)
    assert validate_rules(stored) == stored
    assert json.loads(json.dumps(validate_rules(stored))) == stored


@given(rule_lists(), subjects())
def test_it_flags_the_same_from_the_spec_and_from_the_saved_rules(
    rules: list[Any], people: tuple[list[Outcome], dict[str, list[Past]]]
) -> None:
    current, history = people
    fresh = run(rules, current, history)
    stored = run(saved(rules), current, history)
    assert stored == fresh
    assert stored.notices == fresh.notices


# --- each kind against its model --------------------------------------------------------------


@given(rule_lists(("streak",)), subjects())
def test_it_flags_a_streak_exactly_when_the_last_n_periods_all_meet(
    rules: list[Any], people: tuple[list[Outcome], dict[str, list[Past]]]
) -> None:
    current, history = people
    flags = run(rules, current, history)
    expected = [(r["code"], o.key) for r in rules for o in current if streak_flagged(r["config"], o, history)]
    assert [(flag.rule_code, flag.key) for flag in flags] == expected
    for flag in flags:
        assert len(flag.periods) == int(next(r for r in rules if r["code"] == flag.rule_code)["config"]["periods"])
        assert flag.periods[-1] == PERIOD


@given(rule_lists(("count_in_window",)), subjects())
def test_it_flags_a_window_exactly_when_enough_of_its_periods_meet(
    rules: list[Any], people: tuple[list[Outcome], dict[str, list[Past]]]
) -> None:
    current, history = people
    flags = run(rules, current, history)
    expected = [(r["code"], o.key) for r in rules for o in current if window_flagged(r["config"], o, history)]
    assert [(flag.rule_code, flag.key) for flag in flags] == expected


@given(rule_lists(("bottom_n",)), subjects())
def test_it_flags_the_bottom_n_exactly_at_or_below_the_line(
    rules: list[Any], people: tuple[list[Outcome], dict[str, list[Past]]]
) -> None:
    current, _history = people
    flags = run(rules, current, {})
    expected = [(r["code"], key, tied) for r in rules for key, tied in bottom_flagged(r["config"], current)]
    assert [(flag.rule_code, flag.key, flag.tied) for flag in flags] == expected


@given(rule_lists(("bottom_n",)), subjects())
def test_it_says_when_a_ranking_is_too_small_for_a_bottom_n_rule(
    rules: list[Any], people: tuple[list[Outcome], dict[str, list[Past]]]
) -> None:
    current, _history = people
    flags = run(rules, current, {})
    small = [r["code"] for r in rules if too_small(r["config"], current)]
    assert [notice.rule_code for notice in flags.notices] == small
    assert {flag.rule_code for flag in flags}.isdisjoint(small)
    for notice in flags.notices:
        assert "the population is too small for this rule, nobody is flagged" in notice.message
