"""What an uploaded .xlsx may unpack to, checked before calamine parses it (core.xlsx_container),
and how money and quantities stored as floats are read (core.excel.decimal_from_float).

Hostile workbooks are built here, streaming through zipfile, so the test itself stays light: a
decompression bomb (200 MB of sheet XML in under 1 MB), a member whose header understates its
size, a sheet declaring 1,500,000 rows, two cells far apart (calamine allocates the dense grid
between them and aborts the process when it cannot), cells without references. Those that would
harm the process if the check missed them are given to the check alone, never to calamine.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from appraisal.actuals import parse_quantity
from core.excel import BadValue, WorkbookLimits, WorkbookRejected, check_xlsx_container, parse_decimal
from organizations.importing import ImportRejected, parse_workbook, validate_import
from tests.conftest import World
from tests.test_import import issues, person_row, xlsx
from tests.test_settings_env import loaded

SHEET = "xl/worksheets/sheet1.xml"
OPEN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
DEFAULTS = WorkbookLimits(members=1000, member_bytes=150 * 1024 * 1024, total_bytes=200 * 1024 * 1024, ratio=100,
                          rows=1_048_576, columns=16_384, cells=2_000_000)


def _skeleton() -> dict[str, bytes]:
    """The parts of a one-sheet workbook (sheet 人员) as openpyxl writes it, by member name."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "人员"
    workbook.active["A1"] = "工号"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def workbook(sheet: Iterable[bytes], *, extra: dict[str, bytes] | None = None) -> bytes:
    """The skeleton with its sheet XML written from ``sheet``, chunk by chunk (never whole in memory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**_skeleton(), **(extra or {})}.items():
            if name != SHEET:
                archive.writestr(name, data)
        with archive.open(SHEET, "w") as member:
            for chunk in sheet:
                member.write(chunk)
    return buffer.getvalue()


def sheet(rows: Iterable[bytes], *, dimension: str | None = None) -> Iterator[bytes]:
    yield OPEN
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


def bomb_rows(megabytes: int) -> Iterator[bytes]:
    """``megabytes`` MiB of identical rows: what deflate packs best."""
    row = b'<row><c t="n"><v>1</v></c><c t="n"><v>2</v></c><c t="inlineStr"><is><t>x</t></is></c></row>'
    block = row * (1024 * 1024 // len(row))
    for _ in range(megabytes):
        yield block


def grid_rows(rows: int, columns: int) -> Iterator[bytes]:
    """A sheet as a spreadsheet program writes it: every cell with its reference, in chunks of rows."""
    letters = [chr(ord("A") + index) for index in range(columns)]
    chunk: list[bytes] = []
    for number in range(1, rows + 1):
        cells = "".join(f'<c r="{letter}{number}"><v>{number}.25</v></c>' for letter in letters)
        chunk.append(f'<row r="{number}">{cells}</row>'.encode())
        if len(chunk) == 10_000:
            yield b"".join(chunk)
            chunk = []
    yield b"".join(chunk)


def refusal(data: bytes, limits: WorkbookLimits = DEFAULTS) -> Any:
    with pytest.raises(WorkbookRejected) as rejected:
        check_xlsx_container(data, "upload.xlsx", limits)
    [issue] = rejected.value.errors
    assert issue.message and issue.value == "upload.xlsx"
    return issue


# --- zip bombs ----------------------------------------------------------------------------------


def test_it_refuses_a_decompression_bomb_at_once_and_in_little_memory() -> None:
    data = workbook(sheet(bomb_rows(200)))
    assert len(data) < 5 * 1024 * 1024  # 200 MiB of XML, packed

    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImportRejected) as rejected:
            parse_workbook(data)  # the people import, as an upload would run it
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert [e.code for e in rejected.value.errors] == ["too_large_unpacked"]
    # A bound on the refusal, not a benchmark: a check that inflated the bomb would take far longer.
    assert elapsed < 5
    assert peak < 200 * 1024 * 1024


def _understated(data: bytes, member: str, size: int) -> bytes:
    """``data`` with ``member``'s unpacked size set to ``size`` in its local header and its entry
    of the central directory, as a bomb disguised as a small file would have it."""
    patched = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local, position = archive.getinfo(member).header_offset, archive.start_dir
    struct.pack_into("<L", patched, local + 22, size)
    while patched[position:position + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<3H", patched, position + 28)
        if patched[position + 46:position + 46 + name_length] == member.encode():
            struct.pack_into("<L", patched, position + 24, size)
        position += 46 + name_length + extra_length + comment_length
    return bytes(patched)


def test_it_refuses_a_member_that_unpacks_to_more_than_its_header_says() -> None:
    data = _understated(workbook(sheet(bomb_rows(20))), SHEET, 1024)

    assert refusal(data).code == "too_large_unpacked"


def test_it_refuses_a_member_packed_past_the_ratio() -> None:
    data = workbook(sheet([b'<row r="1"><c r="A1"><v>1</v></c></row>']),
                    extra={"docProps/custom.xml": b" " * (4 * 1024 * 1024)})

    issue = refusal(data)

    assert issue.code == "too_large_unpacked"
    assert "100" in issue.message  # the ratio allowed


def test_it_refuses_more_members_than_a_workbook_has() -> None:
    data = workbook(sheet([]), extra={f"xl/media/image{number}.png": b"x" for number in range(1000)})

    assert refusal(data).code == "too_many_members"


# --- sheets too large to hold -------------------------------------------------------------------


def test_it_refuses_a_sheet_declaring_more_rows_than_allowed_from_its_first_bytes() -> None:
    data = workbook(sheet([b'<row r="1"><c r="A1"><v>1</v></c></row>'], dimension="A1:K1500000"))

    issue = refusal(data)

    assert (issue.code, issue.sheet) == ("too_many_cells", "人员")


def test_it_refuses_two_cells_far_apart_whatever_the_dimension_says() -> None:
    # Calamine would allocate 400,000 × 702 cells for these two and abort the process.
    cells = [b'<row r="1"><c r="A1"><v>1</v></c></row><row r="400000"><c r="ZZ400000"><v>2</v></c></row>']
    data = workbook(sheet(cells, dimension="A1:A1"))

    assert refusal(data).code == "too_many_cells"


def test_it_places_cells_without_references_after_the_previous_ones() -> None:
    # Row 1: 20 cells without "r" (columns A to T); a row numbered 200,000 → 200,000 × 20 = 4,000,000 cells.
    cells = [b"<row>" + b"<c><v>1</v></c>" * 20 + b'</row><row r="200000"><c><v>2</v></c></row>']
    data = workbook(sheet(cells))

    assert refusal(data).code == "too_many_cells"


def test_it_finds_a_cell_whatever_its_namespace_prefix() -> None:
    cells = ['<row r="1"><c r="A1"><v>1</v></c></row><row r="400000"><名:c xmlns:名="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main" r="ZZ400000"><名:v>2</名:v></名:c></row>'.encode()]

    assert refusal(workbook(sheet(cells))).code == "too_many_cells"


def test_it_finds_a_sheet_wherever_the_workbook_puts_it() -> None:
    skeleton = _skeleton()
    rels = skeleton["xl/_rels/workbook.xml.rels"].replace(b"worksheets/sheet1.xml", b"../hidden.bin")
    cells = b'<row r="1"><c r="A1"><v>1</v></c></row><row r="400000"><c r="ZZ400000"><v>2</v></c></row>'
    hidden = b"".join(sheet([cells], dimension="A1:A1"))
    # The member is literally named "xl/../hidden.bin": where the relationship's target points.
    data = workbook(sheet([]), extra={"xl/_rels/workbook.xml.rels": rels, "xl/../hidden.bin": hidden})

    assert refusal(data).code == "too_many_cells"


def test_it_reads_a_cell_reference_hidden_behind_an_entity() -> None:
    # &#90; is "Z": to an XML reader the second cell is ZZ400000 (calamine refuses the entity today;
    # the check must not rely on that).
    cells = [b'<row r="1"><c r="A1"><v>1</v></c></row><row r="400000"><c r="&#90;&#90;400000"><v>2</v></c></row>']

    assert refusal(workbook(sheet(cells))).code == "too_many_cells"


def test_it_lets_a_legitimate_sheet_of_a_million_cells_through() -> None:
    data = workbook(sheet(grid_rows(100_000, 10), dimension="A1:J100000"))

    check_xlsx_container(data, "big.xlsx", DEFAULTS)  # raises nothing


def test_it_takes_the_limits_from_the_settings(settings: Any) -> None:
    settings.IMPORT_MAX_CELLS = 100
    data = workbook(sheet(grid_rows(20, 10)))  # 200 cells

    with pytest.raises(WorkbookRejected) as rejected:
        check_xlsx_container(data, "upload.xlsx")

    assert [e.code for e in rejected.value.errors] == ["too_many_cells"]


def test_it_reads_the_limits_from_the_environment() -> None:
    assert loaded("settings.IMPORT_MAX_CELLS, settings.IMPORT_MAX_COMPRESSION_RATIO",
                  IMPORT_MAX_CELLS="5000000", IMPORT_MAX_COMPRESSION_RATIO="50") == "5000000 50"


# --- money and quantities stored as floats ------------------------------------------------------


def _with_value(data: bytes, written: bytes, stored: bytes) -> bytes:
    """``data`` with the number openpyxl wrote as ``written`` stored as ``stored`` instead, as Excel
    stores a formula's result with all 17 digits (openpyxl itself shortens floats)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            target.writestr(name, content.replace(b"<v>" + written + b"</v>", b"<v>" + stored + b"</v>"))
    return buffer.getvalue()


def test_it_refuses_base_pay_that_is_a_floating_point_residue(world_a: World) -> None:
    data = _with_value(xlsx(people=[person_row("N1", 基本工资=1234.25)]), b"1234.25", b"0.30000000000000004")

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("人员", 2, "基本工资", "inexact_money")}


def test_it_accepts_base_pay_stored_as_a_float_exact_to_the_fen(world_a: World) -> None:
    data = _with_value(xlsx(people=[person_row("N1", 基本工资=1234.25)]), b"1234.25", b"4321.5")

    parsed = parse_workbook(data)

    assert validate_import(organization=world_a.org, parsed=parsed).errors == []
    assert parsed.people is not None and parsed.people.rows[0].values["基本工资"] == 4321.5
    assert parse_decimal(4321.5, maximum=Decimal(10**10)) == Decimal("4321.50")


def test_it_still_calls_a_typed_third_decimal_place_too_many_places() -> None:
    with pytest.raises(BadValue) as refused:
        parse_decimal(3000.123, maximum=Decimal(10**10))

    assert refused.value.code == "bad_decimal"


def test_it_refuses_an_actual_that_is_a_floating_point_residue() -> None:
    with pytest.raises(BadValue) as refused:
        parse_quantity(0.1 + 0.2)

    assert refused.value.code == "inexact_number"


def test_it_accepts_an_actual_stored_as_a_float_with_four_places() -> None:
    assert parse_quantity(295.1234) == Decimal("295.1234")
