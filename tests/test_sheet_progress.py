"""A sheet's progress (appraisal.selectors.sheet_progress: its lines, those done, those that block the
close), as the sheet page and a line save show it, counts what the lists count (with_progress).

The scheme (tests.test_appraisal_pages): OUTPUT a data line; WORK rated by self (a missing rating
counts as 0, so it does not block) and the supervisor (it blocks)."""

from __future__ import annotations

from decimal import Decimal

from django_scopes import scope

from appraisal import selectors, services
from appraisal.models import Rater, Sheet, SheetLine
from organizations.models import User
from tests.conftest import World
from tests.test_appraisal_pages import Scheme, build_scheme


def _line(sheet: Sheet, code: str) -> SheetLine:
    return SheetLine.objects.get(sheet=sheet, indicator__code=code)


def _enter(sheet: Sheet, actual: str) -> None:
    output = _line(sheet, "OUTPUT")
    services.update_line(line_id=output.pk, expected_version=output.version, acting_user=None, actual=Decimal(actual))


def test_it_counts_a_sheets_lines_done_and_blocking_as_the_lists_do(
        world_a: World, hr: User, head: User, employee: User) -> None:
    scheme: Scheme = build_scheme(world_a)
    with scope(organization=world_a.org):
        sheets = {key: Sheet.objects.get(period=scheme.period, person=world_a.people[key])
                  for key in ("colleague", "employee", "finance")}
        # colleague: data entered, rated by its one rater (self) → done.
        _enter(sheets["colleague"], "180")
        work = _line(sheets["colleague"], "WORK")
        for rater in Rater.objects.filter(sheet=sheets["colleague"]):
            services.rate_line(line=work, rater=rater, acting_user=None, rating="优秀")
        # employee: data entered, rated by self but not by the supervisor → WORK not done, and
        # blocking (the supervisor's missing rating does not count as 0).
        _enter(sheets["employee"], "150")
        own = Rater.objects.get(sheet=sheets["employee"], role="self")
        services.rate_line(line=_line(sheets["employee"], "WORK"), rater=own, acting_user=None, rating="良好")
        # finance: nothing entered (OUTPUT blocks), nobody rated (self's missing rating counts as 0).
        progress = {key: selectors.sheet_progress(sheet) for key, sheet in sheets.items()}
        listed = {row.pk: row for row in selectors.with_progress(Sheet.objects.filter(period=scheme.period))}
    assert [(p.total, p.done, p.blocking) for p in progress.values()] == [(2, 2, 0), (2, 1, 1), (2, 0, 1)]
    for key, sheet in sheets.items():
        row = listed[sheet.pk]
        assert (row.line_total, row.line_done, row.line_blocking) == (  # type: ignore[attr-defined]
            progress[key].total, progress[key].done, progress[key].blocking)
