"""The .xlsx container, checked before any parser reads it: zip bombs and sheets that would fill memory.

An .xlsx is a zip of XML parts. python-calamine inflates and parses them in native code, where a
file a few KiB large can ask for gigabytes: a member that unpacks a thousandfold, or two cells at
A1 and ZZ400000 (calamine allocates the dense grid between them, and the process aborts when that
fails). :func:`check_container` refuses such files first, reading only the zip's directory, the
start of each sheet, and then each member as a stream, against :class:`WorkbookLimits` (settings
``IMPORT_MAX_*``). core.excel turns a :class:`ContainerRefused` into the upload's ImportIssue.
"""

from __future__ import annotations

import functools
import html
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

__all__ = [
    "ContainerRefused", "WorkbookLimits", "check_container", "check_extent", "check_ods", "corrupt_container", "is_ods",
]

# What a damaged zip makes zipfile raise: all of them mean "cannot be read".
_UNREADABLE: tuple[type[Exception], ...] = (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError, OSError)


class ContainerRefused(Exception):
    """The file is refused as a whole; ``sheet`` names the sheet when one is to blame."""

    def __init__(self, code: str, message: str, *, sheet: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sheet = sheet


@dataclass(frozen=True)
class WorkbookLimits:
    """What an upload may unpack to, checked before calamine reads a byte of it (settings
    ``IMPORT_MAX_*``, from the environment; config/settings.py has the defaults).

    ``rows``, ``columns`` and ``cells`` bound each sheet's extent from A1 to its last cell: that is
    what calamine allocates (a dense grid) and ``to_python`` turns into Python lists, however few
    cells the file really holds.
    """

    members: int  # files inside the zip
    member_bytes: int  # unpacked size of any one of them
    total_bytes: int  # unpacked size of all of them
    ratio: int  # unpacked ÷ packed size of any member over RATIO_FLOOR bytes
    rows: int
    columns: int
    cells: int

    @classmethod
    def from_settings(cls) -> WorkbookLimits:
        return cls(
            members=settings.IMPORT_MAX_ZIP_MEMBERS,
            member_bytes=settings.IMPORT_MAX_MEMBER_BYTES,
            total_bytes=settings.IMPORT_MAX_UNPACKED_BYTES,
            ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
            rows=settings.IMPORT_MAX_ROWS,
            columns=settings.IMPORT_MAX_COLUMNS,
            cells=settings.IMPORT_MAX_CELLS,
        )


# Small members compress as they like (a styles.xml of repeated empty formats) and are harmless:
# the ratio is only asked of members big enough to matter.
RATIO_FLOOR = 1024 * 1024
# How much of a sheet's XML is read for its <dimension>: it comes right after <sheetPr>.
DIMENSION_WINDOW = 64 * 1024
_CHUNK = 1024 * 1024
# Longer than this, an unfinished tag is not a spreadsheet program's: the sheet is left to expat
# rather than buffered.
_MAX_TAG = 1024 * 1024
# What the workbook's own parts may take to name its sheets for messages (past it, by file).
_NAMES_WINDOW = 8 * 1024 * 1024
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # a zip entry's local file header (APPNOTE 4.3.7)

# A tag, with or without a namespace prefix: any name, not only ASCII, as XML readers take it.
_PREFIX = rb"<(?:[^\s<>/:=\"'!?]+:)?"
_ATTRIBUTES = rb"((?:[^>\"']|\"[^\"]*\"|'[^']*')*)"  # a tag's attributes; a quoted value may hold ">"
_DIMENSION = re.compile(_PREFIX + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_REFERENCE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
# The fast path: cells in the form spreadsheet programs write, <c r="B12" …>, reference first.
# _CELL_ROW matches only where _CELL_START does, so when both count the same, every cell of the
# text was read; when not, the sheet is read again by expat (_exact_extent).
_CELL_START = re.compile(_PREFIX + rb"c(?=[\s/>])")
_BARE_CELL_START = re.compile(rb"<c[\s/>]")  # the same, quicker, for text without a prefixed tag
_CELL_COLUMN = re.compile(_PREFIX + rb'c r="([A-Z]{1,3})\d')
_CELL_ROW = re.compile(_PREFIX + rb'c r="[A-Z]{1,3}(\d{1,7})"')
_SHEET = re.compile(_PREFIX + rb"sheet\s" + _ATTRIBUTES)
_RELATIONSHIP = re.compile(_PREFIX + rb"Relationship\s" + _ATTRIBUTES)
_ATTRIBUTE = re.compile(rb"([\w:.\-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def check_container(data: bytes, limits: WorkbookLimits) -> None:
    """Refuses, before any XML parser sees it, an upload that is not an .xlsx or would take more
    memory or time to read than ``limits`` allow. Cheapest first:

    1. it is a zip holding xl/workbook.xml, with at most ``limits.members`` members;
    2. the sizes the zip declares: each member's and their total unpacked size, and each member's
       ratio of unpacked to packed size (a zip bomb is refused here, having read nothing);
    3. the ``<dimension>`` each sheet declares (read from its first 64 KiB) against rows, columns
       and cells;
    4. every member is inflated, streaming, and may not exceed the size it declared (a bomb whose
       header lies stops there); each sheet's cell references are scanned for its real extent,
       which calamine allocates whatever the dimension says (a two-cell file reaching ZZ400000
       would abort the process).

    Everything is read in chunks of 1 MiB, so memory stays small whatever the file holds; step 4
    takes time in proportion to the (limited) unpacked size, about a second per million cells.
    """
    not_xlsx = _(
        "The file is not an Excel workbook (.xlsx). In Excel, choose Save As and the type “Excel Workbook (*.xlsx)”."
    )
    if not data.startswith(b"PK\x03\x04"):
        # An .xls, a CSV, a password-protected workbook (an OLE container) or anything else.
        raise ContainerRefused("not_xlsx", not_xlsx)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except _UNREADABLE:
        raise _corrupt() from None
    by_name = {member.filename: member for member in members}
    if "xl/workbook.xml" not in by_name:
        raise ContainerRefused("not_xlsx", not_xlsx)  # an .ods, a .docx, a plain zip …
    if len(members) > limits.members:
        raise ContainerRefused("too_many_members", _(
            "The file holds %(count)s parts; an Excel workbook has at most %(max)s."
        ) % {"count": f"{len(members):,}", "max": f"{limits.members:,}"})
    _check_declared_sizes(members, limits)
    sheets = _sheet_members(data, by_name)
    for path, sheet in sheets.items():
        head = b"".join(_inflate(data, by_name[path], stop_after=DIMENSION_WINDOW))
        match = _DIMENSION.search(head)
        declared = _extent(match[1].decode("ascii", "replace").split(":")[-1]) if match else None
        if declared is not None:
            _check_extent(declared, sheet, limits)
    for member in members:
        if member.filename in sheets:
            extent = _sheet_extent(functools.partial(_inflate, data, member))
            _check_extent(extent, sheets[member.filename], limits)
        else:
            for _chunk in _inflate(data, member):
                pass  # inflated only to hold it to its declared size


def _check_declared_sizes(members: list[zipfile.ZipInfo], limits: WorkbookLimits) -> None:
    largest = max(members, key=lambda member: member.file_size)
    if largest.file_size > limits.member_bytes:
        raise ContainerRefused("too_large_unpacked", _(
            "A part of the file unpacks to %(size)s, more than the %(max)s allowed; split it into smaller files."
        ) % {"size": filesizeformat(largest.file_size), "max": filesizeformat(limits.member_bytes)})
    total = sum(member.file_size for member in members)
    if total > limits.total_bytes:
        raise _too_large_unpacked(total, limits.total_bytes)
    for member in members:
        if member.file_size > RATIO_FLOOR and member.file_size > limits.ratio * max(member.compress_size, 1):
            raise ContainerRefused("too_large_unpacked", _(
                "The file unpacks to %(ratio)s times its size, more than an Excel workbook ever does (at most "
                "%(max)s times); it was refused as a possible zip bomb."
            ) % {"ratio": f"{member.file_size // max(member.compress_size, 1):,}", "max": f"{limits.ratio:,}"})


def _too_large_unpacked(size: int, limit: int) -> ContainerRefused:
    return ContainerRefused("too_large_unpacked", _(
        "The file unpacks to %(size)s, more than the %(max)s allowed; split it into smaller files."
    ) % {"size": filesizeformat(size), "max": filesizeformat(limit)})


def _inflate(data: bytes, member: zipfile.ZipInfo, *, stop_after: int | None = None) -> Iterator[bytes]:
    """The member's bytes in chunks of at most 1 MiB. Inflated here rather than by zipfile, which
    stops at the declared size without saying whether more was coming: more than declared is
    refused, as calamine's own zip reader might not stop. ``stop_after``: that many bytes will do."""
    if member.flag_bits & 0x1:
        raise _corrupt()  # an encrypted member: Excel encrypts whole files (OLE), never members
    header = data[member.header_offset:member.header_offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _corrupt()
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    start = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    packed = memoryview(data)[start:start + member.compress_size]
    if len(packed) < member.compress_size:
        raise _corrupt()
    if member.compress_type == zipfile.ZIP_STORED:
        if member.compress_size != member.file_size:
            raise _corrupt()
        for offset in range(0, len(packed), _CHUNK):
            yield bytes(packed[offset:offset + _CHUNK])
            if stop_after is not None and offset + _CHUNK >= stop_after:
                return
        return
    if member.compress_type != zipfile.ZIP_DEFLATED:
        raise _corrupt()  # Excel and LibreOffice write deflate only
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = position = 0
    try:
        while not inflater.eof:
            piece: bytes | memoryview
            if inflater.unconsumed_tail:
                piece = inflater.unconsumed_tail
            else:
                piece = packed[position:position + _CHUNK]
                position += len(piece)
            out = inflater.decompress(piece, _CHUNK)
            if not out and not piece and not inflater.eof:
                raise _corrupt()  # the stream ends before its end marker
            produced += len(out)
            if produced > member.file_size:
                # The header understates what the member unpacks to: a bomb in disguise.
                raise _too_large_unpacked(produced, member.file_size)
            if out:
                yield out
            if stop_after is not None and produced >= stop_after:
                return
    except zlib.error:
        raise _corrupt() from None
    if produced != member.file_size:
        raise _corrupt()


@dataclass(frozen=True)
class _Extent:
    rows: int
    columns: int


def _extent(reference: str) -> _Extent | None:
    """The extent from A1 to a cell reference such as "K1500000"; None for anything else."""
    match = _REFERENCE.match(reference.strip())
    if match is None:
        return None
    return _Extent(rows=int(match[2]), columns=_column_number(match[1]))


def _column_number(letters: str | bytes) -> int:
    number = 0
    for letter in (letters if isinstance(letters, str) else letters.decode("ascii")).upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _check_extent(extent: _Extent, sheet: str, limits: WorkbookLimits) -> None:
    cells = extent.rows * extent.columns
    if extent.rows <= limits.rows and extent.columns <= limits.columns and cells <= limits.cells:
        return
    raise ContainerRefused("too_many_cells", sheet=sheet, message=_(
        "The sheet “%(sheet)s” reaches %(rows)s rows × %(columns)s columns (%(cells)s cells); at most %(max_rows)s "
        "rows, %(max_columns)s columns and %(max_cells)s cells can be read. Delete the empty rows and columns "
        "after the data, or split the file."
    ) % {
        "sheet": sheet, "rows": f"{extent.rows:,}", "columns": f"{extent.columns:,}", "cells": f"{cells:,}",
        "max_rows": f"{limits.rows:,}", "max_columns": f"{limits.columns:,}", "max_cells": f"{limits.cells:,}",
    })


def _sheet_extent(read: Callable[[], Iterator[bytes]]) -> _Extent:
    """The last row and column of a sheet's cells, as calamine places them.

    Cells give their own position (``<c r="K12">``) in every file a spreadsheet program writes:
    those are read with one regular expression per chunk. Only when some cell tag is not in that
    plain form is the sheet read again, by expat, to follow XML's rules exactly.
    """
    extent = _plain_extent(read())
    return extent if extent is not None else _exact_extent(read())


def _plain_extent(chunks: Iterable[bytes]) -> _Extent | None:
    rows = columns = 0
    for text in _whole_tags(chunks):
        if text is None:
            return None
        starts = (_CELL_START if b":c" in text else _BARE_CELL_START).findall(text)
        row_numbers = _CELL_ROW.findall(text)
        if len(row_numbers) != len(starts):
            return None
        if row_numbers:
            rows = max(rows, *map(int, row_numbers))
            columns = max(columns, *map(_column_number, set(_CELL_COLUMN.findall(text))))
    return _Extent(rows=rows, columns=columns)


def _whole_tags(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    """The chunks cut before their last "<", so that no tag is split between two pieces; None
    (and the end) when an unfinished tag grows longer than any spreadsheet program writes."""
    carry = b""
    for chunk in chunks:
        text = carry + chunk
        cut = text.rfind(b"<")
        if cut == -1:
            cut = len(text)
        carry = text[cut:]
        if len(carry) > _MAX_TAG:
            yield None
            return
        yield text[:cut]
    yield carry


def _exact_extent(chunks: Iterable[bytes]) -> _Extent:
    """The extent by expat, which resolves what the regular expression does not (entities, odd
    quoting): a cell without ``r`` follows the previous cell of its row, a row without ``r`` the
    previous row. Expat refuses DTD entity expansion bombs itself (expat ≥ 2.4)."""
    rows = columns = row = column = 0

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal rows, columns, row, column
        local = tag.rsplit(":", 1)[-1]
        reference = attributes.get("r", "").strip()
        if local == "row":
            row = int(reference) if reference.isdigit() else row + 1
            column = 0
        elif local == "c":
            position = _extent(reference)
            if position is None:
                column += 1
                position = _Extent(rows=max(row, 1), columns=column)
            else:
                column = position.columns
            rows, columns = max(rows, position.rows), max(columns, position.columns)

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise _corrupt() from None
    return _Extent(rows=rows, columns=columns)


def _sheet_members(data: bytes, by_name: Mapping[str, zipfile.ZipInfo]) -> dict[str, str]:
    """The members that may be worksheets, each with its sheet's name for messages (else its
    path): those the workbook's relationships point to, taken literally relative to xl/ as
    calamine looks them up and also normalised ("xl/../a.xml" may be a member's very name); those
    under xl/worksheets/; and any member whose start mentions sheetData, should a reader find a
    sheet some other way."""

    def head(path: str, size: int = _NAMES_WINDOW) -> bytes:
        member = by_name.get(path)
        return b"".join(_inflate(data, member, stop_after=size)) if member else b""

    targets: dict[str, tuple[str, str]] = {}  # relationship id → the members it may name
    for match in _RELATIONSHIP.finditer(head("xl/_rels/workbook.xml.rels")):
        attributes = _attributes(match[1])
        if attributes.get("Type", "").endswith("/worksheet"):
            target = attributes.get("Target", "")
            literal = target[1:] if target.startswith("/") else target if target.startswith("xl/") else "xl/" + target
            targets[attributes.get("Id", "")] = (literal, posixpath.normpath(literal))
    named = {path for paths in targets.values() for path in paths}
    sheets = {
        path: path for path in by_name
        if path in named or path.startswith("xl/worksheets/") or b"sheetData" in head(path, DIMENSION_WINDOW)
    }
    for match in _SHEET.finditer(head("xl/workbook.xml")):
        attributes = _attributes(match[1])
        relationship = next((value for key, value in attributes.items() if key.rsplit(":", 1)[-1] == "id"), "")
        for path in targets.get(relationship, ()):
            if path in sheets:
                sheets[path] = attributes.get("name", path)
    return sheets


def _attributes(text: bytes) -> dict[str, str]:
    return {
        match[1].decode("utf-8", "replace"): html.unescape(
            (match[2] if match[2] is not None else match[3]).decode("utf-8", "replace")
        )
        for match in _ATTRIBUTE.finditer(text)
    }


def _corrupt() -> ContainerRefused:
    return ContainerRefused("corrupt", _("The file could not be read; it may be damaged."))


def corrupt_container() -> ContainerRefused:
    """For the other formats' checks (core.xlsx_biff): the same "damaged" refusal."""
    return _corrupt()


def check_extent(rows: int, columns: int, sheet: str, limits: WorkbookLimits) -> None:
    """A sheet reaching ``rows`` × ``columns`` from A1, against the limits (for .xls and .ods)."""
    _check_extent(_Extent(rows=rows, columns=columns), sheet, limits)


# ------------------------------------------------------------------------------- OpenDocument

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


def is_ods(data: bytes) -> bool:
    """An OpenDocument spreadsheet: a zip holding a short member "mimetype" that says so (its size
    is looked at before a byte is inflated)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = next((m for m in archive.infolist() if m.filename == "mimetype"), None)
            if member is None or member.file_size > 2 * len(ODS_MIMETYPE):
                return False
            return b"".join(_inflate(data, member)).strip() == ODS_MIMETYPE
    except _UNREADABLE:
        return False
    except ContainerRefused:
        return False


def check_ods(data: bytes, limits: WorkbookLimits) -> None:
    """An .ods (LibreOffice's own format) gets the zip checks of an .xlsx: members, declared and
    real unpacked sizes, the ratio; then content.xml, streamed through expat, for each table's
    extent as calamine places its cells (repeated rows and cells count when they hold a value:
    LibreOffice closes every sheet with an empty row repeated a million times, which calamine skips)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except _UNREADABLE:
        raise _corrupt() from None
    by_name = {member.filename: member for member in members}
    if "content.xml" not in by_name:
        raise _corrupt()
    if len(members) > limits.members:
        raise ContainerRefused("too_many_members", _(
            "The file holds %(count)s parts; an Excel workbook has at most %(max)s."
        ) % {"count": f"{len(members):,}", "max": f"{limits.members:,}"})
    _check_declared_sizes(members, limits)
    for member in members:
        if member.filename == "content.xml":
            _ods_extents(_inflate(data, member), limits)
        else:
            for _chunk in _inflate(data, member):
                pass


def _ods_extents(chunks: Iterable[bytes], limits: WorkbookLimits) -> None:
    state: dict[str, Any] = {
        "sheet": "", "row": 0, "rows": 0, "columns": 0, "row_repeat": 1, "column": 0, "cell_repeat": 0, "filled": 0,
    }

    def start(tag: str, attributes: dict[str, str]) -> None:
        namespace, _sep, local = tag.rpartition(" ")
        if state["cell_repeat"]:
            state["filled"] = 1  # anything inside a cell (text:p …) is content
        if namespace != _ODS_TABLE:
            return
        if local == "table":
            state.update(sheet=attributes.get(f"{_ODS_TABLE} name", ""), row=0, rows=0, columns=0)
        elif local == "table-row":
            state.update(row_repeat=_repeat(attributes, "number-rows-repeated"), column=0)
        elif local in ("table-cell", "covered-table-cell"):
            state.update(cell_repeat=_repeat(attributes, "number-columns-repeated"),
                         filled=int(f"{_ODS_OFFICE} value-type" in attributes))

    def end(tag: str) -> None:
        namespace, _sep, local = tag.rpartition(" ")
        if namespace != _ODS_TABLE:
            return
        if local in ("table-cell", "covered-table-cell"):
            state["column"] += state["cell_repeat"]
            if state["filled"]:
                state["rows"] = max(state["rows"], state["row"] + state["row_repeat"])
                state["columns"] = max(state["columns"], state["column"])
                check_extent(state["rows"], state["columns"], str(state["sheet"]), limits)
            state.update(cell_repeat=0, filled=0)
        elif local == "table-row":
            state["row"] += state["row_repeat"]

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise _corrupt() from None


def _repeat(attributes: dict[str, str], name: str) -> int:
    text = attributes.get(f"{_ODS_TABLE} {name}", "1").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 9 else 1
