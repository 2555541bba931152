"""Pages after scoring: the results of a closed period with the distribution against the quotas and
calibration (HR; closing and publishing are steps of the period page, appraisal.period_views).
"My results", appeals and acknowledgement are in appraisal.appeal_views.

Same house style as appraisal.views: the matrix opens a page (403), the selectors decide which
rows a user sees (404 for another organisation's row or a colleague's), and the per-object rules
(HR for calibration) decide the writes (403).
Every write is a service with the acting user; a refusal is shown with the service's message.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appraisal import grading, selectors, services
from appraisal.models import GradingPolicy, Period, Result
from appraisal.services import closing, window
from core.replica import replica_reads
from core.web import acting_user, is_htmx
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import can
from organizations.roles import Role
from organizations.views import tenant_page


def shanghai(moment: dt.datetime | None) -> str:
    """A moment as people in the organisation read it in a sentence: Beijing time, to the minute
    (appraisal.services.window.show_time)."""
    if moment is None:
        return ""
    return window.show_time(moment)


def may_calibrate(tenant: TenantContext) -> bool:
    return tenant.has(Role.HR_ADMIN)


# --- the distribution chart ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    grade: str
    label: str
    actual: int
    allowed: int | None
    quota: str  # "≤5%", "" without a quota
    over: bool  # a cap exceeded
    short: bool  # a minimum not met
    waiting: int  # how many of this grade wait for calibration (ties, unenforceable caps)
    actual_width: int  # percent of the widest bar
    allowed_width: int


@dataclass(frozen=True)
class PopulationChart:
    key: str
    label: str
    population: int
    bars: list[Bar]

    @property
    def needs_attention(self) -> bool:
        return any(bar.over or bar.short or bar.waiting for bar in self.bars)


class HeldCount(NamedTuple):
    """How many results of one population hold one grade: the chart is drawn from these, counted by
    the database, so a period of 10,000 results costs one grouped query and no rows in Python."""

    population: str
    population_label: str
    grade: str
    graded: int  # ranked results with a final score, of a graded status: those the quotas count
    waiting: int  # of those, how many wait for calibration (ties at a quota line, caps exceeded)


def grade_counts(results: QuerySet[Result]) -> list[HeldCount]:
    # A result whose grade a rule set (or that a rule left unassessed) has no rank: outside the quotas.
    graded = Q(status__in=closing.GRADED_STATUSES, final_score__isnull=False, rank__isnull=False)
    rows = (results.order_by().values("population", "grade")
            .annotate(label=Min("population_label"), graded=Count("pk", filter=graded),
                      waiting=Count("pk", filter=graded & Q(needs_calibration=True))))
    return [HeldCount(row["population"], row["label"], row["grade"], row["graded"], row["waiting"])
            for row in rows]


def distribution(period: Period, counts: Sequence[HeldCount]) -> list[PopulationChart]:
    """Per population: how many hold each grade against how many the quota allows (population ×
    share, rounded as the policy says), from the stored results; the allowed counts come from
    grading.quota_counts, which the grading reads them through too, so the chart and the grading
    cannot disagree (without grading the population again on every request). The populations that
    need HR (a quota exceeded or short, results waiting for calibration) come first."""
    policy = period.grading_policy
    if policy is None:
        return []
    scale = policy.grade_scale()
    by_population: dict[str, list[HeldCount]] = defaultdict(list)
    for held_count in counts:
        by_population[held_count.population].append(held_count)
    allowed_at: dict[int, tuple[grading.GradeCount, ...]] = {}  # by head count: 100 departments, a few sizes
    charts = []
    for key in sorted(by_population):
        members = by_population[key]
        actual = {c.grade: c.graded for c in members if c.graded}
        waiting = {c.grade: c.waiting for c in members if c.waiting}
        population = sum(actual.values())
        if population not in allowed_at:
            allowed_at[population] = grading.quota_counts(population, scale, policy.quotas, rounding=policy.rounding)
        counted = allowed_at[population]
        widest = max([1, *actual.values(), *(c.allowed or 0 for c in counted)])
        bars = []
        for quota in counted:
            held = actual.get(quota.grade, 0)
            bars.append(Bar(
                grade=quota.grade, label=quota.label, actual=held, allowed=quota.allowed, quota=quota.quota,
                over=quota.allowed is not None and quota.op in ("<=", "=", "between") and held > quota.allowed,
                short=quota.required is not None and held < quota.required,
                waiting=waiting.get(quota.grade, 0),
                actual_width=round(100 * held / widest),
                allowed_width=round(100 * (quota.allowed or 0) / widest),
            ))
        charts.append(PopulationChart(key=key, label=min(c.population_label for c in members),
                                      population=population, bars=bars))
    return sorted(charts, key=lambda chart: not chart.needs_attention)


# --- the period page's results ------------------------------------------------------------------


@dataclass
class ResultRow:
    result: Result
    error: str = ""
    value: str = ""
    reason: str = ""


# The period page is the cockpit: its results table shows 20, like its sheet table (the calibration
# page, where HR works through a population, pages 50). 50 rows of results were a fifth of the page.
RESULTS_PER_PAGE = 20
RESULTS_PAGE = "results_page"  # the period page's sheet table already pages with "page"
CHARTS_PER_PAGE = 10  # a population's chart is ~4 KB of HTML: 100 departments were 400 KB a request
CHARTS_PAGE = "charts_page"


def _period_results(tenant: TenantContext, period: Period) -> QuerySet[Result]:
    return selectors.results_for_display(tenant).filter(period=period).order_by("population", "rank", "pk")


@replica_reads()
def results_context(tenant: TenantContext, period: Period, *, errors: dict[int, ResultRow] | None = None,
                    page: str | None = None, charts_page: str | None = None) -> dict[str, object]:
    """What the period page shows once the period has results: the chart (to those who see the
    whole population), a page of the results table with calibration forms (HR, closed only), publication.
    Never the whole population in one page: 10,000 rows with a form each is megabytes of HTML, and
    the charts of 100 departments are paged too."""
    results = _period_results(tenant, period)
    whole = tenant.has(Role.HR_ADMIN, Role.FINANCE)
    charts = Paginator(distribution(period, grade_counts(results)) if whole else [], CHARTS_PER_PAGE)
    shown = Paginator(results, RESULTS_PER_PAGE).get_page(page)
    errors = errors or {}
    rows = []
    for result in shown.object_list:
        posted = errors.get(result.pk)
        rows.append(ResultRow(result=result, error=posted.error, value=posted.value, reason=posted.reason)
                    if posted else ResultRow(result=result))
    chart_page = charts.get_page(charts_page)
    return {
        "period": period,
        "result_rows": rows,
        "result_page": shown,
        "results_page_param": RESULTS_PAGE,
        "charts": chart_page.object_list,
        "chart_page": chart_page,
        "charts_page_param": CHARTS_PAGE,
        "charts_needing_attention": sum(1 for chart in charts.object_list if chart.needs_attention),
        "may_calibrate": may_calibrate(tenant) and period.state == Period.State.CLOSED,
        "may_publish": can(tenant, "period", "change") and period.state == Period.State.CLOSED,
        "waiting": results.filter(needs_calibration=True).count(),
        "window_end": shanghai(period.window_ends_at),
    }


def grading_policies() -> list[GradingPolicy]:
    return list(GradingPolicy.objects.order_by("code", "-version"))


def _score(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


@tenant_page("result")
@require_POST
def result_calibrate(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """HR moves one final score within the cap, with a reason. htmx gets the results section back
    (the whole population may have been regraded), with a refusal next to the row."""
    result = get_visible_or_404(selectors.visible_results(tenant).select_related("period"), pk=pk)
    if not may_calibrate(tenant):
        raise PermissionDenied
    period = result.period
    text, reason = request.POST.get("score", ""), request.POST.get("reason", "")
    score = _score(text)
    error = ""
    if score is None:
        error = _("Enter the new score as a number, such as 88.50.")
    else:
        try:
            closing.calibrate(result=result, score=score, reason=reason, acting_user=acting_user(request))
        except grading.CalibrationError as refused:
            error = refused.message
        except (closing.ClosureRefused, services.IllegalTransition, ValueError) as refused:
            error = str(refused)
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect(reverse("period-detail", args=[period.pk]) + "#period-results")
    period = Period.objects.select_related("grading_policy").get(pk=period.pk)
    errors = {result.pk: ResultRow(result=result, error=error, value=text, reason=reason)} if error else None
    # The answer shows the page the form was on: the row calibrated stays in view.
    return render(request, "appraisal/_period_results.html",
                  results_context(tenant, period, errors=errors, page=request.POST.get(RESULTS_PAGE),
                                  charts_page=request.POST.get(CHARTS_PAGE)))
