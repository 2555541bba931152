"""The rater's grid, read: the sheets one person rates in a period (rows, one per sheet and role)
and the rated lines they rate (columns, one per indicator and work item), each cell with the
rating already given. Three queries whatever the number of sheets.

Which sheets: those with a rater who is the person (appraisal.selectors.visible_sheets shows a
person every sheet they rate, so nothing here is beyond what they may see). A row is read-only,
with the reason, when the period no longer takes figures, when the user may not change sheets at
all, or when the person is recused from the sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from appraisal import permissions
from appraisal.forms import scale_labels, shown
from appraisal.models import Period, Rater, Rating, Sheet, SheetLine
from appraisal.services import IllegalTransition, require_entries
from indicators import scoring
from indicators.models import LineSource, RaterRole
from organizations.models import Department


@dataclass(frozen=True)
class Column:
    """Lines of one indicator (and work-item name) across the sheets: one column of the grid."""

    key: str
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} · {self.code}" if self.name != self.code else self.code


@dataclass
class Cell:
    """The person's rating of one line as one of the sheet's raters."""

    line: SheetLine
    rater: Rater
    value: str  # the rating given: a label, or a value as people write it; empty when none
    version: str
    score: Decimal | None
    choices: list[str]  # the scale's labels; empty: a value is entered
    posted: str | None = None  # what the user typed, shown again when the save was refused
    error: str = ""

    @property
    def name(self) -> str:
        return f"cell-{self.rater.pk}-{self.line.pk}"

    @property
    def version_name(self) -> str:
        return f"version-{self.rater.pk}-{self.line.pk}"

    @property
    def shown(self) -> str:
        return self.value if self.posted is None else self.posted


@dataclass
class Row:
    sheet: Sheet
    rater: Rater
    department: Department | None
    cells: dict[str, Cell] = field(default_factory=dict)  # by column key
    readonly: str = ""  # why the row cannot be changed; empty when it can
    shown: list[Cell | None] = field(default_factory=list)  # the cells under the grid's columns, in order

    @property
    def role(self) -> str:
        return str(RaterRole(self.rater.role).label) if self.rater.role in RaterRole.values else self.rater.role


@dataclass
class Grid:
    period: Period
    columns: list[Column]
    rows: list[Row]
    departments: list[Department]  # of every row, for the filter (before it is applied)
    all_columns: list[Column]  # every column, for the filter
    closed: str  # why the whole grid is read-only (the period's state); empty while it takes figures

    @property
    def editable(self) -> bool:
        return bool(self.cells())

    def cells(self) -> list[tuple[Row, Cell]]:
        """Every cell shown that may be changed."""
        return [(row, cell) for row in self.rows if not row.readonly for cell in row.shown if cell is not None]


@dataclass(frozen=True)
class GridFilter:
    department: int | None = None
    column: str = ""
    sheet: int | None = None


def column_of(line: SheetLine) -> Column:
    code = line.indicator.code
    return Column(f"{code}:{line.label}" if line.label else code, code, line.label or line.indicator.name)


def subject_department(sheet: Sheet) -> Department | None:
    if sheet.person is not None:
        return sheet.person.department
    if sheet.team is not None:
        return sheet.team.department
    return sheet.department


def read_grid(*, person_id: int | None, period: Period, may_change: bool, chosen: GridFilter) -> Grid:
    """The grid of ``person_id`` in ``period``, filtered (see the module)."""
    closed = ""
    try:
        require_entries(period)
    except IllegalTransition as refused:
        closed = str(refused)
    raters = list(Rater.objects.filter(person_id=person_id, sheet__period=period).select_related(
        "sheet__person__department", "sheet__team__department", "sheet__department")) if person_id else []
    for rater in raters:
        rater.sheet.period = period
    sheet_ids = {rater.sheet_id for rater in raters}
    lines = list(SheetLine.objects.filter(sheet_id__in=sheet_ids, source=LineSource.RATERS)
                 .select_related("indicator").order_by("sort_order", "indicator__code", "pk")) if raters else []
    ratings = {(r.line_id, r.rater_id): r for r in Rating.objects.filter(rater__in=raters)} if raters else {}
    columns: dict[str, Column] = {}
    by_sheet: dict[int, dict[str, SheetLine]] = {}
    for line in lines:
        column = column_of(line)
        if column.key in by_sheet.get(line.sheet_id, {}):  # one indicator twice on a sheet: a column per part
            column = Column(f"{column.key}@{line.part_code}", column.code, f"{column.name}（{line.part_code}）")
        columns.setdefault(column.key, column)
        by_sheet.setdefault(line.sheet_id, {})[column.key] = line
    rows = [_row(rater, by_sheet.get(rater.sheet_id, {}), ratings, closed, may_change) for rater in raters]
    departments = {d.pk: d for d in (row.department for row in rows) if d is not None}
    rows = [row for row in rows if _kept(row, chosen)]
    rows.sort(key=lambda row: (row.department.code if row.department else "", row.sheet.subject_label,
                               row.rater.role))
    one = chosen.column if chosen.column in columns else ""  # a line no sheet has: every line
    shown_columns = [c for c in columns.values() if not one or c.key == one]
    if one:
        rows = [row for row in rows if one in row.cells]
    for row in rows:
        row.shown = [row.cells.get(column.key) for column in shown_columns]
    return Grid(period, shown_columns, rows, sorted(departments.values(), key=lambda d: d.code),
                list(columns.values()), closed)


def _kept(row: Row, chosen: GridFilter) -> bool:
    if chosen.sheet is not None and row.sheet.pk != chosen.sheet:
        return False
    return chosen.department is None or (row.department is not None and row.department.pk == chosen.department)


def _row(rater: Rater, lines: dict[str, SheetLine], ratings: dict[tuple[int, int], Rating], closed: str,
         may_change: bool) -> Row:
    sheet = rater.sheet
    row = Row(sheet, rater, subject_department(sheet))
    if closed:
        row.readonly = closed
    elif not may_change or not permissions.period_is_open(sheet.period):
        row.readonly = _("You may not change score sheets.")
    elif rater.recused:
        row.readonly = _("You are recused from this sheet: %(reason)s.") % {"reason": rater.recusal_reason}
    for key, line in lines.items():
        line.sheet = sheet
        rating = ratings.get((line.pk, rater.pk))
        row.cells[key] = Cell(
            line=line, rater=rater,
            value=(rating.rating or shown(rating.actual)) if rating else "",
            version=str(rating.version) if rating else "",
            score=rating.score if rating else None,
            choices=scale_labels(line.config) if line.method == scoring.Method.RATING else [],
        )
    return row
