"""The downloadable import template: the workbook HR fills in."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django_scopes import scope

from organizations.importing.reading import (
    DEPARTMENT_COLUMNS,
    DEPARTMENTS_SHEET,
    PEOPLE_COLUMNS,
    PEOPLE_SHEET,
    STATUS_BY_LABEL,
    Column,
)
from organizations.models import DepartmentType, Organization

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

TEMPLATE_FILENAME = "人员导入模板.xlsx"
TEMPLATE_ASCII_FILENAME = "import-template.xlsx"
TEMPLATE_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_WIDTHS = {"部门名称": 20, "上级部门编码": 14, "部门类型": 14, "直接上级工号": 14, "入职日期": 13, "离职日期": 13}
_TEXT_HEADERS = {"部门编码", "上级部门编码", "工号", "班组", "直接上级工号", "职级", "薪档"}


def build_template(*, organization: Organization) -> bytes:
    """The workbook HR fills in: both sheets, bold headers, one example row each, pick lists for
    状态 and 部门类型, code columns formatted as text. The example rows import as they stand."""
    # Only the template needs openpyxl (reading is python-calamine): loaded when one is built.
    from openpyxl import Workbook

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

    first_type = types[0].name if types else ""
    department_example: list[Any] = ["D001", "示例部门", "", first_type]
    person_example: list[Any] = [
        "E0001", "张三", "D001", "", "工程师", "5", "B2", Decimal("4321.50"), dt.date(2024, 3, 1), None, "", "在职",
    ]
    _fill_sheet(departments, DEPARTMENT_COLUMNS, department_example)
    _fill_sheet(people, PEOPLE_COLUMNS, person_example)
    _add_pick_lists(departments, people, len(types))

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill_sheet(sheet: Worksheet, columns: tuple[Column, ...], example: list[Any]) -> None:
    """Bold headers, the example row in grey italics, number formats and widths per column."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    example_font = Font(italic=True, color="808080")
    for index, (column, value) in enumerate(zip(columns, example, strict=True), start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index, value=column.header)
        header.font = Font(bold=True)
        cell = sheet.cell(row=2, column=index, value=value)
        cell.font = example_font
        if column.header in _TEXT_HEADERS:
            cell.number_format = "@"
            # Whole column as text, so 00123 keeps its zeros when HR types it in.
            sheet.column_dimensions[letter].number_format = "@"
        elif column.field == "base_pay":
            cell.number_format = "0.00"
        elif column.field in ("hire_date", "leave_date"):
            cell.number_format = "yyyy-mm-dd"
        sheet.column_dimensions[letter].width = _WIDTHS.get(column.header, 12)
    sheet.freeze_panes = "A2"


def _add_pick_lists(departments: Worksheet, people: Worksheet, type_count: int) -> None:
    """状态 from its fixed labels; 部门类型 from the hidden sheet's first ``type_count`` rows."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    status_letter = get_column_letter(next(i for i, c in enumerate(PEOPLE_COLUMNS, 1) if c.field == "status"))
    status_list = DataValidation(type="list", formula1='"' + ",".join(STATUS_BY_LABEL) + '"', allow_blank=True)
    status_list.add(f"{status_letter}2:{status_letter}10000")
    people.add_data_validation(status_list)
    if type_count:
        type_list = DataValidation(type="list", formula1=f"'选项'!$A$1:$A${type_count}", allow_blank=True)
        type_list.add("D2:D10000")
        departments.add_data_validation(type_list)
