"""Imports the way clerks make files (issue #17, point 6): .xlsx, .xls and .ods wherever an import
takes a file, each under the upload limits; a header row the import does not know named with what
was expected; an identifier that arrived as a number refused at its row and column, never changed;
the template's identifier columns formatted as text.

The .xls fixtures (tests/fixtures/xls/*.xls) were written once by tests/fixtures/make_xls_fixtures.py
with xlwt in a throwaway environment; the .ods files are written here (an .ods is a zip of XML).
Assertions use error codes, rows, columns and data, never the wording.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import actuals
from core.excel import Identifiers, WorkbookRejected, check_xlsx_container, read_workbook
from organizations.importing import ImportRejected, apply_import, build_template, parse_workbook, validate_import
from organizations.models import Person, User
from payroll import pay_input_upload
from tests import test_actuals_import, test_pay_input_upload
from tests.conftest import World
from tests.test_appraisal_api import Scheme, build_scheme, line_of

XLS = Path(__file__).parent / "fixtures" / "xls"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"


# --- writing an .ods ---------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, dt.date):
        return f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}"/>'
    if isinstance(value, int | float | Decimal):
        return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p>' \
               "</table:table-cell>"
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p></table:table-cell>'


def _row(cells: Sequence[Any], repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated}>{''.join(_cell(value) for value in cells)}</table:table-row>"


def ods(sheets: dict[str, Any], *, tail: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """An OpenDocument spreadsheet as LibreOffice lays it out; ``tail`` is raw XML after the rows
    of the last sheet (repeated rows), ``extra`` more members."""
    tables = "".join(
        f'<table:table table:name="{escape(name)}">{"".join(_row(row) for row in rows)}'
        f"{tail if index == len(sheets) - 1 else ''}</table:table>"
        for index, (name, rows) in enumerate(sheets.items())
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_TYPE}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ODS_TYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def xls(name: str) -> bytes:
    return (XLS / name).read_bytes()


def error_codes(errors: Sequence[Any]) -> set[tuple[str, int | None, str, str]]:
    return {(e.sheet, e.row, e.column, e.code) for e in errors}


PEOPLE_ODS: dict[str, Any] = {
    "部门": [["部门编码", "部门名称"], ["X1", "旧格式部门"]],
    "人员": [["工号", "姓名", "部门编码", "基本工资", "入职日期"],
             ["00104", "王芳", "X1", 4321.5, dt.date(2021, 3, 1)],
             [10087, "李强", "X1", 3000, dt.date(2022, 7, 15)]],
}


# --- 1. every format, under the limits ------------------------------------------------------------


@pytest.mark.parametrize("data", [pytest.param(lambda: xls("people.xls"), id="xls"),
                                  pytest.param(lambda: ods(PEOPLE_ODS), id="ods")])
def test_it_imports_people_from_an_xls_or_ods_file(world_a: World, hr: User, data: Any) -> None:
    apply_import(organization=world_a.org, parsed=parse_workbook(data()), acting_user=hr)

    with scope(organization=world_a.org):
        wang = Person.objects.select_related("department").get(employee_no="00104")  # the zeros kept
        li = Person.objects.get(employee_no="10087")  # a new number typed as a number: as it stands
    assert (wang.name, wang.department.code, wang.base_pay, wang.hire_date) == (
        "王芳", "X1", Decimal("4321.50"), dt.date(2021, 3, 1))
    assert (li.base_pay, li.hire_date) == (Decimal("3000.00"), dt.date(2022, 7, 15))


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_it_uploads_pay_inputs_from_an_xls_or_ods_file(client: Client, finance: User, world_a: World,
                                                       fmt: str) -> None:
    period = test_pay_input_upload.trips_period(world_a)
    rows = [["工号", "数据项", "数值"], ["a-hr", "trips", 3], ["a-employee", "trips", 1.5]]
    data = xls("pay_inputs.xls") if fmt == "xls" else ods({"计薪数据": rows})
    client.force_login(finance)

    response = client.post(reverse("pay-input-upload", args=[period.pk]), {
        "file": SimpleUploadedFile(f"inputs.{fmt}", data), "action": "apply"})

    assert response.status_code == 200 and response.context["applied"], response.context.get("errors")
    assert test_pay_input_upload.entered(world_a, period) == {("a-hr", "trips"): Decimal("3"),
                                                              ("a-employee", "trips"): Decimal("1.5")}


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_it_uploads_actuals_from_an_xls_or_ods_file(api_for: Any, world_a: World, hr: User, head: User,
                                                    fmt: str) -> None:
    scheme: Scheme = build_scheme(world_a)
    rows = [["对象编码", "指标编码", "实际值"], ["a-employee", "OUT", 95], ["a-head", "OUT", 120.5]]
    data = xls("actuals.xls") if fmt == "xls" else ods({"实际值": rows})

    response = test_actuals_import.upload(api_for(hr), scheme.period, data, apply=True)

    assert response.status_code == 200, response.content
    assert line_of(world_a, "employee", "OUT").actual == Decimal("95")
    assert line_of(world_a, "head", "OUT").actual == Decimal("120.5")


@pytest.mark.parametrize("parse", [parse_workbook, pay_input_upload.parse_pay_inputs, actuals.parse_actuals],
                         ids=["people", "pay_inputs", "actuals"])
def test_it_refuses_an_xls_whose_cells_reach_past_the_cell_limit(db: None, parse: Any) -> None:
    with pytest.raises(WorkbookRejected) as rejected:
        parse(xls("wide.xls"))  # A1 and GR60000: 12 million cells for calamine's dense grid

    assert [(e.code, e.sheet) for e in rejected.value.errors] == [("too_many_cells", "人员")]


def test_it_refuses_an_xls_over_the_upload_size(db: None, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 4096

    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(xls("people.xls"))  # 5,632 bytes

    assert [e.code for e in rejected.value.errors] == ["too_large"]


def test_it_refuses_a_damaged_xls_as_damaged(db: None) -> None:
    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(xls("people.xls")[:1536])  # the sector chains run past the end

    assert [e.code for e in rejected.value.errors] == ["corrupt"]


def _xls_with(patch: dict[int, bytes]) -> bytes:
    """people.xls with bytes replaced; keys are offsets into its workbook stream's records, found by
    _record (xlwt writes the stream contiguously from the first sector, at byte 512)."""
    data = bytearray(xls("people.xls"))
    for offset, value in patch.items():
        data[offset:offset + len(value)] = value
    return bytes(data)


def _record(kind: int, nth: int = 0) -> int:
    """The file offset of the body of the ``nth`` record of type ``kind`` in people.xls."""
    data, offset, seen = xls("people.xls"), 512, 0
    while offset + 4 <= 512 + 4096:
        record, length = struct.unpack_from("<HH", data, offset)
        if record == kind:
            if seen == nth:
                return offset + 4
            seen += 1
        offset += 4 + length
    raise AssertionError(f"no record {kind:#06x}")


@pytest.mark.parametrize(("patch", "code"), [
    # The 人员 sheet's DIMENSIONS claims 2,000,000 rows: calamine would reserve them all.
    ({_record(0x0200, 1) + 4: struct.pack("<I", 2_000_000)}, "too_many_cells"),
    # A first row past the last (found by fuzzing): calamine's subtraction wraps and it asks for 73 GB.
    ({_record(0x0200, 1): struct.pack("<I", 0xEA000000)}, "corrupt"),
    # Two billion shared strings declared: calamine reserves memory for every one.
    ({_record(0x00FC) + 4: struct.pack("<i", 2**31 - 1)}, "corrupt"),
    # More FAT sectors than the file has.
    ({0x2C: struct.pack("<I", 0xFFFFFF)}, "corrupt"),
    # A byte that makes calamine's reader panic (a slice past the end of a record), found by fuzzing.
    ({1675: b"\xff"}, "corrupt"),
], ids=["dimensions", "backwards_dimensions", "shared_strings", "fat", "reader_panic"])
def test_it_refuses_an_xls_that_would_make_the_reader_allocate_or_crash(db: None, patch: dict[int, bytes],
                                                                        code: str) -> None:
    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(_xls_with(patch))

    assert [e.code for e in rejected.value.errors] == [code]


def test_it_refuses_an_ods_with_a_filled_row_repeated_past_the_cell_limit(db: None) -> None:
    bomb = ods({"人员": [["工号", "姓名"]]}, tail=_row(["E1", "张三"], repeat=1_500_000))

    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(bomb)

    assert [(e.code, e.sheet) for e in rejected.value.errors] == [("too_many_cells", "人员")]


def test_it_reads_an_ods_closed_by_a_million_empty_rows_as_libreoffice_writes_it(db: None) -> None:
    trailing = '<table:table-row table:number-rows-repeated="1048573"><table:table-cell ' \
               'table:number-columns-repeated="1024"/></table:table-row>'
    data = ods({"人员": [["工号", "姓名", "部门编码"], ["E1", "张三", "a-P"]]}, tail=trailing)

    parsed = parse_workbook(data)

    assert parsed.people is not None and [row.number for row in parsed.people.rows] == [2]


def test_it_refuses_an_ods_holding_a_zip_bomb(db: None) -> None:
    bomb = ods({"人员": [["工号"]]}, extra={"Thumbnails/thumbnail.png": b"\0" * (4 * 1024 * 1024)})

    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(bomb)

    assert [e.code for e in rejected.value.errors] == ["too_large_unpacked"]


def test_it_still_refuses_a_plain_zip_that_calls_itself_content(db: None) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/zip")
        archive.writestr("content.xml", "<x/>")

    with pytest.raises(WorkbookRejected) as rejected:
        check_xlsx_container(buffer.getvalue(), "x.ods")

    assert [e.code for e in rejected.value.errors] == ["not_xlsx"]


def test_it_reads_the_same_rows_from_xlsx_xls_and_ods(db: None) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "计薪数据"
    for row in ([["工号", "数据项", "数值"], ["a-hr", "trips", 3], ["a-employee", "trips", 1.5]]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    rows = [["工号", "数据项", "数值"], ["a-hr", "trips", 3], ["a-employee", "trips", 1.5]]

    grids = [read_workbook(data, sheets=["计薪数据"], limit=10**6)["计薪数据"]
             for data in (buffer.getvalue(), xls("pay_inputs.xls"), ods({"计薪数据": rows}))]

    assert grids[0] == grids[1] == grids[2] == rows


# --- 2. headers the import does not know ------------------------------------------------------------


def test_it_names_the_headers_found_and_expected_when_none_is_known(db: None) -> None:
    garbled = ["¹¤ºÅ", "ÐÕÃû", "²¿ÃÅ±àÂë"]  # 工号 / 姓名 / 部门编码 through a GBK → Latin-1 CSV round trip
    parsed = parse_workbook(ods({"人员": [garbled, ["E1", "张三", "a-P"]]}))

    unknown = [e for e in parsed.errors if e.code == "unknown_columns"]
    assert [(e.sheet, e.row) for e in unknown] == [("人员", 1)]
    assert all(header in unknown[0].message for header in [*garbled, "工号", "姓名", "部门编码", "直接上级工号"])
    assert unknown[0].value == "、".join(garbled)


def test_it_names_unknown_headers_in_the_pay_input_and_actuals_uploads(db: None) -> None:
    pay = pay_input_upload.parse_pay_inputs(ods({"计薪数据": [["No.", "Item", "Value"], ["a-hr", "trips", 1]]}))
    actual = actuals.parse_actuals(ods({"实际值": [["code", "kpi", "value"], ["a-hr", "OUT", 1]]}))

    assert [(e.row, e.code) for e in pay.errors] == [(1, "unknown_columns")]
    assert [(e.row, e.code) for e in actual.errors] == [(1, "unknown_columns")]
    assert "“工号”、“数据项”、“数值”" in pay.errors[0].message


# --- 3. identifiers that arrived as numbers ------------------------------------------------------


def test_it_refuses_an_employee_number_that_lost_its_leading_zeros(world_a: World, hr: User) -> None:
    people = [["工号", "姓名", "部门编码"], ["00104", "王芳", "a-P"]]
    apply_import(organization=world_a.org, parsed=parse_workbook(ods({"人员": people})), acting_user=hr)
    resaved = [["工号", "姓名", "部门编码"], [104, "王芳", "a-P"]]  # the same file after LibreOffice

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(ods({"人员": resaved})))

    assert error_codes(plan.errors) == {("人员", 2, "工号", "number_identifier")}
    assert plan.summary.people_created == 0


@pytest.mark.parametrize(("column", "value"), [("部门编码", 12), ("直接上级工号", 104)])
def test_it_refuses_a_reference_that_arrived_as_a_number_and_names_nothing(world_a: World, column: str,
                                                                            value: int) -> None:
    row = {"工号": "N1", "姓名": "张三", "部门编码": "a-P", column: value}
    sheet = [list(row), list(row.values())]

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(ods({"人员": sheet})))

    assert error_codes(plan.errors) == {("人员", 2, column, "number_identifier")}


def test_it_refuses_a_parent_department_code_that_arrived_as_a_number(world_a: World) -> None:
    sheet = [["部门编码", "部门名称", "上级部门编码"], ["D9", "九部", 7]]

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(ods({"部门": sheet})))

    assert error_codes(plan.errors) == {("部门", 2, "上级部门编码", "number_identifier")}


def test_it_refuses_an_actuals_subject_that_arrived_as_a_number(api_for: Any, world_a: World, hr: User,
                                                                head: User, tmp_path: Path) -> None:
    scheme = build_scheme(world_a)
    data = test_actuals_import.workbook(tmp_path, [(104, "OUT", 95, None, None)])

    response = test_actuals_import.upload(api_for(hr), scheme.period, data, apply=False)

    assert test_actuals_import.issues(response) == {(2, "对象编码", "number_identifier")}


def test_it_reads_a_number_that_names_a_known_identifier_as_it_stands() -> None:
    identifiers = Identifiers({"1001", "00104"})

    assert identifiers.read(1001.0, column="工号") == "1001"
    assert identifiers.read(10087, column="工号", may_create=True) == "10087"
    with pytest.raises(Exception, match="104"):
        identifiers.read(104, column="工号", may_create=True)


# --- 4. the template ----------------------------------------------------------------------------


def test_it_formats_every_identifier_column_of_the_template_as_text(world_a: World) -> None:
    book = openpyxl.load_workbook(io.BytesIO(build_template(organization=world_a.org)))
    identifiers = {"部门": ["部门编码", "上级部门编码"], "人员": ["工号", "部门编码", "班组", "直接上级工号"]}

    for sheet_name, headers in identifiers.items():
        sheet = book[sheet_name]
        letters = {cell.value: cell.column_letter for cell in sheet[1]}
        for header in headers:
            letter = letters[header]
            assert sheet[f"{letter}2"].number_format == "@", (sheet_name, header)
            assert sheet.column_dimensions[letter].number_format == "@", (sheet_name, header)
