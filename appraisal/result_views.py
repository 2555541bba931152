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
from django.db.models import QuerySet
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


class ChartRow(NamedTuple):
    """What the chart needs of a result: read as plain values for the whole population, so the
    chart of 10,000 results costs one query and no model instances."""

    pk: int
    population: str
    population_label: str
    status: str
    final_score: Decimal | None
    rank: int | None
    grade: str
    needs_calibration: bool


def chart_rows(results: QuerySet[Result]) -> list[ChartRow]:
    return [ChartRow(*values) for values in results.values_list(*ChartRow._fields)]


def distribution(period: Period, results: Sequence[ChartRow | Result]) -> list[PopulationChart]:
    """Per population: how many hold each grade against how many the quota allows (population ×
    share, rounded as the policy says), from the stored results; the allowed counts come from
    grading.quota_counts, which the grading reads them through too, so the chart and the grading
    cannot disagree (without grading the population again on every request)."""
    policy = period.grading_policy
    if policy is None:
        return []
    scale = policy.grade_scale()
    by_population: dict[str, list[ChartRow | Result]] = defaultdict(list)
    for result in results:
        by_population[result.population].append(result)
    charts = []
    for key in sorted(by_population):
        members = by_population[key]
        # A result whose grade a rule set (or that a rule left unassessed) has no rank: outside the quotas.
        graded = [r for r in members if r.status in closing.GRADED_STATUSES and r.final_score is not None
                  and r.rank is not None]
        counted = grading.quota_counts(len(graded), scale, policy.quotas, rounding=policy.rounding)
        actual: dict[str, int] = defaultdict(int)
        waiting: dict[str, int] = defaultdict(int)
        for result in graded:
            actual[result.grade] += 1
            if result.needs_calibration:
                waiting[result.grade] += 1
        widest = max([1, *actual.values(), *(c.allowed or 0 for c in counted)])
        bars = []
        for count in counted:
            held = actual.get(count.grade, 0)
            bars.append(Bar(
                grade=count.grade, label=count.label, actual=held, allowed=count.allowed, quota=count.quota,
                over=count.allowed is not None and count.op in ("<=", "=", "between") and held > count.allowed,
                short=count.required is not None and held < count.required,
                waiting=waiting.get(count.grade, 0),
                actual_width=round(100 * held / widest),
                allowed_width=round(100 * (count.allowed or 0) / widest),
            ))
        charts.append(PopulationChart(key=key, label=members[0].population_label, population=len(graded),
                                      bars=bars))
    return charts


# --- the period page's results ------------------------------------------------------------------


@dataclass
class ResultRow:
    result: Result
    error: str = ""
    value: str = ""
    reason: str = ""


RESULTS_PER_PAGE = 50
RESULTS_PAGE = "results_page"  # the period page's sheet table already pages with "page"


def _period_results(tenant: TenantContext, period: Period) -> QuerySet[Result]:
    return selectors.results_for_display(tenant).filter(period=period).order_by("population", "rank", "pk")


@replica_reads()
def results_context(tenant: TenantContext, period: Period, *, errors: dict[int, ResultRow] | None = None,
                    page: str | None = None) -> dict[str, object]:
    """What the period page shows once the period has results: the chart (to those who see the
    whole population), a page of the results table with calibration forms (HR, closed only), publication.
    Never the whole population in one page: 10,000 rows with a form each is megabytes of HTML."""
    results = _period_results(tenant, period)
    everyone = chart_rows(results)
    shown = Paginator(results, RESULTS_PER_PAGE).get_page(page)
    errors = errors or {}
    rows = []
    for result in shown.object_list:
        posted = errors.get(result.pk)
        rows.append(ResultRow(result=result, error=posted.error, value=posted.value, reason=posted.reason)
                    if posted else ResultRow(result=result))
    whole = tenant.has(Role.HR_ADMIN, Role.FINANCE)
    return {
        "period": period,
        "result_rows": rows,
        "result_page": shown,
        "results_page_param": RESULTS_PAGE,
        "charts": distribution(period, everyone) if whole else [],
        "may_calibrate": may_calibrate(tenant) and period.state == Period.State.CLOSED,
        "may_publish": can(tenant, "period", "change") and period.state == Period.State.CLOSED,
        "waiting": sum(1 for r in everyone if r.needs_calibration),
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
                  results_context(tenant, period, errors=errors, page=request.POST.get(RESULTS_PAGE)))
