"""The appraisal app's cards on the home page (organizations.dashboard), read live.

HR: the live periods, each with what blocks its next step (incomplete sheets while it runs, results
waiting for calibration once closed, the review window once published) and the open appeals. A
head: the sheets of their departments in the running periods (complete / total), the sheets they
rate themselves and the appeals waiting for their opinion. An employee: their own published results
with the grade, the score and the review window's end, with a link to appeal. A member of the
appeal group: the appeals waiting for its decision.

Every function reads a fixed number of queries, whatever the organisation's size: counts are
aggregated in SQL and lists are cut to a few rows.

Completeness is appraisal.selectors' (``completeness_filter``): a sheet is incomplete while it
blocks the close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from appraisal import selectors
from appraisal.models import ENTRY_STATES, Appeal, Period, Rater, Rating, Result, Sheet, SheetLine, SpecialStatus
from indicators.models import LineSource
from organizations.context import TenantContext

PERIODS_SHOWN = 5
HEAD_PERIODS_SHOWN = 3
RESULTS_SHOWN = 3
OPEN_APPEAL_STATES = (Appeal.State.FILED, Appeal.State.FORWARDED)


# --- completeness ---------------------------------------------------------------------------------


def incomplete() -> Q:
    """For a Sheet as the outer query: it blocks the close (appraisal.selectors, the canonical rule:
    a normal sheet with a line without a score or a missing rating that does not count as 0)."""
    return selectors.completeness_filter(selectors.INCOMPLETE)


def rater_waiting() -> Exists:
    """For a Rater row as the outer query: a rated line of its sheet it has not rated yet."""
    rated = Rating.objects.filter(line_id=OuterRef("pk"), rater_id=OuterRef(OuterRef("pk")), score__isnull=False)
    return Exists(SheetLine.objects.filter(sheet_id=OuterRef("sheet_id"), source=LineSource.RATERS)
                  .exclude(Exists(rated)))


def completeness_by_period(sheets: QuerySet[Sheet]) -> dict[int, tuple[int, int]]:
    """{period id: (sheets, incomplete sheets)} of the subjects assessed normally: one query."""
    rows = (sheets.filter(special_status=SpecialStatus.NORMAL).order_by().values("period_id")
            .annotate(total=Count("pk"), incomplete=Count("pk", filter=incomplete())))
    return {row["period_id"]: (row["total"], row["incomplete"]) for row in rows}


# --- HR -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePeriod:
    period: Period
    sheets: int
    incomplete: int
    waiting: int  # results waiting for calibration (ties at a quota line): publication is refused

    @property
    def running(self) -> bool:
        return self.period.state in ENTRY_STATES

    @property
    def complete(self) -> int:
        return self.sheets - self.incomplete


def hr_periods(tenant: TenantContext) -> dict[str, Any]:
    """HR: the periods not yet final, newest first, with what blocks each one's next step, and the
    open appeals. Five queries."""
    live = selectors.visible_periods(tenant).exclude(state=Period.State.FINAL)
    periods = list(live.select_related("grading_policy").order_by("-start", "code")[:PERIODS_SHOWN])
    ids = [p.pk for p in periods]
    running = [p.pk for p in periods if p.state in ENTRY_STATES]
    counts = completeness_by_period(Sheet.objects.filter(period_id__in=running))
    waiting = dict(Result.objects.filter(period_id__in=ids, needs_calibration=True).order_by()
                   .values("period_id").annotate(n=Count("pk")).values_list("period_id", "n"))
    appeals = Appeal.objects.aggregate(filed=Count("pk", filter=Q(state=Appeal.State.FILED)),
                                       forwarded=Count("pk", filter=Q(state=Appeal.State.FORWARDED)))
    rows = [LivePeriod(p, *counts.get(p.pk, (0, 0)), waiting=waiting.get(p.pk, 0)) for p in periods]
    return {
        "periods": rows,
        "more": len(periods) == PERIODS_SHOWN and live.count() > PERIODS_SHOWN,
        "appeals_filed": appeals["filed"],
        "appeals_forwarded": appeals["forwarded"],
        "appeals_open": appeals["filed"] + appeals["forwarded"],
    }


# --- department heads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentProgress:
    period_id: int
    department: str
    total: int
    complete: int


@dataclass(frozen=True)
class PeriodTasks:
    period: Period
    departments: list[DepartmentProgress]
    to_rate: int  # sheets the head rates themself
    rated: int


def _department_progress(tenant: TenantContext, periods: list[Period]) -> list[DepartmentProgress]:
    """Per period and headed department: sheets and complete sheets. One query."""
    rows = (
        Sheet.objects.filter(period__in=periods, special_status=SpecialStatus.NORMAL)
        .annotate(dept=Coalesce("person__department_id", "team__department_id", "department_id"),
                  dept_name=Coalesce("person__department__name", "team__department__name", "department__name"),
                  dept_code=Coalesce("person__department__code", "team__department__code", "department__code"))
        .filter(dept__in=tenant.headed_department_ids)
        .order_by().values("period_id", "dept", "dept_name", "dept_code")
        .annotate(total=Count("pk"), incomplete=Count("pk", filter=incomplete()))
        .order_by("period_id", "dept_code")
    )
    return [DepartmentProgress(r["period_id"], r["dept_name"], r["total"], r["total"] - r["incomplete"])
            for r in rows]


def _own_rating_progress(tenant: TenantContext, periods: list[Period]) -> dict[int, tuple[int, int]]:
    """{period id: (sheets the user rates, sheets they have rated completely)}. One query."""
    if tenant.person_id is None:
        return {}
    rows = (Rater.objects.filter(sheet__period__in=periods, person_id=tenant.person_id, recused=False)
            .annotate(waiting=rater_waiting()).order_by().values("sheet__period_id")
            .annotate(total=Count("sheet_id", distinct=True),
                      open=Count("sheet_id", distinct=True, filter=Q(waiting=True))))
    return {r["sheet__period_id"]: (r["total"], r["total"] - r["open"]) for r in rows}


def appeals_for_opinion(tenant: TenantContext) -> QuerySet[Appeal]:
    """Appeals filed by the people the user supervises (as their manager or head of their department
    or one above it), never their own, waiting for the supervisor's opinion."""
    supervised = Q(result__person__department_id__in=tenant.headed_department_ids)
    if tenant.person_id is not None:
        supervised |= Q(result__person__manager_id=tenant.person_id)
    waiting = Appeal.objects.filter(supervised, state=Appeal.State.FILED)
    return waiting.exclude(result__person_id=tenant.person_id) if tenant.person_id is not None else waiting


def head_tasks(tenant: TenantContext) -> dict[str, Any]:
    """A head: the running periods' sheets in their departments, the sheets they rate, and the appeals
    waiting for their opinion. Four queries."""
    periods = list(selectors.visible_periods(tenant).filter(state__in=ENTRY_STATES)
                   .order_by("-start", "code")[:HEAD_PERIODS_SHOWN])
    progress = _department_progress(tenant, periods) if periods else []
    own = _own_rating_progress(tenant, periods) if periods else {}
    tasks = [PeriodTasks(p, [row for row in progress if row.period_id == p.pk], *own.get(p.pk, (0, 0)))
             for p in periods]
    return {"tasks": tasks, "appeals_waiting": appeals_for_opinion(tenant).count()}


# --- employees and appeal groups ------------------------------------------------------------------


@dataclass(frozen=True)
class OwnResult:
    result: Result
    window_open: bool
    open_appeal: bool

    @property
    def may_appeal(self) -> bool:
        return self.window_open and not self.open_appeal


def own_results(tenant: TenantContext) -> dict[str, Any]:
    """An employee: their own published results, newest first, with whether an appeal is open. One query."""
    if tenant.person_id is None:
        return {"results": []}
    open_appeal = Appeal.objects.filter(result_id=OuterRef("pk"), state__in=OPEN_APPEAL_STATES)
    rows = list(
        selectors.visible_results(tenant).select_related("period")
        .filter(person_id=tenant.person_id, period__state__in=selectors.PUBLISHED_STATES)
        .annotate(has_open_appeal=Exists(open_appeal))
        .order_by(F("period__start").desc(), "-pk")[:RESULTS_SHOWN]
    )
    now = timezone.now()
    return {"results": [OwnResult(r, r.period.window_open(now), bool(r.has_open_appeal))  # type: ignore[attr-defined]
                        for r in rows]}


def appeals_to_decide(tenant: TenantContext) -> dict[str, Any]:
    """A member of a policy's appeal group: the forwarded appeals of the periods it decides. One query."""
    waiting = Appeal.objects.filter(state=Appeal.State.FORWARDED,
                                    result__period__grading_policy__appeal_group_id__in=tenant.group_ids)
    if tenant.person_id is not None:
        waiting = waiting.exclude(filed_by_id=tenant.person_id)
    return {"appeals_waiting": waiting.count()}
