"""Reading uploaded Excel workbooks: safely, into rows keyed by header, with problems HR can find.

Shared by every upload (the organisation import, the actuals upload). What is generic lives here:

* :func:`read_workbook` reads the bytes of an upload no further than a size limit, checks that it
  is an .xlsx container that does not unpack to far more than the limit (a zip bomb), and hands
  back the grids of the sheets asked for (python-calamine). A file that cannot be read at all
  raises :class:`WorkbookRejected` with one :class:`ImportIssue` coded ``too_large``, ``not_xlsx``
  or ``corrupt``; the caller turns it into its own "nothing was written" exception.
* :func:`read_sheet` finds the header row (the first non-empty one), keeps the columns asked for
  (matched after removing whitespace; unknown columns are HR's own notes), reports a column that
  appears twice, and skips empty rows. Row numbers are the ones Excel shows.
* :func:`cell_text`, :func:`parse_decimal` and :func:`parse_date` read one cell; a cell that cannot
  be read raises :class:`BadValue`, which the caller turns into an ImportIssue at that cell.

Nothing here knows about people, departments or periods (limits derived from a model's fields are
passed in by the app that owns the model).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

__all__ = [
    "MAX_UNPACKED_RATIO",
    "TWO_PLACES",
    "UNREADABLE",
    "BadValue",
    "Cell",
    "Grid",
    "ImportIssue",
    "SheetRows",
    "SourceRow",
    "WorkbookRejected",
    "blank_row",
    "cell_text",
    "check_xlsx_container",
    "corrupt",
    "normalise",
    "parse_date",
    "parse_decimal",
    "read_limited",
    "read_sheet",
    "read_workbook",
    "too_large",
]

Cell = str | int | float | bool | Decimal | dt.date | dt.datetime | dt.time | dt.timedelta | None
# A sheet as calamine gives it: rows of cells, empty area included so row numbers stay Excel's.
Grid = list[list[Any]]

# An xlsx is a zip; refuse one that unpacks to far more than the upload limit (a zip bomb) before
# calamine inflates it in memory.
MAX_UNPACKED_RATIO = 20
# What a damaged file makes zipfile or calamine raise (found by flipping bytes of a good file):
# all of them mean "cannot be read", none is a bug of ours.
UNREADABLE: tuple[type[Exception], ...] = (
    CalamineError, zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError, EOFError, ValueError, OSError,
)
TWO_PLACES = Decimal("0.01")


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


class WorkbookRejected(Exception):
    """The file cannot be read, or has problems: nothing was written. Each upload raises its own
    subclass (with its own summary); the readers here raise this one."""

    def __init__(self, errors: list[ImportIssue]) -> None:
        super().__init__("; ".join(error.message for error in errors[:3]))
        self.errors = errors


class BadValue(Exception):
    """A cell that cannot be read; always caught and turned into an ImportIssue."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------------------ reading the file


def read_workbook(file: IO[bytes] | bytes, *, sheets: Iterable[str], limit: int, name: str = "") -> dict[str, Grid]:
    """The grids of those of ``sheets`` the workbook has, by the wanted name. Sheet names are
    matched like headers: "人员 " is the sheet "人员" too. Raises WorkbookRejected when the file
    cannot be read at all (over ``limit`` bytes, not an xlsx, damaged)."""
    name = name or str(getattr(file, "name", "") or "")
    data = read_limited(file, limit)
    if data is None:
        raise too_large(name, limit)
    check_xlsx_container(data, name, limit)
    grids: dict[str, Grid] = {}
    try:
        with CalamineWorkbook.from_object(io.BytesIO(data)) as workbook:
            present = {normalise(sheet_name): sheet_name for sheet_name in workbook.sheet_names}
            for sheet in sheets:
                if sheet in present:
                    grids[sheet] = workbook.get_sheet_by_name(present[sheet]).to_python(skip_empty_area=False)
    except UNREADABLE:
        raise corrupt(name) from None
    return grids


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


def too_large(name: str, limit: int) -> WorkbookRejected:
    return _rejected(name, "too_large", _("The file is larger than %(max)s.") % {"max": filesizeformat(limit)})


def corrupt(name: str) -> WorkbookRejected:
    return _rejected(name, "corrupt", _("The file could not be read; it may be damaged."))


def check_xlsx_container(data: bytes, name: str, limit: int) -> None:
    not_xlsx = _(
        "The file is not an Excel workbook (.xlsx). In Excel, choose Save As and the type “Excel Workbook (*.xlsx)”."
    )
    if not data.startswith(b"PK\x03\x04"):
        # An .xls, a CSV, a password-protected workbook (an OLE container) or anything else.
        raise _rejected(name, "not_xlsx", not_xlsx)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except UNREADABLE:
        raise corrupt(name) from None
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise _rejected(name, "not_xlsx", not_xlsx)  # an .ods, a .docx, a plain zip …
    if sum(member.file_size for member in members) > MAX_UNPACKED_RATIO * limit:
        raise too_large(name, limit)


def _rejected(name: str, code: str, message: str) -> WorkbookRejected:
    return WorkbookRejected([ImportIssue(sheet="", row=None, column="", value=name, code=code, message=message)])


# ----------------------------------------------------------------------------- reading a sheet


def read_sheet(sheet: str, grid: Grid, wanted: Collection[str], errors: list[ImportIssue]) -> SheetRows:
    """The rows of ``grid`` under its header row, keyed by the ``wanted`` headers it has; a header
    that appears twice is appended to ``errors``."""
    header_index = next((i for i, cells in enumerate(grid) if not blank_row(cells)), None)
    if header_index is None:
        return SheetRows(name=sheet, columns=frozenset(), rows=[])
    header_row = header_index + 1
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


def parse_decimal(value: Cell, *, maximum: Decimal) -> Decimal | None:
    """Money from a cell: exact, at most two places, not negative, below ``maximum`` (what the
    database column holds). Floats go through str() so the shortest decimal that round-trips is
    used (4321.5, not 4321.4999999999998)."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise BadValue("bad_decimal", _("Not a number."))
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float):
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise BadValue("bad_decimal", _("Not a number.")) from None
    elif isinstance(value, str):
        # Thousands separators, ASCII or full-width, are HR's formatting, not part of the number.
        text = value.strip().replace(",", "").replace("，", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise BadValue("bad_decimal", _("Not a number.")) from None
    else:
        raise BadValue("bad_decimal", _("Not a number."))
    if not amount.is_finite():
        raise BadValue("bad_decimal", _("Not a number."))
    if amount < 0:
        raise BadValue("negative", _("Must not be negative."))
    # Size first: quantizing a huge number (1e400) would itself fail.
    if amount >= maximum:
        raise BadValue("bad_decimal", _("The amount is too large."))
    if amount != amount.quantize(TWO_PLACES):
        raise BadValue("bad_decimal", _("At most two decimal places."))
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
    raise BadValue("bad_date", _("Not a date; use a date cell or text like 2024-03-01, 2024/3/1 or 2024年3月1日."))
