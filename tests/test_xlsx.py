"""The streaming .xlsx writer (payroll/xlsx.py) behind exports.write_xlsx: files reopen in openpyxl
(normal and read-only) and calamine with the values, types and styles written, the package is
well-formed, and rows stream through without being held."""

from __future__ import annotations

import io
import tempfile
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from core import xlsx
from payroll.exports import Column, Export, Style, write_xlsx

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# A pay-sheet shape: two text columns, two money columns.
COLUMNS = [Column("工号", width=12), Column("姓名", width=10), Column("应发", money=True, width=14),
           Column("合计", money=True, width=16)]


def write(rows: Iterable[tuple[Style, list[Any]]], *, columns: list[Column] | None = None, title: str = "工资表",
          progress: Callable[[int], None] | None = None) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(Export(title, columns or COLUMNS, iter(rows)), buffer, progress)
    return buffer.getvalue()


def sheet(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data)).active


def read_only_values(data: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True))


def sheet_xml(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


def person(number: str = "E001", name: str = "张三", pay: str = "1234.56", total: str = "1384.56") -> tuple[
        Style, list[Any]]:
    return "row", [number, name, Decimal(pay), Decimal(total)]


def test_it_writes_money_as_numbers_equal_to_the_decimals() -> None:
    data = write([person(pay="1234567.89", total="-0.01")])
    for row in (tuple(c.value for c in sheet(data)[2]), read_only_values(data)[1]):
        assert isinstance(row[2], int | float) and isinstance(row[3], int | float)
        assert Decimal(str(row[2])) == Decimal("1234567.89")
        assert Decimal(str(row[3])) == Decimal("-0.01")


def test_it_writes_decimals_without_exponent_notation() -> None:
    data = write([person(pay="1E+3", total="0.0000001")])
    assert "<v>1000</v>" in sheet_xml(data) and "<v>0.0000001</v>" in sheet_xml(data)
    assert read_only_values(data)[1][2:] == (1000, 1e-7)


def test_it_writes_chinese_text_as_strings() -> None:
    data = write([person(number="E007", name="欧阳娜娜")])
    assert read_only_values(data)[1][:2] == ("E007", "欧阳娜娜")
    assert sheet(data)["B2"].data_type == "s"


def test_it_escapes_markup_characters_in_text() -> None:
    data = write([person(name="A&B <Ltd> x>y")])
    assert sheet(data)["B2"].value == "A&B <Ltd> x>y"
    assert read_only_values(data)[1][1] == "A&B <Ltd> x>y"


def test_it_drops_control_characters_xml_forbids_but_keeps_tabs_and_newlines() -> None:
    data = write([person(name="张\x01三\x1f\tline\nnext")])
    assert read_only_values(data)[1][1] == "张三\tline\nnext"


def test_it_keeps_spaces_at_either_end_of_a_text() -> None:
    data = write([person(name=" 张三 ")])
    assert '<t xml:space="preserve"> 张三 </t>' in sheet_xml(data)
    assert read_only_values(data)[1][1] == " 张三 "


def test_it_leaves_none_and_empty_strings_empty() -> None:
    data = write([("row", ["", None, Decimal("1"), None])])
    assert read_only_values(data)[1] == (None, None, 1)  # nothing after the last value written
    assert '<row r="2"><c r="C2"' in sheet_xml(data)


def test_it_writes_ints_as_numbers_and_booleans_as_booleans() -> None:
    data = write([("row", [7, True, 3, Decimal("0")])])
    assert read_only_values(data)[1] == (7, True, 3, 0)


def test_it_writes_a_number_that_is_not_finite_as_text() -> None:
    data = write([("row", ["E001", "张三", Decimal("NaN"), float("inf")])])
    assert read_only_values(data)[1][2:] == ("NaN", "inf")


def test_it_formats_money_cells_to_the_fen_with_thousands() -> None:
    ws = sheet(write([person()]))
    assert ws["C2"].number_format == ws["D2"].number_format == "#,##0.00"


def test_it_leaves_text_cells_and_data_rows_unformatted() -> None:
    ws = sheet(write([person()]))
    assert ws["A2"].number_format == "General"
    assert not ws["A2"].font.b and not ws["C2"].font.b
    assert ws["A2"].fill.fill_type is None and ws["C2"].fill.fill_type is None


def test_it_makes_the_header_bold() -> None:
    ws = sheet(write([]))
    assert [c.value for c in ws[1]] == ["工号", "姓名", "应发", "合计"]
    assert all(c.font.b for c in ws[1])


@pytest.mark.parametrize("style", ["subtotal", "total"])
def test_it_makes_subtotal_and_total_rows_bold_on_light_grey(style: Style) -> None:
    ws = sheet(write([person(), (style, ["", "生产部 小计", Decimal("1234.56"), Decimal("1384.56")])]))
    for cell in ws[3]:  # the empty first cell too: the grey band has no hole
        assert cell.font.b
        assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("F2F2F2")
    assert ws["C3"].number_format == ws["D3"].number_format == "#,##0.00"


def test_it_sets_the_column_widths() -> None:
    ws = sheet(write([person()]))
    assert [ws.column_dimensions[letter].width for letter in "ABCD"] == [12, 10, 14, 16]


def test_it_freezes_the_header_row() -> None:
    assert sheet(write([person()])).freeze_panes == "A2"


def test_it_truncates_the_sheet_title_to_31_characters() -> None:
    title = "工资表 2025-01 第2版 含补发与扣款明细 财务部专用导出"
    assert sheet(write([], title=title)).title == title[:31]


def test_it_replaces_characters_sheet_names_cannot_have() -> None:
    assert sheet(write([], title="Pay [2025/01] v1: a*b?c\\d")).title == "Pay _2025_01_ v1_ a_b_c_d"


@pytest.mark.parametrize(("title", "name"), [("", "Sheet1"), ("'quoted'", "quoted"), ("History", "History_"),
                                             ("A & <B>", "A & <B>")])
def test_it_makes_any_title_a_valid_sheet_name(title: str, name: str) -> None:
    assert sheet(write([], title=title)).title == name


def test_it_writes_an_empty_export_as_the_header_alone() -> None:
    buffer = io.BytesIO()
    assert write_xlsx(Export("空", COLUMNS, iter([])), buffer) == 0
    assert read_only_values(buffer.getvalue()) == [("工号", "姓名", "应发", "合计")]


def test_it_returns_the_rows_written_without_the_header() -> None:
    rows: list[tuple[Style, list[Any]]] = [person(), person(), ("subtotal", ["", "小计", Decimal(1), Decimal(2)]),
                                           ("total", ["", "合计", Decimal(1), Decimal(2)])]
    assert write_xlsx(Export("t", COLUMNS, iter(rows)), io.BytesIO()) == 4


def test_it_reports_progress_every_chunk_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("payroll.exports.CHUNK", 3)
    calls: list[int] = []
    write([person() for _ in range(7)], progress=calls.append)
    assert calls == [3, 6]


def test_it_refuses_a_row_with_the_wrong_number_of_values() -> None:
    with pytest.raises(ValueError, match="3 values for 4 columns"):
        write([("row", ["E001", "张三", Decimal(1)])])


def test_it_writes_a_package_whose_parts_are_well_formed_and_declared() -> None:
    archive = zipfile.ZipFile(io.BytesIO(write([person()])))
    names = set(archive.namelist())
    assert names == {"[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"}
    parts = {name: ElementTree.fromstring(archive.read(name)) for name in names}  # raises if not well-formed
    declared = {o.get("PartName") for o in parts["[Content_Types].xml"]
                if o.tag.endswith("Override")}
    assert declared == {"/" + name for name in names if not name.endswith(".rels") and name != "[Content_Types].xml"}


def test_it_orders_the_worksheet_elements_as_ecma_376_requires() -> None:
    root = ElementTree.fromstring(sheet_xml(write([person()])))
    assert [child.tag.removeprefix(MAIN) for child in root] == ["sheetViews", "sheetFormatPr", "cols", "sheetData",
                                                                "pageMargins"]


def test_it_reads_back_in_calamine_too() -> None:
    data = write([person(), ("total", ["", "合计", Decimal("1234.56"), Decimal("1384.56")])],
                 title="Pay/sheet")
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["Pay_sheet"]
    assert book.get_sheet_by_index(0).to_python() == [["工号", "姓名", "应发", "合计"],
                                                      ["E001", "张三", 1234.56, 1384.56],
                                                      ["", "合计", 1234.56, 1384.56]]


def generated(rows: int) -> Iterator[tuple[Style, list[Any]]]:
    for index in range(rows):
        yield "row", [f"E{index:06d}", Decimal(index) / 100]


LEDGER = [Column("工号"), Column("金额", money=True)]


def test_it_writes_50000_rows_from_a_generator() -> None:
    with tempfile.TemporaryFile() as target:
        written = write_xlsx(Export("大表", LEDGER, generated(50_000)), target)
        target.seek(0)
        book = load_workbook(target, read_only=True)
        count, last = 0, None
        for row in book.active.iter_rows(values_only=True):
            count, last = count + 1, row
        book.close()
    # Streamed sheets carry no <dimension> (max_row is unknown to a read-only openpyxl until it
    # has read every row), so the rows are counted while reading them once.
    assert (written, count, last) == (50_000, 50_001, ("E049999", 499.99))


def test_it_does_not_hold_the_rows_in_memory() -> None:
    with tempfile.TemporaryFile() as target:  # on disk: the output itself is not counted
        tracemalloc.start()
        try:
            write_xlsx(Export("大表", LEDGER, generated(20_000)), target)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Held until the end, these 20,000 rows' XML takes ~6 MB; streamed, a few hundred rows and
    # zlib's state are in memory at a time (measured: ~0.45 MB).
    assert peak < 2_000_000


def test_it_writes_rows_to_the_file_before_it_is_closed() -> None:
    target = io.BytesIO()
    with xlsx.SheetWriter(target, title="t", columns=COLUMNS) as writer:
        for index in range(xlsx.FLUSH_ROWS * 20):
            writer.append([f"E{index:06d}", f"员工{index}", Decimal(index), Decimal(index * 7) / 100])
        before_close = len(target.getvalue())
    assert before_close > len(target.getvalue()) / 2
    assert read_only_values(target.getvalue())[-1] == ("E005119", "员工5119", 5119, 358.33)
