"""Excel import of departments and people: read, check every row (dry run), then write all or nothing.

HR keeps the organisation chart and the roster in Excel with Chinese headers. The import reads an
.xlsx with a sheet "部门" (departments) and/or a sheet "人员" (people):

=============  ====================================================================================
部门 column    meaning
=============  ====================================================================================
部门编码        department code, required; the key (existing department → updated, new → created)
部门名称        name, required
上级部门编码    parent department code: in the same file or already in the organisation
部门类型        department type, matched against the organisation's DepartmentType code, then name
=============  ====================================================================================

=============  ====================================================================================
人员 column    meaning
=============  ====================================================================================
工号            employee number, required; the key
姓名            name, required
部门编码        department code, required: in the same file or already in the organisation
班组            team or shift code; must already exist and belong to that department (teams are
               not created by the import: they are few and HR sets them up on the page)
岗位/职级/薪档   position, level, salary band (text)
基本工资        base pay: exact Decimal with at most two places, never negative (numbers are read
               through ``Decimal(str(cell))`` so a float never leaks in)
入职日期        hire date: a date cell, or text 2024-03-01, 2024/3/1 or 2024年3月1日
离职日期        leave date, same formats, not before the hire date
直接上级工号     the manager's employee number, in the file or in the organisation
状态            在职 / 长期休假 / 离职 (or active / on_leave / left); blank means 在职
=============  ====================================================================================

Rules HR should know (worth repeating in the README):

* Headers are matched after removing whitespace; unknown columns (and sheets) are ignored; empty
  rows are skipped. The header is the first non-empty row, normally row 1; row numbers in errors
  are the ones Excel shows.
* A blank cell in a column that is present clears that field (blank 状态 means 在职); a column
  that is absent from the sheet leaves that field of existing rows untouched.
* The import never deletes or deactivates anything that is not in the file.
* Codes and employee numbers are text. A code typed into a number cell loses leading zeros in
  Excel itself (00123 → 123); the downloadable template formats those columns as text.

Flow: ``parse_workbook(file)`` → ``validate_import(organization=, parsed=)`` (the dry run: every
problem of every row, nothing written) → ``apply_import(organization=, parsed=, acting_user=)``
(validates again inside one transaction and writes everything, or raises ImportRejected and writes
nothing). Reading the organisation's existing rows costs one query per model and writing is bulk,
so the number of queries does not grow with the number of rows. Every created or changed row gets
a django-simple-history audit row with the reason "excel import" (a row created with a parent or
manager that is itself new in the file gets two: "+" on creation, "~" when that link is set).

Each problem is an ImportIssue: sheet, Excel row, Chinese column header, the cell as text, a stable
``code`` (required, too_long, duplicate, missing_column, duplicate_column, unknown_parent,
own_parent, cycle, unknown_type, unknown_department, unknown_team, team_mismatch, bad_decimal,
negative, bad_date, leave_before_hire, unknown_manager, own_manager, bad_status, no_sheets, empty)
and a translated ``message``. A file that cannot be read at all makes parse_workbook raise
ImportRejected with one issue coded too_large, not_xlsx or corrupt.

Rows that do not come from Excel (the demo loader, a future API) go through the same checks:

    rows = ImportRows.from_records(
        departments=[{"code": "D1", "name": "生产部"}, {"部门编码": "D2", "部门名称": "运行部", "上级部门编码": "D1"}],
        people=[{"employee_no": "E1", "name": "张三", "department": "D2", "base_pay": Decimal("4321.50")}],
    )
    plan = validate_import(organization=org, parsed=rows)

Keys are the Chinese headers or the field names of DEPARTMENT_COLUMNS / PEOPLE_COLUMNS (an
unknown key raises ValueError: that is a programming mistake, not an HR one); values may be text or
Python values (date, Decimal, int). Rows are numbered 2, 3, … as if they stood under a header row;
pass ``None`` for a sheet that is absent.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django_scopes import scope
from python_calamine import CalamineError, CalamineWorkbook
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from organizations.models import Department, DepartmentType, Organization, Person, Team, User
from organizations.tenancy import BULK_BATCH_SIZE

Cell = str | int | float | bool | Decimal | dt.date | dt.datetime | dt.time | dt.timedelta | None

CHANGE_REASON = "excel import"
DEPARTMENTS_SHEET = "部门"
PEOPLE_SHEET = "人员"
SHEET_ORDER = {"": 0, DEPARTMENTS_SHEET: 1, PEOPLE_SHEET: 2}

STATUS_BY_LABEL: dict[str, str] = {
    "在职": Person.Status.ACTIVE,
    "长期休假": Person.Status.ON_LEAVE,
    "离职": Person.Status.LEFT,
}
LABEL_BY_STATUS = {status: label for label, status in STATUS_BY_LABEL.items()}

# An xlsx is a zip; refuse one that unpacks to far more than the upload limit (a zip bomb) before
# calamine inflates it in memory.
MAX_UNPACKED_RATIO = 20
# What a damaged file makes zipfile or calamine raise (found by flipping bytes of a good file):
# all of them mean "cannot be read", none is a bug of ours.
UNREADABLE: tuple[type[Exception], ...] = (
    CalamineError, zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError, EOFError, ValueError, OSError,
)


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool = False
    max_length: int | None = None


def _max_length(model: type[Any], name: str) -> int:
    return int(model._meta.get_field(name).max_length)


DEPARTMENT_COLUMNS: tuple[Column, ...] = (
    Column("部门编码", "code", required=True, max_length=_max_length(Department, "code")),
    Column("部门名称", "name", required=True, max_length=_max_length(Department, "name")),
    Column("上级部门编码", "parent"),
    Column("部门类型", "department_type"),
)
PEOPLE_COLUMNS: tuple[Column, ...] = (
    Column("工号", "employee_no", required=True, max_length=_max_length(Person, "employee_no")),
    Column("姓名", "name", required=True, max_length=_max_length(Person, "name")),
    Column("部门编码", "department", required=True),
    Column("班组", "team"),
    Column("岗位", "position", max_length=_max_length(Person, "position")),
    Column("职级", "level", max_length=_max_length(Person, "level")),
    Column("薪档", "salary_band", max_length=_max_length(Person, "salary_band")),
    Column("基本工资", "base_pay"),
    Column("入职日期", "hire_date"),
    Column("离职日期", "leave_date"),
    Column("直接上级工号", "manager"),
    Column("状态", "status"),
)
COLUMNS_BY_SHEET: dict[str, tuple[Column, ...]] = {DEPARTMENTS_SHEET: DEPARTMENT_COLUMNS, PEOPLE_SHEET: PEOPLE_COLUMNS}
DEPARTMENT_COLUMN = {column.field: column for column in DEPARTMENT_COLUMNS}
PEOPLE_COLUMN = {column.field: column for column in PEOPLE_COLUMNS}


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ImportIssue:
    """One problem, placed where HR will look for it. ``code`` is stable for programs and tests;
    ``message`` is translated for people."""

    sheet: str  # "" for a problem with the whole file
    row: int | None  # the row number Excel shows (header = 1); None for the whole file
    column: str  # the Chinese header, "" when no column is concerned
    value: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet, "row": self.row, "column": self.column, "value": self.value,
            "code": self.code, "message": self.message,
        }


@dataclass(frozen=True)
class SourceRow:
    number: int  # the Excel row number
    values: Mapping[str, Cell]  # keyed by the Chinese header


@dataclass
class SheetRows:
    name: str
    columns: frozenset[str]  # the headers present in the sheet
    rows: list[SourceRow]
    header_row: int = 1


@dataclass
class ImportRows:
    """What the checks work on: the rows of each sheet (None = sheet absent) and reading problems."""

    departments: SheetRows | None = None
    people: SheetRows | None = None
    errors: list[ImportIssue] = field(default_factory=list)

    @classmethod
    def from_records(cls, *, departments: Sequence[Mapping[str, Any]] | None = None,
                     people: Sequence[Mapping[str, Any]] | None = None) -> ImportRows:
        return cls(
            departments=_sheet_from_records(DEPARTMENTS_SHEET, departments),
            people=_sheet_from_records(PEOPLE_SHEET, people),
        )


# parse_workbook returns the same structure the demo loader builds by hand.
ParsedWorkbook = ImportRows


@dataclass(frozen=True)
class ImportSummary:
    departments_created: int = 0
    departments_updated: int = 0
    departments_unchanged: int = 0
    people_created: int = 0
    people_updated: int = 0
    people_unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "departments_created": self.departments_created,
            "departments_updated": self.departments_updated,
            "departments_unchanged": self.departments_unchanged,
            "people_created": self.people_created,
            "people_updated": self.people_updated,
            "people_unchanged": self.people_unchanged,
        }


@dataclass
class _DepartmentRow:
    row: int
    code: str
    values: dict[str, Any]  # name: str, parent: code | None, department_type: DepartmentType | None
    existing: Department | None
    changed_fields: set[str] = field(default_factory=set)


@dataclass
class _PersonRow:
    row: int
    employee_no: str
    values: dict[str, Any]  # department / manager as codes, team as a Team, the rest as field values
    existing: Person | None
    changed_fields: set[str] = field(default_factory=set)


@dataclass
class _Existing:
    """The organisation's current rows, one query per model."""

    types: list[DepartmentType]
    departments: dict[str, Department]  # by code
    teams: dict[str, Team]  # by code
    team_by_id: dict[int, Team]
    people: dict[str, Person]  # by employee_no
    department_code_by_id: dict[int, str]
    employee_no_by_id: dict[int, str]


@dataclass
class ImportPlan:
    """The outcome of the dry run: every problem, and what applying would do."""

    errors: list[ImportIssue]
    summary: ImportSummary
    departments: list[_DepartmentRow] = field(default_factory=list, repr=False)
    people: list[_PersonRow] = field(default_factory=list, repr=False)
    existing: _Existing | None = field(default=None, repr=False)

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportResult:
    summary: ImportSummary


class ImportRejected(Exception):
    """The file cannot be read, or has problems: nothing was written."""

    def __init__(self, errors: list[ImportIssue], summary: ImportSummary | None = None) -> None:
        super().__init__("; ".join(error.message for error in errors[:3]))
        self.errors = errors
        self.summary = summary or ImportSummary()


# ------------------------------------------------------------------------------------------ reading


def parse_workbook(file: IO[bytes] | bytes, *, name: str = "") -> ParsedWorkbook:
    """Reads an uploaded .xlsx into rows. Raises ImportRejected when the file cannot be read at all
    (too large, not an xlsx, damaged); problems with headers are returned in ``.errors``."""
    limit: int = settings.IMPORT_MAX_BYTES
    name = name or str(getattr(file, "name", "") or "")
    data = read_limited(file, limit)
    if data is None:
        raise too_large(name, limit)
    check_xlsx_container(data, name, limit)
    grids: dict[str, list[list[Any]]] = {}
    try:
        with CalamineWorkbook.from_object(io.BytesIO(data)) as workbook:
            # Sheet names are matched like headers: "人员 " is the people sheet too.
            sheets = {normalise(sheet_name): sheet_name for sheet_name in workbook.sheet_names}
            for sheet in (DEPARTMENTS_SHEET, PEOPLE_SHEET):
                if sheet in sheets:
                    grids[sheet] = workbook.get_sheet_by_name(sheets[sheet]).to_python(skip_empty_area=False)
    except UNREADABLE:
        raise _file_rejected(name, "corrupt", _("The file could not be read; it may be damaged.")) from None
    parsed = ImportRows()
    if DEPARTMENTS_SHEET in grids:
        parsed.departments = _read_sheet(DEPARTMENTS_SHEET, grids[DEPARTMENTS_SHEET], parsed.errors)
    if PEOPLE_SHEET in grids:
        parsed.people = _read_sheet(PEOPLE_SHEET, grids[PEOPLE_SHEET], parsed.errors)
    return parsed


# --- reading an uploaded workbook safely: shared with appraisal.actuals (the actuals upload) -----


def read_limited(file: IO[bytes] | bytes, limit: int) -> bytes | None:
    """The file's bytes, or None when it is over the limit (read no further than that)."""
    if isinstance(file, bytes | bytearray):
        data = bytes(file)
    else:
        size = getattr(file, "size", None)  # an UploadedFile knows its size without being read
        if isinstance(size, int) and size > limit:
            return None
        if hasattr(file, "seek"):
            file.seek(0)
        data = file.read(limit + 1)
    return None if len(data) > limit else data


def too_large(name: str, limit: int) -> ImportRejected:
    return _file_rejected(name, "too_large", _("The file is larger than %(max)s.") % {"max": filesizeformat(limit)})


def check_xlsx_container(data: bytes, name: str, limit: int) -> None:
    not_xlsx = _(
        "The file is not an Excel workbook (.xlsx). In Excel, choose Save As and the type “Excel Workbook (*.xlsx)”."
    )
    if not data.startswith(b"PK\x03\x04"):
        # An .xls, a CSV, a password-protected workbook (an OLE container) or anything else.
        raise _file_rejected(name, "not_xlsx", not_xlsx)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except UNREADABLE:
        raise _file_rejected(name, "corrupt", _("The file could not be read; it may be damaged.")) from None
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise _file_rejected(name, "not_xlsx", not_xlsx)  # an .ods, a .docx, a plain zip …
    if sum(member.file_size for member in members) > MAX_UNPACKED_RATIO * limit:
        raise too_large(name, limit)


def _file_rejected(name: str, code: str, message: str) -> ImportRejected:
    return ImportRejected([ImportIssue(sheet="", row=None, column="", value=name, code=code, message=message)])


def _read_sheet(sheet: str, grid: list[list[Any]], errors: list[ImportIssue]) -> SheetRows:
    header_index = next((i for i, cells in enumerate(grid) if not blank_row(cells)), None)
    if header_index is None:
        return SheetRows(name=sheet, columns=frozenset(), rows=[])
    header_row = header_index + 1
    wanted = {column.header for column in COLUMNS_BY_SHEET[sheet]}
    positions: dict[str, int] = {}
    for position, cell in enumerate(grid[header_index]):
        header = normalise(cell)
        if header not in wanted:
            continue  # unknown columns are HR's own notes
        if header in positions:
            errors.append(ImportIssue(
                sheet=sheet, row=header_row, column=header, value=header, code="duplicate_column",
                message=_("The column “%(column)s” appears more than once.") % {"column": header},
            ))
            continue
        positions[header] = position
    rows = []
    for index in range(header_index + 1, len(grid)):
        cells = grid[index]
        if blank_row(cells):
            continue
        values = {header: cells[position] if position < len(cells) else None for header, position in positions.items()}
        if all(cell_text(value) == "" for value in values.values()):
            continue  # only unknown columns filled in: nothing for us
        rows.append(SourceRow(number=index + 1, values=values))
    return SheetRows(name=sheet, columns=frozenset(positions), rows=rows, header_row=header_row)


def _sheet_from_records(sheet: str, records: Sequence[Mapping[str, Any]] | None) -> SheetRows | None:
    if records is None:
        return None
    header_by_key = {}
    for column in COLUMNS_BY_SHEET[sheet]:
        header_by_key[column.header] = column.header
        header_by_key[column.field] = column.header
    rows: list[SourceRow] = []
    columns: set[str] = set()
    for number, record in enumerate(records, start=2):
        values: dict[str, Cell] = {}
        for key, value in record.items():
            if key not in header_by_key:
                raise ValueError(f"Unknown column {key!r} for sheet {sheet}")
            values[header_by_key[key]] = value
        columns.update(values)
        rows.append(SourceRow(number=number, values=values))
    return SheetRows(name=sheet, columns=frozenset(columns), rows=rows)


# ------------------------------------------------------------------------------------ cell values


def normalise(value: Any) -> str:
    # Headers and sheet names: all whitespace removed, including full-width and non-breaking spaces.
    return "".join(cell_text(value).split())


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float: an employee number 1001 arrives as 1001.0.
        if value.is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def blank_row(cells: Iterable[Any]) -> bool:
    return all(cell_text(cell) == "" for cell in cells)


class _BadValue(Exception):
    """A cell that cannot be read; always caught and turned into an ImportIssue."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


TWO_PLACES = Decimal("0.01")
_BASE_PAY_FIELD = Person._meta.get_field("base_pay")
# The column holds max_digits - decimal_places digits before the point (10 for 12, 2).
MAX_BASE_PAY = Decimal(10) ** (_BASE_PAY_FIELD.max_digits - _BASE_PAY_FIELD.decimal_places)


def parse_decimal(value: Cell) -> Decimal | None:
    """Money from a cell: exact, at most two places, not negative. Floats go through str() so the
    shortest decimal that round-trips is used (4321.5, not 4321.4999999999998)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise _BadValue("bad_decimal", _("Not a number."))
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise _BadValue("bad_decimal", _("Not a number.")) from None
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise _BadValue("bad_decimal", _("Not a number.")) from None
    else:
        raise _BadValue("bad_decimal", _("Not a number."))
    if not amount.is_finite():
        raise _BadValue("bad_decimal", _("Not a number."))
    if amount < 0:
        raise _BadValue("negative", _("Must not be negative."))
    # Size first: quantizing a huge number (1e400) would itself fail.
    if amount >= MAX_BASE_PAY:
        raise _BadValue("bad_decimal", _("The amount is too large."))
    if amount != amount.quantize(TWO_PLACES):
        raise _BadValue("bad_decimal", _("At most two decimal places."))
    return amount.quantize(TWO_PLACES)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
)


def parse_date(value: Cell) -> dt.date | None:
    """A date cell, or text 2024-03-01 / 2024/3/1 / 2024年3月1日. A bare number is refused: it
    could be an Excel serial number or a typo, and guessing would be wrong either way."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    if text == "":
        return None
    if isinstance(value, str):
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    return dt.date(int(match[1]), int(match[2]), int(match[3]))
                except ValueError:
                    break
    raise _BadValue("bad_date", _("Not a date; use a date cell or text like 2024-03-01, 2024/3/1 or 2024年3月1日."))


def parse_status(value: Cell) -> str:
    text = cell_text(value)
    if text == "":
        return Person.Status.ACTIVE
    if text in STATUS_BY_LABEL:
        return STATUS_BY_LABEL[text]
    if text.lower() in Person.Status.values:
        return text.lower()
    choices = "、".join(STATUS_BY_LABEL)
    raise _BadValue("bad_status", _("Unknown status; use one of: %(choices)s.") % {"choices": choices})


# ---------------------------------------------------------------------------------------- checking


def validate_import(*, organization: Organization, parsed: ImportRows) -> ImportPlan:
    """The dry run: every problem of every row, and the counts of what applying would do."""
    with scope(organization=organization):
        return _Planner(parsed, _load_existing(organization)).plan()


def _load_existing(organization: Organization) -> _Existing:
    # One query per model, whatever the size of the file or of the organisation.
    types = list(DepartmentType.objects.filter(organization=organization))
    departments = list(Department.objects.filter(organization=organization))
    teams = list(Team.objects.filter(organization=organization))
    people = list(Person.objects.filter(organization=organization))
    return _Existing(
        types=types,
        departments={d.code: d for d in departments},
        teams={t.code: t for t in teams},
        team_by_id={t.pk: t for t in teams},
        people={p.employee_no: p for p in people},
        department_code_by_id={d.pk: d.code for d in departments},
        employee_no_by_id={p.pk: p.employee_no for p in people},
    )


class _Planner:
    def __init__(self, parsed: ImportRows, existing: _Existing) -> None:
        self.parsed = parsed
        self.existing = existing
        self.errors: list[ImportIssue] = list(parsed.errors)
        self.bad_rows: set[tuple[str, int]] = set()

    def error(self, sheet: str, row: int | None, column: str, value: Any, code: str, message: str) -> None:
        self.errors.append(ImportIssue(sheet=sheet, row=row, column=column, value=cell_text(value), code=code,
                                       message=message))
        if row is not None:
            self.bad_rows.add((sheet, row))

    def plan(self) -> ImportPlan:
        departments, people = self.parsed.departments, self.parsed.people
        if departments is None and people is None:
            self.error("", None, "", "", "no_sheets",
                       _("The workbook needs a sheet named “%(departments)s” or “%(people)s”.")
                       % {"departments": DEPARTMENTS_SHEET, "people": PEOPLE_SHEET})
        elif not (departments and departments.rows) and not (people and people.rows):
            self.error("", None, "", "", "empty", _("There are no rows to import."))
        department_rows = self._departments(departments) if departments is not None else []
        person_rows = self._people(people, departments) if people is not None else []

        # A row with any problem is not counted: the summary says what the good rows would do.
        department_rows = [r for r in department_rows if (DEPARTMENTS_SHEET, r.row) not in self.bad_rows]
        person_rows = [r for r in person_rows if (PEOPLE_SHEET, r.row) not in self.bad_rows]
        summary = ImportSummary(
            departments_created=sum(1 for r in department_rows if r.existing is None),
            departments_updated=sum(1 for r in department_rows if r.existing is not None and r.changed_fields),
            departments_unchanged=sum(1 for r in department_rows if r.existing is not None and not r.changed_fields),
            people_created=sum(1 for r in person_rows if r.existing is None),
            people_updated=sum(1 for r in person_rows if r.existing is not None and r.changed_fields),
            people_unchanged=sum(1 for r in person_rows if r.existing is not None and not r.changed_fields),
        )
        # As HR reads the sheet: by sheet, then row, then column from left to right.
        order = {(sheet, c.header): i for sheet, columns in COLUMNS_BY_SHEET.items() for i, c in enumerate(columns)}
        self.errors.sort(key=lambda e: (SHEET_ORDER.get(e.sheet, 9), e.row or 0, order.get((e.sheet, e.column), 99)))
        return ImportPlan(errors=self.errors, summary=summary, departments=department_rows, people=person_rows,
                          existing=self.existing)

    def _missing_columns(self, sheet: SheetRows) -> bool:
        missing = False
        for column in COLUMNS_BY_SHEET[sheet.name]:
            if column.required and column.header not in sheet.columns and (sheet.rows or sheet.columns):
                missing = True
                self.error(sheet.name, sheet.header_row, column.header, "", "missing_column",
                           _("The required column “%(column)s” is missing from sheet “%(sheet)s”.")
                           % {"column": column.header, "sheet": sheet.name})
        return missing

    def _required_text(self, sheet: str, row: SourceRow, column: Column) -> str:
        value = row.values.get(column.header)
        text = cell_text(value)
        if text == "" and column.required:
            self.error(sheet, row.number, column.header, value, "required", _("A value is required."))
        elif column.max_length is not None and len(text) > column.max_length:
            self.error(sheet, row.number, column.header, value, "too_long",
                       _("At most %(max)s characters.") % {"max": column.max_length})
            return ""
        return text

    # ------------------------------------------------------------------------------ departments

    def _departments(self, sheet: SheetRows) -> list[_DepartmentRow]:
        if self._missing_columns(sheet):
            return []  # without its key columns the sheet cannot be read row by row
        name_col, code_col = DEPARTMENT_COLUMN["name"], DEPARTMENT_COLUMN["code"]
        parent_h, type_h = DEPARTMENT_COLUMN["parent"].header, DEPARTMENT_COLUMN["department_type"].header
        first_row: dict[str, int] = {}
        planned: list[_DepartmentRow] = []
        parent_codes: dict[str, str | None] = {}  # for the loop check, file rows only
        parent_rows: dict[str, _DepartmentRow] = {}
        for row in sheet.rows:
            code = self._required_text(sheet.name, row, code_col)
            name = self._required_text(sheet.name, row, name_col)
            if code and code in first_row:
                self.error(sheet.name, row.number, code_col.header, code, "duplicate",
                           _("Department code %(code)s also appears on row %(row)s.")
                           % {"code": code, "row": first_row[code]})
                continue
            if code:
                first_row[code] = row.number
            values: dict[str, Any] = {"name": name}
            if parent_h in sheet.columns:
                values["parent"] = cell_text(row.values.get(parent_h)) or None
            if type_h in sheet.columns:
                values["department_type"] = self._department_type(sheet.name, row, type_h)
            if code:
                department_row = _DepartmentRow(row=row.number, code=code, values=values,
                                                existing=self.existing.departments.get(code))
                planned.append(department_row)
                if "parent" in values:
                    parent_codes[code] = values["parent"]
                    parent_rows[code] = department_row

        known = set(self.existing.departments) | set(first_row)
        for department_row in planned:
            parent = department_row.values.get("parent")
            if parent is None:
                continue
            if parent == department_row.code:
                self.error(sheet.name, department_row.row, parent_h, parent, "own_parent",
                           _("A department cannot be its own parent."))
            elif parent not in known:
                self.error(sheet.name, department_row.row, parent_h, parent, "unknown_parent",
                           _("No department with code %(code)s in this file or in the organization.")
                           % {"code": parent})
        for code, loop in self._parent_loops(parent_codes).items():
            self.error(sheet.name, parent_rows[code].row, parent_h, parent_codes[code], "cycle",
                       _("The parent departments form a loop: %(loop)s.") % {"loop": " → ".join(loop)})
        for department_row in planned:
            department_row.changed_fields = self._department_changes(department_row)
        return planned

    def _department_type(self, sheet: str, row: SourceRow, header: str) -> DepartmentType | None:
        value = row.values.get(header)
        text = cell_text(value)
        if text == "":
            return None
        for department_type in self.existing.types:
            if department_type.code == text:
                return department_type
        for department_type in self.existing.types:
            if department_type.name == text:
                return department_type
        self.error(sheet, row.number, header, value, "unknown_type",
                   _("No department type with this code or name; the organization has: %(types)s.")
                   % {"types": "、".join(t.name for t in self.existing.types)})
        return None

    def _parent_loops(self, file_parents: dict[str, str | None]) -> dict[str, list[str]]:
        """Departments of the file that sit on a loop, once the file's parents replace the current
        ones, each with the loop to show. Self-parents are reported on their own."""
        parent_of: dict[str, str | None] = {
            code: self.existing.department_code_by_id.get(d.parent_id) if d.parent_id else None
            for code, d in self.existing.departments.items()
        }
        parent_of.update(file_parents)
        on_loop: dict[str, list[str]] = {}
        done: set[str] = set()
        for start in file_parents:
            path: list[str] = []
            index: dict[str, int] = {}
            node: str | None = start
            while node is not None and node not in done and node not in index:
                index[node] = len(path)
                path.append(node)
                node = parent_of.get(node)
            if node is not None and node in index:
                loop = path[index[node]:]
                if len(loop) > 1:
                    for code in loop:
                        if code in file_parents:
                            at = loop.index(code)
                            on_loop[code] = [*loop[at:], *loop[:at], code]
            done.update(path)
        return on_loop

    def _department_changes(self, department_row: _DepartmentRow) -> set[str]:
        current = department_row.existing
        if current is None:
            return set()
        changed = set()
        values = department_row.values
        if values["name"] != current.name:
            changed.add("name")
        if "parent" in values:
            current_parent = self.existing.department_code_by_id.get(current.parent_id) if current.parent_id else None
            if values["parent"] != current_parent:
                changed.add("parent")
        if "department_type" in values:
            wanted = values["department_type"].pk if values["department_type"] else None
            if wanted != current.department_type_id:
                changed.add("department_type")
        return changed

    # ----------------------------------------------------------------------------------- people

    def _people(self, sheet: SheetRows, departments: SheetRows | None) -> list[_PersonRow]:
        if self._missing_columns(sheet):
            return []
        cols = PEOPLE_COLUMN
        code_h = DEPARTMENT_COLUMN["code"].header
        file_departments: set[str] = set()
        # A 部门 sheet without its code column was reported once; do not flag every person as well.
        departments_unreadable = departments is not None and code_h not in departments.columns
        if departments is not None:
            file_departments = {cell_text(r.values.get(code_h)) for r in departments.rows} - {""}
        known_departments = set(self.existing.departments) | file_departments
        file_people = {cell_text(r.values.get(cols["employee_no"].header)) for r in sheet.rows} - {""}
        known_people = set(self.existing.people) | file_people

        first_row: dict[str, int] = {}
        planned: list[_PersonRow] = []
        for row in sheet.rows:
            employee_no = self._required_text(sheet.name, row, cols["employee_no"])
            name = self._required_text(sheet.name, row, cols["name"])
            department = self._required_text(sheet.name, row, cols["department"])
            if employee_no and employee_no in first_row:
                self.error(sheet.name, row.number, cols["employee_no"].header, employee_no, "duplicate",
                           _("Employee number %(code)s also appears on row %(row)s.")
                           % {"code": employee_no, "row": first_row[employee_no]})
                continue
            if employee_no:
                first_row[employee_no] = row.number
            if department and department not in known_departments and not departments_unreadable:
                self.error(sheet.name, row.number, cols["department"].header, department, "unknown_department",
                           _("No department with code %(code)s in this file or in the organization.")
                           % {"code": department})
            existing = self.existing.people.get(employee_no) if employee_no else None
            values: dict[str, Any] = {"name": name, "department": department}
            for key in ("position", "level", "salary_band"):
                if cols[key].header in sheet.columns:
                    values[key] = self._required_text(sheet.name, row, cols[key])
            self._cell(sheet, row, cols["base_pay"], values, parse_decimal)
            self._cell(sheet, row, cols["hire_date"], values, parse_date)
            self._cell(sheet, row, cols["leave_date"], values, parse_date)
            self._cell(sheet, row, cols["status"], values, parse_status)
            self._team(sheet, row, cols["team"], values, existing)
            self._manager(sheet, row, cols["manager"], values, employee_no, known_people)
            self._leave_after_hire(sheet, row, cols["leave_date"], values, existing)
            if employee_no:
                person_row = _PersonRow(row=row.number, employee_no=employee_no, values=values, existing=existing)
                person_row.changed_fields = self._person_changes(person_row)
                planned.append(person_row)
        return planned

    def _cell(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any], parse: Any) -> None:
        if column.header not in sheet.columns:
            return
        value = row.values.get(column.header)
        try:
            values[column.field] = parse(value)
        except _BadValue as bad:
            self.error(sheet.name, row.number, column.header, value, bad.code, bad.message)

    def _team(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any],
              existing: Person | None) -> None:
        department = values["department"]
        if column.header not in sheet.columns:
            # Team left as it is: it must still belong to the (possibly new) department.
            if existing is not None and existing.team_id is not None and department:
                team = self.existing.team_by_id.get(existing.team_id)
                if team is not None and self.existing.department_code_by_id.get(team.department_id) != department:
                    self.error(sheet.name, row.number, PEOPLE_COLUMN["department"].header, department, "team_mismatch",
                               _("The person's team %(team)s belongs to another department; add a “%(column)s” "
                                 "column to change or clear it.") % {"team": team.code, "column": column.header})
            return
        value = row.values.get(column.header)
        code = cell_text(value)
        if code == "":
            values["team"] = None
            return
        team = self.existing.teams.get(code)
        if team is None:
            self.error(sheet.name, row.number, column.header, value, "unknown_team",
                       _("No team or shift with code %(code)s in the organization; the import does not create teams.")
                       % {"code": code})
            return
        team_department = self.existing.department_code_by_id.get(team.department_id, "")
        if department and team_department != department:
            self.error(sheet.name, row.number, column.header, value, "team_mismatch",
                       _("Team %(team)s belongs to department %(department)s, not to %(expected)s.")
                       % {"team": code, "department": team_department, "expected": department})
            return
        values["team"] = team

    def _manager(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any],
                 employee_no: str, known_people: set[str]) -> None:
        if column.header not in sheet.columns:
            return
        value = row.values.get(column.header)
        manager = cell_text(value)
        if manager == "":
            values["manager"] = None
        elif manager == employee_no:
            self.error(sheet.name, row.number, column.header, value, "own_manager",
                       _("A person cannot be their own manager."))
        elif manager not in known_people:
            self.error(sheet.name, row.number, column.header, value, "unknown_manager",
                       _("No person with employee number %(code)s in this file or in the organization.")
                       % {"code": manager})
        else:
            values["manager"] = manager

    def _leave_after_hire(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any],
                          existing: Person | None) -> None:
        # Compare what the row will hold after the import, taking absent columns from the database.
        hire = values["hire_date"] if "hire_date" in values else getattr(existing, "hire_date", None)
        leave = values["leave_date"] if "leave_date" in values else getattr(existing, "leave_date", None)
        if hire and leave and leave < hire:
            # Point at the column the sheet has: a new hire date can clash with a stored leave date.
            at = column if column.header in sheet.columns else PEOPLE_COLUMN["hire_date"]
            self.error(sheet.name, row.number, at.header, row.values.get(at.header), "leave_before_hire",
                       _("The leave date is before the hire date (%(hire_date)s).") % {"hire_date": hire.isoformat()})

    def _person_changes(self, person_row: _PersonRow) -> set[str]:
        current = person_row.existing
        if current is None:
            return set()
        changed = set()
        for key, wanted in person_row.values.items():
            if key == "department":
                now: Any = self.existing.department_code_by_id.get(current.department_id)
            elif key == "manager":
                now = self.existing.employee_no_by_id.get(current.manager_id) if current.manager_id else None
            elif key == "team":
                now, wanted = current.team_id, wanted.pk if wanted else None
            else:
                now = getattr(current, key)
            if wanted != now:
                changed.add(key)
        return changed


# ----------------------------------------------------------------------------------------- writing


def apply_import(*, organization: Organization, parsed: ImportRows, acting_user: User | None) -> ImportResult:
    """Checks again, inside the transaction, then writes everything; with any problem nothing is
    written and ImportRejected carries the problems."""
    with scope(organization=organization), transaction.atomic():
        # Two imports into one organisation at once would race on the unique codes: take turns.
        # (A no-op on SQLite, which serialises writers anyway.)
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk", flat=True))
        plan = _Planner(parsed, _load_existing(organization)).plan()
        if plan.errors:
            raise ImportRejected(plan.errors, plan.summary)
        assert plan.existing is not None
        _write(organization, plan, plan.existing, acting_user)
    return ImportResult(summary=plan.summary)


def _write(organization: Organization, plan: ImportPlan, existing: _Existing, acting_user: User | None) -> None:
    audit: dict[str, Any] = {"default_user": acting_user, "default_change_reason": CHANGE_REASON,
                             "batch_size": BULK_BATCH_SIZE}
    departments = _write_departments(organization, plan.departments, existing, audit)
    _write_people(organization, plan.people, existing, departments, audit)


def _write_departments(organization: Organization, rows: list[_DepartmentRow], existing: _Existing,
                       audit: dict[str, Any]) -> dict[str, Department]:
    """Creates the new departments with the parents that already exist, then points the others at
    parents created in this same pass (their ids exist only now). Returns all departments by code."""
    departments = dict(existing.departments)
    new_departments = [
        Department(
            organization=organization, code=row.code, name=row.values["name"],
            parent=departments.get(row.values.get("parent") or ""), department_type=row.values.get("department_type"),
        )
        for row in rows if row.existing is None
    ]
    if new_departments:
        departments.update((d.code, d) for d in bulk_create_with_history(new_departments, Department, **audit))

    changed: list[Department] = []
    fields: set[str] = set()
    for row in rows:
        if row.existing is None:
            department = departments[row.code]
            wanted_parent = row.values.get("parent")
            if wanted_parent and department.parent_id is None:
                department.parent = departments[wanted_parent]
                changed.append(department)
                fields.add("parent")
        elif row.changed_fields:
            for name in row.changed_fields:
                value = row.values[name]
                setattr(row.existing, name, departments[value] if name == "parent" and value else value)
            changed.append(row.existing)
            fields |= row.changed_fields
    if changed:
        bulk_update_with_history(changed, Department, sorted(fields), **audit)
    return departments


def _write_people(organization: Organization, rows: list[_PersonRow], existing: _Existing,
                  departments: dict[str, Department], audit: dict[str, Any]) -> None:
    """The same two passes as for departments, for managers created in this file."""
    people = dict(existing.people)
    new_people = [
        Person(
            organization=organization, employee_no=row.employee_no, name=row.values["name"],
            department=departments[row.values["department"]], team=row.values.get("team"),
            position=row.values.get("position", ""), level=row.values.get("level", ""),
            salary_band=row.values.get("salary_band", ""), base_pay=row.values.get("base_pay"),
            hire_date=row.values.get("hire_date"), leave_date=row.values.get("leave_date"),
            manager=people.get(row.values.get("manager") or ""),
            status=row.values.get("status", Person.Status.ACTIVE),
        )
        for row in rows if row.existing is None
    ]
    if new_people:
        people.update((p.employee_no, p) for p in bulk_create_with_history(new_people, Person, **audit))

    changed: list[Person] = []
    fields: set[str] = set()
    for row in rows:
        if row.existing is None:
            person = people[row.employee_no]
            wanted_manager = row.values.get("manager")
            if wanted_manager and person.manager_id is None:
                person.manager = people[wanted_manager]
                changed.append(person)
                fields.add("manager")
        elif row.changed_fields:
            for name in row.changed_fields:
                value = row.values[name]
                if name == "department":
                    value = departments[value]
                elif name == "manager":
                    value = people[value] if value else None
                setattr(row.existing, name, value)
            changed.append(row.existing)
            fields |= row.changed_fields
    if changed:
        bulk_update_with_history(changed, Person, sorted(fields), **audit)


# ---------------------------------------------------------------------------------------- template

TEMPLATE_FILENAME = "人员导入模板.xlsx"
TEMPLATE_ASCII_FILENAME = "import-template.xlsx"
TEMPLATE_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def build_template(*, organization: Organization) -> bytes:
    """The workbook HR fills in: both sheets, bold headers, one example row each, pick lists for
    状态 and 部门类型, code columns formatted as text. The example rows import as they stand."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    with scope(organization=organization):
        types = list(DepartmentType.objects.filter(organization=organization))

    workbook = Workbook()
    departments = workbook.active
    assert departments is not None
    departments.title = DEPARTMENTS_SHEET
    people = workbook.create_sheet(PEOPLE_SHEET)
    # The type names live on a hidden sheet: a list typed into the validation itself is limited to
    # 255 characters and breaks on commas in names.
    lists = workbook.create_sheet("选项")
    lists.sheet_state = "hidden"
    for i, department_type in enumerate(types, start=1):
        lists.cell(row=i, column=1, value=department_type.name)

    example_font = Font(italic=True, color="808080")
    first_type = types[0].name if types else ""
    department_example: list[Any] = ["D001", "示例部门", "", first_type]
    person_example: list[Any] = [
        "E0001", "张三", "D001", "", "工程师", "5", "B2", Decimal("4321.50"), dt.date(2024, 3, 1), None, "", "在职",
    ]
    widths = {"部门名称": 20, "上级部门编码": 14, "部门类型": 14, "直接上级工号": 14, "入职日期": 13, "离职日期": 13}
    text_headers = {"部门编码", "上级部门编码", "工号", "班组", "直接上级工号", "职级", "薪档"}
    for sheet, columns, example in (
        (departments, DEPARTMENT_COLUMNS, department_example),
        (people, PEOPLE_COLUMNS, person_example),
    ):
        for index, (column, value) in enumerate(zip(columns, example, strict=True), start=1):
            letter = get_column_letter(index)
            header = sheet.cell(row=1, column=index, value=column.header)
            header.font = Font(bold=True)
            cell = sheet.cell(row=2, column=index, value=value)
            cell.font = example_font
            if column.header in text_headers:
                cell.number_format = "@"
                # Whole column as text, so 00123 keeps its zeros when HR types it in.
                sheet.column_dimensions[letter].number_format = "@"
            elif column.field == "base_pay":
                cell.number_format = "0.00"
            elif column.field in ("hire_date", "leave_date"):
                cell.number_format = "yyyy-mm-dd"
            sheet.column_dimensions[letter].width = widths.get(column.header, 12)
        sheet.freeze_panes = "A2"

    status_letter = get_column_letter(next(i for i, c in enumerate(PEOPLE_COLUMNS, 1) if c.field == "status"))
    status_list = DataValidation(type="list", formula1='"' + ",".join(STATUS_BY_LABEL) + '"', allow_blank=True)
    status_list.add(f"{status_letter}2:{status_letter}10000")
    people.add_data_validation(status_list)
    if types:
        type_list = DataValidation(type="list", formula1=f"'选项'!$A$1:$A${len(types)}", allow_blank=True)
        type_list.add("D2:D10000")
        departments.add_data_validation(type_list)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
