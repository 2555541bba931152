"""appraisal.grading as properties: a saved policy computes what the fresh one did, and the grades and
the forced distribution keep their documented invariants for any valid scale, quota set and population.

"Saved" is what the database holds: the configs as :func:`validate_scale` / :func:`validate_quotas`
return them, through ``json.dumps`` / ``json.loads``. The examples are generated (hypothesis, the
project profile in tests/conftest.py: fixed seed, bounded count).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal as D
from fractions import Fraction
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from appraisal.grading import (
    Distribution,
    GradeScale,
    GradingError,
    distribute,
    validate_quotas,
    validate_scale,
)

CODES = ("S", "A", "B", "C", "D", "E")
CENT = D("0.01")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def spelled(draw: st.DrawFn, cents: int) -> str:
    """``cents`` / 100 written one of the ways HR may write it: 80, 80.00, 80.5, 8.05E+1."""
    value = D(cents) * CENT
    forms = [format(value, "f"), format(value.normalize(), "f"), f"{value:.3f}", f"{value:E}"]
    return draw(st.sampled_from(forms))


@dataclass(frozen=True)
class ScaleCase:
    config: dict[str, Any]
    froms: tuple[int | None, ...]  # each band's start in cents, best first (None: open below)
    top: int | None  # the best band's max in cents (None: open above)


@st.composite
def scales(draw: st.DrawFn) -> ScaleCase:
    """A valid scale: 1–5 bands, starts strictly falling, optional max, bottom band maybe open."""
    count = draw(st.integers(1, 5))
    starts = sorted(draw(st.lists(st.integers(-2000, 12000), min_size=count, max_size=count, unique=True)))
    starts.reverse()
    froms: list[int | None] = list(starts)
    if draw(st.booleans()):
        froms[-1] = None
    top = None if not draw(st.booleans()) else (starts[0] + draw(st.integers(1, 3000)))
    bands: list[dict[str, Any]] = []
    for index, start in enumerate(froms):
        band: dict[str, Any] = {"grade": draw(st.sampled_from([CODES[index], f" {CODES[index]} "]))}
        band["from"] = None if start is None else spelled(draw, start)
        if index == 0 and top is not None:
            band["max"] = spelled(draw, top)
        label = draw(st.sampled_from([None, "absent", f"档{index}"]))
        if label != "absent":
            band["label"] = label
        coefficient = draw(st.sampled_from([None, "absent", "0.8", "1.0", "1.20", "1.2E+0"]))
        if coefficient != "absent":
            band["coefficient"] = coefficient
        bands.append(band)
    config: dict[str, Any] = {"bands": bands}
    boundary = draw(st.sampled_from(["absent", "lower_inclusive", "upper_inclusive"]))
    if boundary != "absent":
        config["boundary"] = boundary
    return ScaleCase(config=config, froms=tuple(froms), top=top)


def score_range(case: ScaleCase) -> tuple[int, int]:
    """The lowest and highest score (in cents) the scale grades; 50 points beyond an open end."""
    starts = [start for start in case.froms if start is not None]
    low = case.froms[-1] if case.froms[-1] is not None else min(starts, default=0) - 5000
    high = case.top if case.top is not None else max(starts, default=0) + 5000
    return low, high


def expected_rank(case: ScaleCase, cents: int) -> int | None:
    """The band a score falls in by the documented rule, worked out from the spec (None: outside).

    The first band (best first) whose start the score is above, or at when the start is inclusive:
    always under lower_inclusive, only for the bottom band under upper_inclusive.
    """
    if case.top is not None and cents > case.top:
        return None
    upper = case.config.get("boundary") == "upper_inclusive"
    for index, start in enumerate(case.froms):
        bottom = index == len(case.froms) - 1
        if start is None or cents > start or (cents == start and (bottom or not upper)):
            return index
    return None


def edges(case: ScaleCase) -> list[int]:
    """Every band start and the max, and one cent either side."""
    ends = [*case.froms, case.top]
    return [end + step for end in ends if end is not None for step in (-1, 0, 1)]


@st.composite
def quota_sets(draw: st.DrawFn, codes: list[str]) -> list[dict[str, Any]]:
    """Quotas for some of ``codes``, each grade once, the minimums within the whole population."""
    chosen = draw(st.lists(st.sampled_from(codes), unique=True, min_size=1, max_size=len(codes)))
    budget = 100  # percent left for minimums
    quotas: list[dict[str, Any]] = []
    for code in chosen:
        op = draw(st.sampled_from(["<=", ">=", "="]))
        most = budget if op in (">=", "=") else 100
        share = draw(st.sampled_from([s for s in (0, 5, 10, 15, 20, 30, 50) if s <= most]) | st.integers(0, most))
        if op in (">=", "="):
            budget -= share
        quotas.append({"grade": draw(st.sampled_from([code, f" {code}"])), "op": op, "share": spelled(draw, share)})
    return quotas


@st.composite
def policies(draw: st.DrawFn) -> tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str]:
    """A scale, its quotas, a population scored inside the scale (ties likely) and a rounding."""
    case = draw(scales())
    codes = [band["grade"].strip() for band in case.config["bands"]]
    low, high = score_range(case)
    near_edges = [cents for cents in edges(case) if low <= cents <= high] or [low]
    pool = draw(st.lists(st.sampled_from(near_edges) | st.integers(low, high), min_size=1, max_size=4))
    values = draw(st.lists(st.sampled_from(pool), min_size=draw(st.integers(1, 20)), max_size=25))
    scores = [(f"k{index:02d}", D(cents) * CENT) for index, cents in enumerate(values)]
    return case, draw(quota_sets(codes)), scores, draw(st.sampled_from(["half_up", "down", "up"]))


def saved(config: object) -> Any:
    """A normalised config as the database gives it back."""
    return json.loads(json.dumps(config))


def summary(result: Distribution) -> tuple[object, ...]:
    """Everything a distribution says: grades, flags, explanations, counts, ties and issues."""
    return (
        result.population,
        result.is_final,
        [
            (
                s.key,
                s.score,
                s.rank,
                s.band_grade.code,
                s.final_grade.code,
                s.coefficient,
                s.needs_calibration,
                s.explanation,
            )
            for s in result.subjects
        ],
        result.counts,
        result.ties,
        result.shortfalls,
        result.unenforced,
    )


def rounded(population: int, share: D, rounding: str) -> int:
    """The allowed count worked out independently, with exact fractions."""
    exact = Fraction(population) * Fraction(share)
    if rounding == "down":
        return math.floor(exact)
    if rounding == "up":
        return math.ceil(exact)
    return math.floor(exact + Fraction(1, 2))


# --- round trip -------------------------------------------------------------------------------


@given(scales())
def test_it_saves_a_scale_in_a_form_that_reads_back_unchanged(case: ScaleCase) -> None:
    normal = validate_scale(case.config)
    assert validate_scale(saved(normal)) == normal
    assert GradeScale.from_config(saved(normal)).to_config() == normal


@given(scales(), st.data())
def test_it_grades_every_score_the_same_from_the_spec_and_from_the_saved_scale(
    case: ScaleCase, data: st.DataObject
) -> None:
    fresh = GradeScale.from_config(case.config)
    stored = GradeScale.from_config(saved(validate_scale(case.config)))
    low, high = score_range(case)
    for cents in [*data.draw(st.lists(st.integers(low - 10, high + 10), max_size=20)), low, high]:
        score = D(cents) * CENT
        try:
            expected = fresh.grade_for(score)
        except GradingError as error:
            with pytest.raises(GradingError) as again:
                stored.grade_for(score)
            assert str(again.value) == str(error)
            continue
        assert stored.grade_for(score) == expected
        assert stored.grade_for(score).describe() == expected.describe()


@given(policies())
def test_it_distributes_the_same_from_the_spec_and_from_the_saved_policy(
    policy: tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str],
) -> None:
    case, quotas, scores, rounding = policy
    stored_scale = saved(validate_scale(case.config))
    stored_quotas = saved(validate_quotas(quotas, case.config))
    assert validate_quotas(stored_quotas, stored_scale) == stored_quotas
    fresh = distribute(scores, case.config, quotas, rounding=rounding)
    stored = distribute(scores, stored_scale, stored_quotas, rounding=rounding)
    assert summary(stored) == summary(fresh)


# --- invariants of the scale ------------------------------------------------------------------


@given(scales(), st.data())
def test_it_gives_every_score_on_the_scale_exactly_one_grade(case: ScaleCase, data: st.DataObject) -> None:
    scale = GradeScale.from_config(case.config)
    low, high = score_range(case)
    for cents in data.draw(st.lists(st.integers(low, high), max_size=20)) + edges(case):
        if not low <= cents <= high:
            continue
        score = D(cents) * CENT
        holders = [grade for grade in scale.grades if grade.contains(score)]
        assert len(holders) == 1, (score, holders)
        assert scale.grade_for(score) is holders[0]


@given(scales(), st.data())
def test_it_puts_each_edge_where_the_documented_boundary_rule_says(case: ScaleCase, data: st.DataObject) -> None:
    scale = GradeScale.from_config(case.config)
    low, high = score_range(case)
    for cents in data.draw(st.lists(st.integers(low - 100, high + 100), max_size=10)) + edges(case):
        expected = expected_rank(case, cents)
        if expected is None:
            with pytest.raises(GradingError, match="outside the grade scale"):
                scale.grade_for(D(cents) * CENT)
        else:
            assert scale.grade_for(D(cents) * CENT).rank == expected, cents


# --- invariants of the forced distribution ----------------------------------------------------


@given(policies())
def test_it_counts_everyone_exactly_once(
    policy: tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str],
) -> None:
    case, quotas, scores, rounding = policy
    result = distribute(scores, case.config, quotas, rounding=rounding)
    assert result.population == len(scores)
    assert sum(bar.actual for bar in result.counts) == len(scores)
    assert sum(bar.band_count for bar in result.counts) == len(scores)
    assert sorted(str(s.key) for s in result.subjects) == sorted(key for key, _score in scores)
    for bar in result.counts:
        assert bar.actual == sum(1 for s in result.subjects if s.final_grade.code == bar.grade)


@given(policies())
def test_it_works_out_each_allowed_count_with_the_rounding_asked_for(
    policy: tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str],
) -> None:
    case, quotas, scores, rounding = policy
    result = distribute(scores, case.config, quotas, rounding=rounding)
    normal = {quota["grade"]: quota for quota in validate_quotas(quotas, case.config)}
    for bar in result.counts:
        if bar.grade not in normal:
            assert (bar.op, bar.share, bar.exact, bar.allowed) == (None, None, None, None)
            continue
        share = D(normal[bar.grade]["share"])
        assert (bar.op, bar.share) == (normal[bar.grade]["op"], share)
        assert bar.exact == len(scores) * share
        assert bar.allowed == rounded(len(scores), share, rounding)


@given(policies())
def test_it_never_exceeds_a_cap_without_reporting_a_tie_or_a_calibration_flag(
    policy: tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str],
) -> None:
    case, quotas, scores, rounding = policy
    result = distribute(scores, case.config, quotas, rounding=rounding)
    tied = {tie.grade for tie in result.ties}
    unenforced = {issue.grade for issue in result.unenforced}
    for bar in result.counts:
        if bar.op not in ("<=", "=") or bar.allowed is None or bar.actual <= bar.allowed:
            continue
        holders = [s for s in result.subjects if s.final_grade.code == bar.grade]
        assert bar.grade in tied | unenforced
        assert sum(s.needs_calibration for s in holders) >= bar.actual - bar.allowed
    assert result.is_final is (not result.ties and not result.unenforced)


@given(policies())
def test_it_reports_every_minimum_shortfall_and_no_other(
    policy: tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str],
) -> None:
    case, quotas, scores, rounding = policy
    result = distribute(scores, case.config, quotas, rounding=rounding)
    expected = [
        (bar.grade, bar.allowed, bar.actual)
        for bar in result.counts
        if bar.op in (">=", "=") and bar.allowed is not None and bar.actual < bar.allowed
    ]
    assert [(issue.grade, issue.required, issue.actual) for issue in result.shortfalls] == expected
    for issue in result.shortfalls:
        assert f"{issue.required - issue.actual} short" in issue.message


@given(policies())
def test_it_moves_people_only_down_and_ranks_by_score(
    policy: tuple[ScaleCase, list[dict[str, Any]], list[tuple[str, D]], str],
) -> None:
    case, quotas, scores, rounding = policy
    result = distribute(scores, case.config, quotas, rounding=rounding)
    scale = GradeScale.from_config(case.config)
    values = [score for _key, score in scores]
    for subject in result.subjects:
        assert subject.band_grade == scale.grade_for(subject.score)
        assert subject.final_grade.rank >= subject.band_grade.rank
        assert subject.rank == 1 + sum(1 for value in values if value > subject.score)
    assert [s.score for s in result.subjects] == sorted(values, reverse=True)
