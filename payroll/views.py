"""Pages for pay: the runs of each period (with the last computation's failure), one run with its
department subtotals, slips, delta, confirmation and exports (a polled progress bar and a
download), and "My pay slips" for everyone paid.

House style (appraisal.views): the matrix opens a page (403), payroll.selectors decide which rows
a user sees (404 for another organisation's run or job), every write is a payroll service with
the acting user, and a refusal is shown with the service's message, which names the state.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from appraisal.models import Period
from appraisal.result_views import shanghai
from appraisal.services import IllegalTransition
from core.replica import replica_reads
from core.web import acting_user, is_htmx
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.jobs import NotRestartable, jobs_about, latest_by_subject
from organizations.models import Job
from organizations.permissions import can, require
from organizations.tasks import enqueue
from organizations.views import tenant_page
from payroll import budgets, exports, selectors, services
from payroll import pay_input_upload as input_upload
from payroll.exports import FORMATS, KINDS, filename
from payroll.models import PayRun, PaySlip
from payroll.selectors import PAY_JOB
from payroll.tasks import compute_pay_run_task, restart_computation

EXPORT_POLL_SECONDS = 2
PERIODS_PER_PAGE = 50
SLIPS_PER_PAGE = 50
DELTA_ROWS_SHOWN = 200
KIND_LABELS = {"pay_sheet": gettext_lazy("Pay sheet"), "delta": gettext_lazy("Delta sheet"),
               "bank": gettext_lazy("Bank transfer list")}


# --- periods and their runs ---------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodPay:
    period: Period
    latest: PayRun | None
    runs: int
    job: Job | None


@tenant_page("pay")
@require_safe
def pay_overview(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Every period with results and its latest pay run: three queries a page."""
    page = Paginator(selectors.periods_with_results(), PERIODS_PER_PAGE).get_page(request.GET.get("page"))
    periods = list(page.object_list)
    runs: dict[int, list[PayRun]] = defaultdict(list)
    for run in PayRun.objects.filter(period__in=periods).order_by("period_id", "-version"):
        runs[run.period_id].append(run)
    jobs = latest_by_subject(jobs_about(Period, [p.pk for p in periods], PAY_JOB))
    rows = [PeriodPay(p, runs[p.pk][0] if runs[p.pk] else None, len(runs[p.pk]), jobs.get(p.pk)) for p in periods]
    return render(request, "payroll/pay_overview.html", {"rows": rows, "page": page})


@tenant_page("pay")
@require_safe
def period_pay_runs(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """A period's pay runs, newest version first, and the last computation when it failed."""
    period = get_visible_or_404(selectors.periods_with_results(), pk=pk)
    runs = list(selectors.visible_runs_of(period))
    job = selectors.last_computation(period)
    context = {
        "period": period,
        "runs": runs,
        "job": job,
        "failed": job is not None and job.state == Job.State.FAILED,
        "job_finished_at": shanghai(job.finished_at) if job else "",
        "may_change": can(tenant, "pay", "change"),
    }
    return render(request, "payroll/period_pay_runs.html", context)


@tenant_page("pay")
@require_POST
def period_pay_compute(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Finance asks for the period's pay to be computed again (after a late input): the task
    computes it; an unchanged result writes no version, a failure is shown on the runs page."""
    period = get_visible_or_404(selectors.periods_with_results(), pk=pk)
    require(tenant, "pay")
    reason = request.POST.get("reason", "").strip()[:200] or _("recomputed on the pay page")
    enqueue(compute_pay_run_task, organization_id=period.organization_id, period_id=period.pk, reason=reason)
    messages.info(request, _("The pay of %(period)s is being computed; this page shows the result.")
                  % {"period": period.code})
    return redirect("period-pay-runs", pk=period.pk)


# --- one run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlipRow:
    slip: PaySlip
    amounts: list[Decimal]


@dataclass(frozen=True)
class DeltaView:
    number: str
    name: str
    department: str
    changes: list[Decimal]
    old_total: Decimal
    new_total: Decimal
    difference: Decimal


@dataclass(frozen=True)
class ExportChoice:
    kind: str
    label: str


def _slip_rows(run: PayRun, slips: list[PaySlip]) -> list[SlipRow]:
    codes = [code for code, _name in run.components]
    rows = []
    for slip in slips:
        paid = {line["code"]: Decimal(line["amount"]) for line in slip.lines if line["paid"]}
        rows.append(SlipRow(slip, [paid.get(code, Decimal("0.00")) for code in codes]))
    return rows


def _delta(run: PayRun, previous: PayRun, departments: dict[int, str]) -> tuple[list[DeltaView], int, Decimal]:
    """The first rows of the delta against the previous version, how many there are and their sum
    (the runs' totals differ by exactly that: people paid the same add nothing)."""
    first, count = selectors.delta_people(run, previous, DELTA_ROWS_SHOWN)
    shown = services.delta(run=run, previous=previous, people=first)
    gone = {c.department_id for c in shown} - departments.keys()  # only in the previous version
    if gone:
        departments = {**departments, **dict(PaySlip.objects.filter(run=previous, department_id__in=gone)
                                             .values_list("department_id", "department__name").distinct())}
    people = selectors.people_named(c.person_id for c in shown)
    codes = [code for code, _name in run.components]
    rows = [DeltaView(people[c.person_id][0], people[c.person_id][1], departments.get(c.department_id, ""),
                      [c.change(code) for code in codes], c.old_total, c.new_total, c.difference) for c in shown]
    return rows, count, run.total - previous.total


@replica_reads()
def run_context(tenant: TenantContext, run: PayRun, request: HttpRequest) -> dict[str, Any]:
    departments = selectors.department_totals(run)
    page = Paginator(selectors.slip_ids(run), SLIPS_PER_PAGE).get_page(request.GET.get("page"))
    previous = selectors.previous_run(run)
    context: dict[str, Any] = {
        "run": run,
        "period": run.period,
        "departments": departments,
        "grand_total": sum((d.total for d in departments), Decimal("0.00")),
        "grand_people": sum(d.people for d in departments),
        "components": selectors.component_totals(run),
        "page": page,
        "slip_rows": _slip_rows(run, selectors.slips_by_id(list(page.object_list))),
        "previous": previous,
        "computed_at": shanghai(run.computed_at),
        "confirmed_at": shanghai(run.confirmed_at),
        "may_change": can(tenant, "pay", "change"),
        "confirm_refusal": services.confirm_refusal(run) if run.state == PayRun.State.COMPUTED else "",
        # Looked up again while the run may still be confirmed (budgets may have changed since it was computed).
        "over_budget": (budgets.overruns(run.period, {d.department_id: d.total for d in departments})
                        if run.state == PayRun.State.COMPUTED
                        else run.over_budget),
        "exports": export_context(run),
        "export_choices": [ExportChoice(kind, str(KIND_LABELS[kind])) for kind in KINDS],
        "formats": FORMATS,
    }
    if previous is not None:
        names = {d.department_id: d.name for d in departments}
        context["delta_rows"], context["delta_count"], context["delta_total"] = _delta(run, previous, names)
    return context


@tenant_page("pay")
@require_safe
def pay_run_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    run = get_visible_or_404(selectors.pay_runs(), pk=pk)
    return render(request, "payroll/pay_run_detail.html", run_context(tenant, run, request))


@tenant_page("pay")
@require_POST
def pay_run_confirm(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Finance confirms and locks the run (over budget: with the reason posted); a refusal
    (confirmed already, superseded, over budget without a reason) names why."""
    run = get_visible_or_404(selectors.pay_runs(), pk=pk)
    require(tenant, "pay")
    try:
        confirmed = services.confirm_pay_run(run=run, acting_user=acting_user(request),
                                             budget_override_reason=request.POST.get("budget_override_reason", ""))
    except IllegalTransition as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Pay run version %(version)s of %(period)s is confirmed and locked.")
                         % {"version": confirmed.version, "period": run.period.code})
    return redirect("pay-run-detail", pk=run.pk)


# --- exports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportJob:
    job: Job
    kind: str
    label: str
    fmt: str


def _export_job(job: Job) -> ExportJob:
    kind, fmt = selectors.export_of(job)
    return ExportJob(job, kind, str(KIND_LABELS.get(kind, kind)), fmt)


def export_context(run: PayRun) -> list[ExportJob]:
    return [_export_job(job) for job in selectors.run_exports(run)]


@tenant_page("pay")
@require_POST
def pay_run_export(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Starts an export job (or finds the same one running); htmx gets the run's exports back,
    each unfinished one polling its progress."""
    run = get_visible_or_404(selectors.pay_runs(), pk=pk)
    require(tenant, "pay")
    kind, fmt = request.POST.get("kind", ""), request.POST.get("format", "")
    if kind not in KINDS or fmt not in FORMATS:
        return HttpResponse(_("Unknown export %(kind)s.%(fmt)s.") % {"kind": kind, "fmt": fmt}, status=400)
    exports.start_export(run=run, kind=kind, fmt=fmt, acting_user=acting_user(request))
    if not is_htmx(request):
        messages.info(request, _("The export is being written; its download link appears below when it is done."))
        return redirect("pay-run-detail", pk=run.pk)
    return render(request, "payroll/_exports.html", {"run": run, "exports": export_context(run),
                                                     "poll_seconds": EXPORT_POLL_SECONDS, "may_change": True})


@tenant_page("pay")
@require_safe
def pay_export_progress(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """One export's progress bar (htmx polls it every two seconds); when done, the download link."""
    job = get_visible_or_404(selectors.export_jobs(), pk=pk)
    return render(request, "payroll/_export_progress.html", {"export": _export_job(job),
                                                             "poll_seconds": EXPORT_POLL_SECONDS,
                                                             "may_change": can(tenant, "pay", "change")})


@tenant_page("pay")
@require_POST
def pay_job_restart(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """重新开始: a pay computation or an export again after its job died (no heartbeat) or failed;
    back to the page that shows the job."""
    job = get_visible_or_404(selectors.pay_jobs(), pk=pk)
    require(tenant, "pay")
    try:
        if job.kind == exports.EXPORT_JOB:
            exports.restart_export(job=job, acting_user=acting_user(request))
        else:
            restart_computation(job=job, acting_user=acting_user(request))
    except NotRestartable as refused:
        messages.error(request, str(refused))
    if job.kind == exports.EXPORT_JOB:
        return redirect("pay-run-detail", pk=job.subject_id)
    return redirect("period-pay-runs", pk=job.subject_id)


@tenant_page("organization")
@require_safe
def pay_export_download(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The exported file, streamed, under its proper name. Another organisation's job, a job that
    is not finished, or a user who may not see pay: 404, so an id never confirms anything."""
    if not can(tenant, "pay", "view"):
        raise Http404
    job = get_visible_or_404(selectors.export_jobs().filter(state=Job.State.DONE), pk=pk)
    if not job.file:
        raise Http404
    kind, fmt = selectors.export_of(job)
    run = get_visible_or_404(selectors.pay_runs(), pk=job.subject_id)
    response = FileResponse(job.file.open("rb"), as_attachment=True, filename=filename(run, kind, fmt))
    return cast(HttpResponse, response)  # streamed; tenant_page's type only knows HttpResponse


# --- my pay slips -------------------------------------------------------------------------------


@tenant_page("pay_slip")
@require_safe
@replica_reads()
def my_pay_slips(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The user's own slips of confirmed runs, each line with its explanation."""
    slips = list(selectors.own_slips(tenant)[:24])
    return render(request, "payroll/my_pay_slips.html", {"slips": slips})


# --- pay inputs by Excel upload (payroll.pay_input_upload) ----------------------------------------


@tenant_page("pay_input")
@require_http_methods(["GET", "POST"])
def pay_input_upload(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """A period's inputs from an .xlsx: a dry run lists every problem with its row and column and
    writes nothing; apply writes every row, or nothing if any row has a problem."""
    period = get_visible_or_404(selectors.input_periods(), pk=pk)
    require(tenant, "pay_input")
    form = input_upload.UploadForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"period": period, "form": form, "errors": [], "summary": None, "applied": False}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            parsed = input_upload.parse_pay_inputs(form.cleaned_data["file"])
            if form.cleaned_data["action"] == "apply":
                plan = input_upload.apply_pay_inputs(period=period, parsed=parsed, acting_user=acting_user(request))
                context["applied"] = True
            else:
                plan = input_upload.validate_pay_inputs(period=period, parsed=parsed)
            context.update(errors=plan.errors, summary=plan.summary)
        except input_upload.PayInputsRejected as rejected:
            context.update(errors=rejected.errors, summary=rejected.summary)
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "payroll/pay_input_upload.html", context, status=status)
