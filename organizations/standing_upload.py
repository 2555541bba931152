"""Excel upload of standing parameters: check every row (dry run), then write all or nothing.

HR fills one sheet "常设参数", one row per value:

==========  =======================================================================================
column      meaning
==========  =======================================================================================
工号         the person's employee number, for a person's parameter
部门编码     the department's code, for a department's parameter (give 工号 or 部门编码, not both)
参数名       the parameter's name as pay formulas read it (letters, digits and _): e.g. seniority,
            business; a department's is read by pay as dept_param_<name>
数值         the value: a number, at most four decimal places, negative allowed
生效日期     the first day the value is in force (a date cell, or 2026-01-01 / 2026/1/1 / 2026年1月1日)
==========  =======================================================================================

Rules, as for the organisation import and the pay-input upload: headers matched after removing
whitespace; unknown columns are HR's own notes; empty rows skipped; row numbers are the ones Excel
shows; an identifier that arrives as a number and names nobody is refused, never changed
(core.excel.Identifiers); .xlsx, .xls or .ods (core.excel.read_workbook), within IMPORT_MAX_BYTES.

Flow: ``parse_standing(file)`` → ``validate_standing(parsed=)`` (the dry run: every problem with
its row, column and value; nothing written) → ``apply_standing(organization=, parsed=,
acting_user=)``: checks again inside one transaction and sets every value through
organizations.standing_services (audited; a new value closes the one it replaces), or raises
StandingRejected and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.excel import (
    BadValue,
    Cell,
    Identifiers,
    ImportIssue,
    SheetRows,
    SourceRow,
    WorkbookRejected,
    cell_text,
    exact_decimal,
    parse_date,
    read_sheet,
    read_workbook,
)
from organizations import standing_services
from organizations.models import Department, Organization, Person, User
from organizations.standing import StandingParameter, name_problem

SHEET = "常设参数"
EMPLOYEE_NO, DEPARTMENT_CODE, NAME, VALUE, EFFECTIVE_FROM = "工号", "部门编码", "参数名", "数值", "生效日期"
COLUMNS: tuple[str, ...] = (EMPLOYEE_NO, DEPARTMENT_CODE, NAME, VALUE, EFFECTIVE_FROM)
REQUIRED: tuple[str, ...] = (NAME, VALUE, EFFECTIVE_FROM)
COLUMN_ORDER = {header: index for index, header in enumerate(COLUMNS)}

_VALUE_FIELD = StandingParameter._meta.get_field("value")
PLACES: int = _VALUE_FIELD.decimal_places  # type: ignore[assignment]
MAX_DIGITS: int = _VALUE_FIELD.max_digits  # type: ignore[assignment]


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Spreadsheet (.xlsx, .xls or .ods)"))
    action = forms.ChoiceField(choices=[("dry_run", gettext_lazy("Dry run")), ("apply", gettext_lazy("Apply"))])


@dataclass
class StandingRows:
    sheet: SheetRows | None = None  # None: the workbook has no sheet 常设参数
    errors: list[ImportIssue] = field(default_factory=list)


@dataclass(frozen=True)
class StandingSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class _Change:
    row: int
    person: Person | None
    department: Department | None
    name: str
    value: Decimal
    effective_from: dt.date

    @property
    def key(self) -> tuple[str, int, str]:
        subject = ("p", self.person.pk) if self.person is not None else ("d", self.department.pk)  # type: ignore[union-attr]
        return (*subject, self.name)


@dataclass
class StandingPlan:
    errors: list[ImportIssue]
    summary: StandingSummary
    changes: list[_Change] = field(default_factory=list, repr=False)

    @property
    def is_valid(self) -> bool:
        return not self.errors


class StandingRejected(WorkbookRejected):
    """The file cannot be read, or has problems: nothing was written."""

    def __init__(self, errors: list[ImportIssue], summary: StandingSummary | None = None) -> None:
        super().__init__(errors)
        self.summary = summary or StandingSummary()


def parse_standing(file: IO[bytes] | bytes, *, name: str = "") -> StandingRows:
    """Reads an uploaded workbook. Raises StandingRejected when the file cannot be read at all (too
    large, not a workbook, damaged); problems with headers are returned in ``.errors``."""
    try:
        grids = read_workbook(file, sheets=(SHEET,), limit=settings.IMPORT_MAX_BYTES, name=name)
    except WorkbookRejected as rejected:
        raise StandingRejected(rejected.errors) from None
    parsed = StandingRows()
    if SHEET in grids:
        parsed.sheet = read_sheet(SHEET, grids[SHEET], COLUMN_ORDER, parsed.errors)
    return parsed


def parse_number(value: Cell) -> Decimal:
    """A value: exact, at most as many places as the field keeps, negative allowed."""
    return exact_decimal(value, places=PLACES, max_digits=MAX_DIGITS)


class _Planner:
    def __init__(self, parsed: StandingRows) -> None:
        self.parsed = parsed
        self.errors: list[ImportIssue] = list(parsed.errors)

    def error(self, row: int | None, column: str, value: Any, code: str, message: str) -> None:
        self.errors.append(ImportIssue(sheet=SHEET if row is not None or column else "", row=row, column=column,
                                       value=cell_text(value), code=code, message=message))

    def plan(self) -> StandingPlan:
        sheet = self.parsed.sheet
        if sheet is None:
            self.error(None, "", "", "no_sheets", _("The workbook needs a sheet named “%(sheet)s”.") % {"sheet": SHEET})
            return self._result([], rows=0)
        missing = [column for column in REQUIRED if column not in sheet.columns]
        if EMPLOYEE_NO not in sheet.columns and DEPARTMENT_CODE not in sheet.columns:
            missing.insert(0, EMPLOYEE_NO)
        for column in missing:
            self.error(sheet.header_row, column, "", "missing_column",
                       _("The column “%(column)s” is missing.") % {"column": column})
        if missing:
            return self._result([], rows=len(sheet.rows))
        if not sheet.rows:
            self.error(None, "", "", "empty", _("There are no rows to import."))
        self.people = {person.employee_no: person for person in Person.objects.all()}
        self.departments = {department.code: department for department in Department.objects.all()}
        self.employee_numbers, self.codes = Identifiers(self.people), Identifiers(self.departments)
        changes: list[_Change] = []
        first_row: dict[tuple[Any, ...], int] = {}
        for row in sheet.rows:
            change = self._row(row)
            if change is None:
                continue
            key = (*change.key, change.effective_from)
            if key in first_row:
                self.error(row.number, NAME, row.values.get(NAME), "duplicate",
                           _("This parameter and date already appear in row %(row)s.") % {"row": first_row[key]})
                continue
            first_row[key] = row.number
            changes.append(change)
        return self._result(changes, rows=len(sheet.rows))

    def _row(self, row: SourceRow) -> _Change | None:
        person, department = self._subject(row)
        raw_name = row.values.get(NAME)
        name = cell_text(raw_name)
        if name == "":
            self.error(row.number, NAME, "", "required", _("This column is required."))
        elif problem := name_problem(name, for_department=department is not None):
            self.error(row.number, NAME, raw_name, "bad_name", problem)
            name = ""
        value = self._read(row, VALUE, parse_number)
        effective_from = self._read(row, EFFECTIVE_FROM, parse_date)
        if (person is None and department is None) or not name or value is None or effective_from is None:
            return None
        return _Change(row.number, person, department, name, value, effective_from)

    def _read(self, row: SourceRow, column: str, parse: Any) -> Any:
        raw = row.values.get(column)
        if cell_text(raw) == "":
            self.error(row.number, column, "", "required", _("This column is required."))
            return None
        try:
            return parse(raw)
        except BadValue as bad:
            self.error(row.number, column, raw, bad.code, bad.message)
            return None

    def _subject(self, row: SourceRow) -> tuple[Person | None, Department | None]:
        raw_no, raw_code = row.values.get(EMPLOYEE_NO), row.values.get(DEPARTMENT_CODE)
        if (cell_text(raw_no) == "") == (cell_text(raw_code) == ""):
            self.error(row.number, EMPLOYEE_NO, raw_no, "subject",
                       _("Give either an employee number or a department code."))
            return None, None
        if cell_text(raw_no):
            return self._find(row, EMPLOYEE_NO, raw_no, self.employee_numbers, self.people,
                              _("No person has the employee number %(no)s.")), None
        return None, self._find(row, DEPARTMENT_CODE, raw_code, self.codes, self.departments,
                                _("No department has the code %(no)s."))

    def _find(self, row: SourceRow, column: str, raw: Cell, identifiers: Identifiers, known: dict[str, Any],
              unknown: str) -> Any:
        try:
            identifier = identifiers.read(raw, column=column)
        except BadValue as bad:  # a number that matches nothing: core.excel's rule for every upload
            self.error(row.number, column, raw, bad.code, bad.message)
            return None
        found = known.get(identifier)
        if found is None:
            self.error(row.number, column, raw, "unknown", unknown % {"no": identifier})
        return found

    def _result(self, changes: list[_Change], *, rows: int) -> StandingPlan:
        existing: dict[tuple[str, int, str], list[StandingParameter]] = {}
        for entry in StandingParameter.objects.filter(name__in={change.name for change in changes}).order_by(
                "effective_from"):
            subject = ("p", entry.person_id) if entry.person_id is not None else ("d", entry.department_id)
            existing.setdefault((*subject, entry.name), []).append(entry)  # type: ignore[arg-type]
        created = updated = 0
        written = []
        for change in changes:
            rows_of = existing.get(change.key, [])
            current = next((e for e in reversed(rows_of) if e.effective_from <= change.effective_from and (
                e.effective_to is None or e.effective_to >= change.effective_from)), None)
            later = any(e.effective_from > change.effective_from for e in rows_of)
            if current is not None and current.value == change.value and (
                    current.effective_from == change.effective_from or not later):
                continue
            if current is not None and current.effective_from == change.effective_from:
                updated += 1
            else:
                created += 1
            written.append(change)
        self.errors.sort(key=lambda e: (e.row or 0, COLUMN_ORDER.get(e.column, -1)))
        summary = StandingSummary(rows=rows, created=created, updated=updated,
                                  unchanged=len(changes) - created - updated)
        return StandingPlan(errors=self.errors, summary=summary, changes=written)


def validate_standing(*, parsed: StandingRows) -> StandingPlan:
    """The dry run: every problem of every row, and what applying would change. Writes nothing."""
    return _Planner(parsed).plan()


def apply_standing(*, organization: Organization, parsed: StandingRows, acting_user: User | None) -> StandingPlan:
    """Checks again inside the transaction, then sets every changed value (in file order); with any
    problem nothing is written and StandingRejected carries the problems."""
    with transaction.atomic():
        plan = _Planner(parsed).plan()
        if plan.errors:
            raise StandingRejected(plan.errors, plan.summary)
        for change in plan.changes:
            standing_services.set_standing_parameter(
                organization=organization, acting_user=acting_user, name=change.name, value=change.value,
                effective_from=change.effective_from, person=change.person, department=change.department,
                reason="excel import")
    return plan
