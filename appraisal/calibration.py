"""Reads of the calibration page: a period's results a page at a time, the quota lines of the
populations on that page, and the leniency of the raters. Everything is counted in SQL; Python
touches only the rows of the page shown, so the page costs the same for 30 people or 100,000.

Quota lines: a population's allowed count of a grade is its graded head count × the quota's share,
rounded as the policy says, or the quota's head count (appraisal.grading.distribution: the same rule
the close applies). The head count is of the results the forced distribution ranked: a result
whose grade a rule set (or a rule left unassessed) is outside the quotas and has no rank.

Rater leniency: each rating a person gave (self-assessments and recused raters left out) as a
share of the line's full marks (得分率, 0–100). Against all such ratings of the period (their mean
and standard deviation), a rater whose mean is at least one standard deviation above the mean is
lenient, one at least one below is severe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    StdDev,
    Subquery,
    Value,
)
from django.db.models.functions import Abs, Cast

from appraisal import grading
from appraisal.models import GradingPolicy, Period, RaterRole, Rating, Result
from appraisal.services.closing import GRADED_STATUSES
from core.numbers import quantize

RESULTS_PER_PAGE = 50
RATERS_PER_PAGE = 20
LENIENT = "lenient"
SEVERE = "severe"


# --- results --------------------------------------------------------------------------------------


def period_results(period: Period) -> QuerySet[Result]:
    """The period's results by population and rank, each with ``tied``: how many graded results of
    its population share its final score (2 or more is a tie). One query for a page."""
    same_score = (
        Result.objects.filter(period_id=OuterRef("period_id"), population=OuterRef("population"),
                              final_score=OuterRef("final_score"), status__in=GRADED_STATUSES, rank__isnull=False)
        .order_by().values("population").annotate(n=Count("pk")).values("n")
    )
    return (
        Result.objects.filter(period=period)
        .select_related("sheet__person__department", "sheet__team__department", "sheet__department")
        .annotate(tied=Subquery(same_score, output_field=IntegerField()))
        .order_by("population", F("rank").asc(nulls_last=True), "pk")
    )


def in_departments(department_ids: Iterable[int]) -> Q:
    """Results whose subject (person, team or department) belongs to one of the departments."""
    ids = list(department_ids)
    return (Q(sheet__person__department_id__in=ids) | Q(sheet__team__department_id__in=ids)
            | Q(sheet__department_id__in=ids))


def filtered(results: QuerySet[Result], *, department_ids: set[int] | None = None, population: str = "",
             grade: str = "", needs_calibration: bool = False) -> QuerySet[Result]:
    if department_ids is not None:
        results = results.filter(in_departments(department_ids))
    if population:
        results = results.filter(population=population)
    if grade:
        results = results.filter(grade=grade)
    if needs_calibration:
        results = results.filter(needs_calibration=True)
    return results


def populations(period: Period) -> list[tuple[str, str]]:
    """(key, label) of each population of the period's results. One query."""
    rows = (Result.objects.filter(period=period).order_by("population")
            .values_list("population", "population_label").distinct())
    return list(rows)


def calibration_range(result: Result, policy: GradingPolicy | None) -> tuple[Decimal, Decimal] | None:
    """The lowest and highest score calibration may give (the score at close ± the policy's share),
    or None when the result has no score to calibrate."""
    if policy is None or result.raw_score is None or result.status not in GRADED_STATUSES:
        return None
    margin = abs(result.raw_score) * policy.calibration_share
    return quantize(result.raw_score - margin), quantize(result.raw_score + margin)


# --- quota lines ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaLine:
    grade: str
    label: str
    quota: str  # "≤5%", "1–2 people", "" without a quota
    actual: int
    allowed: int | None  # the cap, or the minimum of a quota that only asks for one
    waiting: int  # how many holding the grade wait for calibration
    caps: bool = False  # the quota caps the grade (≤, =, or a max count)
    required: int | None = None  # the minimum, for a quota that asks for one

    @property
    def over(self) -> bool:
        return self.allowed is not None and self.caps and self.actual > self.allowed

    @property
    def short(self) -> bool:
        return self.required is not None and self.actual < self.required


@dataclass(frozen=True)
class PopulationQuotas:
    key: str
    label: str
    graded: int
    lines: list[QuotaLine]
    outside: int = 0  # results a rule set a grade for (or left unassessed): outside the quotas

    def line(self, grade: str) -> QuotaLine | None:
        return next((line for line in self.lines if line.grade == grade), None)


def allowed_count(population: int, share: Decimal, rounding: str) -> int:
    """Head count × share, rounded as the policy says (the rule of appraisal.grading.distribution)."""
    return int(quantize(Decimal(population) * share, 0, grading.ROUNDINGS[rounding]))


def quota_line(grade: grading.Grade, quota: grading.Quota | None, size: int, rounding: str, actual: int,
               waiting: int) -> QuotaLine:
    """One grade's line: how many hold it against its cap and minimum over ``size`` people."""
    if quota is None:
        return QuotaLine(grade=grade.code, label=grade.label, quota="", actual=actual, allowed=None,
                         waiting=waiting)
    _exact, allowed = quota.cap(size, rounding) if quota.caps else quota.minimum(size, rounding)
    return QuotaLine(grade=grade.code, label=grade.label, quota=quota.describe(), actual=actual, allowed=allowed,
                     waiting=waiting, caps=quota.caps,
                     required=quota.minimum(size, rounding)[1] if quota.requires else None)


def quota_lines(period: Period, keys: Iterable[str]) -> list[PopulationQuotas]:
    """Per population named: how many hold each grade against how many its quota allows. Three queries."""
    policy = period.grading_policy
    wanted = sorted(set(keys))
    if policy is None or not wanted:
        return []
    results = Result.objects.filter(period=period, population__in=wanted).order_by()
    graded = results.filter(status__in=GRADED_STATUSES, final_score__isnull=False, rank__isnull=False)
    sizes = {row["population"]: (row["population_label"], row["n"])
             for row in graded.values("population", "population_label").annotate(n=Count("pk"))}
    held = {(row["population"], row["grade"]): (row["n"], row["waiting"])
            for row in graded.values("population", "grade")
            .annotate(n=Count("pk"), waiting=Count("pk", filter=Q(needs_calibration=True)))}
    outside = dict(results.filter(status__in=GRADED_STATUSES, rank__isnull=True).values("population")
                   .annotate(n=Count("pk")).values_list("population", "n"))
    scale = policy.grade_scale()
    quotas = {quota.grade: quota for quota in grading.read_quotas(policy.quotas, scale)}
    found = []
    for key in wanted:
        label, size = sizes.get(key, ("", 0))
        lines = [quota_line(grade, quotas.get(grade.code), size, policy.rounding,
                            *held.get((key, grade.code), (0, 0))) for grade in scale.grades]
        found.append(PopulationQuotas(key=key, label=label, graded=size, lines=lines, outside=outside.get(key, 0)))
    return found


# --- rater leniency -------------------------------------------------------------------------------


def _share_of_full_marks() -> Cast:
    return Cast(Cast("score", FloatField()) * Value(100.0) / Cast("line__max_points", FloatField()),
                FloatField())


def period_ratings(period: Period) -> QuerySet[Rating]:
    """The ratings people gave others in the period (no self-assessment, no recused rater)."""
    return (Rating.objects.filter(line__sheet__period=period, score__isnull=False, line__max_points__gt=0,
                                  rater__recused=False, rater__person__isnull=False)
            .exclude(rater__role=RaterRole.SELF))


@dataclass(frozen=True)
class Baseline:
    """The period's ratings as a whole: how many, their mean and standard deviation (得分率)."""

    ratings: int
    mean: float | None
    sd: float | None

    @property
    def lenient_from(self) -> float | None:
        return None if self.mean is None or self.sd is None else self.mean + self.sd

    @property
    def severe_to(self) -> float | None:
        return None if self.mean is None or self.sd is None else self.mean - self.sd

    def flag(self, mean: float | None) -> str:
        if mean is None or self.lenient_from is None or self.severe_to is None or not self.sd:
            return ""
        if mean >= self.lenient_from:
            return LENIENT
        if mean <= self.severe_to:
            return SEVERE
        return ""


def baseline(period: Period) -> Baseline:
    """One query."""
    found = period_ratings(period).aggregate(n=Count("pk"), mean=Avg(_share_of_full_marks()),
                                             sd=StdDev(_share_of_full_marks()))
    return Baseline(ratings=found["n"], mean=_number(found["mean"]), sd=_number(found["sd"]))


RaterRows = QuerySet[Any, Any]  # values() rows: dicts


def raters(period: Period, whole: Baseline) -> RaterRows:
    """One row per rater (a values() queryset): person, ratings given, their mean and standard
    deviation, and ``gap`` (how far the mean is from the period's), the furthest first."""
    centre = whole.mean if whole.mean is not None else 0.0
    return (
        period_ratings(period).order_by()
        .values("rater__person_id", "rater__person__employee_no", "rater__person__name")
        .annotate(n=Count("pk"), mean=Avg(_share_of_full_marks()), sd=StdDev(_share_of_full_marks()))
        .annotate(gap=Abs(F("mean") - Value(centre, output_field=FloatField())))
        .order_by("-gap", "rater__person__employee_no")
    )


def flagged_counts(rows: RaterRows, whole: Baseline) -> tuple[int, int]:
    """(lenient raters, severe raters) over the whole period. Two queries (none without a spread)."""
    if whole.lenient_from is None or whole.severe_to is None or not whole.sd:
        return 0, 0
    lenient = rows.filter(**{"mean__gte": whole.lenient_from})  # ``mean`` is the rows' own aggregate
    severe = rows.filter(**{"mean__lte": whole.severe_to})
    return lenient.count(), severe.count()


@dataclass(frozen=True)
class RaterLeniency:
    person_id: int
    employee_no: str
    name: str
    ratings: int
    mean: Decimal
    sd: Decimal
    difference: Decimal  # the rater's mean minus the period's
    flag: str


def _number(value: object) -> float | None:
    """An aggregate as a float (SQLite and PostgreSQL return floats here; a Decimal is accepted too)."""
    return None if value is None else float(str(value))


def shown(value: float | None) -> Decimal:
    return quantize(Decimal(repr(value if value is not None else 0.0)))


def leniency_rows(rows: Iterable[dict[str, Any]], whole: Baseline) -> list[RaterLeniency]:
    """The rows of one page as objects, each flagged against the period's ratings."""
    found = []
    for row in rows:
        mean = _number(row["mean"])
        found.append(RaterLeniency(
            person_id=int(str(row["rater__person_id"])), employee_no=str(row["rater__person__employee_no"]),
            name=str(row["rater__person__name"]), ratings=int(str(row["n"])), mean=shown(mean),
            sd=shown(_number(row["sd"])),
            difference=shown(None if mean is None or whole.mean is None else mean - whole.mean),
            flag=whole.flag(mean),
        ))
    return found
