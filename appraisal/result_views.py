"""Pages after scoring: closing a period (with its progress), the distribution against the quotas,
calibration and publication (HR); "My results" with appeals and acknowledgement (employees); the
appeals page (supervisors forward, HR or the appeal group decide).

Same house style as appraisal.views: the matrix opens a page (403), the selectors decide which
rows a user sees (404 for another organisation's row or a colleague's), and the per-object rules
(appraisal.appeals.supervisor_user_ids, may_decide; HR for calibration) decide the writes (403).
Every write is a service with the acting user; a refusal is shown with the service's message.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from appraisal import appeals, grading, selectors, services
from appraisal.models import Appeal, GradingPolicy, Period, Result, SheetLine
from appraisal.services import closing, window
from core.web import acting_user, is_htmx
from organizations.access import get_visible_or_404
from organizations.calendar import CalendarYearMissing
from organizations.context import TenantContext
from organizations.models import Job, Person
from organizations.permissions import can
from organizations.roles import Role
from organizations.views import tenant_page

CLOSE_POLL_SECONDS = 2


def shanghai(moment: dt.datetime | None) -> str:
    """A moment as people in the organisation read it: Beijing time, "YYYY-MM-DD HH:MM"."""
    if moment is None:
        return ""
    return timezone.localtime(moment, window.local_tz()).strftime("%Y-%m-%d %H:%M")


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


def distribution(period: Period, results: list[Result]) -> list[PopulationChart]:
    """Per population: how many hold each grade against how many the quota allows (population ×
    share, rounded as the policy says), from the stored results; the allowed counts come from
    grading.distribute over the same scores, so the chart and the grading cannot disagree."""
    policy = period.grading_policy
    if policy is None:
        return []
    scale = policy.grade_scale()
    by_population: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_population[result.population].append(result)
    charts = []
    for key in sorted(by_population):
        members = by_population[key]
        graded = [r for r in members if r.status in closing.GRADED_STATUSES and r.final_score is not None]
        counted = grading.distribute([(r.pk, r.final_score) for r in graded], scale, policy.quotas,
                                     rounding=policy.rounding)
        actual: dict[str, int] = defaultdict(int)
        waiting: dict[str, int] = defaultdict(int)
        for result in graded:
            actual[result.grade] += 1
            if result.needs_calibration:
                waiting[result.grade] += 1
        widest = max([1, *actual.values(), *(c.allowed or 0 for c in counted.counts)])
        bars = []
        for count in counted.counts:
            quota = "" if count.op is None or count.share is None else grading.Quota(
                count.grade, count.op, count.share).describe()
            held = actual.get(count.grade, 0)
            bars.append(Bar(
                grade=count.grade, label=count.label, actual=held, allowed=count.allowed, quota=quota,
                over=count.allowed is not None and count.op in ("<=", "=") and held > count.allowed,
                short=count.allowed is not None and count.op in (">=", "=") and held < count.allowed,
                waiting=waiting.get(count.grade, 0),
                actual_width=round(100 * held / widest),
                allowed_width=round(100 * (count.allowed or 0) / widest),
            ))
        charts.append(PopulationChart(key=key, label=members[0].population_label, population=len(graded),
                                      bars=bars))
    return charts


# --- the period page's close, results and publication ------------------------------------------


@dataclass
class ResultRow:
    result: Result
    error: str = ""
    value: str = ""
    reason: str = ""


def _period_results(tenant: TenantContext, period: Period) -> list[Result]:
    return list(selectors.results_for_display(tenant).filter(period=period).order_by("population", "rank", "pk"))


def results_context(tenant: TenantContext, period: Period, *, errors: dict[int, ResultRow] | None = None
                    ) -> dict[str, object]:
    """What the period page shows once the period has results: the chart (to those who see the
    whole population), the results table with calibration forms (HR, closed only), publication."""
    results = _period_results(tenant, period)
    errors = errors or {}
    rows = []
    for result in results:
        posted = errors.get(result.pk)
        rows.append(ResultRow(result=result, error=posted.error, value=posted.value, reason=posted.reason)
                    if posted else ResultRow(result=result))
    whole = tenant.has(Role.HR_ADMIN, Role.FINANCE)
    return {
        "period": period,
        "result_rows": rows,
        "charts": distribution(period, results) if whole else [],
        "may_calibrate": may_calibrate(tenant) and period.state == Period.State.CLOSED,
        "may_publish": can(tenant, "period", "change") and period.state == Period.State.CLOSED,
        "waiting": sum(1 for r in results if r.needs_calibration),
        "window_end": shanghai(period.window_ends_at),
    }


def grading_policies() -> list[GradingPolicy]:
    return list(GradingPolicy.objects.order_by("code", "-version"))


def period_page_context(tenant: TenantContext, period: Period) -> dict[str, object]:
    """Extra context of period_detail: the close button and its job, and the results."""
    may_change = can(tenant, "period", "change")
    job = closing.close_job(period) if may_change and period.state == Period.State.CALIBRATION else None
    context: dict[str, object] = {
        "may_close": may_change and period.state == Period.State.CALIBRATION,
        "close_job": job,
        "poll_seconds": CLOSE_POLL_SECONDS,
        "has_results": period.results_at is not None and can(tenant, "result", "view"),
        "window_end": shanghai(period.window_ends_at),
    }
    if context["has_results"]:
        context.update(results_context(tenant, period))
    return context


def _period_for_change(tenant: TenantContext, pk: int) -> Period:
    period = get_visible_or_404(selectors.visible_periods(tenant).select_related("grading_policy"), pk=pk)
    if not can(tenant, "period", "change"):
        raise PermissionDenied
    return period


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
    period = _period_for_change(tenant, pk)
    try:
        closing.start_close(period=period, acting_user=acting_user(request))
    except (services.IllegalTransition, closing.ClosureRefused) as refused:
        messages.error(request, str(refused))
    return redirect("period-detail", pk=period.pk)


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
    return render(request, "appraisal/_period_results.html", results_context(tenant, period, errors=errors))


@tenant_page("period")
@require_POST
def period_publish(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = _period_for_change(tenant, pk)
    try:
        published = window.publish(period=period, acting_user=acting_user(request))
    except (closing.ClosureRefused, services.IllegalTransition, CalendarYearMissing) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Period %(code)s is published; the review window ends at %(end)s (Beijing time).")
                         % {"code": period.code, "end": shanghai(published.window_ends_at)})
    return redirect("period-detail", pk=period.pk)


# --- my results ---------------------------------------------------------------------------------


class AppealForm(forms.Form):
    line = forms.TypedChoiceField(label=gettext_lazy("Against"), required=False, coerce=int, empty_value=None)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    attachment = forms.FileField(label=gettext_lazy("Attachment"), required=False,
                                 max_length=100, allow_empty_file=False)

    def __init__(self, *args: object, lines: list[SheetLine], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", _("The grade"))] + [(str(line.pk), line.indicator.name) for line in lines]
        self.fields["line"].choices = choices  # type: ignore[attr-defined]


@dataclass
class MyResult:
    result: Result
    lines: list[SheetLine]
    appeals: list[Appeal]
    window_open: bool
    window_end: str
    form: AppealForm | None = None
    open_appeal: Appeal | None = field(default=None)


def _own_results(tenant: TenantContext) -> list[Result]:
    if tenant.person_id is None:
        return []
    return list(
        selectors.results_for_display(tenant)
        .filter(person_id=tenant.person_id, period__state__in=selectors.PUBLISHED_STATES)
        .prefetch_related(
            Prefetch("appeals", queryset=Appeal.objects.select_related("line__indicator").order_by("-filed_at", "-pk")),
            Prefetch("sheet__lines", queryset=SheetLine.objects.select_related("indicator")),
        )
        .order_by("-period__start", "pk")
    )


@tenant_page("result")
@require_safe
def my_results(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    now = timezone.now()
    items = []
    for result in _own_results(tenant):
        lines = list(result.sheet.lines.all())
        appeal_list = list(result.appeals.all())
        open_appeal = next((a for a in appeal_list if a.is_open), None)
        window_open = result.period.window_open(now)
        item = MyResult(result=result, lines=lines, appeals=appeal_list, window_open=window_open,
                        window_end=shanghai(result.period.window_ends_at), open_appeal=open_appeal)
        if window_open and open_appeal is None:
            item.form = AppealForm(lines=lines, prefix=f"r{result.pk}")
        items.append(item)
    return render(request, "appraisal/my_results.html", {"items": items})


def _own_result(tenant: TenantContext, pk: int) -> tuple[Result, Person]:
    """The user's own published result (404 for anyone else's), and the person they are."""
    if tenant.person_id is None:
        raise Http404
    result = get_visible_or_404(
        selectors.visible_results(tenant).filter(person_id=tenant.person_id,
                                                 period__state__in=selectors.PUBLISHED_STATES), pk=pk)
    return result, Person.objects.get(pk=tenant.person_id)


@tenant_page("result")
@require_POST
def result_appeal(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    result, person = _own_result(tenant, pk)
    if not can(tenant, "appeal", "change"):
        raise PermissionDenied
    lines = list(SheetLine.objects.filter(sheet_id=result.sheet_id).select_related("indicator"))
    form = AppealForm(request.POST, request.FILES, lines=lines, prefix=f"r{result.pk}")
    target = reverse("my-results") + f"#result-{result.pk}"
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, str(problem))
        return redirect(target)
    line_id = form.cleaned_data["line"]
    line = next((x for x in lines if x.pk == line_id), None)
    try:
        appeals.file_appeal(result=result, acting_user=acting_user(request), filed_by=person,
                            reason=form.cleaned_data["reason"], line=line,
                            attachment=form.cleaned_data.get("attachment"))
    except appeals.AppealRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Your appeal is filed; your supervisor gives an opinion first."))
    return redirect(target)


@tenant_page("result")
@require_POST
def result_acknowledge(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    result, person = _own_result(tenant, pk)
    try:
        appeals.acknowledge(result=result, acting_user=acting_user(request), person=person)
    except (appeals.AppealRefused, services.IllegalTransition) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("You have acknowledged your result."))
    return redirect(reverse("my-results") + f"#result-{result.pk}")


# --- appeals ------------------------------------------------------------------------------------


@dataclass
class AppealRow:
    appeal: Appeal
    may_forward: bool
    may_decide: bool
    window_end: str


@tenant_page("appeal")
@require_safe
def appeal_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Appeals waiting for the user's opinion (as supervisor), waiting for their decision (HR or
    the appeal group), and the rest they may see."""
    user = acting_user(request)
    is_hr = tenant.has(Role.HR_ADMIN)
    rows = []
    for appeal in selectors.appeals_for_display(tenant).order_by("-filed_at", "-pk"):
        forward = appeal.state == Appeal.State.FILED and user.pk in appeals.supervisor_user_ids(appeal)
        decide = appeal.state == Appeal.State.FORWARDED and appeals.may_decide(appeal, is_hr=is_hr, user=user)
        rows.append(AppealRow(appeal, forward, decide, shanghai(appeal.result.period.window_ends_at)))
    context = {
        "to_forward": [r for r in rows if r.may_forward],
        "to_decide": [r for r in rows if r.may_decide],
        "others": [r for r in rows if not r.may_forward and not r.may_decide],
    }
    return render(request, "appraisal/appeals.html", context)


def _appeal_for(tenant: TenantContext, pk: int) -> Appeal:
    appeal = get_visible_or_404(selectors.appeals_for_display(tenant), pk=pk)
    if not can(tenant, "appeal", "change"):
        raise PermissionDenied
    return appeal


@tenant_page("appeal")
@require_POST
def appeal_forward(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    appeal = _appeal_for(tenant, pk)
    if acting_user(request).pk not in appeals.supervisor_user_ids(appeal):
        raise PermissionDenied
    try:
        appeals.forward_appeal(appeal=appeal, acting_user=acting_user(request), opinion=request.POST.get("opinion", ""))
    except (appeals.AppealRefused, services.IllegalTransition) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("The appeal is forwarded for the final decision."))
    return redirect("appeals")


@tenant_page("appeal")
@require_POST
def appeal_decide(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    appeal = _appeal_for(tenant, pk)
    if not appeals.may_decide(appeal, is_hr=tenant.has(Role.HR_ADMIN), user=acting_user(request)):
        raise PermissionDenied
    upheld = request.POST.get("decision") == "uphold"
    new_score = None
    if upheld:
        new_score = _score(request.POST.get("new_score", ""))
        if new_score is None:
            messages.error(request, _("An upheld appeal needs the new score, as a number."))
            return redirect("appeals")
    try:
        appeals.decide_appeal(appeal=appeal, acting_user=acting_user(request), upheld=upheld,
                              reason=request.POST.get("reason", ""), new_score=new_score)
    except (appeals.AppealRefused, services.IllegalTransition, grading.GradingError) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("The appeal is upheld; the population is regraded.") if upheld
                         else _("The appeal is rejected; the employee sees your reason."))
    return redirect("appeals")


@tenant_page("appeal")
@require_safe
def appeal_attachment(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The appeal's attachment, to those who may see the appeal (never a public media URL)."""
    appeal = get_visible_or_404(selectors.visible_appeals(tenant), pk=pk)
    if not appeal.attachment:
        raise Http404
    name = (appeal.attachment.name or "attachment").rsplit("/", 1)[-1]
    with appeal.attachment.open("rb") as handle:  # at most MAX_ATTACHMENT_BYTES
        content = handle.read()
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response
