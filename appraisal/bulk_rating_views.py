"""我的评分: a rater's grid for one period (/periods/<pk>/rate/). Rows are the sheets the signed-in
person rates, columns the lines they rate (appraisal.rating_grid); one POST saves the whole grid
through appraisal.services.rate_many, all or nothing. A refused save shows the grid again as typed,
each bad cell with its problem (naming the subject and the line) and the list of them above.

Filters (GET, kept by the form's action): ``department`` (the subjects' department), ``line`` (one
column across the sheets) and ``sheet`` (one sheet: the sheet page's "rate all my lines at once").
A cell left as it was is not sent to the service; a cell emptied where a rating was given is
refused, as on the sheet page (a rating is changed, never taken back).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appraisal import selectors, services
from appraisal.forms import parse_rating
from appraisal.rating_grid import Cell, Grid, GridFilter, read_grid
from appraisal.services.bulk_rating import about
from core.web import acting_user
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import Person
from organizations.permissions import can
from organizations.views import tenant_page


def _number(raw: str | None) -> int | None:
    try:
        return int(raw or "")
    except ValueError:
        return None


def _chosen(request: HttpRequest) -> GridFilter:
    return GridFilter(department=_number(request.GET.get("department")), column=request.GET.get("line", "").strip(),
                      sheet=_number(request.GET.get("sheet")))


@tenant_page("sheet")
@require_http_methods(["GET", "HEAD", "POST"])
def rating_grid(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = get_visible_or_404(selectors.visible_periods(tenant), pk=pk)
    may_change = can(tenant, "sheet", "change")
    if request.method == "POST" and not may_change:
        raise PermissionDenied
    grid = read_grid(person_id=tenant.person_id, period=period, may_change=may_change, chosen=_chosen(request))
    status = 200
    if request.method == "POST":
        if _save(request, tenant, grid):
            return redirect(request.get_full_path())
        status = 400
    problems = [cell.error for _row, cell in grid.cells() if cell.error]
    context = {"grid": grid, "period": period, "chosen": _chosen(request), "problems": problems,
               "sheet_filtered": request.GET.get("sheet", "") != ""}
    return render(request, "appraisal/rating_grid.html", context, status=status)


def _posted(data: QueryDict, grid: Grid) -> tuple[list[services.RatingEntry], list[Cell], list[Cell]]:
    """The entries of the cells the user changed (with the cell each came from), and the cells
    whose text is not a rating (their ``error`` set)."""
    entries: list[services.RatingEntry] = []
    sources: list[Cell] = []
    bad: list[Cell] = []
    for _row, cell in grid.cells():
        raw = data.get(cell.name)
        if raw is None:
            continue  # not on the form the user posted (filtered out)
        cell.posted = raw = raw.strip()
        if raw == cell.value or (not raw and not cell.value):
            continue
        one = QueryDict(mutable=True)
        one["rating" if cell.choices else "actual"] = raw
        one["version"] = data.get(cell.version_name, "")
        posted, problems = parse_rating(cell.line, one)
        if problems:
            cell.error = about(cell.line, " ".join(problems))
            bad.append(cell)
            continue
        entries.append(services.RatingEntry(line_id=cell.line.pk, rater_id=cell.rater.pk, rating=posted.rating,
                                            actual=posted.actual, expected_version=posted.version,
                                            sheet_id=cell.line.sheet_id))
        sources.append(cell)
    return entries, sources, bad


def _save(request: HttpRequest, tenant: TenantContext, grid: Grid) -> bool:
    """Saves the changed cells; False (the cells' errors set) when anything was refused."""
    entries, sources, bad = _posted(request.POST, grid)
    if not entries and not bad:
        messages.info(request, _("Nothing changed: every rating shown was given already."))
        return True
    person = Person.objects.filter(pk=tenant.person_id).first() if tenant.person_id else None
    if person is None:  # without a person the grid has no cell: nothing could have been posted
        return True
    try:
        result = services.rate_many(rater_person=person, period=grid.period, entries=entries,
                                    acting_user=acting_user(request), dry_run=bool(bad))
    except services.RatingsRefused as refused:
        for problem in refused.problems:
            sources[problem.index].error = problem.message
        return False
    except services.IllegalTransition as refused:  # the period moved on since the page was read
        messages.error(request, str(refused))
        return False
    if bad:
        return False
    messages.success(request, _("%(count)s ratings saved; %(sheets)s sheets rescored.")
                     % {"count": result.written, "sheets": len(result.scores)})
    return True
