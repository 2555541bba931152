"""Pages of the review window: "My results" with each line's data and history, appeals and
acknowledgement (employees); the appeals page (supervisors forward with an opinion, HR or the
appeal group decide: for an appeal against a line, with the line's new data).

Same house style as appraisal.views: the matrix opens a page (403), the selectors decide which
rows a user sees (404 for another organisation's row or a colleague's), and the per-object rules
(appraisal.appeals.supervisor_user_ids, may_decide) decide the writes (403). Every write is a
service with the acting user; a refusal is shown with the service's message, and the page's
script (static/js/answer-focus.js) moves the focus to the message that answers the form. The
redirect after a post carries no #fragment: Chromium, scrolling to one, takes the focus away from
the message again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from appraisal import appeals, grading, selectors, services
from appraisal.appeal_forms import AppealForm, LineDecisionForm, decision_form, parse_decision, rater_label
from appraisal.appeal_lines import (
    RATINGS,
    RECORDS,
    ChangeRow,
    DecisionDataRefused,
    LineChange,
    describe,
    line_kind,
    rater_who,
)
from appraisal.forms import data_fields, record_items
from appraisal.models import Appeal, DeductionRecord, Period, Rating, Result, SheetLine
from appraisal.services import extension, window
from core.web import acting_user
from indicators.services import plain
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import Person
from organizations.permissions import can, require
from organizations.roles import Role
from organizations.views import tenant_page


def shanghai(moment: dt.datetime | None) -> str:
    """A moment as people in the organisation read it: Beijing time, "YYYY-MM-DD HH:MM"."""
    return "" if moment is None else window.show_time(moment)


# --- a line as the pages show it ------------------------------------------------------------------


def line_data(line: SheetLine) -> list[tuple[str, str]]:
    """The data a line is scored from, as (label, value): its values, its recorded occurrences or
    its raters' ratings. Reads the line's prefetched ``records`` and ``ratings`` (with the rater)."""
    kind = line_kind(line)
    if kind == RECORDS:
        items = dict(record_items(line.config))
        records: list[DeductionRecord] = list(line.records.all())
        return [(items.get(r.item_code, r.item_code), f"{r.occurred_on.isoformat()} × {r.count}") for r in records]
    if kind == RATINGS:
        ratings: list[Rating] = list(line.ratings.all())
        return [(rater_label(r.rater.role, rater_who(r.rater)),
                 r.rating or (plain(r.actual) if r.actual is not None else "—")) for r in ratings]
    shown = []
    for entry in data_fields(line):
        value = dict(entry.choices).get(entry.value, entry.value) if entry.choices else entry.value
        shown.append((entry.label, value or "—"))
    return shown


def lines_for_display() -> QuerySet[SheetLine]:
    """Lines with what :func:`line_data` reads: the indicator, the period, records and ratings."""
    ratings = Rating.objects.select_related("rater__person", "rater__department").order_by("rater__role", "rater_id")
    return SheetLine.objects.select_related("indicator", "sheet__period").prefetch_related(
        "records", Prefetch("ratings", queryset=ratings))


@dataclass(frozen=True)
class LineHistory:
    """An upheld appeal's change to a line: when, why, and each value old → new."""

    appeal: Appeal
    rows: list[ChangeRow]
    final_score: tuple[str, str]


@dataclass
class LineRow:
    line: SheetLine
    data: list[tuple[str, str]]
    history: list[LineHistory]


def line_rows(lines: list[SheetLine], appeal_list: list[Appeal]) -> list[LineRow]:
    """Each line with its data and the upheld appeals that changed it, oldest first."""
    changed: dict[int, list[LineHistory]] = {}
    for appeal in sorted(appeal_list, key=lambda a: (a.decided_at or a.filed_at, a.pk)):
        if appeal.state == Appeal.State.UPHELD and appeal.line_id is not None and appeal.line_change:
            final = (appeal.line_change.get("final_score") or ["", ""])[:2]
            changed.setdefault(appeal.line_id, []).append(
                LineHistory(appeal, describe(appeal.line_change), (final[0] or "—", final[1] or "—")))
    return [LineRow(line, line_data(line), changed.get(line.pk, [])) for line in lines]


# --- my results -----------------------------------------------------------------------------------


@dataclass
class MyResult:
    result: Result
    lines: list[LineRow]
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
            Prefetch("sheet__lines", queryset=lines_for_display()),
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
        own_end = extension.own_window_end(result.period, result.person_id)  # longer if their notice failed
        window_open = result.period.state == Period.State.PUBLISHED and own_end is not None and now < own_end
        item = MyResult(result=result, lines=line_rows(lines, appeal_list), appeals=appeal_list,
                        window_open=window_open, window_end=shanghai(own_end),
                        open_appeal=open_appeal)
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
    require(tenant, "appeal")
    lines = list(SheetLine.objects.filter(sheet_id=result.sheet_id).select_related("indicator"))
    form = AppealForm(request.POST, request.FILES, lines=lines, prefix=f"r{result.pk}")
    target = reverse("my-results")  # no #fragment: the browser would take the focus from the answer
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
    return redirect("my-results")


# --- appeals --------------------------------------------------------------------------------------


@dataclass
class AppealRow:
    appeal: Appeal
    may_forward: bool
    may_decide: bool
    window_end: str
    line: LineRow | None = None  # the line appealed, with its current data and history
    form: LineDecisionForm | None = None  # the decider's form for the line's new data
    changes: list[ChangeRow] = field(default_factory=list)  # what an upheld appeal changed in the line


def _line_of(appeal: Appeal, lines: dict[int, SheetLine], appeal_list: list[Appeal]) -> LineRow | None:
    if appeal.line_id is None or appeal.line_id not in lines:
        return None
    return line_rows([lines[appeal.line_id]], [a for a in appeal_list if a.line_id == appeal.line_id])[0]


@tenant_page("appeal")
@require_safe
def appeal_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Appeals waiting for the user's opinion (as supervisor), waiting for their decision (HR or
    the appeal group), and the rest they may see; an appeal against a line shows the line's data,
    and the decider gets a form with it."""
    user = acting_user(request)
    is_hr = tenant.has(Role.HR_ADMIN)
    found = list(selectors.appeals_for_display(tenant).order_by("-filed_at", "-pk"))
    lines = lines_for_display().filter(pk__in={a.line_id for a in found if a.line_id is not None}).in_bulk()
    rows = []
    for appeal in found:
        forward = appeal.state == Appeal.State.FILED and user.pk in appeals.supervisor_user_ids(appeal)
        decide = appeal.state == Appeal.State.FORWARDED and appeals.may_decide(appeal, is_hr=is_hr, user=user)
        row = AppealRow(appeal, forward, decide, shanghai(appeal.result.period.window_ends_at),
                        line=_line_of(appeal, lines, found),
                        changes=describe(appeal.line_change) if appeal.line_change else [])
        if decide and row.line is not None:
            row.form = decision_form(row.line.line)
        rows.append(row)
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


def _score(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _posted_decision(request: HttpRequest, appeal: Appeal) -> tuple[Decimal | None, LineChange | None, list[str]]:
    """What an upholding form posted: the new score (against the grade) or the line's new data."""
    if appeal.line_id is not None:
        line = SheetLine.objects.select_related("indicator", "sheet__period").get(pk=appeal.line_id)
        change, problems = parse_decision(line, request.POST)
        return None, change, problems
    score = _score(request.POST.get("new_score", ""))
    return score, None, [] if score is not None else [_("An upheld appeal needs the new score, as a number.")]


@tenant_page("appeal")
@require_POST
def appeal_decide(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    appeal = _appeal_for(tenant, pk)
    if not appeals.may_decide(appeal, is_hr=tenant.has(Role.HR_ADMIN), user=acting_user(request)):
        raise PermissionDenied
    upheld = request.POST.get("decision") == "uphold"
    new_score, change, problems = _posted_decision(request, appeal) if upheld else (None, None, [])
    if problems:
        messages.error(request, " ".join(problems))
        return redirect("appeals")
    try:
        decided = appeals.decide_appeal(appeal=appeal, acting_user=acting_user(request), upheld=upheld,
                                        reason=request.POST.get("reason", ""), new_score=new_score,
                                        line_change=change)
    except (appeals.AppealRefused, DecisionDataRefused, services.IllegalTransition, grading.GradingError) as refused:
        messages.error(request, str(refused))
        return redirect("appeals")
    if not upheld:
        messages.success(request, _("The appeal is rejected; the employee sees your reason."))
    elif appeal.line is not None:
        messages.success(request, _("The appeal is upheld: %(indicator)s is rescored, the final score is now "
                                    "%(score)s and the population is regraded.")
                         % {"indicator": appeal.line.indicator.name, "score": decided.new_score})
    else:
        messages.success(request, _("The appeal is upheld; the population is regraded."))
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
