"""Reading the organisation import: its two sheets and their columns, from a workbook (.xlsx, .xls
or .ods) or from records.

The generic parts (reading a workbook safely, headers, cells) are core.excel's; what is here knows
the sheets 部门 and 人员 and the Person and Department fields they fill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from core.excel import (
    BadValue,
    Cell,
    ImportIssue,
    SheetRows,
    SourceRow,
    WorkbookRejected,
    cell_text,
    parse_decimal,
    read_sheet,
    read_workbook,
)
from organizations.models import Department, Person

DEPARTMENTS_SHEET = "部门"
PEOPLE_SHEET = "人员"
SHEET_ORDER = {"": 0, DEPARTMENTS_SHEET: 1, PEOPLE_SHEET: 2}

STATUS_BY_LABEL: dict[str, str] = {
    "在职": Person.Status.ACTIVE,
    "长期休假": Person.Status.ON_LEAVE,
    "离职": Person.Status.LEFT,
}
LABEL_BY_STATUS = {status: label for label, status in STATUS_BY_LABEL.items()}


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


class ImportRejected(WorkbookRejected):
    """The file cannot be read, or has problems: nothing was written."""

    def __init__(self, errors: list[ImportIssue], summary: ImportSummary | None = None) -> None:
        super().__init__(errors)
        self.summary = summary or ImportSummary()


# ------------------------------------------------------------------------------------------ reading


def parse_workbook(file: IO[bytes] | bytes, *, name: str = "") -> ParsedWorkbook:
    """Reads an uploaded workbook (.xlsx, .xls or .ods) into rows. Raises ImportRejected when the file
    cannot be read at all (too large, not a workbook, damaged); problems with headers are returned in ``.errors``."""
    limit: int = settings.IMPORT_MAX_BYTES
    try:
        grids = read_workbook(file, sheets=(DEPARTMENTS_SHEET, PEOPLE_SHEET), limit=limit, name=name)
    except WorkbookRejected as rejected:
        raise ImportRejected(rejected.errors) from None
    parsed = ImportRows()
    if DEPARTMENTS_SHEET in grids:
        parsed.departments = _read_sheet(DEPARTMENTS_SHEET, grids[DEPARTMENTS_SHEET], parsed.errors)
    if PEOPLE_SHEET in grids:
        parsed.people = _read_sheet(PEOPLE_SHEET, grids[PEOPLE_SHEET], parsed.errors)
    return parsed


def _read_sheet(sheet: str, grid: list[list[Any]], errors: list[ImportIssue]) -> SheetRows:
    # In the sheet's order: a header row with none of them names them so.
    return read_sheet(sheet, grid, {column.header: column for column in COLUMNS_BY_SHEET[sheet]}, errors)


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

_BASE_PAY_FIELD = Person._meta.get_field("base_pay")
# The column holds max_digits - decimal_places digits before the point (10 for 12, 2).
MAX_BASE_PAY = Decimal(10) ** (_BASE_PAY_FIELD.max_digits - _BASE_PAY_FIELD.decimal_places)


def parse_base_pay(value: Cell) -> Decimal | None:
    """基本工资: money (core.excel.parse_decimal) that fits Person.base_pay."""
    return parse_decimal(value, maximum=MAX_BASE_PAY)


def parse_status(value: Cell) -> str:
    text = cell_text(value)
    if text == "":
        return Person.Status.ACTIVE
    if text in STATUS_BY_LABEL:
        return STATUS_BY_LABEL[text]
    if text.lower() in Person.Status.values:
        return text.lower()
    choices = "、".join(STATUS_BY_LABEL)
    raise BadValue("bad_status", _("Unknown status; use one of: %(choices)s.") % {"choices": choices})
