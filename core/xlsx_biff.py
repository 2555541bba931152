"""The old Excel format (.xls, BIFF8 in an OLE compound file), checked before calamine reads it.

An .xls is not a zip, so the zip checks of core.xlsx_container do not apply; its size is bounded
by the upload limit (``IMPORT_MAX_BYTES``) like every upload. What remains dangerous is the grid:
calamine allocates each sheet densely from A1 to its last cell, so two cells at A1 and IV65536
ask for 16 million cells from a file of a few KiB. :func:`check_xls` walks the compound file's
sector chains (bounded: a chain longer than the file has sectors is refused as damaged), finds
the "Workbook" stream and scans its records for the position of every cell, per sheet, against
the same :class:`~core.xlsx_container.WorkbookLimits` (rows, columns, cells) as an .xlsx.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from core.xlsx_container import WorkbookLimits, check_extent, corrupt_container

__all__ = ["OLE_MAGIC", "NotAWorkbook", "check_xls"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_EOF, _BOUNDSHEET, _SST, _DIMENSIONS, _MULRK = 0x000A, 0x0085, 0x00FC, 0x0200, 0x00BD
# Records calamine turns into a cell at (row, column), their first four bytes: FORMULA, RSTRING,
# LABELSST, NUMBER, LABEL, BOOLERR, RK (blanks it skips). MULRK: row, first column, …, last column.
_CELL_RECORDS = {0x0006, 0x00D6, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E}
_UINT32 = struct.Struct("<I")


class NotAWorkbook(Exception):
    """An OLE file without a workbook stream: a Word document, a password-protected .xlsx …"""


def check_xls(data: bytes, limits: WorkbookLimits) -> None:
    """Refuses an .xls whose sheets reach past ``limits``; raises NotAWorkbook when the compound
    file holds no workbook or cannot be walked, core.xlsx_container.ContainerRefused
    ``too_many_cells`` or ``corrupt``.

    Read as calamine reads it: the workbook globals up to their EOF (sheet names and positions,
    the shared-string count calamine reserves memory for), then each sheet from the position its
    BOUNDSHEET record gives up to its EOF: the DIMENSIONS record (calamine reserves rows × columns
    cells for it) and every record that places a cell."""
    stream = _workbook_stream(data)
    sheets: list[tuple[int, str]] = []
    for offset, record, body in _records(stream, 0):
        if record == _EOF:
            break
        if record == _BOUNDSHEET and len(body) >= 8:
            sheets.append((_UINT32.unpack_from(body)[0], _sheet_name(body)))
        elif record == _SST and len(body) >= 8:
            count = struct.unpack_from("<i", body, 4)[0]
            if count < 0 or count * 3 > len(stream) - offset:  # every string takes at least 3 bytes
                raise corrupt_container()
    for position, name in sheets:
        rows, columns = _sheet_extent(stream, position)
        check_extent(rows, columns, name, limits)


def _sheet_extent(stream: bytes, position: int) -> tuple[int, int]:
    if position >= len(stream):
        raise corrupt_container()
    rows = columns = 0
    for _offset, record, body in _records(stream, position):
        if record == _EOF:
            break
        if record == _DIMENSIONS:
            _first_row, end_row, _first_column, end_column = _dimensions(body)
            rows, columns = max(rows, end_row), max(columns, end_column)
        elif record in _CELL_RECORDS and len(body) >= 4:
            row, column = struct.unpack_from("<HH", body)
            rows, columns = max(rows, row + 1), max(columns, column + 1)
        elif record == _MULRK and len(body) >= 6:
            row = struct.unpack_from("<H", body)[0]
            last = struct.unpack_from("<H", body, len(body) - 2)[0]
            rows, columns = max(rows, row + 1), max(columns, last + 1)
    return rows, columns


def _dimensions(body: bytes) -> tuple[int, int, int, int]:
    """First row, row after the last, first column, column after the last, as DIMENSIONS declares
    them; a first past the last would make calamine's subtraction wrap around: damaged."""
    if len(body) == 14:
        values = struct.unpack_from("<IIHH", body)
    elif len(body) == 10:
        values = struct.unpack_from("<HHHH", body)
    else:
        raise corrupt_container()
    first_row, end_row, first_column, end_column = values
    if (end_row and first_row >= end_row) or (end_column and first_column >= end_column):
        raise corrupt_container()
    return first_row, end_row, first_column, end_column


def _records(stream: bytes, offset: int) -> Iterator[tuple[int, int, bytes]]:
    while offset + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, offset)
        yield offset, record, stream[offset + 4:offset + 4 + length]
        offset += 4 + length


def _sheet_name(body: bytes) -> str:
    length, flags = body[6], body[7] if len(body) > 7 else 0
    raw = body[8:]
    if flags & 0x1:
        return raw[:2 * length].decode("utf-16-le", "replace")
    return raw[:length].decode("latin-1")


# -------------------------------------------------------------------------------- compound file


def _workbook_stream(data: bytes) -> bytes:
    if not data.startswith(OLE_MAGIC) or len(data) < 512:
        raise NotAWorkbook
    sector_shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise NotAWorkbook
    size = 1 << sector_shift
    count = (len(data) - 512 + size - 1) // size  # sectors the file has: no chain is longer
    # calamine reserves memory for what the header and the directory declare: none may exceed the file.
    declared = struct.unpack_from("<IIIIIIIII", data, 0x28)  # directory, FAT, …, mini FAT, …, DIFAT sectors
    if max(declared[0], declared[1], declared[6], declared[8]) > count:
        raise corrupt_container()
    fat = _fat(data, size, count)
    directory = _chain(data, fat, struct.unpack_from("<I", data, 0x30)[0], size, count)
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise NotAWorkbook
    cutoff = struct.unpack_from("<I", data, 0x38)[0]
    for entry in entries:
        if struct.unpack_from("<I" if size == 512 else "<Q", entry, 0x78)[0] > len(data):
            raise corrupt_container()
    for entry in entries:
        name_length = struct.unpack_from("<H", entry, 0x40)[0]
        name = entry[:max(name_length - 2, 0)].decode("utf-16-le", "replace")
        if entry[0x42] == 2 and name.lower() in ("workbook", "book"):
            start, length = struct.unpack_from("<II", entry, 0x74)
            if length < cutoff:
                stream = _mini_stream(data, fat, entries[0], size, count, start, length)
            else:
                stream = _chain(data, fat, start, size, count)
            if len(stream) < length:
                raise corrupt_container()
            return stream[:length]
    raise NotAWorkbook


def _fat(data: bytes, size: int, count: int) -> list[int]:
    difat = list(struct.unpack_from("<109I", data, 0x4C))
    next_difat, difat_sectors = struct.unpack_from("<II", data, 0x44)
    per_sector = size // 4 - 1
    for _hop in range(min(difat_sectors, count)):
        if next_difat >= count:
            break
        sector = _sector(data, next_difat, size)
        values = struct.unpack_from(f"<{per_sector + 1}I", sector)
        difat.extend(values[:per_sector])
        next_difat = values[per_sector]
    fat: list[int] = []
    for sector_number in difat[:struct.unpack_from("<I", data, 0x2C)[0]]:
        if sector_number >= count:
            raise corrupt_container()
        fat.extend(struct.unpack_from(f"<{size // 4}I", _sector(data, sector_number, size)))
    return fat


def _sector(data: bytes, number: int, size: int) -> bytes:
    sector = data[512 + number * size:512 + (number + 1) * size]
    return sector + b"\0" * (size - len(sector))


def _chain(data: bytes, fat: list[int], start: int, size: int, count: int) -> bytes:
    parts: list[bytes] = []
    sector = start
    for _hop in range(count + 1):
        if sector in (_END_OF_CHAIN, _FREE):
            return b"".join(parts)
        if sector >= count or sector >= len(fat):
            raise corrupt_container()
        parts.append(_sector(data, sector, size))
        sector = fat[sector]
    raise corrupt_container()  # a loop


def _mini_stream(data: bytes, fat: list[int], root: bytes, size: int, count: int, start: int, length: int) -> bytes:
    mini = _chain(data, fat, struct.unpack_from("<I", root, 0x74)[0], size, count)
    mini_fat_start = struct.unpack_from("<I", data, 0x3C)[0]
    table = _chain(data, fat, mini_fat_start, size, count)
    mini_fat = list(struct.unpack_from(f"<{len(table) // 4}I", table))
    parts: list[bytes] = []
    sector = start
    for _hop in range(len(mini_fat) + 1):
        if sector in (_END_OF_CHAIN, _FREE) or len(parts) * 64 >= length:
            return b"".join(parts)
        if sector >= len(mini_fat) or (sector + 1) * 64 > len(mini):
            raise corrupt_container()
        parts.append(mini[sector * 64:(sector + 1) * 64])
        sector = mini_fat[sector]
    raise corrupt_container()

