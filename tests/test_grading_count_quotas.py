"""appraisal.grading with quotas as head counts (issue #12, item 10): "1–2 people with full marks"
(S1-3) as well as shares. Reading them (never a share and a count together), the cap and the
minimum of a count at their lines and one person either side, written out by hand, and properties
over any count quotas."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from appraisal.grading import ConfigError, Quota, distribute, read_quotas, validate_quotas

# S1-3: full marks (100) are "excellent"; 1–2 people a quarter get the excellent award.
S1_3_SCALE: dict[str, Any] = {"bands": [{"grade": "优", "from": "100"}, {"grade": "良", "from": "90"},
                                        {"grade": "中", "from": None}]}
TWO: dict[str, Any] = {"bands": [{"grade": "S", "from": "90"}, {"grade": "A", "from": None}]}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def field_of(quotas: Any, scale: dict[str, Any] = S1_3_SCALE) -> tuple[str, str]:
    with pytest.raises(ConfigError) as error:
        validate_quotas(quotas, scale)
    return error.value.field, error.value.message


# --- reading ----------------------------------------------------------------------------------------

NORMALISED = [
    ({"grade": "优", "op": "<=", "count": 2}, {"grade": "优", "op": "<=", "count": 2}),
    ({"grade": "优", "op": ">=", "count": "1"}, {"grade": "优", "op": ">=", "count": 1}),
    ({"grade": "优", "op": "=", "count": 0}, {"grade": "优", "op": "=", "count": 0}),
    ({"grade": "优", "min_count": 1, "max_count": 2}, {"grade": "优", "min_count": 1, "max_count": 2}),
    ({"grade": "优", "min_count": "0", "max_count": "3"}, {"grade": "优", "min_count": 0, "max_count": 3}),
    ({"grade": "优", "max_count": 2}, {"grade": "优", "op": "<=", "count": 2}),
    ({"grade": "优", "min_count": 1}, {"grade": "优", "op": ">=", "count": 1}),
    ({"grade": "优", "min_count": 2, "max_count": 2}, {"grade": "优", "op": "=", "count": 2}),
    ({"grade": "优", "max_count": 2, "min_count": None}, {"grade": "优", "op": "<=", "count": 2}),
    ({"grade": "优", "op": "<=", "share": "0.05", "count": None}, {"grade": "优", "op": "<=", "share": "0.05"}),
]


@pytest.mark.parametrize(("quota", "normal"), NORMALISED)
def test_it_normalises_a_count_quota(quota: dict[str, Any], normal: dict[str, Any]) -> None:
    assert validate_quotas([quota], S1_3_SCALE) == [normal]
    assert validate_quotas(validate_quotas([quota], S1_3_SCALE), S1_3_SCALE) == [normal]


REFUSED = [
    ({"grade": "优", "op": "<=", "share": "0.1", "count": 2}, ("quotas[0].count",
     "Give a share, a count, or min_count and/or max_count, not share, count together.")),
    ({"grade": "优", "op": "<=", "share": "0.1", "max_count": 2}, ("quotas[0].max_count",
     "Give a share, a count, or min_count and/or max_count, not share, max_count together.")),
    ({"grade": "优", "op": "<=", "count": 2, "min_count": 1}, ("quotas[0].min_count",
     "Give a share, a count, or min_count and/or max_count, not count, min_count together.")),
    ({"grade": "优", "op": "<=", "min_count": 1, "max_count": 2},
     ("quotas[0].op", "A quota given as min_count or max_count takes no op.")),
    ({"grade": "优", "op": "<=", "max_count": 2},
     ("quotas[0].op", "A quota given as min_count or max_count takes no op.")),
    ({"grade": "优", "count": 2}, ("quotas[0].op", '"None" is not one of <=, >=, =.')),
    ({"grade": "优", "op": "<", "count": 2}, ("quotas[0].op", '"<" is not one of <=, >=, =.')),
    ({"grade": "优", "op": "<="}, ("quotas[0].share", "This setting is required.")),
    ({"grade": "优", "min_count": 3, "max_count": 2}, ("quotas[0].max_count",
     "The max_count 2 is below the min_count 3.")),
    ({"grade": "优", "op": "<=", "count": -1}, ("quotas[0].count", "Must be at least 0, not -1.")),
    ({"grade": "优", "min_count": "-1"}, ("quotas[0].min_count", "Must be at least 0, not -1.")),
    ({"grade": "优", "max_count": 1.0}, ("quotas[0].max_count", "Enter a whole number.")),
    ({"grade": "优", "op": "<=", "count": True}, ("quotas[0].count", "Enter a whole number.")),
    ({"grade": "优", "op": "<=", "count": "1.5"}, ("quotas[0].count", "Enter a whole number.")),
    ({"grade": "优", "op": "<=", "counts": 2}, ("quotas[0].counts",
     'Unknown setting "counts"; the settings are: grade, op, share, count, min_count, max_count')),
]


@pytest.mark.parametrize(("quota", "error"), REFUSED)
def test_it_refuses_a_wrong_count_quota_naming_the_field(quota: dict[str, Any], error: tuple[str, str]) -> None:
    assert field_of([quota]) == error


def test_it_leaves_counts_out_of_the_sum_of_minimum_shares() -> None:
    quotas = [{"grade": "优", "op": ">=", "count": 50}, {"grade": "良", "op": ">=", "share": "1"}]
    assert len(validate_quotas(quotas, S1_3_SCALE)) == 2
    assert field_of([{"grade": "优", "op": ">=", "share": "0.6"}, {"grade": "良", "op": "=", "share": "0.5"},
                     {"grade": "中", "op": ">=", "count": 1}])[0] == "quotas"


def test_it_reads_quotas_as_objects_and_back() -> None:
    quotas = read_quotas([{"grade": "优", "min_count": 1, "max_count": 2}, {"grade": "良", "op": "<=", "count": 3},
                          {"grade": "中", "op": ">=", "share": "0.5"}], S1_3_SCALE)
    assert quotas == [Quota("优", "between", min_count=1, max_count=2), Quota("良", "<=", count=3),
                      Quota("中", ">=", share=D("0.5"))]
    assert [q.config() for q in quotas] == validate_quotas([q.config() for q in quotas], S1_3_SCALE)
    assert validate_quotas(quotas, S1_3_SCALE)[0] == {"grade": "优", "min_count": 1, "max_count": 2}


DESCRIBED = [
    (Quota("S", "<=", count=2), "≤2 people", True, False),
    (Quota("S", ">=", count=1), "≥1 person", False, True),
    (Quota("S", "=", count=0), "=0 people", True, True),
    (Quota("S", "between", min_count=1, max_count=2), "1–2 people", True, True),
    (Quota("S", "<=", share=D("0.05")), "≤5%", True, False),
]


@pytest.mark.parametrize(("quota", "text", "caps", "requires"), DESCRIBED)
def test_it_describes_a_quota_and_what_it_asks(quota: Quota, text: str, caps: bool, requires: bool) -> None:
    assert (quota.describe(), quota.caps, quota.requires) == (text, caps, requires)


def test_it_describes_counts_in_chinese() -> None:
    with translation.override("zh-hans"):
        assert Quota("S", "between", min_count=1, max_count=2).describe() == "1–2 人"
        assert Quota("S", "<=", count=2).describe() == "≤2 人"


# --- the cap of a count at its line -------------------------------------------------------------------


def everyone_in_s(population: int) -> list[tuple[str, D]]:
    return [(f"p{index:02d}", D(99) - D("0.25") * index) for index in range(population)]


# A count is not rounded and does not grow with the population: ≤ 2 lets 2 keep S out of 3, 10 or 40.
CAP_LINES = [(1, 2, 1), (2, 2, 2), (3, 2, 2), (10, 2, 2), (40, 2, 2), (3, 0, 0), (0, 2, 0)]


@pytest.mark.parametrize(("population", "count", "kept"), CAP_LINES)
@pytest.mark.parametrize("rounding", ["half_up", "down", "up"])
def test_it_caps_a_grade_at_its_count(population: int, count: int, kept: int, rounding: str) -> None:
    result = distribute(everyone_in_s(population), TWO, [{"grade": "S", "op": "<=", "count": count}],
                        rounding=rounding)
    assert result.count("S") == kept
    assert result.count("A") == population - kept
    bar = result.counts[0]
    assert (bar.op, bar.share, bar.exact, bar.allowed, bar.required, bar.quota) == (
        "<=", None, None, count, None, f"≤{count} {'person' if count == 1 else 'people'}")
    assert result.is_final and not result.shortfalls


def test_it_explains_a_fall_under_a_count_cap() -> None:
    result = distribute(everyone_in_s(3), TWO, [{"grade": "S", "op": "<=", "count": 2}])
    assert result.result("p02").explanation == (
        "98.50 points → S (90 and above); S quota ≤2 people, position 3 of 3 → falls to A")
    assert result.result("p00").explanation.endswith("S quota ≤2 people, position 1 of 3 → keeps S")


def test_it_reports_a_tie_on_the_line_of_a_count() -> None:
    scores = [("a", D("99")), ("b", D("98")), ("c", D("98")), ("d", D("80"))]
    result = distribute(scores, TWO, [{"grade": "S", "min_count": 1, "max_count": 2}])
    assert [(tie.grade, tie.keys, tie.places) for tie in result.ties] == [("S", ("b", "c"), 1)]
    assert result.count("S") == 3 and not result.is_final


def test_it_reports_a_count_the_lowest_grade_cannot_enforce() -> None:
    scores = [("a", D("80")), ("b", D("70")), ("c", D("60"))]
    result = distribute(scores, TWO, [{"grade": "A", "op": "<=", "count": 1}])
    (issue,) = result.unenforced
    assert (issue.grade, issue.op, issue.share, issue.required, issue.actual) == ("A", "<=", None, 1, 3)


# --- the minimum of a count at its line ---------------------------------------------------------------

# "1–2 people with full marks" over 5 people, with 0 to 3 of them at 100 (and above: the scale is open).
RANGE_LINES = [
    (["99", "98", "97", "96", "95"], 0, 1, False),  # nobody at 100: 1 short
    (["100", "98", "97", "96", "95"], 1, 0, False),
    (["100", "100", "97", "96", "95"], 2, 0, False),
    (["101", "100.5", "100", "96", "95"], 2, 0, False),  # the third falls to 良
    (["100", "100", "100", "96", "95"], 3, 0, True),  # three tie at full marks for two places
]


@pytest.mark.parametrize(("scores", "excellent", "short", "tie"), RANGE_LINES)
def test_it_asks_for_one_to_two_people_with_full_marks(scores: list[str], excellent: int, short: int,
                                                       tie: bool) -> None:
    result = distribute([(f"p{i}", D(score)) for i, score in enumerate(scores)], S1_3_SCALE,
                        [{"grade": "优", "min_count": 1, "max_count": 2}])
    assert result.count("优") == excellent
    assert [(issue.grade, issue.required, issue.actual) for issue in result.shortfalls] == (
        [("优", 1, 0)] if short else [])
    assert bool(result.ties) is tie
    bar = result.counts[0]
    assert (bar.op, bar.allowed, bar.required, bar.quota) == ("between", 2, 1, "1–2 people")


def test_it_explains_a_count_shortfall() -> None:
    result = distribute([("a", D("95")), ("b", D("91"))], S1_3_SCALE, [{"grade": "优", "min_count": 1}])
    (issue,) = result.shortfalls
    assert issue.message == "优 needs ≥1 person but has 0: 1 short, for calibration."
    assert (issue.op, issue.share, issue.required) == (">=", None, 1)


# A minimum count never asks for more people than the population has.
MINIMUM_LINES = [(0, 3, 0), (1, 3, 1), (2, 3, 2), (3, 3, 3), (4, 3, 3), (5, 0, 0)]


@pytest.mark.parametrize(("population", "count", "required"), MINIMUM_LINES)
def test_it_limits_a_minimum_count_to_the_population(population: int, count: int, required: int) -> None:
    scores = [(f"p{i}", D("80")) for i in range(population)]
    result = distribute(scores, TWO, [{"grade": "S", "op": ">=", "count": count}])
    bar = result.counts[0]
    assert (bar.allowed, bar.required) == (required, required)
    assert [(issue.required, issue.actual) for issue in result.shortfalls] == ([(required, 0)] if required else [])


def test_it_asks_an_exact_count_as_cap_and_minimum() -> None:
    scores = [("a", D("99")), ("b", D("95")), ("c", D("80"))]
    result = distribute(scores, TWO, [{"grade": "S", "op": "=", "count": 1}])
    assert (result.count("S"), result.shortfalls) == (1, ())
    result = distribute([*scores[1:], ("d", D("70"))], TWO, [{"grade": "S", "op": "=", "count": 2}])
    assert [(issue.required, issue.actual) for issue in result.shortfalls] == [(2, 1)]


def test_it_takes_quota_objects_as_well_as_configs() -> None:
    result = distribute(everyone_in_s(3), TWO, [Quota("S", "between", min_count=1, max_count=2)])
    assert result.count("S") == 2 and result.counts[0].quota == "1–2 people"
    result = distribute(everyone_in_s(3), TWO, [Quota("S", "between", min_count=1, max_count=1)])
    assert result.count("S") == 1 and result.counts[0].quota == "=1 person"  # normalised as it is read


# --- properties ------------------------------------------------------------------------------------------


@st.composite
def count_quotas(draw: st.DrawFn) -> dict[str, Any]:
    grade = draw(st.sampled_from(["S", "A"]))
    form = draw(st.sampled_from(["op", "range", "min", "max"]))
    low = draw(st.integers(0, 6))
    high = low + draw(st.integers(0, 6))
    if form == "op":
        return {"grade": grade, "op": draw(st.sampled_from(["<=", ">=", "="])), "count": low}
    if form == "min":
        return {"grade": grade, "min_count": low}
    if form == "max":
        return {"grade": grade, "max_count": high}
    return {"grade": grade, "min_count": low, "max_count": high}


@given(st.lists(st.integers(0, 12), max_size=14), count_quotas())
def test_it_holds_every_count_quota_or_says_why_not(cents: list[int], quota: dict[str, Any]) -> None:
    scores = [(f"p{i}", D(85 + value)) for i, value in enumerate(cents)]
    result = distribute(scores, TWO, [quota])
    (normal,) = read_quotas([quota], TWO)
    bar = next(bar for bar in result.counts if bar.grade == quota["grade"])
    cap = normal.cap(len(scores), "half_up")[1]
    minimum = min(normal.minimum(len(scores), "half_up")[1], len(scores))
    if normal.caps and bar.actual > cap:
        assert {tie.grade for tie in result.ties} | {issue.grade for issue in result.unenforced} == {bar.grade}
    if normal.requires:
        assert bar.required == minimum
        assert [issue.grade for issue in result.shortfalls] == ([bar.grade] if bar.actual < minimum else [])
    else:
        assert bar.required is None and not result.shortfalls
    assert sum(b.actual for b in result.counts) == len(scores)
