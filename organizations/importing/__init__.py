"""Excel import of departments and people: read, check every row (dry run), then write all or nothing.

HR keeps the organisation chart and the roster in Excel with Chinese headers. The import reads a
workbook (.xlsx, .xls or .ods, under the same upload limits) with a sheet "部门" (departments)
and/or a sheet "人员" (people):

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
  Excel itself (00123 → 123); the downloadable template formats those columns as text. A code
  that arrives as a number is taken as it stands only when it names a known code (or, for a new
  department or person, when no known code is it with leading zeros): otherwise it is refused as
  ``number_identifier`` at its row and column (core.excel.Identifiers).
* A header row in which no column is one the sheet reads is reported as ``unknown_columns`` with
  the headers found and expected (headers garbled by a CSV conversion), not as an empty sheet.

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

Where things are: reading.py (the sheets, their columns, parse_workbook, ImportRows), checking.py
(validate_import and its Planner), writing.py (apply_import and the bulk writes), template.py
(build_template, the download). The generic Excel reading (size and zip checks, headers, cells,
ImportIssue) is core.excel's, shared with the actuals upload (appraisal.actuals).
"""

from __future__ import annotations

from core.excel import Cell, ImportIssue, SheetRows, SourceRow
from organizations.importing.checking import ImportPlan, validate_import
from organizations.importing.reading import (
    COLUMNS_BY_SHEET,
    DEPARTMENT_COLUMN,
    DEPARTMENT_COLUMNS,
    DEPARTMENTS_SHEET,
    LABEL_BY_STATUS,
    MAX_BASE_PAY,
    PEOPLE_COLUMN,
    PEOPLE_COLUMNS,
    PEOPLE_SHEET,
    STATUS_BY_LABEL,
    Column,
    ImportRejected,
    ImportRows,
    ImportSummary,
    ParsedWorkbook,
    parse_base_pay,
    parse_status,
    parse_workbook,
)
from organizations.importing.template import (
    TEMPLATE_ASCII_FILENAME,
    TEMPLATE_CONTENT_TYPE,
    TEMPLATE_FILENAME,
    build_template,
)
from organizations.importing.writing import CHANGE_REASON, ImportResult, apply_import

__all__ = [
    "CHANGE_REASON",
    "COLUMNS_BY_SHEET",
    "DEPARTMENTS_SHEET",
    "DEPARTMENT_COLUMN",
    "DEPARTMENT_COLUMNS",
    "LABEL_BY_STATUS",
    "MAX_BASE_PAY",
    "PEOPLE_COLUMN",
    "PEOPLE_COLUMNS",
    "PEOPLE_SHEET",
    "STATUS_BY_LABEL",
    "TEMPLATE_ASCII_FILENAME",
    "TEMPLATE_CONTENT_TYPE",
    "TEMPLATE_FILENAME",
    "Cell",
    "Column",
    "ImportIssue",
    "ImportPlan",
    "ImportRejected",
    "ImportResult",
    "ImportRows",
    "ImportSummary",
    "ParsedWorkbook",
    "SheetRows",
    "SourceRow",
    "apply_import",
    "build_template",
    "parse_base_pay",
    "parse_status",
    "parse_workbook",
    "validate_import",
]
