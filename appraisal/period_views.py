"""Pages for periods: the list, creating one, and the period page — HR's cockpit for running a
period (appraisal.period_steps): its state in its life, how far its sheets are, and the next steps
as buttons, each shown only when legal and otherwise with what blocks it named. Every step goes
through a confirmation page whose form posts to the step's endpoint here; the endpoints call the
services with the acting user and answer a refusal with the service's message.

Same house style as appraisal.views: the matrix opens a page (403), the selectors decide which rows
a user sees (another organisation's period is 404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from appraisal import period_steps, selectors, services
from appraisal.forms import PeriodForm, SpecialStatusForm
from appraisal.models import GradingPolicy, Period, Sheet
from appraisal.result_views import CHARTS_PAGE, RESULTS_PAGE, grading_policies, results_context, shanghai
from appraisal.services import closing, rollup, window
from appraisal.tables import IdsFirstPaginator, PeriodTable, SheetTable, state_badge
from core.explain import plain
from core.web import acting_user
from organizations.access import get_visible_or_404
from organizations.calendar import CalendarYearMissing
from organizations.calendar_views import refusal_with_link
from organizations.context import TenantContext
from organizations.jobs import NotRestartable
from organizations.models import Job
from organizations.permissions import can, require
from organizations.views import tenant_page

PERIODS_PER_PAGE = 50
# The period page is the cockpit: a short table of its sheets (the sheet list pages 50 at a time,
# with its filters); each row counts its lines, and 50 of them were a fifth of the page's time.
SHEETS_PER_PAGE = 20
CLOSE_POLL_SECONDS = 2
INCOMPLETE_SHOWN = 50
STEP_ANCHOR = "#period-steps"


@tenant_page("period")
@require_safe
def period_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    visible = selectors.visible_sheets(tenant).values("pk")
    rows = selectors.visible_periods(tenant).annotate(sheet_count=Count("sheets", filter=Q(sheets__in=visible)))
    may_change = can(tenant, "period", "change")
    table = PeriodTable(rows, exclude=() if may_change else ("actions",))
    RequestConfig(request, paginate={"per_page": PERIODS_PER_PAGE}).configure(table)
    return render(request, "appraisal/periods.html", {"table": table, "may_change": may_change})


@tenant_page("period")
@require_http_methods(["GET", "POST"])
def period_create(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "period")
    form = PeriodForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                period = services.create_period(organization=tenant.organization, acting_user=acting_user(request),
                                                **form.values())
            except (ValidationError, ValueError) as error:
                problems = error.messages if isinstance(error, ValidationError) else [str(error)]
                for problem in problems:
                    form.add_error(None, problem)
            else:
                messages.success(request, _("Period %(code)s created as a draft. Open it to generate its sheets.")
                                 % {"code": period.code})
                return redirect("period-detail", pk=period.pk)
        return render(request, "appraisal/period_form.html", {"form": form}, status=400)
    return render(request, "appraisal/period_form.html", {"form": form})


# --- the period page ----------------------------------------------------------------------------


@tenant_page("period")
@require_safe
def period_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The period, its cockpit and its sheets (those the user may see), each with its score and
    progress; a fixed number of queries whatever the number of sheets."""
    period = get_visible_or_404(selectors.visible_periods(tenant).select_related("grading_policy"), pk=pk)
    sheets = selectors.visible_sheets(tenant).filter(period=period)
    table = SheetTable(sheets, exclude=("period",))
    RequestConfig(request, paginate={"per_page": SHEETS_PER_PAGE, "paginator_class": IdsFirstPaginator}) \
        .configure(table)
    may_change = can(tenant, "period", "change")
    cockpit = period_steps.cockpit(period, sheets, everyone=selectors.sees_every_sheet(tenant))
    context: dict[str, Any] = {
        "period": period,
        "state": state_badge(period),
        "templates": list(period.templates.all()),
        "cockpit": cockpit,
        "done": cockpit.completeness,
        "table": table,
        "may_change": may_change,
        "close_job": cockpit.close_job if may_change else None,
        "poll_seconds": CLOSE_POLL_SECONDS,
        "has_results": period.results_at is not None and can(tenant, "result", "view"),
        "window_end": shanghai(period.window_ends_at),
        "reopened_at": shanghai(period.reopened_at),
        "incomplete_url": period_steps.sheets_url(period, selectors.INCOMPLETE),
        "provisional_url": period_steps.sheets_url(period, selectors.PROVISIONAL),
        "rollup_children": [(child, plain(weight)) for child, weight in rollup.children_of(period)],
    }
    if context["has_results"]:
        context.update(results_context(tenant, period, page=request.GET.get(RESULTS_PAGE),
                                       charts_page=request.GET.get(CHARTS_PAGE)))
    if may_change:
        context["grading_policies"] = grading_policies()
    return render(request, "appraisal/period_detail.html", context)


def _period_for_change(tenant: TenantContext, pk: int) -> Period:
    period = get_visible_or_404(selectors.visible_periods(tenant).select_related("grading_policy"), pk=pk)
    if not can(tenant, "period", "change"):
        raise PermissionDenied
    return period


def _back(period: Period) -> HttpResponse:
    return redirect(reverse("period-detail", args=[period.pk]) + STEP_ANCHOR)


@tenant_page("period")
@require_safe
def period_confirm(request: HttpRequest, tenant: TenantContext, pk: int, step: str) -> HttpResponse:
    """The confirmation of one step: what it does, what blocks it (then there is nothing to
    confirm), and the form that posts it, with a reason where the step needs one. Closing anyway
    lists the incomplete sheets, each with a form to set its special status instead."""
    period = _period_for_change(tenant, pk)
    sheets = selectors.visible_sheets(tenant).filter(period=period)
    found = period_steps.step_for(period, step, sheets)
    if found is None:
        raise Http404
    context: dict[str, Any] = {"period": period, "state": state_badge(period), "step": found,
                               "action": found.action(period), "posted": found.posted}
    if step in ("close", "close_anyway"):
        incomplete = selectors.incomplete_sheets(sheets)
        context["incomplete"] = list(selectors.with_progress(incomplete).order_by("pk")[:INCOMPLETE_SHOWN])
        context["incomplete_count"] = incomplete.count()
        context["incomplete_url"] = period_steps.sheets_url(period, selectors.INCOMPLETE)
        context["status_form"] = SpecialStatusForm()
        context["here"] = request.get_full_path()
    return render(request, "appraisal/period_confirm.html", context)


@tenant_page("period")
@require_POST
def period_open(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = get_visible_or_404(selectors.visible_periods(tenant), pk=pk)
    require(tenant, "period")
    try:
        services.open_period(period=period, acting_user=acting_user(request))
    except services.IllegalTransition as refused:
        messages.error(request, str(refused))
    else:
        count = Sheet.objects.filter(period=period).count()
        messages.success(request, _("Period %(code)s is open: %(count)s sheets so far (they are generated in the "
                                    "background).") % {"code": period.code, "count": count})
    return redirect("period-detail", pk=period.pk)


@tenant_page("period")
@require_POST
def period_transition(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """A step without side effects: self-assessment, scoring, calibration, back to scoring."""
    period = _period_for_change(tenant, pk)
    target = request.POST.get("to", "")
    if target not in (Period.State.SELF_ASSESSMENT, Period.State.SCORING, Period.State.CALIBRATION):
        messages.error(request, _("Unknown step."))
        return _back(period)
    try:
        moved = services.transition(period=period, to=target, acting_user=acting_user(request),
                                    reason=request.POST.get("reason", "").strip()[:100])
    except services.IllegalTransition as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Period %(code)s is now in %(state)s.")
                         % {"code": period.code, "state": moved.get_state_display()})
    return _back(period)


@tenant_page("period")
@require_POST
def period_grading_policy(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """HR chooses the grading policy version the period will be closed with."""
    period = _period_for_change(tenant, pk)
    chosen = request.POST.get("grading_policy") or ""
    policy = get_visible_or_404(GradingPolicy.objects.all(), pk=int(chosen)) if chosen.isdigit() else None
    try:
        services.set_grading_policy(period=period, policy=policy, acting_user=acting_user(request))
    except services.IllegalTransition as refused:
        messages.error(request, str(refused))
    return redirect("period-detail", pk=period.pk)


@tenant_page("period")
@require_POST
def period_close(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Starts the close (汇总定级); with ``anyway`` and a reason, despite incomplete sheets."""
    period = _period_for_change(tenant, pk)
    try:
        closing.start_close(period=period, acting_user=acting_user(request),
                            anyway=request.POST.get("anyway") == "1", reason=request.POST.get("reason", ""))
    except (services.IllegalTransition, closing.ClosureRefused) as refused:
        messages.error(request, str(refused))
    return _back(period)


@tenant_page("job")
@require_safe
def period_close_progress(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The close job's progress bar (htmx polls it). Once the job is done the page reloads to show
    the results; a failure stays on screen with its message and stops the polling."""
    period = get_visible_or_404(selectors.visible_periods(tenant), pk=pk)
    job = closing.close_job(period)
    if job is None:
        raise Http404
    response = render(request, "appraisal/_close_progress.html",
                      {"period": period, "close_job": job, "poll_seconds": CLOSE_POLL_SECONDS})
    if job.state == Job.State.DONE:
        response["HX-Refresh"] = "true"
    return response


@tenant_page("period")
@require_POST
def period_close_restart(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """重新开始: the period's close again after its job died (no heartbeat) or failed."""
    period = _period_for_change(tenant, pk)
    job = closing.close_job(period)
    if job is None:
        raise Http404
    try:
        closing.restart_close(job=job, acting_user=acting_user(request))
    except (NotRestartable, services.IllegalTransition, closing.ClosureRefused) as refused:
        messages.error(request, str(refused))
    return _back(period)


@tenant_page("period")
@require_POST
def period_publish(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = _period_for_change(tenant, pk)
    try:
        published = window.publish(period=period, acting_user=acting_user(request))
    except CalendarYearMissing as missing:
        messages.error(request, refusal_with_link(missing))
    except (closing.ClosureRefused, services.IllegalTransition) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Period %(code)s is published; the review window ends at %(end)s (Beijing time).")
                         % {"code": period.code, "end": shanghai(published.window_ends_at)})
    return redirect("period-detail", pk=period.pk)


@tenant_page("period")
@require_POST
def period_reopen(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """退回校准: a closed, unpublished period back to calibration, with a reason."""
    period = _period_for_change(tenant, pk)
    try:
        closing.reopen_period(period=period, reason=request.POST.get("reason", ""), acting_user=acting_user(request))
    except (closing.ClosureRefused, services.IllegalTransition) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Period %(code)s is back in calibration; its results are kept in the audit trail "
                                    "and the pay computed from them is superseded.") % {"code": period.code})
    return _back(period)


@tenant_page("period")
@require_POST
def period_finalise(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = _period_for_change(tenant, pk)
    try:
        window.finalise(period=period, acting_user=acting_user(request))
    except (closing.ClosureRefused, services.IllegalTransition) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Period %(code)s is confirmed and archived.") % {"code": period.code})
    return _back(period)
