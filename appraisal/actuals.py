"""Excel upload of a period's actuals: check every row (dry run), then write all or nothing.

Whoever keeps the figures (meter readings, sales, coal per kWh …) fills one sheet "实际值":

==========  =======================================================================================
column      meaning
==========  =======================================================================================
对象编码     the subject: 工号 (employee number) for person sheets, 班组编码 (team or shift code) for
            team sheets, 部门编码 (department code) for department sheets; required
指标编码     the indicator's code; the subject's sheet in this period must have that indicator on a
            line scored from data (lines scored by raters are rated, not imported); required
实际值       the actual value; required; at most four decimal places; negative values are allowed
目标值       the target; optional column; a blank cell keeps the sheet's target (from the benchmarks)
说明         why (optional): kept as the reason of the line's audit row
==========  =======================================================================================

Rules: headers are matched after removing whitespace; unknown columns are ignored; empty rows are
skipped; row numbers in errors are the ones Excel shows. A subject and indicator may appear once in
a file. Numbers are read through ``Decimal(str(cell))``, so a float never leaks in.

Flow, as for the organisation import: ``parse_actuals(file)`` → ``validate_actuals(period=,
parsed=)`` (the dry run: every problem of every row with row, column and value, nothing written) →
``apply_actuals(period=, parsed=, acting_user=)``, which checks again inside one transaction, with
the period's lines locked, and writes everything or raises ActualsRejected and writes nothing.

Applying is set-based: the period's lines are read with one query, the recorded deductions and
bonuses of its data lines with one aggregate query; each changed line is rescored in memory by the
scoring engine (which is pure) and its version bumped; then core.bulk.update_with_history
writes the lines (on PostgreSQL one UPDATE from a COPY) and their django-simple-history audit rows
(the acting user, the row's 说明 or "actuals import"). The number of queries does not grow with
the number of rows. Then the sheets whose lines changed
(stale, see Sheet.data_version) get their totals from appraisal.services.rescore_period, in the
same transaction, as a line edited through the API or a page gets its sheet's total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django_scopes import scope

from appraisal import services
from appraisal.models import ENTRY_STATES, DeductionRecord, Period, Sheet, SheetLine
from core.bulk import update_with_history
from core.excel import (
    BadValue,
    Cell,
    Identifiers,
    ImportIssue,
    SheetRows,
    SourceRow,
    WorkbookRejected,
    cell_text,
    decimal_from_float,
    read_sheet,
    read_workbook,
)
from core.numbers import to_decimal
from indicators.models import LineSource, SubjectKind
from organizations.models import Department, Person, Team, User

SHEET = "实际值"
SUBJECT = "对象编码"
INDICATOR = "指标编码"
ACTUAL = "实际值"
TARGET = "目标值"
REASON = "说明"
COLUMNS: tuple[str, ...] = (SUBJECT, INDICATOR, ACTUAL, TARGET, REASON)
REQUIRED_COLUMNS: tuple[str, ...] = (SUBJECT, INDICATOR, ACTUAL)
COLUMN_ORDER = {header: index for index, header in enumerate(COLUMNS)}

CHANGE_REASON = "actuals import"
# django-simple-history keeps a change reason in 100 characters.
MAX_REASON = 100

_ACTUAL_FIELD = SheetLine._meta.get_field("actual")
PLACES: int = _ACTUAL_FIELD.decimal_places  # type: ignore[assignment]
LIMIT = Decimal(10) ** (_ACTUAL_FIELD.max_digits - PLACES)  # type: ignore[operator]
QUANTUM = Decimal(1).scaleb(-PLACES)

# Periods whose figures may still change; later states are decided (closed, published, final).
OPEN_STATES = ENTRY_STATES

WRITTEN_FIELDS = ["actual", "target", "score", "raw_score", "money", "explanation", "version"]


# --------------------------------------------------------------------------------------------- data


@dataclass
class ActualsRows:
    """The rows of the sheet 实际值 (None: the workbook has no such sheet) and reading problems."""

    sheet: SheetRows | None = None
    errors: list[ImportIssue] = field(default_factory=list)


@dataclass(frozen=True)
class ActualsSummary:
    rows: int = 0  # data rows read
    lines_updated: int = 0
    lines_unchanged: int = 0
    sheets_updated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "lines_updated": self.lines_updated, "lines_unchanged": self.lines_unchanged,
                "sheets_updated": self.sheets_updated}


@dataclass
class _Change:
    row: int
    line: SheetLine
    actual: Decimal
    target: Decimal | None  # None: keep the line's target
    reason: str


@dataclass(frozen=True)
class _Cells:
    """One row's cells as read; None for a number that is missing or could not be read."""

    subject: str
    indicator: str
    actual: Decimal | None
    target: Decimal | None
    reason: str


@dataclass
class ActualsPlan:
    errors: list[ImportIssue]
    summary: ActualsSummary
    changes: list[_Change] = field(default_factory=list, repr=False)

    @property
    def is_valid(self) -> bool:
        return not self.errors


class ActualsRejected(WorkbookRejected):
    """The file cannot be read, or has problems: nothing was written."""

    def __init__(self, errors: list[ImportIssue], summary: ActualsSummary | None = None) -> None:
        super().__init__(errors)
        self.summary = summary or ActualsSummary()


# ------------------------------------------------------------------------------------------ reading


def parse_actuals(file: IO[bytes] | bytes, *, name: str = "") -> ActualsRows:
    """Reads an uploaded workbook (.xlsx, .xls or .ods). Raises ActualsRejected when the file cannot
    be read at all (too large, not a workbook, damaged); problems with headers are returned in ``.errors``."""
    limit: int = settings.IMPORT_MAX_BYTES
    # The same size, container and zip-bomb checks as the organisation import.
    try:
        grids = read_workbook(file, sheets=(SHEET,), limit=limit, name=name)
    except WorkbookRejected as rejected:
        raise ActualsRejected(rejected.errors) from None
    parsed = ActualsRows()
    if SHEET in grids:
        parsed.sheet = read_sheet(SHEET, grids[SHEET], COLUMN_ORDER, parsed.errors)
    return parsed


def parse_quantity(value: Cell) -> Decimal | None:
    """An actual or target from a cell: exact, at most four decimal places, negative allowed.
    Excel's floats are read by core.excel.decimal_from_float (the shortest decimal that
    round-trips: 295.1, not 295.10000000000002); one that is the residue of a formula's binary
    arithmetic (=0.1+0.2 is 0.30000000000000004) is refused as ``inexact_number`` rather than
    rounded. Text may use thousands separators or full-width digits."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise BadValue("bad_decimal", _("Not a number."))
    try:
        if isinstance(value, float):
            value = decimal_from_float(value, places=PLACES, code="inexact_number")
        number = to_decimal(value, what="")
    except (TypeError, ValueError):
        raise BadValue("bad_decimal", _("Not a number.")) from None
    if abs(number) >= LIMIT:
        raise BadValue("bad_decimal", _("The number is too large."))
    if number != number.quantize(QUANTUM):
        raise BadValue("bad_decimal", _("At most %(places)s decimal places.") % {"places": PLACES})
    return number.quantize(QUANTUM)


# ---------------------------------------------------------------------------------------- checking


@dataclass
class _Lines:
    """The period's lines, read with one query, indexed the way the file names them."""

    sheets_by_code: dict[str, list[Sheet]]  # subject code → sheets (more than one: ambiguous)
    lines: dict[tuple[int, str], SheetLine]  # (sheet id, indicator code) → line


def subject_code(sheet: Sheet) -> str:
    if sheet.subject_kind == SubjectKind.PERSON and sheet.person is not None:
        return sheet.person.employee_no
    if sheet.subject_kind == SubjectKind.TEAM and sheet.team is not None:
        return sheet.team.code
    if sheet.department is not None:
        return sheet.department.code
    return ""


def _load_lines(period: Period, *, lock: bool) -> _Lines:
    query = SheetLine.objects.filter(sheet__period=period).select_related(
        "indicator", "sheet__person", "sheet__team", "sheet__department"
    )
    if lock:
        # The sheets first, then the lines, the order every writer of a sheet's data takes
        # (appraisal.services.common.lock_sheet): a line edited through the API meanwhile waits for this
        # import. Not the subjects: they are joined through nullable foreign keys, which
        # PostgreSQL refuses to lock.
        list(Sheet.objects.select_for_update().filter(period=period).order_by("pk").values_list("pk", flat=True))
        query = query.select_for_update(of=("self",))
    sheets_by_code: dict[str, list[Sheet]] = defaultdict(list)
    seen_sheets: set[int] = set()
    lines: dict[tuple[int, str], SheetLine] = {}
    for line in query:
        sheet = line.sheet
        if sheet.pk not in seen_sheets:
            seen_sheets.add(sheet.pk)
            sheets_by_code[subject_code(sheet)].append(sheet)
        lines[(sheet.pk, line.indicator.code)] = line
    return _Lines(sheets_by_code=dict(sheets_by_code), lines=lines)


def _known_subjects(codes: set[str]) -> set[str]:
    """Which of ``codes`` name a person, team or department of the organisation at all (three
    queries, only when some subject has no sheet in the period)."""
    if not codes:
        return set()
    known = set(Person.objects.filter(employee_no__in=codes).values_list("employee_no", flat=True))
    known |= set(Team.objects.filter(code__in=codes).values_list("code", flat=True))
    known |= set(Department.objects.filter(code__in=codes).values_list("code", flat=True))
    return known


class _Planner:
    def __init__(self, period: Period, parsed: ActualsRows, lines: _Lines) -> None:
        self.period = period
        self.parsed = parsed
        self.index = lines
        self.errors: list[ImportIssue] = list(parsed.errors)
        self.bad_rows: set[int] = set()

    def error(self, row: int | None, column: str, value: Any, code: str, message: str) -> None:
        self.errors.append(ImportIssue(sheet=SHEET if row is not None or column else "", row=row, column=column,
                                       value=cell_text(value), code=code, message=message))
        if row is not None:
            self.bad_rows.add(row)

    def plan(self) -> ActualsPlan:
        sheet = self.parsed.sheet
        self._check_period()
        if sheet is None:
            self.error(None, "", "", "no_sheets", _("The workbook needs a sheet named “%(sheet)s”.") % {"sheet": SHEET})
            return self._result([], rows=0)
        if not sheet.rows:
            self.error(None, "", "", "empty", _("There are no rows to import."))
            return self._result([], rows=0)
        missing = [column for column in REQUIRED_COLUMNS if column not in sheet.columns]
        for column in missing:
            self.errors.append(ImportIssue(
                sheet=SHEET, row=sheet.header_row, column=column, value="", code="missing_column",
                message=_("The column “%(column)s” is missing.") % {"column": column},
            ))
        if missing:
            return self._result([], rows=len(sheet.rows))
        changes = self._rows(sheet.rows)
        return self._result(changes, rows=len(sheet.rows))

    def _check_period(self) -> None:
        if self.period.state == Period.State.DRAFT:
            self.error(None, "", self.period.code, "period_not_open",
                       _("Period %(period)s is still a draft; open it first.") % {"period": self.period.code})
        elif self.period.state not in OPEN_STATES:
            self.error(None, "", self.period.code, "period_closed",
                       _("Period %(period)s is %(state)s; its figures can no longer change.")
                       % {"period": self.period.code, "state": self.period.get_state_display()})

    def _rows(self, rows: list[SourceRow]) -> list[_Change]:
        first_row: dict[tuple[str, str], int] = {}
        # Subjects without a sheet in the period: told apart (unknown, or just no sheet) in one go.
        unresolved: list[tuple[SourceRow, str]] = []
        candidates: list[_Change] = []
        for row in rows:
            cells = self._cells(row, first_row)
            if cells is None or not cells.subject:
                continue
            sheets = self.index.sheets_by_code.get(cells.subject)
            if not sheets:
                unresolved.append((row, cells.subject))
                continue
            line = self._line(row, cells, sheets)
            if line is not None and cells.actual is not None and row.number not in self.bad_rows:
                candidates.append(_Change(row=row.number, line=line, actual=cells.actual, target=cells.target,
                                          reason=cells.reason))
        self._unresolved(unresolved)
        # A problem found later in the row (an unknown subject) still drops it.
        return [change for change in candidates if change.row not in self.bad_rows]

    def _cells(self, row: SourceRow, first_row: dict[tuple[str, str], int]) -> _Cells | None:
        """The row's cells, each checked on its own; None when the row repeats an earlier row's
        subject and indicator (reported once, the rest of the row is not looked at)."""
        values = row.values
        subject = cell_text(values.get(SUBJECT))
        indicator = cell_text(values.get(INDICATOR))
        for column, text in ((SUBJECT, subject), (INDICATOR, indicator)):
            if text == "":
                self.error(row.number, column, "", "required", _("This column is required."))
        actual = self._number(row, ACTUAL, required=True)
        target = self._number(row, TARGET, required=False)
        reason = cell_text(values.get(REASON))
        if len(reason) > MAX_REASON:
            self.error(row.number, REASON, reason, "too_long",
                       _("At most %(max)s characters.") % {"max": MAX_REASON})
        if subject and indicator:
            key = (subject, indicator)
            if key in first_row:
                self.error(row.number, INDICATOR, indicator, "duplicate",
                           _("%(subject)s / %(indicator)s is already in row %(row)s.")
                           % {"subject": subject, "indicator": indicator, "row": first_row[key]})
                return None
            first_row[key] = row.number
        return _Cells(subject=subject, indicator=indicator, actual=actual, target=target, reason=reason)

    def _line(self, row: SourceRow, cells: _Cells, sheets: list[Sheet]) -> SheetLine | None:
        """The data line the row names on its subject's sheet, or None (reported unless the
        indicator is blank, which was reported already)."""
        subject, indicator = cells.subject, cells.indicator
        if len(sheets) > 1:
            kinds = "、".join(str(SubjectKind(s.subject_kind).label) for s in sheets)
            self.error(row.number, SUBJECT, subject, "ambiguous_subject",
                       _("%(code)s names subjects of several sheets (%(kinds)s) in this period.")
                       % {"code": subject, "kinds": kinds})
            return None
        if not indicator:
            return None
        line = self.index.lines.get((sheets[0].pk, indicator))
        if line is None:
            self.error(row.number, INDICATOR, indicator, "not_on_sheet",
                       _("Indicator %(indicator)s is not on the sheet of %(subject)s in period %(period)s.")
                       % {"indicator": indicator, "subject": sheets[0].subject_label, "period": self.period.code})
            return None
        if line.source != LineSource.DATA:
            self.error(row.number, INDICATOR, indicator, "rated_line",
                       _("%(indicator)s is scored by raters on this sheet, not from data.")
                       % {"indicator": indicator})
            return None
        return line

    def _unresolved(self, unresolved: list[tuple[SourceRow, str]]) -> None:
        known = _known_subjects({subject for _row, subject in unresolved})
        for row, subject in unresolved:
            if subject in known:
                self.error(row.number, SUBJECT, subject, "no_sheet",
                           _("%(code)s has no sheet in period %(period)s.") % {"code": subject,
                                                                               "period": self.period.code})
                continue
            try:  # a number that names nobody: core.excel's rule for identifiers in every upload
                Identifiers(known).read(row.values.get(SUBJECT), column=SUBJECT)
            except BadValue as bad:
                self.error(row.number, SUBJECT, subject, bad.code, bad.message)
            else:
                self.error(row.number, SUBJECT, subject, "unknown_subject",
                           _("No person, team or department has the code %(code)s.") % {"code": subject})

    def _number(self, row: SourceRow, column: str, *, required: bool) -> Decimal | None:
        value = row.values.get(column)
        try:
            number = parse_quantity(value)
        except BadValue as bad:
            self.error(row.number, column, value, bad.code, bad.message)
            return None
        if number is None and required:
            self.error(row.number, column, "", "required", _("This column is required."))
        return number

    def _result(self, changes: list[_Change], *, rows: int) -> ActualsPlan:
        changed = [c for c in changes if _changes_line(c)]
        summary = ActualsSummary(
            rows=rows,
            lines_updated=len(changed),
            lines_unchanged=len(changes) - len(changed),
            sheets_updated=len({c.line.sheet_id for c in changed}),
        )
        self.errors.sort(key=lambda e: (e.row or 0, COLUMN_ORDER.get(e.column, -1)))
        return ActualsPlan(errors=self.errors, summary=summary, changes=changed)


def _changes_line(change: _Change) -> bool:
    line = change.line
    return line.actual != change.actual or (change.target is not None and line.target != change.target)


def validate_actuals(*, period: Period, parsed: ActualsRows) -> ActualsPlan:
    """The dry run: every problem of every row, and what applying would change. Writes nothing."""
    with scope(organization=period.organization):
        return _Planner(period, parsed, _load_lines(period, lock=False)).plan()


# ----------------------------------------------------------------------------------------- writing


def apply_actuals(*, period: Period, parsed: ActualsRows, acting_user: User | None) -> ActualsPlan:
    """Checks again inside the transaction, then writes every changed line, rescored and audited;
    with any problem nothing is written and ActualsRejected carries every problem."""
    with scope(organization=period.organization), transaction.atomic():
        # The period's current state, and one import per period at a time.
        current = Period.objects.select_for_update().get(pk=period.pk)
        plan = _Planner(current, parsed, _load_lines(current, lock=True)).plan()
        if plan.errors:
            raise ActualsRejected(plan.errors, plan.summary)
        _write(current, plan.changes, acting_user)
        # The totals of the sheets the import changed (and of any other stale sheet of the period).
        services.rescore_period(period=current, acting_user=acting_user, reason=CHANGE_REASON)
    return plan


def _occurrences(period: Period) -> Mapping[int, dict[str, int]]:
    """Recorded deductions and bonuses of the period's data lines: line id → item code → count."""
    result: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        DeductionRecord.objects.filter(line__sheet__period=period, line__source=LineSource.DATA)
        .order_by()
        .values("line_id", "item_code")
        .annotate(total=Sum("count"))
        .values_list("line_id", "item_code", "total")
    )
    for line_id, item_code, total in rows:
        result[line_id][item_code] = int(total)
    return result


def _write(period: Period, changes: list[_Change], acting_user: User | None) -> None:
    if not changes:
        return
    occurrences = _occurrences(period)
    lines = []
    for change in changes:
        line = change.line
        line.actual = change.actual
        if change.target is not None:
            line.target = change.target
        # In memory: the scoring engine is pure and the occurrences are at hand, so no query per line.
        services.score_line(line, ratings=None, occurrences=occurrences.get(line.pk, {}))
        line.version += 1
        if change.reason:
            line._change_reason = change.reason  # type: ignore[attr-defined]
        lines.append(line)
    update_with_history(lines, WRITTEN_FIELDS, acting_user=acting_user, reason=CHANGE_REASON)
