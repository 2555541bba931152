"""Standing parameters by Excel upload (issue #17 point 5): a sheet 常设参数 with 工号 or 部门编码,
参数名, 数值 and 生效日期; a dry run names the row and column of every problem and writes nothing;
apply sets every value through the audited service (a new value closes the old one), or writes
nothing when any row is wrong. Assertions use error codes, rows, columns and data, not wording."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from organizations.models import User
from organizations.standing import StandingParameter
from organizations.standing_services import set_standing_parameter
from tests.conftest import World

HEADER = ("工号", "部门编码", "参数名", "数值", "生效日期")
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
D = Decimal


def workbook(tmp_path: Path, rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER,
             sheet: str = "常设参数") -> bytes:
    book = openpyxl.Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    path = tmp_path / "standing.xlsx"
    book.save(path)
    return path.read_bytes()


def upload(client: Client, user: User, data: bytes, *, apply: bool) -> Any:
    client.force_login(user)
    file = SimpleUploadedFile("standing.xlsx", data, content_type=CONTENT_TYPE)
    return client.post(reverse("standing-parameter-upload"), {"file": file, "action": "apply" if apply else "dry_run"})


def stored(world: World) -> set[tuple[str, str, Decimal, dt.date, dt.date | None]]:
    with scope(organization=world.org):
        return {(row.person.employee_no if row.person else row.department.code, row.name, row.value,  # type: ignore[union-attr]
                 row.effective_from, row.effective_to)
                for row in StandingParameter.objects.select_related("person", "department")}


def problems(response: Any) -> list[tuple[int | None, str, str]]:
    return [(issue.row, issue.column, issue.code) for issue in response.context["errors"]]


GOOD = [("a-colleague", None, "seniority", 120, dt.date(2025, 1, 1)),
        (None, "a-B", "business", "1.15", "2025-01-01")]


def test_it_checks_a_file_in_a_dry_run_and_writes_nothing(client: Client, hr: User, world_a: World,
                                                         tmp_path: Path) -> None:
    response = upload(client, hr, workbook(tmp_path, GOOD), apply=False)
    assert response.status_code == 200 and not response.context["errors"]
    assert response.context["summary"].as_dict() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    assert stored(world_a) == set()


def test_it_applies_a_file_of_a_persons_and_a_departments_values(client: Client, hr: User, world_a: World,
                                                                tmp_path: Path) -> None:
    response = upload(client, hr, workbook(tmp_path, GOOD), apply=True)
    assert response.status_code == 200 and response.context["applied"]
    assert stored(world_a) == {("a-colleague", "seniority", D("120"), dt.date(2025, 1, 1), None),
                               ("a-B", "business", D("1.15"), dt.date(2025, 1, 1), None)}
    with scope(organization=world_a.org):
        assert {row.history_user for row in StandingParameter.history.all()} == {hr}  # type: ignore[attr-defined]


def test_it_closes_the_value_a_row_replaces(client: Client, hr: User, world_a: World, tmp_path: Path) -> None:
    with scope(organization=world_a.org):
        set_standing_parameter(organization=world_a.org, acting_user=None, name="business", value=D("1.1"),
                               effective_from=dt.date(2024, 1, 1), department=world_a.back_office)
    upload(client, hr, workbook(tmp_path, [(None, "a-B", "business", "1.15", "2025-01-01")]), apply=True)
    assert stored(world_a) == {("a-B", "business", D("1.1"), dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
                               ("a-B", "business", D("1.15"), dt.date(2025, 1, 1), None)}


def test_it_names_the_row_and_column_of_a_bad_row_and_writes_nothing(client: Client, hr: User, world_a: World,
                                                                     tmp_path: Path) -> None:
    rows = [*GOOD, ("a-colleague", None, "skill", "1.2x", "2025-01-01"),
            ("nobody", None, "skill", "1", "2025-01-01"),
            ("a-colleague", None, "score", "1", "2025-01-01"),
            ("a-colleague", None, "skill", "1", "next year"),
            ("a-colleague", "a-B", "skill", "1", "2025-01-01")]
    response = upload(client, hr, workbook(tmp_path, rows), apply=True)
    assert response.status_code == 400
    assert problems(response) == [(4, "数值", "bad_decimal"), (5, "工号", "unknown"), (6, "参数名", "bad_name"),
                                  (7, "生效日期", "bad_date"), (8, "工号", "subject")]
    assert stored(world_a) == set()


def test_it_refuses_the_same_value_twice_in_a_file(client: Client, hr: User, world_a: World, tmp_path: Path) -> None:
    rows = [GOOD[0], ("a-colleague", None, "seniority", 150, "2025-01-01")]
    response = upload(client, hr, workbook(tmp_path, rows), apply=False)
    assert problems(response) == [(3, "参数名", "duplicate")]


def test_it_names_a_missing_column(client: Client, hr: User, world_a: World, tmp_path: Path) -> None:
    data = workbook(tmp_path, [("a-colleague", "seniority", 120)], header=("工号", "参数名", "数值"))
    response = upload(client, hr, data, apply=False)
    assert problems(response) == [(1, "生效日期", "missing_column")]


def test_it_refuses_an_employee_number_that_arrived_as_a_number(client: Client, hr: User, world_a: World,
                                                                 tmp_path: Path) -> None:
    response = upload(client, hr, workbook(tmp_path, [(104, None, "seniority", 120, "2025-01-01")]), apply=False)
    assert problems(response) == [(2, "工号", "number_identifier")]


def test_it_keeps_the_upload_from_finance(client: Client, finance: User, world_a: World, tmp_path: Path) -> None:
    assert upload(client, finance, workbook(tmp_path, GOOD), apply=True).status_code == 403
    assert stored(world_a) == set()
