"""Pay inputs by Excel upload (issue #17, point 5): a sheet 计薪数据 with 工号 / 数据项 / 数值; a dry run
names the row and column of every problem and writes nothing; apply writes all rows through the
audited service, or nothing when any row is wrong. Workbooks are written with openpyxl in tmp_path;
assertions use error codes, rows, columns and data, never the wording."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal.models import Period
from organizations.models import User
from payroll import pay_input_upload, services
from payroll.models import PayInput
from tests.conftest import World
from tests.test_pay_policy_pages import PER_TRIP, open_period
from tests.test_pay_runs import pay_policy

HEADER = ("工号", "数据项", "数值")
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(tmp_path: Path, rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER,
             sheet: str = "计薪数据") -> bytes:
    book = openpyxl.Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    path = tmp_path / "inputs.xlsx"
    book.save(path)
    return path.read_bytes()


def upload(client: Client, period: Period, data: bytes, *, apply: bool) -> Any:
    file = SimpleUploadedFile("inputs.xlsx", data, content_type=CONTENT_TYPE)
    return client.post(reverse("pay-input-upload", args=[period.pk]),
                       {"file": file, "action": "apply" if apply else "dry_run"})


def trips_period(world: World) -> Period:
    pay_policy(world.org, PER_TRIP, inputs=["revenue", "trips"], text_inputs=["route"])
    return open_period(world)


def entered(world: World, period: Period) -> dict[tuple[str, str], Any]:
    with scope(organization=world.org):
        return {(employee_no, name): text or value for employee_no, name, text, value in PayInput.objects.filter(
            period=period).values_list("person__employee_no", "name", "text", "value")}


def problems(response: Any) -> list[tuple[int | None, str, str]]:
    return [(issue.row, issue.column, issue.code) for issue in response.context["errors"]]


def _in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_it_applies_a_file_of_inputs_with_audit_rows(client: Client, finance: User, world_a: World,
                                                     tmp_path: Path) -> None:
    period = trips_period(world_a)
    data = workbook(tmp_path, [("a-employee", "trips", 12), ("a-head", "trips", "3.5"), ("a-head", "route", "K3")])
    response = upload(_in(client, finance), period, data, apply=True)
    assert response.status_code == 200 and response.context["applied"]
    assert entered(world_a, period) == {("a-employee", "trips"): Decimal("12"),
                                        ("a-head", "trips"): Decimal("3.5"), ("a-head", "route"): "K3"}
    with scope(organization=world_a.org):
        assert {row.history_user for row in PayInput.history.all()} == {finance}  # type: ignore[attr-defined]


def test_it_writes_nothing_on_a_dry_run(client: Client, hr: User, world_a: World, tmp_path: Path) -> None:
    period = trips_period(world_a)
    response = upload(_in(client, hr), period, workbook(tmp_path, [("a-employee", "trips", 12)]), apply=False)
    assert response.context["summary"].created == 1 and not response.context["applied"]
    assert entered(world_a, period) == {}


def test_it_names_the_row_and_column_of_each_error_and_writes_nothing(client: Client, hr: User, world_a: World,
                                                                      tmp_path: Path) -> None:
    period = trips_period(world_a)
    data = workbook(tmp_path, [
        ("a-employee", "trips", 12),  # good, but the file as a whole is refused
        ("nobody", "trips", 1),
        ("a-head", "bonus_points", 1),
        ("a-hr", "trips", "many"),
        ("a-finance", "trips", ""),
        ("a-employee", "trips", 13),
    ])
    response = upload(_in(client, hr), period, data, apply=True)
    assert response.status_code == 400
    assert problems(response) == [(3, "工号", "unknown_person"), (4, "数据项", "unknown_input"),
                                  (5, "数值", "bad_decimal"), (6, "数值", "required"), (7, "数据项", "duplicate")]
    assert entered(world_a, period) == {}
    html = response.content.decode()
    assert 'data-row="3" data-column="工号" data-code="unknown_person"' in html


def test_it_flags_an_employee_number_that_arrived_as_a_number(client: Client, hr: User, world_a: World,
                                                              tmp_path: Path) -> None:
    period = trips_period(world_a)
    response = upload(_in(client, hr), period, workbook(tmp_path, [(104, "trips", 1)]), apply=False)
    assert problems(response) == [(2, "工号", "number_identifier")]


def test_it_names_a_missing_column_and_a_missing_sheet(client: Client, hr: User, world_a: World,
                                                       tmp_path: Path) -> None:
    period = trips_period(world_a)
    signed_in = _in(client, hr)
    two_columns = workbook(tmp_path, [("a-hr", "trips")], header=("工号", "数据项"))
    no_value = upload(signed_in, period, two_columns, apply=False)
    assert problems(no_value) == [(1, "数值", "missing_column")]
    other_sheet = upload(signed_in, period, workbook(tmp_path, [("a-hr", "trips", 1)], sheet="Sheet1"), apply=False)
    assert problems(other_sheet) == [(None, "", "no_sheets")]


def test_it_refuses_a_file_that_is_not_a_workbook(client: Client, hr: User, world_a: World) -> None:
    period = trips_period(world_a)
    response = upload(_in(client, hr), period, b"not a workbook", apply=True)
    assert response.status_code == 400
    assert [issue.code for issue in response.context["errors"]] == ["not_xlsx"]


def test_it_counts_an_unchanged_input_and_replaces_a_changed_one(client: Client, hr: User, world_a: World,
                                                                tmp_path: Path) -> None:
    period = trips_period(world_a)
    with scope(organization=world_a.org):
        for no, value in (("a-employee", "12"), ("a-head", "1")):
            services.save_pay_input(organization=world_a.org, acting_user=None, period=period, name="trips",
                                    person=world_a.people[no.removeprefix("a-")], value=Decimal(value))
    data = workbook(tmp_path, [("a-employee", "trips", 12), ("a-head", "trips", 2)])
    summary = upload(_in(client, hr), period, data, apply=True).context["summary"]
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
    assert entered(world_a, period)[("a-head", "trips")] == Decimal("2")


def test_it_reads_an_input_by_its_chinese_label(world_a: World, tmp_path: Path) -> None:
    period = trips_period(world_a)
    with scope(organization=world_a.org):
        parsed = pay_input_upload.parse_pay_inputs(workbook(tmp_path, [("a-employee", "基本工资", 5000)]))
        plan = pay_input_upload.validate_pay_inputs(period=period, parsed=parsed)
    assert plan.errors == [] and [change.name for change in plan.changes] == ["base_salary"]


def test_it_refuses_a_head_the_upload(client: Client, head: User, world_a: World, tmp_path: Path) -> None:
    period = trips_period(world_a)
    response = upload(_in(client, head), period, workbook(tmp_path, [("a-employee", "trips", 1)]), apply=True)
    assert response.status_code == 403
    assert entered(world_a, period) == {}


def test_it_answers_404_for_another_organizations_period(client: Client, hr: User, world_b: World,
                                                         tmp_path: Path) -> None:
    period = trips_period(world_b)
    response = upload(_in(client, hr), period, workbook(tmp_path, [("b-employee", "trips", 1)]), apply=True)
    assert response.status_code == 404
    assert entered(world_b, period) == {}


def test_it_links_the_upload_from_the_inputs_page(client: Client, finance: User, world_a: World) -> None:
    period = trips_period(world_a)
    html = _in(client, finance).get(reverse("pay-inputs", args=[period.pk])).content.decode()
    assert reverse("pay-input-upload", args=[period.pk]) in html
