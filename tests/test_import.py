"""The Excel import: reading, the dry run that reports every bad row, the all-or-nothing apply, the
template, the page and the API.

The two LibreOffice fixtures (tests/fixtures/xlsx/good.xlsx and bad.xlsx, regenerated from their
.fods sources by tests/fixtures/make_libreoffice_fixtures.sh) prove that a file a real spreadsheet
program wrote is read correctly; smaller cases build their workbook with openpyxl. Assertions use
error codes and data, never the wording, so they hold in both languages.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django_scopes import scope
from rest_framework.test import APIClient

from organizations import importing
from organizations.import_api import ImportApplyView, ImportDryRunView
from organizations.importing import (
    DEPARTMENT_COLUMNS,
    DEPARTMENTS_SHEET,
    PEOPLE_COLUMNS,
    PEOPLE_SHEET,
    ImportRejected,
    ImportRows,
    apply_import,
    parse_workbook,
    validate_import,
    writing,
)
from organizations.models import Department, Organization, Person, User
from tests.conftest import World

FIXTURES = Path(__file__).parent / "fixtures" / "xlsx"
DRY_RUN_URL = "/api/imports/dry-run/"
APPLY_URL = "/api/imports/apply/"

# Every problem planted in bad.fods, as (sheet, Excel row, column, code).
BAD_FILE_ERRORS = {
    ("部门", 2, "上级部门编码", "cycle"),
    ("部门", 3, "上级部门编码", "cycle"),
    ("部门", 4, "部门名称", "required"),
    ("部门", 5, "上级部门编码", "unknown_parent"),
    ("部门", 6, "部门类型", "unknown_type"),
    ("人员", 3, "基本工资", "bad_decimal"),
    ("人员", 4, "基本工资", "negative"),
    ("人员", 5, "部门编码", "unknown_department"),
    ("人员", 6, "工号", "duplicate"),
    ("人员", 7, "入职日期", "bad_date"),
    ("人员", 8, "直接上级工号", "unknown_manager"),
    ("人员", 9, "姓名", "required"),
    ("人员", 10, "直接上级工号", "own_manager"),
    ("人员", 11, "离职日期", "leave_before_hire"),
    ("人员", 12, "班组", "team_mismatch"),
    ("人员", 13, "状态", "bad_status"),
}


# --- helpers ------------------------------------------------------------------------------------


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def xlsx(departments: Sequence[Mapping[str, Any]] | None = None, people: Sequence[Mapping[str, Any]] | None = None,
         *, people_headers: Sequence[str] | None = None) -> bytes:
    """A workbook made with openpyxl; rows are dicts keyed by the Chinese headers, ``{}`` is an empty row."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, columns, rows, headers in (
        (DEPARTMENTS_SHEET, DEPARTMENT_COLUMNS, departments, None),
        (PEOPLE_SHEET, PEOPLE_COLUMNS, people, people_headers),
    ):
        if rows is None:
            continue
        sheet = workbook.create_sheet(title)
        used = {key for row in rows for key in row}
        header = list(headers) if headers is not None else [c.header for c in columns if c.header in used]
        sheet.append(header)
        for number, row in enumerate(rows, start=2):
            for index, key in enumerate(header, start=1):
                if key in row:
                    sheet.cell(row=number, column=index, value=row[key])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def person_row(employee_no: str, department: str = "a-P", **extra: Any) -> dict[str, Any]:
    return {"工号": employee_no, "姓名": f"员工{employee_no}", "部门编码": department, **extra}


def snapshot(org: Organization) -> tuple[int, int, int, int]:
    with scope(organization=org):
        return (Department.objects.count(), Person.objects.count(),
                Department.history.count(), Person.history.count())


def issues(errors: Sequence[importing.ImportIssue]) -> set[tuple[str, int | None, str, str]]:
    return {(e.sheet, e.row, e.column, e.code) for e in errors}


def upload(data: bytes, name: str = "import.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=importing.TEMPLATE_CONTENT_TYPE)


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def person(org: Organization, employee_no: str) -> Person:
    with scope(organization=org):
        return Person.objects.select_related("department", "manager", "team").get(employee_no=employee_no)


def department(org: Organization, code: str) -> Department:
    with scope(organization=org):
        return Department.objects.select_related("parent", "department_type").get(code=code)


# --- the LibreOffice fixtures -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["good.xlsx", "bad.xlsx"])
def test_it_uses_fixtures_that_libreoffice_really_wrote(name: str) -> None:
    with zipfile.ZipFile(FIXTURES / name) as archive:
        application = archive.read("docProps/app.xml").decode()
    assert "LibreOffice" in application


def test_it_creates_departments_with_parents_from_the_same_file(world_a: World, hr: User) -> None:
    apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    d10, d11, d12 = (department(world_a.org, code) for code in ("D10", "D11", "D12"))
    assert d10.department_type and d11.department_type and d12.department_type
    assert d10.parent is None and d10.department_type.code == "production"
    assert d11.parent == d10 and d11.department_type.code == "production"  # type matched by its name 生产
    assert d12.parent == world_a.back_office and d12.department_type.code == "logistics"
    assert d11.name == "电气检修室"


def test_it_creates_people_with_managers_from_the_same_file(world_a: World, hr: User) -> None:
    result = apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    assert result.summary.people_created == 5 and result.summary.departments_created == 3
    e002 = person(world_a.org, "E002")
    assert e002.manager == person(world_a.org, "E001")
    assert e002.department.code == "D11"
    assert e002.base_pay == Decimal("6320.50")
    assert e002.hire_date == dt.date(2021, 3, 15)
    assert person(world_a.org, "E004").manager == e002
    assert person(world_a.org, "E004").leave_date == dt.date(2024, 6, 30)
    assert person(world_a.org, "E004").status == Person.Status.LEFT


def test_it_links_people_to_teams_and_managers_already_in_the_organization(world_a: World, hr: User) -> None:
    apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    e003 = person(world_a.org, "E003")
    assert e003.team == world_a.shift
    assert e003.manager == world_a.people["head"]
    assert e003.status == Person.Status.ON_LEAVE


def test_it_reads_an_employee_number_typed_into_a_number_cell_as_text(world_a: World, hr: User) -> None:
    apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    chen = person(world_a.org, "10086")  # not "10086.0"
    assert chen.name == "陈静"
    assert chen.status == Person.Status.ACTIVE  # blank 状态


def test_it_leaves_an_audit_row_for_every_created_row(world_a: World, hr: User) -> None:
    apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    with scope(organization=world_a.org):
        for model, field, keys in ((Department, "code", ["D10", "D11", "D12"]),
                                   (Person, "employee_no", ["E001", "E002", "E003", "E004", "10086"])):
            for key in keys:
                history = list(model.history.filter(**{field: key}))
                assert history, key
                assert all(h.history_change_reason == "excel import" for h in history)
                assert all(h.history_user_id == hr.pk for h in history)
                assert history[-1].history_type == "+"


def test_it_updates_instead_of_duplicating_when_the_same_file_comes_again(world_a: World, hr: User) -> None:
    apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)
    before = snapshot(world_a.org)

    again = apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    assert snapshot(world_a.org) == before  # no new rows, and no audit rows for rows that did not change
    assert again.summary.as_dict() == {
        "departments_created": 0, "departments_updated": 0, "departments_unchanged": 3,
        "people_created": 0, "people_updated": 0, "people_unchanged": 5,
    }


def test_it_updates_an_existing_person_and_audits_the_change(world_a: World, hr: User) -> None:
    data = xlsx(people=[person_row("a-employee", "a-P1", 姓名="改名", 基本工资="5000.5", 班组="a-S1")])

    result = apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    assert result.summary.people_updated == 1 and result.summary.people_created == 0
    updated = person(world_a.org, "a-employee")
    assert (updated.name, updated.base_pay) == ("改名", Decimal("5000.50"))
    with scope(organization=world_a.org):
        latest = Person.history.filter(employee_no="a-employee").latest("history_date")
    assert (latest.history_type, latest.history_change_reason, latest.history_user_id) == ("~", "excel import", hr.pk)


def test_it_moves_existing_rows_under_rows_created_by_the_same_file(world_a: World, hr: User) -> None:
    data = xlsx(
        departments=[{"部门编码": "N1", "部门名称": "新部门"},
                     {"部门编码": "a-B", "部门名称": "综合办", "上级部门编码": "N1"}],
        people=[person_row("N100", "N1"), person_row("a-colleague", "a-B", 姓名="colleague-a", 直接上级工号="N100")],
    )

    result = apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    assert (result.summary.departments_updated, result.summary.people_updated) == (1, 1)
    assert department(world_a.org, "a-B").parent == department(world_a.org, "N1")
    assert person(world_a.org, "a-colleague").manager == person(world_a.org, "N100")


def test_it_refuses_to_move_a_person_away_from_their_team_silently(world_a: World) -> None:
    # a-employee is in shift a-S1 of a-P1; without a 班组 column the team would end up in the wrong department.
    data = xlsx(people=[person_row("a-employee", "a-B", 姓名="employee-a")])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("人员", 2, "部门编码", "team_mismatch")}


def test_it_leaves_fields_alone_whose_column_is_absent(world_a: World, hr: User) -> None:
    data = xlsx(people=[person_row("a-employee", "a-P1", 姓名="改名")])  # no 基本工资, no 班组 column

    apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    updated = person(world_a.org, "a-employee")
    assert updated.base_pay == Decimal("3000.00")
    assert updated.team == world_a.shift


# --- the dry run reports every bad row ----------------------------------------------------------


def test_it_reports_every_bad_row_of_a_bad_file_with_sheet_row_and_column(world_a: World) -> None:
    plan = validate_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("bad.xlsx")))

    assert issues(plan.errors) == BAD_FILE_ERRORS
    values = {(e.sheet, e.row, e.column): e.value for e in plan.errors}
    assert values[("人员", 3, "基本工资")] == "3000.123"
    assert values[("人员", 4, "基本工资")] == "-5"
    assert values[("人员", 5, "部门编码")] == "ZZZ"
    assert all(e.message for e in plan.errors)


def test_it_writes_nothing_in_a_dry_run(world_a: World) -> None:
    before = snapshot(world_a.org)

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")))

    assert plan.is_valid and plan.summary.people_created == 5
    assert snapshot(world_a.org) == before


def test_it_writes_nothing_when_applying_a_bad_file(world_a: World, hr: User) -> None:
    before = snapshot(world_a.org)

    with pytest.raises(ImportRejected) as rejected:
        apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("bad.xlsx")), acting_user=hr)

    assert issues(rejected.value.errors) == BAD_FILE_ERRORS
    assert snapshot(world_a.org) == before
    with scope(organization=world_a.org):
        assert not Department.objects.filter(code__in=["X1", "X2", "X4", "X5"]).exists()
        assert not Person.objects.filter(employee_no="B001").exists()  # the one good person row


def test_it_writes_nothing_when_one_row_among_good_ones_is_bad(world_a: World, hr: User) -> None:
    data = xlsx(
        departments=[{"部门编码": "N1", "部门名称": "新部门"}],
        people=[person_row("N100", "N1"), person_row("N101", "N1", 入职日期="2024-02-30")],
    )
    before = snapshot(world_a.org)

    with pytest.raises(ImportRejected) as rejected:
        apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    assert issues(rejected.value.errors) == {("人员", 3, "入职日期", "bad_date")}
    assert snapshot(world_a.org) == before


def test_it_rolls_back_everything_when_a_write_fails_halfway(world_a: World, hr: User,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Patched where apply_import looks it up: the module that does the bulk writes.
    real = writing.bulk_create_with_history

    def fail_on_people(objs: list[Any], model: Any, **kwargs: Any) -> Any:
        if model is Person:
            raise RuntimeError("database went away")
        return real(objs, model, **kwargs)

    monkeypatch.setattr(writing, "bulk_create_with_history", fail_on_people)
    before = snapshot(world_a.org)

    with pytest.raises(RuntimeError):
        apply_import(organization=world_a.org, parsed=parse_workbook(fixture_bytes("good.xlsx")), acting_user=hr)

    assert snapshot(world_a.org) == before  # the departments written first are gone too


def test_it_reports_a_missing_required_column_once_naming_sheet_and_column(world_a: World) -> None:
    data = xlsx(people=[person_row("N1"), person_row("N2"), person_row("N3")], people_headers=["工号", "部门编码"])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("人员", 1, "姓名", "missing_column")}


def test_it_reports_the_row_number_excel_shows_after_empty_rows(world_a: World) -> None:
    data = xlsx(people=[person_row("N1"), {}, {}, person_row("N2", 入职日期="someday")])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("人员", 5, "入职日期", "bad_date")}
    assert plan.summary.people_created == 1  # the empty rows are skipped, not people


def test_it_detects_a_loop_through_a_department_already_in_the_organization(world_a: World) -> None:
    # a-P1 sits under a-P; putting a-P under a-P1 closes a loop.
    data = xlsx(departments=[{"部门编码": "a-P", "部门名称": "生产部", "上级部门编码": "a-P1"}])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("部门", 2, "上级部门编码", "cycle")}


def test_it_rejects_a_department_that_is_its_own_parent(world_a: World) -> None:
    data = xlsx(departments=[{"部门编码": "N1", "部门名称": "新部门", "上级部门编码": "N1"}])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("部门", 2, "上级部门编码", "own_parent")}


def test_it_reports_a_team_that_does_not_exist(world_a: World) -> None:
    data = xlsx(people=[person_row("N1", "a-P1", 班组="NO-SUCH-TEAM")])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("人员", 2, "班组", "unknown_team")}


# --- values -------------------------------------------------------------------------------------


def test_it_keeps_base_pay_exact(world_a: World, hr: User) -> None:
    data = xlsx(people=[person_row("N1", 基本工资=4321.5), person_row("N2", 基本工资="1,234.5"),
                        person_row("N3", 基本工资=0.1 + 0.2 - 0.3 + 2.05)])

    apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    assert person(world_a.org, "N1").base_pay == Decimal("4321.50")
    assert str(person(world_a.org, "N1").base_pay) == "4321.50"
    assert person(world_a.org, "N2").base_pay == Decimal("1234.50")
    assert person(world_a.org, "N3").base_pay == Decimal("2.05")


@pytest.mark.parametrize("cell", [3000.123, "3000.123", -5, "-0.01", "abc", "1e400", True])
def test_it_rejects_base_pay_that_is_not_two_place_money(world_a: World, cell: Any) -> None:
    data = xlsx(people=[person_row("N1", 基本工资=cell)])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert [(e.row, e.column) for e in plan.errors] == [(2, "基本工资")]


def test_it_parses_text_dates_in_three_formats(world_a: World, hr: User) -> None:
    data = xlsx(people=[
        person_row("N1", 入职日期="2024-03-01"),
        person_row("N2", 入职日期="2024/3/1"),
        person_row("N3", 入职日期="2024年3月1日"),
        person_row("N4", 入职日期=dt.date(2024, 3, 1)),
    ])

    apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    assert {person(world_a.org, no).hire_date for no in ("N1", "N2", "N3", "N4")} == {dt.date(2024, 3, 1)}


def test_it_matches_headers_after_removing_whitespace_and_ignores_unknown_columns(world_a: World, hr: User) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = " 人员 "
    sheet.append(["  工号", "姓名 ", "部\u3000门编码", "备注"])
    sheet.append(["N1", "张三", "a-P", "随便写"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = apply_import(organization=world_a.org, parsed=parse_workbook(buffer.getvalue()), acting_user=hr)

    assert result.summary.people_created == 1
    assert person(world_a.org, "N1").name == "张三"


def test_it_accepts_rows_that_did_not_come_from_excel(world_a: World, hr: User) -> None:
    rows = ImportRows.from_records(
        departments=[{"code": "N1", "name": "新部门", "parent": "a-P"}],
        people=[{"employee_no": "N100", "name": "张三", "department": "N1", "base_pay": Decimal("4321.50"),
                 "hire_date": dt.date(2024, 3, 1), "状态": "长期休假"}],
    )

    apply_import(organization=world_a.org, parsed=rows, acting_user=hr)

    created = person(world_a.org, "N100")
    assert created.department.parent == world_a.production
    assert (created.base_pay, created.status) == (Decimal("4321.50"), Person.Status.ON_LEAVE)


# --- files that cannot be read ------------------------------------------------------------------


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [
    "工号,姓名,部门编码\nN1,张三,a-P\n".encode(),  # a CSV renamed to .xlsx
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,  # an old .xls (or a password-protected workbook)
    b"",
], ids=["csv", "xls", "empty"])
def test_it_rejects_a_file_that_is_not_xlsx(db: None, data: bytes) -> None:
    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(data)

    assert [e.code for e in rejected.value.errors] == ["not_xlsx"]
    assert rejected.value.errors[0].message


def test_it_rejects_a_zip_that_is_not_a_workbook(db: None) -> None:
    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(_zip_without_workbook())

    assert [e.code for e in rejected.value.errors] == ["not_xlsx"]


def test_it_rejects_a_damaged_xlsx(db: None) -> None:
    data = fixture_bytes("good.xlsx")

    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(data[: len(data) // 2])

    assert [e.code for e in rejected.value.errors] == ["corrupt"]


def test_it_rejects_a_file_over_the_size_limit(db: None, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 2048

    with pytest.raises(ImportRejected) as rejected:
        parse_workbook(upload(fixture_bytes("good.xlsx")))

    assert [e.code for e in rejected.value.errors] == ["too_large"]


def test_it_reports_a_workbook_without_either_sheet(world_a: World) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Sheet1"
    buffer = io.BytesIO()
    workbook.save(buffer)

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(buffer.getvalue()))

    assert [e.code for e in plan.errors] == ["no_sheets"]


# --- tenancy ------------------------------------------------------------------------------------


def test_it_does_not_find_another_tenants_department(world_a: World, world_b: World, hr: User) -> None:
    data = xlsx(people=[person_row("N1", "b-P")])  # org B's production department
    before_b = snapshot(world_b.org)

    with pytest.raises(ImportRejected) as rejected:
        apply_import(organization=world_a.org, parsed=parse_workbook(data), acting_user=hr)

    assert issues(rejected.value.errors) == {("人员", 2, "部门编码", "unknown_department")}
    assert snapshot(world_b.org) == before_b


def test_it_does_not_find_another_tenants_manager(world_a: World, world_b: World) -> None:
    data = xlsx(people=[person_row("N1", 直接上级工号="b-head")])

    plan = validate_import(organization=world_a.org, parsed=parse_workbook(data))

    assert issues(plan.errors) == {("人员", 2, "直接上级工号", "unknown_manager")}


def test_it_imports_an_outsiders_file_into_their_own_organization_only(
    world_a: World, world_b: World, outsider: User, api_for: Any
) -> None:
    data = xlsx(people=[person_row("N1", "b-P")])
    before_a = snapshot(world_a.org)

    response = api_for(outsider).post(APPLY_URL, {"file": upload(data)}, format="multipart")

    assert response.status_code == 200, response.json()
    assert person(world_b.org, "N1").department == world_b.production
    assert snapshot(world_a.org) == before_a


# --- query count --------------------------------------------------------------------------------


def _roster(size: int) -> ImportRows:
    # Everyone reports to the first person, who is new too: the second pass runs as well.
    return ImportRows.from_records(
        departments=[{"code": "N1", "name": "新部门", "parent": "a-P"}],
        people=[{"employee_no": f"N{i:04}", "name": f"员工{i}", "department": "N1", "base_pay": "3000.50",
                 "hire_date": "2024-03-01", "manager": "N0000" if i else ""} for i in range(size)],
    )


def test_it_imports_without_a_query_per_row(world_a: World, hr: User) -> None:
    with CaptureQueriesContext(connection) as small:
        apply_import(organization=world_a.org, parsed=_roster(20), acting_user=hr)
    with scope(organization=world_a.org):
        Person.objects.filter(employee_no__startswith="N").delete()
        Department.objects.filter(code="N1").delete()

    with CaptureQueriesContext(connection) as large:
        apply_import(organization=world_a.org, parsed=_roster(200), acting_user=hr)

    assert person(world_a.org, "N0199").manager == person(world_a.org, "N0000")
    # Only the batches of the bulk statements grow (the database's limit on parameters), never per row.
    assert len(large) <= 30
    assert len(large) - len(small) <= 12


# --- the template -------------------------------------------------------------------------------


def test_it_downloads_the_template_as_an_attachment(world_a: World, hr: User, client: Client) -> None:
    response = signed_in(client, hr).get(reverse("import-template"))

    assert response.status_code == 200
    assert response["Content-Type"] == importing.TEMPLATE_CONTENT_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E4%BA%BA%E5%91%98%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx" in disposition
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    people = workbook[PEOPLE_SHEET]
    assert [c.value for c in people[1]] == [c.header for c in PEOPLE_COLUMNS]
    assert all(c.font.bold for c in people[1])
    assert [c.value for c in workbook[DEPARTMENTS_SHEET][1]] == [c.header for c in DEPARTMENT_COLUMNS]


def test_it_offers_pick_lists_for_status_and_department_type_in_the_template(world_a: World) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(importing.build_template(organization=world_a.org)))

    status = workbook[PEOPLE_SHEET].data_validations.dataValidation
    assert any("在职" in (v.formula1 or "") and "L2" in str(v.sqref) for v in status)
    types = workbook[DEPARTMENTS_SHEET].data_validations.dataValidation
    assert len(types) == 1 and "D2" in str(types[0].sqref)
    listed = {workbook["选项"].cell(row=i, column=1).value for i in range(1, 6)}
    assert listed == {"生产", "后勤", "临床", "网点", "职能"}  # the organisation's types


def test_it_accepts_the_template_after_a_row_is_filled_in(world_a: World, hr: User) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(importing.build_template(organization=world_a.org)))
    workbook[PEOPLE_SHEET].append(["E0002", "李四", "D001", "", "技术员", "3", "C1", 3500, dt.date(2024, 5, 6),
                                   None, "E0001", "在职"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    result = apply_import(organization=world_a.org, parsed=parse_workbook(buffer.getvalue()), acting_user=hr)

    assert (result.summary.departments_created, result.summary.people_created) == (1, 2)
    assert person(world_a.org, "E0002").manager == person(world_a.org, "E0001")
    assert person(world_a.org, "E0001").base_pay == Decimal("4321.50")


# --- the page -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["import", "import-template"])
def test_it_refuses_the_page_to_an_employee(employee: User, client: Client, name: str) -> None:
    assert signed_in(client, employee).get(reverse(name)).status_code == 403


def test_it_refuses_an_upload_from_an_employee_and_writes_nothing(world_a: World, employee: User,
                                                                   client: Client) -> None:
    before = snapshot(world_a.org)

    response = signed_in(client, employee).post(
        reverse("import"), {"file": upload(fixture_bytes("good.xlsx")), "action": "apply"}
    )

    assert response.status_code == 403
    assert snapshot(world_a.org) == before


def test_it_sends_a_user_in_no_organization_home(db: None, client: Client) -> None:
    stranger = User.objects.create_user(username="stranger", password="pw-stranger")

    response = signed_in(client, stranger).get(reverse("import"))

    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_it_sends_an_anonymous_visitor_to_login(db: None, client: Client) -> None:
    response = client.get(reverse("import"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_shows_the_page_with_the_template_link_to_hr(hr: User, client: Client) -> None:
    response = signed_in(client, hr).get(reverse("import"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="import-form"' in html and reverse("import-template") in html


def test_it_dry_runs_through_the_page_without_writing(world_a: World, hr: User, client: Client) -> None:
    before = snapshot(world_a.org)

    response = signed_in(client, hr).post(
        reverse("import"), {"file": upload(fixture_bytes("good.xlsx")), "action": "dry_run"}
    )

    assert response.status_code == 200
    assert response.context["summary"].people_created == 5 and not response.context["applied"]
    assert 'id="import-counts"' in response.content.decode()
    assert snapshot(world_a.org) == before


def test_it_lists_every_problem_on_the_page(world_a: World, hr: User, client: Client) -> None:
    response = signed_in(client, hr).post(
        reverse("import"), {"file": upload(fixture_bytes("bad.xlsx")), "action": "dry_run"}
    )

    assert response.status_code == 200
    assert issues(response.context["errors"]) == BAD_FILE_ERRORS
    rows = re.findall(r'<tr data-sheet="([^"]*)" data-row="(\d*)" data-column="([^"]*)"\s+data-code="([^"]*)"',
                      response.content.decode())
    assert {(sheet, int(row), column, code) for sheet, row, column, code in rows} == BAD_FILE_ERRORS


def test_it_applies_through_the_page(world_a: World, hr: User, client: Client) -> None:
    response = signed_in(client, hr).post(
        reverse("import"), {"file": upload(fixture_bytes("good.xlsx")), "action": "apply"}
    )

    assert response.status_code == 200
    assert response.context["applied"] and response.context["summary"].people_created == 5
    assert person(world_a.org, "E002").manager == person(world_a.org, "E001")


def test_it_refuses_to_apply_a_bad_file_through_the_page(world_a: World, hr: User, client: Client) -> None:
    before = snapshot(world_a.org)

    response = signed_in(client, hr).post(
        reverse("import"), {"file": upload(fixture_bytes("bad.xlsx")), "action": "apply"}
    )

    assert response.status_code == 400
    assert issues(response.context["errors"]) == BAD_FILE_ERRORS
    assert snapshot(world_a.org) == before


def test_it_tells_the_page_user_a_file_is_not_xlsx(world_a: World, hr: User, client: Client) -> None:
    response = signed_in(client, hr).post(
        reverse("import"), {"file": upload(b"a,b\n1,2\n", "roster.csv"), "action": "dry_run"}
    )

    assert response.status_code == 400
    assert [e.code for e in response.context["errors"]] == ["not_xlsx"]


# --- the API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [DRY_RUN_URL, APPLY_URL])
def test_it_refuses_the_api_to_an_employee(world_a: World, employee: User, api_for: Any, url: str) -> None:
    before = snapshot(world_a.org)

    response = api_for(employee).post(url, {"file": upload(fixture_bytes("good.xlsx"))}, format="multipart")

    assert response.status_code == 403
    assert snapshot(world_a.org) == before


def test_it_refuses_the_api_to_a_user_in_no_organization(world_a: World) -> None:
    stranger = User.objects.create_user(username="stranger", password="pw-stranger")
    client = APIClient()
    client.force_login(stranger)

    response = client.post(APPLY_URL, {"file": upload(fixture_bytes("good.xlsx"))}, format="multipart")

    assert response.status_code == 403


def test_it_dry_runs_through_the_api(world_a: World, hr: User, api_for: Any) -> None:
    before = snapshot(world_a.org)

    response = api_for(hr).post(DRY_RUN_URL, {"file": upload(fixture_bytes("good.xlsx"))}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["errors"] == []
    assert body["summary"]["people_created"] == 5 and body["summary"]["departments_created"] == 3
    assert snapshot(world_a.org) == before


def test_it_reports_every_problem_through_the_api_dry_run(world_a: World, hr: User, api_for: Any) -> None:
    response = api_for(hr).post(DRY_RUN_URL, {"file": upload(fixture_bytes("bad.xlsx"))}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert {(e["sheet"], e["row"], e["column"], e["code"]) for e in body["errors"]} == BAD_FILE_ERRORS
    assert set(body["errors"][0]) == {"sheet", "row", "column", "value", "code", "message"}


def test_it_applies_through_the_api(world_a: World, hr: User, api_for: Any) -> None:
    response = api_for(hr).post(APPLY_URL, {"file": upload(fixture_bytes("good.xlsx"))}, format="multipart")

    assert response.status_code == 200
    assert response.json()["summary"]["people_created"] == 5
    assert person(world_a.org, "E004").manager == person(world_a.org, "E002")


def test_it_refuses_a_bad_file_through_the_api_and_writes_nothing(world_a: World, hr: User, api_for: Any) -> None:
    before = snapshot(world_a.org)

    response = api_for(hr).post(APPLY_URL, {"file": upload(fixture_bytes("bad.xlsx"))}, format="multipart")

    assert response.status_code == 400
    assert {(e["sheet"], e["row"], e["column"], e["code"]) for e in response.json()["errors"]} == BAD_FILE_ERRORS
    assert snapshot(world_a.org) == before


def test_it_answers_400_through_the_api_when_no_file_is_sent(hr: User, api_for: Any) -> None:
    response = api_for(hr).post(DRY_RUN_URL, {}, format="multipart")

    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["no_file"]


def test_it_describes_the_import_api_without_schema_warnings(db: None) -> None:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    patterns = [path("api/imports/dry-run/", ImportDryRunView.as_view()),
                path("api/imports/apply/", ImportApplyView.as_view())]
    GENERATOR_STATS.reset()

    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)

    assert not GENERATOR_STATS, "drf-spectacular warned about the import views"
    operation = schema["paths"]["/api/imports/apply/"]["post"]
    reference = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    upload_schema = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert upload_schema["properties"]["file"] == {**upload_schema["properties"]["file"], "type": "string",
                                                   "format": "binary"}
    assert {"200", "400"} <= set(operation["responses"])
