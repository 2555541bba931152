"""Pages for score sheets: heads enter data and rate, employees see their own sheet and assess
themselves, HR sets a sheet's special status. (The period pages are appraisal.period_views.)

House style (organizations.views): the matrix decides who may open a page (403); the selectors
decide which rows a user sees, so another organisation's sheet, or a colleague's, is a 404
(organizations.access.get_visible_or_404); who may change *this* line is appraisal.permissions'
per-object rule (403). Every write goes through appraisal.services with the acting user.

A sheet line is edited in place with htmx: the line's form posts on change, the answer is the
line re-rendered (new score, explanation and version) plus the sheet's total out of band. A stale
version is answered 200 with the line as it now is and an alert naming who changed it: htmx 2
does not swap 4xx answers by default, and the user must see the current values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django_tables2 import RequestConfig

from appraisal import permissions, selectors, services
from appraisal.forms import (
    DataField,
    RecordForm,
    SheetFilter,
    SpecialStatusForm,
    data_fields,
    parse_line_data,
    parse_rating,
    record_items,
    scale_labels,
    shown,
    takes_records,
)
from appraisal.models import AcceptanceRound, DeductionRecord, Period, Rater, Rating, Sheet, SheetLine
from appraisal.tables import IdsFirstPaginator, SheetTable, state_badge
from core.web import acting_user, is_htmx
from indicators import scoring
from indicators.models import LineSource, RaterRole, TemplatePart
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import Department, Person
from organizations.permissions import can, require
from organizations.roles import Role
from organizations.views import tenant_page

SHEETS_PER_PAGE = 50


# --- sheet lists --------------------------------------------------------------------------------


@tenant_page("sheet")
@require_safe
def sheet_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """My own sheets first, then every sheet the user may see (selectors.visible_sheets), by period."""
    visible = selectors.visible_sheets(tenant).exclude(period__state=Period.State.DRAFT)
    own = (
        list(selectors.with_progress(visible.filter(person_id=tenant.person_id)).order_by("-period__start"))
        if tenant.person_id else []
    )
    sheet_filter = SheetFilter(request.GET or None, queryset=visible, request=request)
    rows = sheet_filter.qs if not sheet_filter.is_bound or sheet_filter.is_valid() else visible.none()
    table = SheetTable(rows)
    RequestConfig(request, paginate={"per_page": SHEETS_PER_PAGE, "paginator_class": IdsFirstPaginator}) \
        .configure(table)
    context = {"own": own, "filter": sheet_filter, "table": table}
    template = "appraisal/_sheet_table.html" if is_htmx(request) else "appraisal/sheets.html"
    return render(request, template, context)


# --- one sheet ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingRow:
    """One rater's entry on a rated line, as the sheet shows it."""

    role: str
    who: str
    recused: bool
    reason: str
    value: str
    score: str
    mine: bool
    counts_zero: bool = False  # a missing rating counts 0 at close (the template rater's rule)


@dataclass(frozen=True)
class RateControl:
    """The user's own rating control on a rated line (one per role they rate the sheet in)."""

    rater: Rater
    role: str
    choices: list[str]  # scale labels; empty: a number is entered
    value: str
    version: str
    comment: str


@dataclass
class LineView:
    line: SheetLine
    fields: list[DataField] = field(default_factory=list)
    records: list[tuple[DeductionRecord, str]] = field(default_factory=list)  # with the item's name
    occurrences: list[tuple[str, int]] = field(default_factory=list)
    record_form: RecordForm | None = None
    ratings: list[RatingRow] = field(default_factory=list)
    rate_controls: list[RateControl] = field(default_factory=list)
    recused: list[str] = field(default_factory=list)  # the user's own recused roles
    alert: str = ""
    alert_level: str = "warning"
    rounds: list[AcceptanceRound] = field(default_factory=list)  # a pass/fail line's acceptance rounds
    # appraisal.selectors.line_done / line_blocking; ``open``: the period still takes figures, so a
    # line not done is provisional (暂计) rather than closed with its missing ratings at 0.
    done: bool = True
    blocking: bool = False
    open: bool = True

    @property
    def provisional(self) -> bool:
        return self.open and not self.done and self.line.score is not None

    @property
    def target_fields(self) -> list[DataField]:
        return [f for f in self.fields if f.column == "target"]

    @property
    def actual_fields(self) -> list[DataField]:
        return [f for f in self.fields if f.column != "target"]

    @property
    def rated(self) -> bool:
        return self.line.source == LineSource.RATERS

    @property
    def target(self) -> str:
        return shown(self.line.target)

    @property
    def actual(self) -> str:
        line = self.line
        if line.method == scoring.Method.RATING and line.source == LineSource.DATA:
            return line.rating
        if line.method == scoring.Method.PASS_FAIL:
            if line.accepted is None:
                return ""
            accepted = _("accepted") if line.accepted else _("not accepted")
            return f"{accepted} ({_('round')} {line.acceptance_round or 1})" if line.accepted else accepted
        values = [shown(line.actual)] if line.actual is not None else []
        values += [f"{name} = {value}" for name, value in sorted((line.inputs or {}).items())]
        return "; ".join(values)


@dataclass
class PartView:
    code: str
    name: str
    weight: Decimal | None
    full_marks: Decimal | None
    lines: list[LineView]
    per_person: bool = False  # work items are added to each sheet (appraisal.services.entry.add_sheet_line)


@dataclass(frozen=True)
class SheetRules:
    """What the user may do on one sheet, decided once per request."""

    enter_data: bool
    see_names: bool
    own: list[Rater]
    open: bool


def _rules(tenant: TenantContext, sheet: Sheet, raters: list[Rater]) -> SheetRules:
    return SheetRules(
        enter_data=permissions.may_edit_data(tenant, sheet) and can(tenant, "sheet", "change"),
        # Who rated what is for HR and the heads who manage the sheet; the subject sees roles only.
        see_names=permissions.may_enter_data(tenant, sheet) or tenant.has(Role.FINANCE),
        own=permissions.own_raters(tenant, raters),
        open=permissions.period_is_open(sheet.period) and can(tenant, "sheet", "change"),
    )


def _raters(sheet: Sheet) -> list[Rater]:
    return list(Rater.objects.filter(sheet=sheet).select_related("person", "department").order_by("role", "pk"))


def _line_views(tenant: TenantContext, sheet: Sheet, lines: list[SheetLine], raters: list[Rater],
                forms: dict[int, RecordForm] | None = None) -> list[LineView]:
    """The lines as the user may see and edit them: two queries for any number of lines."""
    rules = _rules(tenant, sheet, raters)
    line_ids = [line.pk for line in lines]
    ratings: dict[int, dict[int, Rating]] = defaultdict(dict)
    for rating in Rating.objects.filter(line_id__in=line_ids):
        ratings[rating.line_id][rating.rater_id] = rating
    records: dict[int, list[DeductionRecord]] = defaultdict(list)
    for record in DeductionRecord.objects.filter(line_id__in=line_ids).select_related("recorded_by"):
        records[record.line_id].append(record)
    rounds: dict[int, list[AcceptanceRound]] = defaultdict(list)
    accepted = [line.pk for line in lines if line.method == scoring.Method.PASS_FAIL]  # no query without one
    for round_ in AcceptanceRound.objects.filter(line_id__in=accepted).select_related("inspected_by") \
            if accepted else []:
        rounds[round_.line_id].append(round_)
    views = [_line_view(line, raters, ratings[line.pk], records[line.pk], rules, (forms or {}).get(line.pk))
             for line in lines]
    for view in views:
        view.rounds = rounds[view.line.pk]
    return views


def _line_view(line: SheetLine, raters: list[Rater], ratings: dict[int, Rating], records: list[DeductionRecord],
               rules: SheetRules, record_form: RecordForm | None) -> LineView:
    view = LineView(line=line, done=getattr(line, "is_done", True), blocking=getattr(line, "is_blocking", False),
                    open=line.sheet.period.accepts_entries())
    if line.source == LineSource.DATA:
        if takes_records(line):
            names = dict(record_items(line.config))
            counts: dict[str, int] = defaultdict(int)
            for record in records:
                counts[record.item_code] += record.count
            view.records = [(record, names.get(record.item_code, record.item_code)) for record in records]
            view.occurrences = [(names.get(code, code), count) for code, count in counts.items()]
            if rules.enter_data:
                view.record_form = record_form or RecordForm(line=line)
        elif rules.enter_data:
            view.fields = data_fields(line)
        return view
    own = {rater.pk for rater in rules.own}
    for rater in raters:
        rating = ratings.get(rater.pk)
        who = ""
        if rules.see_names or rater.pk in own:
            who = str(rater.person.name if rater.person else rater.department or "")
        view.ratings.append(RatingRow(
            role=str(RaterRole(rater.role).label) if rater.role in RaterRole.values else rater.role,
            who=who, recused=rater.recused, reason=rater.recusal_reason,
            value=(rating.rating or shown(rating.actual)) if rating else "",
            score="" if rating is None or rating.score is None else str(rating.score),
            mine=rater.pk in own, counts_zero=rater.missing_counts_as_zero,
        ))
    labels = scale_labels(line.config) if line.method == scoring.Method.RATING else []
    for rater in rules.own:
        role = str(RaterRole(rater.role).label) if rater.role in RaterRole.values else rater.role
        if rater.recused:
            view.recused.append(role)
        elif rules.open:
            rating = ratings.get(rater.pk)
            view.rate_controls.append(RateControl(
                rater=rater, role=role, choices=labels,
                value=(rating.rating or shown(rating.actual)) if rating else "",
                version=str(rating.version) if rating else "", comment=rating.comment if rating else "",
            ))
    return view


def _parts(sheet: Sheet, views: list[LineView]) -> list[PartView]:
    parts = [PartView(p.code, p.name, p.weight, p.full_marks, [], p.per_person)
             for p in TemplatePart.objects.filter(template_id=sheet.template_id)]
    by_code = {part.code: part for part in parts}
    for view in views:
        part = by_code.get(view.line.part_code)
        if part is None:  # a part renamed since the sheet was generated: still show the line
            part = by_code[view.line.part_code] = PartView(view.line.part_code, view.line.part_code, None, None, [])
            parts.append(part)
        part.lines.append(view)
    return parts


def _sheets_for_page(tenant: TenantContext) -> QuerySet[Sheet]:
    return selectors.visible_sheets(tenant).select_related(
        "period", "template", "person__department", "team__department", "department"
    )


def _lines(sheet: Sheet) -> list[SheetLine]:
    """The sheet's lines with their completeness (appraisal.selectors.lines_with_completeness)."""
    lines = list(selectors.lines_with_completeness(SheetLine.objects.filter(sheet=sheet)).select_related("indicator"))
    for line in lines:
        line.sheet = sheet
    return lines


def total_context(sheet: Sheet) -> dict[str, object]:
    """What the sheet's total says besides the score: provisional (暂计) while the period takes
    figures and a line is not done, and whether the sheet would block the close."""
    progress = selectors.sheet_progress(sheet)
    return {
        "sheet": sheet,
        "progress": progress,
        "total_provisional": sheet.period.accepts_entries() and sheet.score is not None and not progress.complete,
    }


@tenant_page("sheet")
@require_safe
def sheet_detail(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    sheet = get_visible_or_404(_sheets_for_page(tenant), pk=pk)
    raters = _raters(sheet)
    views = _line_views(tenant, sheet, _lines(sheet), raters)
    context = {
        **total_context(sheet),
        "state": state_badge(sheet.period),
        "parts": _parts(sheet, views),
        "raters": raters,
        "may_enter_data": _rules(tenant, sheet, raters).enter_data,
        # Several lines to rate: the rater's grid saves them in one go (appraisal.bulk_rating_views).
        "rate_all": sum(len(view.rate_controls) for view in views) > 1,
        "is_own": sheet.person_id is not None and sheet.person_id == tenant.person_id,
        "may_set_status": can(tenant, "period", "change") and sheet.period.accepts_entries(),
        "status_form": SpecialStatusForm(initial={"status": sheet.special_status, "reason": sheet.special_reason}),
    }
    return render(request, "appraisal/sheet_detail.html", context)


@tenant_page("sheet")
@require_POST
def sheet_status(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """HR sets the sheet's special status (免考, 长期请假, 拒不参加, or back to normal) with a reason;
    back to where the form was (the sheet, or the list of incomplete sheets of the close)."""
    sheet = get_visible_or_404(selectors.visible_sheets(tenant).select_related("period"), pk=pk)
    require(tenant, "period")
    form = SpecialStatusForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, str(problem))
    else:
        try:
            services.set_special_status(sheet=sheet, status=form.cleaned_data["status"],
                                        reason=form.cleaned_data["reason"], acting_user=acting_user(request))
        except (services.StatusRefused, services.IllegalTransition) as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("%(subject)s: %(status)s.") % {
                "subject": sheet.subject_label, "status": sheet.get_special_status_display()})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(back)
    return redirect(reverse("sheet-detail", args=[sheet.pk]) + "#sheet-status")


# --- line endpoints (htmx) ----------------------------------------------------------------------


def _line_for(tenant: TenantContext, pk: int) -> SheetLine:
    """The line if the user may see its sheet (404 otherwise), with what scoring and the page need."""
    line = get_visible_or_404(selectors.visible_lines(tenant).select_related("sheet__period", "sheet__template"),
                              pk=pk)
    require(tenant, "sheet")
    return line


# What a save on a line leaves as it was: read once by _line_for, not again for the response.
_UNCHANGED_BY_A_SAVE = ("period", "template", "person", "team", "department")


def _line_response(request: HttpRequest, tenant: TenantContext, known: SheetLine, *, alert: str = "",
                   level: str = "warning", record_form: RecordForm | None = None) -> HttpResponse:
    """The line as it now is (fresh from the database: its data, score and version, and its
    sheet's total) and the sheet's total, out of band. Its indicator and its sheet's period,
    template and subject are those _line_for read: joining the seven tables again cost a line save
    ~5 ms, most of it PostgreSQL planning the join."""
    line = selectors.lines_with_completeness(SheetLine.objects.select_related("sheet")).get(pk=known.pk)
    line.indicator = known.indicator
    sheet = line.sheet
    for relation in _UNCHANGED_BY_A_SAVE:
        setattr(sheet, relation, getattr(known.sheet, relation))
    if not is_htmx(request):
        # Without JavaScript the forms post normally: back to the sheet, the alert as a message.
        if alert:
            messages.warning(request, alert)
        return redirect("sheet-detail", pk=sheet.pk)
    view = _line_views(tenant, sheet, [line], _raters(sheet), {line.pk: record_form} if record_form else None)[0]
    view.alert, view.alert_level = alert, level
    return render(request, "appraisal/_line_response.html", {"view": view, **total_context(sheet)})


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@tenant_page("sheet")
@require_POST
def line_update(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """Data on a data line (HR, or the head of the subject's department, never on their own sheet)."""
    line = _line_for(tenant, pk)
    if line.source != LineSource.DATA or takes_records(line) or not permissions.may_edit_data(tenant, line.sheet):
        raise PermissionDenied
    changes, problems = parse_line_data(line, request.POST)
    version = _version(request)
    if version is None:
        problems.append(_("The form is missing the line's version; reload the page."))
    if problems:
        return _line_response(request, tenant, line, alert=" ".join(problems), level="danger")
    assert version is not None
    try:
        services.update_line(line_id=line.pk, expected_version=version, acting_user=acting_user(request),
                             reason="entered on the sheet page", **changes)
    except services.LineConflict as conflict:
        return _line_response(request, tenant, line, alert=str(conflict))
    return _line_response(request, tenant, line)


@tenant_page("sheet")
@require_POST
def line_rate(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The user's own rating of a rated line, as one of the sheet's (not recused) raters."""
    line = _line_for(tenant, pk)
    if line.source != LineSource.RATERS or not permissions.period_is_open(line.sheet.period):
        raise PermissionDenied
    posted, problems = parse_rating(line, request.POST)
    mine = permissions.own_raters(tenant, Rater.objects.filter(sheet_id=line.sheet_id))
    rater = next((r for r in mine if r.pk == posted.rater_id), None)
    if rater is None and posted.rater_id is None and len(mine) == 1:
        rater = mine[0]
    if rater is None or not permissions.may_rate(tenant, rater):
        raise PermissionDenied
    if problems:
        return _line_response(request, tenant, line, alert=" ".join(problems), level="danger")
    try:
        services.rate_line(line=line, rater=rater, acting_user=acting_user(request), rating=posted.rating,
                           actual=posted.actual, comment=posted.comment, expected_version=posted.version)
    except services.LineConflict as conflict:
        return _line_response(request, tenant, line, alert=str(conflict))
    except (services.IllegalTransition, scoring.ScoringError) as refused:
        return _line_response(request, tenant, line, alert=str(refused), level="danger")
    return _line_response(request, tenant, line)


@tenant_page("sheet")
@require_POST
def line_record(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """A recorded deduction or bonus occurrence, with its evidence; the recorder is kept."""
    line = _line_for(tenant, pk)
    if not takes_records(line) or line.source != LineSource.DATA or not permissions.may_add_record(tenant, line.sheet):
        raise PermissionDenied
    form = RecordForm(request.POST, line=line)
    if not form.is_valid():
        return _line_response(request, tenant, line, record_form=form, alert=_("The record was not added."),
                              level="danger")
    recorded_by = Person.objects.filter(pk=tenant.person_id).first() if tenant.person_id else None
    try:
        services.record_deduction(line=line, acting_user=acting_user(request), recorded_by=recorded_by,
                                  recorder_department=_recorder_department(tenant), **form.cleaned_data)
    except (ValueError, ValidationError) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        return _line_response(request, tenant, line, record_form=form, alert=text, level="danger")
    return _line_response(request, tenant, line)


def _recorder_department(tenant: TenantContext) -> Department | None:
    """The inspecting department a record is made for, kept with the record (S0-2 functional checks)."""
    if tenant.inspecting_department_id is None:
        return None
    return Department.objects.filter(pk=tenant.inspecting_department_id).first()
