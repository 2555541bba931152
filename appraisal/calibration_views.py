"""The calibration page of a period (HR): its results 50 a page, filtered by department, population,
grade and "needs calibration", with each population's quota lines and ties; each row is calibrated
in place (htmx) within the policy's cap, which the row shows; and the raters' leniency.

Reads are appraisal.calibration (SQL aggregates, only the page's rows in Python); the write is the
existing service, appraisal.services.closing.calibrate, which regrades the whole population, so a
calibration answers with the results section again (other rows' grades and ranks may move).
Another organisation's period or result is a 404; anyone but HR gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from appraisal import calibration, grading, selectors, services
from appraisal.calibration import PopulationQuotas, QuotaLine
from appraisal.models import Period, Result
from appraisal.services import closing
from core.explain import percent
from core.replica import replica_reads
from core.web import acting_user, is_htmx
from organizations.access import get_visible_or_404
from organizations.context import TenantContext, descendants
from organizations.models import Department
from organizations.permissions import require
from organizations.views import tenant_page

RESULTS_TARGET = "calibration-results"
LENIENCY_TARGET = "rater-leniency"


class CalibrationFilter(forms.Form):
    department = forms.TypedChoiceField(label=gettext_lazy("Department"), required=False, coerce=int,
                                        empty_value=None, widget=forms.Select(attrs={"class": "form-select"}))
    population = forms.ChoiceField(label=gettext_lazy("Population"), required=False,
                                   widget=forms.Select(attrs={"class": "form-select"}))
    grade = forms.ChoiceField(label=gettext_lazy("Grade"), required=False,
                              widget=forms.Select(attrs={"class": "form-select"}))
    needs = forms.BooleanField(label=gettext_lazy("Needs calibration only"), required=False,
                               widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))

    def __init__(self, data: QueryDict | None, *, departments: list[tuple[int, str]],
                 populations: list[tuple[str, str]], grades: list[tuple[str, str]]) -> None:
        super().__init__(data)
        self.fields["department"].choices = [("", _("All departments")), *departments]  # type: ignore[attr-defined]
        self.fields["population"].choices = [("", _("All populations")), *populations]  # type: ignore[attr-defined]
        self.fields["grade"].choices = [("", _("All grades")), *grades]  # type: ignore[attr-defined]


@dataclass
class CalibrationRow:
    result: Result
    cap: tuple[Decimal, Decimal] | None  # the lowest and highest score calibration may give
    editable: bool
    quota_line: QuotaLine | None = None  # the line of the grade above, when this row is the first below it
    editing: bool = False
    error: str = ""
    value: str = ""
    reason: str = ""
    saved: bool = False

    @property
    def tied(self) -> int:
        return int(getattr(self.result, "tied", 0) or 0)


def _score(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _may_edit(period: Period) -> bool:
    """Scores are calibrated after the close and before publication (the service says so too)."""
    return period.state == Period.State.CLOSED


def _period(tenant: TenantContext, pk: int) -> Period:
    period = get_visible_or_404(selectors.visible_periods(tenant).select_related("grading_policy"), pk=pk)
    require(tenant, "period", "change")
    return period


def _departments() -> tuple[list[tuple[int, str]], dict[int, int | None]]:
    """The active departments as choices, and the whole tree as {id: parent id}. One query."""
    rows = list(Department.objects.order_by("sort_order", "code").values_list("pk", "name", "parent_id", "is_active"))
    return [(pk, name) for pk, name, _parent, active in rows if active], {pk: parent for pk, _n, parent, _a in rows}


def _filter(period: Period, query: QueryDict) -> tuple[CalibrationFilter, Any]:
    """The filter form and the page's results filtered by it (nothing for an invalid filter)."""
    choices, parent_of = _departments()
    policy = period.grading_policy
    grades = [(g.code, f"{g.code} {g.label}") for g in policy.grade_scale().grades] if policy else []
    form = CalibrationFilter(query or None, departments=choices, populations=calibration.populations(period),
                             grades=grades)
    results = calibration.period_results(period)
    if not form.is_bound:
        return form, results
    if not form.is_valid():
        return form, results.none()
    department = form.cleaned_data["department"]
    return form, calibration.filtered(
        results, department_ids=descendants({department}, parent_of) if department else None,
        population=form.cleaned_data["population"], grade=form.cleaned_data["grade"],
        needs_calibration=form.cleaned_data["needs"])


def _rows(period: Period, page: Page[Result], quotas: list[PopulationQuotas]) -> list[CalibrationRow]:
    """The page's rows, each with its cap, and the quota line drawn where the grade changes."""
    by_key = {q.key: q for q in quotas}
    editable = _may_edit(period)
    rows: list[CalibrationRow] = []
    previous: Result | None = None
    for result in page.object_list:
        cap = calibration.calibration_range(result, period.grading_policy)
        row = CalibrationRow(result=result, cap=cap, editable=editable and cap is not None)
        if (previous is not None and previous.population == result.population and previous.grade
                and result.rank is not None and previous.grade != result.grade and result.population in by_key):
            row.quota_line = by_key[result.population].line(previous.grade)
        rows.append(row)
        previous = result
    return rows


def _without(query: QueryDict, *names: str) -> str:
    kept = query.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


@replica_reads()
def results_context(period: Period, query: QueryDict, *,
                    edit: int | None = None, posted: CalibrationRow | None = None) -> dict[str, Any]:
    """The results section: the filter, the page of rows with the quota lines of their populations."""
    form, results = _filter(period, query)
    page = Paginator(results, calibration.RESULTS_PER_PAGE).get_page(query.get("page"))
    quotas = calibration.quota_lines(period, {r.population for r in page.object_list})
    rows = _rows(period, page, quotas)
    for row in rows:
        row.editing = row.editable and row.result.pk == edit
        if posted is not None and row.result.pk == posted.result.pk:
            row.editing = row.editable and bool(posted.error)
            row.error, row.value, row.reason, row.saved = posted.error, posted.value, posted.reason, posted.saved
    return {
        "period": period,
        "policy": period.grading_policy,
        "filter": form,
        "page": page,
        "rows": rows,
        "quotas": quotas,
        "query": query.urlencode(),
        "query_without_page": _without(query, "page", "edit"),
        "may_edit": _may_edit(period),
        "cap_percent": percent(period.grading_policy.calibration_share) if period.grading_policy else "",
    }


@replica_reads()
def leniency_context(period: Period, query: QueryDict) -> dict[str, Any]:
    whole = calibration.baseline(period)
    rows = calibration.raters(period, whole)
    page = Paginator(rows, calibration.RATERS_PER_PAGE).get_page(query.get("rpage"))
    lenient, severe = calibration.flagged_counts(rows, whole)
    return {
        "period": period,
        "baseline": whole,
        "baseline_mean": calibration.shown(whole.mean),
        "baseline_sd": calibration.shown(whole.sd),
        "rater_page": page,
        "raters": calibration.leniency_rows(list(page.object_list), whole),
        "lenient_count": lenient,
        "severe_count": severe,
        "query_without_rpage": _without(query, "rpage", "edit"),
    }


def _edit_id(query: QueryDict) -> int | None:
    text = query.get("edit", "")
    return int(text) if text.isdigit() else None


@tenant_page("period")
@require_safe
def period_calibration(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """The whole page; htmx gets only the section it asked for (the results or the raters)."""
    period = _period(tenant, pk)
    target = getattr(getattr(request, "htmx", None), "target", None) if is_htmx(request) else None
    if target == LENIENCY_TARGET:
        return render(request, "appraisal/_rater_leniency.html", leniency_context(period, request.GET))
    context = results_context(period, request.GET, edit=_edit_id(request.GET))
    if target == RESULTS_TARGET:
        return render(request, "appraisal/_calibration_results.html", context)
    context.update(leniency_context(period, request.GET))
    return render(request, "appraisal/calibration.html", context)


def _calibrate(request: HttpRequest, result: Result) -> CalibrationRow:
    """Runs the calibration service; the row says what was posted and how it went."""
    text, reason = request.POST.get("score", "").strip(), request.POST.get("reason", "")
    posted = CalibrationRow(result=result, cap=None, editable=True, value=text, reason=reason)
    score = _score(text)
    if score is None:
        posted.error = _("Enter the new score as a number, such as 88.50.")
        return posted
    try:
        closing.calibrate(result=result, score=score, reason=reason, acting_user=acting_user(request))
    except grading.CalibrationError as refused:
        posted.error = refused.message
    except (closing.ClosureRefused, services.IllegalTransition, ValueError) as refused:
        posted.error = str(refused)
    else:
        posted.saved = True
    return posted


@tenant_page("result")
@require_http_methods(["GET", "POST"])
def result_calibration(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    """One row of the calibration page. GET (htmx): the row, as a form with ``edit=1``. POST: the
    calibration; htmx gets the results section back with the row's refusal or confirmation,
    anything else a redirect to the page with a message."""
    result = get_visible_or_404(selectors.visible_results(tenant).select_related("period__grading_policy"), pk=pk)
    require(tenant, "period", "change")
    period = result.period
    query = QueryDict(request.GET.get("q", "") if request.method == "GET" else request.POST.get("q", ""))
    page_url = reverse("period-calibration", args=[period.pk])
    if request.method == "GET":
        if not is_htmx(request):
            edit = query.copy()
            edit["edit"] = str(result.pk)
            return redirect(f"{page_url}?{edit.urlencode()}#result-{result.pk}")
        row = CalibrationRow(result=calibration.period_results(period).get(pk=result.pk),
                             cap=calibration.calibration_range(result, period.grading_policy),
                             editable=_may_edit(period))
        row.editing = row.editable and request.GET.get("edit") == "1"
        return render(request, "appraisal/_calibration_row.html",
                      {"row": row, "period": period, "query": query.urlencode(), "may_edit": row.editable})
    posted = _calibrate(request, result)
    if not is_htmx(request):
        if posted.error:
            messages.error(request, posted.error)
        else:
            messages.success(request, _("The score is calibrated; the population is regraded."))
        return redirect(f"{page_url}?{_without(query, 'edit')}#result-{result.pk}")
    period = Period.objects.select_related("grading_policy").get(pk=period.pk)
    return render(request, "appraisal/_calibration_results.html",
                  results_context(period, query, posted=posted))
