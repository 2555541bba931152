"""Reading uploaded Excel workbooks: safely, into rows keyed by header, with problems HR can find.

Shared by every upload (the organisation import, the actuals upload). What is generic lives here:

* :func:`read_workbook` reads the bytes of an upload (.xlsx, .xls or .ods: whatever a clerk's
  spreadsheet program saves) no further than a size limit, checks the container against
  :class:`WorkbookLimits` before anything parses it (core.xlsx_container for the zips .xlsx and
  .ods: zip bombs, sheets that would fill memory; core.xlsx_biff for the .xls), and hands back the
  grids of the sheets asked for (python-calamine). A file that cannot be read at all raises
  :class:`WorkbookRejected` with one :class:`ImportIssue` coded ``too_large``, ``not_xlsx``,
  ``corrupt``, ``too_many_members``, ``too_large_unpacked`` or ``too_many_cells``; the caller
  turns it into its own "nothing was written" exception.
* :func:`read_sheet` finds the header row (the first non-empty one), keeps the columns asked for
  (matched after removing whitespace; unknown columns are HR's own notes), reports a column that
  appears twice and a header row in which no column is one the upload reads (headers garbled by a
  CSV round trip: named, with the expected ones), and skips empty rows. Row numbers are Excel's.
* :class:`Identifiers` reads an identifier cell (工号, 部门编码 …): one that arrived as a number
  (LibreOffice turns 00104 into 104) is accepted only when it names a known identifier as it
  stands, else refused as ``number_identifier`` with its row and column, never changed.
* :func:`cell_text`, :func:`parse_decimal`, :func:`decimal_from_float` and :func:`parse_date` read
  one cell; a cell that cannot be read raises :class:`BadValue`, which the caller turns into an
  ImportIssue at that cell.

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

from core.numbers import to_decimal
from core.xlsx_biff import OLE_MAGIC, NotAWorkbook, check_xls
from core.xlsx_container import ContainerRefused, WorkbookLimits, check_container, check_ods, is_ods

__all__ = [
    "EXCEL_SIGNIFICANT_DIGITS",
    "TWO_PLACES",
    "UNREADABLE",
    "BadValue",
    "Cell",
    "Grid",
    "Identifiers",
    "ImportIssue",
    "SheetRows",
    "SourceRow",
    "WorkbookLimits",
    "WorkbookRejected",
    "blank_row",
    "cell_text",
    "check_xlsx_container",
    "corrupt",
    "decimal_from_float",
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

# What a damaged file makes zipfile or calamine raise (found by flipping bytes of a good file):
# all of them mean "cannot be read", none is a bug of ours.
UNREADABLE: tuple[type[Exception], ...] = (
    CalamineError, zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError, EOFError, ValueError, OSError,
)
TWO_PLACES = Decimal("0.01")
# Excel keeps 15 significant digits of what is typed; a float that needs more to round-trip was
# computed (0.1 + 0.2 = 0.30000000000000004), not typed. See decimal_from_float.
EXCEL_SIGNIFICANT_DIGITS = 15


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
    check_xlsx_container(data, name)
    grids: dict[str, Grid] = {}
    try:
        with CalamineWorkbook.from_object(io.BytesIO(data)) as workbook:
            present = {normalise(sheet_name): sheet_name for sheet_name in workbook.sheet_names}
            for sheet in sheets:
                if sheet in present:
                    grids[sheet] = workbook.get_sheet_by_name(present[sheet]).to_python(skip_empty_area=False)
    except UNREADABLE:
        raise corrupt(name) from None
    except BaseException as error:
        # calamine's .xls reader can panic on a damaged file (a slice past the end of a record);
        # pyo3 raises that as PanicException, a BaseException: the file cannot be read, nothing more.
        if type(error).__name__ == "PanicException":
            raise corrupt(name) from None
        raise
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


def check_xlsx_container(data: bytes, name: str, limits: WorkbookLimits | None = None) -> None:
    """Refuses an upload that is not a workbook calamine reads (.xlsx, .xls, .ods), is damaged, or
    would take more memory or time to read than ``limits`` (by default the settings') allow,
    before calamine sees it: the zip checks of core.xlsx_container for the zip containers (.xlsx,
    .ods), the cell-count check of core.xlsx_biff for the OLE one (.xls); all of them are bounded
    by the upload size (read_limited) first."""
    limits = limits or WorkbookLimits.from_settings()
    try:
        if data.startswith(OLE_MAGIC):
            try:
                check_xls(data, limits)
            except NotAWorkbook:
                # A Word file, or a password-protected workbook (Excel encrypts into an OLE file).
                raise ContainerRefused("not_xlsx", "") from None
        elif data.startswith(b"PK\x03\x04") and is_ods(data):
            check_ods(data, limits)
        else:
            check_container(data, limits)
    except ContainerRefused as refused:
        message = refused.message
        if refused.code == "not_xlsx":
            message = _(
                "The file is not a workbook that can be read: upload an .xlsx, .xls or .ods file. In Excel, choose "
                "Save As and the type “Excel Workbook (*.xlsx)”; a workbook protected by a password must be saved "
                "without it."
            )
        raise WorkbookRejected([ImportIssue(
            sheet=refused.sheet, row=None, column="", value=name, code=refused.code, message=message,
        )]) from None


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
    if not positions:
        _unknown_headers(sheet, header_row, grid[header_index], wanted, errors)
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


def _unknown_headers(sheet: str, row: int, cells: list[Any], wanted: Collection[str],
                     errors: list[ImportIssue]) -> None:
    """No column of the header row is one the upload reads: name what was found and what is
    expected, rather than let the sheet look empty (headers garbled by a CSV round trip)."""
    found = [normalise(cell) for cell in cells if normalise(cell)]
    errors.append(ImportIssue(
        sheet=sheet, row=row, column="", value="、".join(found), code="unknown_columns",
        message=_("No column of sheet “%(sheet)s” is one the import reads: row %(row)s has %(found)s; expected "
                  "%(expected)s.") % {
            "sheet": sheet, "row": row, "found": "、".join(f"“{header}”" for header in found),
            "expected": "、".join(f"“{header}”" for header in wanted),
        },
    ))


class Identifiers:
    """The identifiers a column may name (工号, 部门编码 …), for reading its cells.

    The rule for every upload: an identifier is text. A cell that arrived as a number (a column
    not formatted as text, or LibreOffice turning 00104 into 104) is taken as it stands
    (1001.0 is "1001") when that names a known identifier; otherwise it is refused with
    ``number_identifier`` at its row and column, never changed. Where the column may create new
    records (``may_create``), a number is refused only when a known identifier differs from it by
    leading zeros alone (104 for 00104): a new person's number 10086 typed as a number still
    imports."""

    def __init__(self, known: Iterable[str]) -> None:
        self.known = set(known)
        self._padded = {code.lstrip("0") for code in self.known if code.startswith("0")}

    def read(self, value: Cell, *, column: str, may_create: bool = False) -> str:
        """The identifier the cell holds, or BadValue ``number_identifier``."""
        text = cell_text(value)
        if not isinstance(value, int | float | Decimal) or isinstance(value, bool) or text in self.known:
            return text
        if may_create and text not in self._padded:
            return text
        raise BadValue("number_identifier", _(
            "%(value)s arrived as a number and names no %(column)s; leading zeros may have been lost (00104 "
            "becomes 104). Format the column “%(column)s” as text and type the value again."
        ) % {"value": text, "column": column})


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
    database column holds). Text may use thousands separators. A float (every number Excel
    stores) is read by :func:`decimal_from_float`: 4321.5 is 4321.50, while 0.1 + 0.2 computed in
    Excel (0.30000000000000004) is refused as ``inexact_money`` rather than rounded to 0.30."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise BadValue("bad_decimal", _("Not a number."))
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = decimal_from_float(value, places=2, code="inexact_money")
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


def exact_decimal(value: Cell, *, places: int, max_digits: int) -> Decimal:
    """A number cell for a DecimalField of ``max_digits`` and ``places``: exact (a float through
    decimal_from_float), finite, within the field, at most ``places`` decimal places, negative
    allowed; text may use thousands separators or full-width digits. BadValue otherwise."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise BadValue("bad_decimal", _("Not a number."))
    try:
        if isinstance(value, float):
            value = decimal_from_float(value, places=places, code="inexact_number")
        number = to_decimal(value, what="")
    except (TypeError, ValueError):
        raise BadValue("bad_decimal", _("Not a number.")) from None
    if not number.is_finite():
        raise BadValue("bad_decimal", _("Not a number."))
    if abs(number) >= Decimal(10) ** (max_digits - places):
        raise BadValue("bad_decimal", _("The number is too large."))
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum):
        raise BadValue("bad_decimal", _("At most %(places)s decimal places.") % {"places": places})
    return number.quantize(quantum)


def decimal_from_float(value: float, *, places: int, code: str) -> Decimal:
    """The decimal a float cell stands for, or BadValue ``code`` when it stands for none.

    The rule: a float is read as ``Decimal(repr(value))``, the shortest decimal that turns back
    into the same float (4321.5, not 4321.49999999999981810106…). When that decimal has more than
    ``places`` decimal places *and* more than 15 significant digits, the cell is refused with
    ``code``: nobody types 17 digits, and Excel keeps only 15 of what is typed, so such a value
    was computed (=0.1+0.2 gives 0.30000000000000004) and is not exactly representable to the fen
    (or to ``places``). Rounding it silently could move money; the message asks HR to round it in
    Excel (ROUND) or type the amount. A float with too many places that *was* typed (3000.123)
    is left to the caller's usual "at most two decimal places" check. Infinity and NaN come back
    as such, for the caller's "not a number".
    """
    amount = Decimal(repr(value))
    if not amount.is_finite():
        return amount
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, so never "n", "N" or "F"
    too_many_places = -exponent > places
    if too_many_places and len(amount.normalize().as_tuple().digits) > EXCEL_SIGNIFICANT_DIGITS:
        raise BadValue(code, _(
            "The cell holds %(value)s, a result of floating-point arithmetic that is not exact to %(places)s decimal "
            "places; round it in Excel with ROUND(…, %(places)s) or type the number."
        ) % {"value": repr(value), "places": places})
    return amount


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
