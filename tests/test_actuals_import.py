"""Excel upload of a period's actuals: the dry run names every bad row with its row and column, the
apply writes all or nothing, rescored and audited, with as many queries for 30 subjects as for 3.

Workbooks are written with openpyxl in tmp_path. Assertions use error codes and data, never the
wording, so they hold in both languages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal import actuals, services
from appraisal.models import Period, SheetLine
from organizations import services as org_services
from organizations.models import User
from tests.conftest import World
from tests.test_appraisal_api import Scheme, build_scheme, line_of, url

HEADER = ("对象编码", "指标编码", "实际值", "目标值", "说明")
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(tmp_path: Path, rows: Sequence[Sequence[Any]], *, header: Sequence[str] = HEADER,
             sheet: str = "实际值") -> bytes:
    book = openpyxl.Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append(list(header))
    for row in rows:
        worksheet.append(list(row))
    path = tmp_path / "actuals.xlsx"
    book.save(path)
    return path.read_bytes()


def upload(client: Any, period: Period, data: bytes, *, apply: bool) -> Any:
    name = "period-actuals-apply" if apply else "period-actuals-dry-run"
    file = SimpleUploadedFile("actuals.xlsx", data, content_type=CONTENT_TYPE)
    return client.post(url(name, period.pk), {"file": file}, format="multipart")


def issues(response: Any) -> set[tuple[int | None, str, str]]:
    return {(e["row"], e["column"], e["code"]) for e in response.json()["errors"]}


def snapshot(world: World) -> list[tuple[Any, ...]]:
    """Every line's data and score, and the size of the audit trail."""
    with scope(organization=world.org):
        lines = list(SheetLine.objects.order_by("pk").values_list("pk", "actual", "target", "score", "version"))
        return [*lines, ("history", SheetLine.history.count())]


@pytest.fixture
def scheme(world_a: World, hr: User, head: User) -> Scheme:
    return build_scheme(world_a)


# --- a good file --------------------------------------------------------------------------------


def test_it_applies_a_good_file_and_rescores_the_lines(
    api_for: Any, hr: User, scheme: Scheme, tmp_path: Path
) -> None:
    world = scheme.world
    before = line_of(world, "employee", "OUT")
    data = workbook(tmp_path, [("a-employee", "OUT", 95, 100, None), ("a-head", "OUT", "120", None, None)])

    response = upload(api_for(hr), scheme.period, data, apply=True)

    assert response.status_code == 200, response.content
    assert response.json()["summary"] == {"rows": 2, "lines_updated": 2, "lines_unchanged": 0, "sheets_updated": 2}
    employee = line_of(world, "employee", "OUT")
    # By hand: completion 95 / 100 = 95 % of 60 points = 57.00.
    assert (employee.actual, employee.target, employee.score) == (Decimal("95"), Decimal("100"), Decimal("57.00"))
    assert employee.version == before.version + 1
    assert "95" in employee.explanation and "57.00" in employee.explanation
    # A blank 目标值 keeps the benchmark's target: 120 / 100 is capped at 120 % → 72.00.
    head = line_of(world, "head", "OUT")
    assert (head.target, head.score) == (Decimal("100"), Decimal("72.00"))


def test_it_audits_each_line_with_the_uploader_and_the_rows_reason(
    api_for: Any, hr: User, scheme: Scheme, tmp_path: Path
) -> None:
    world = scheme.world
    data = workbook(tmp_path, [("a-employee", "OUT", 95, None, "十月抄表"), ("a-head", "OUT", 99, None, None)])
    assert upload(api_for(hr), scheme.period, data, apply=True).status_code == 200
    with scope(organization=world.org):
        reasons = {}
        for person in ("employee", "head"):
            latest = SheetLine.history.filter(id=line_of(world, person, "OUT").pk).latest("history_date")
            assert latest.history_user == hr and latest.actual is not None
            reasons[person] = latest.history_change_reason
    assert reasons == {"employee": "十月抄表", "head": actuals.CHANGE_REASON}


def test_it_counts_an_unchanged_row_without_writing_it(
    api_for: Any, hr: User, scheme: Scheme, tmp_path: Path
) -> None:
    data = workbook(tmp_path, [("a-employee", "OUT", 95, None, None)])
    client = api_for(hr)
    upload(client, scheme.period, data, apply=True)
    before = snapshot(scheme.world)
    response = upload(client, scheme.period, data, apply=True)
    assert response.json()["summary"]["lines_unchanged"] == 1
    assert snapshot(scheme.world) == before


def test_it_keeps_recorded_deductions_when_it_rescores_a_line(
    api_for: Any, hr: User, scheme: Scheme, tmp_path: Path
) -> None:
    world = scheme.world
    with scope(organization=world.org):
        services.record_deduction(line=line_of(world, "employee", "SAFE"), acting_user=None, item_code="late",
                                  count=2, occurred_on=dt.date(2025, 10, 3), recorded_by=world.people["hr"])
    data = workbook(tmp_path, [("a-employee", "SAFE", 1, None, None)])
    assert upload(api_for(hr), scheme.period, data, apply=True).status_code == 200
    assert line_of(world, "employee", "SAFE").score == Decimal("36.00")  # 40 − 2 × 2, from the records


# --- a bad file ---------------------------------------------------------------------------------

BAD_ROWS = [
    ("nobody", "OUT", 1, None, None),  # row 2: no such employee number, team or department
    ("a-employee", "NOPE", 1, None, None),  # row 3: not an indicator of that sheet
    ("a-head", "OUT", "12.3.4", None, None),  # row 4: not a number
    ("a-employee", "OUT", 90, None, None),  # row 5: good
    ("a-employee", "OUT", 91, None, None),  # row 6: the same subject and indicator again
    ("a-S1", "OUT", 1, None, None),  # row 7: a shift: it exists, but the period has person sheets only
    ("a-employee", "WORK", 1, None, None),  # row 8: scored by raters, not from data
    ("a-colleague", "OUT", 1, "x", None),  # row 9: a bad target
]
BAD_ISSUES = {
    (2, "对象编码", "unknown_subject"),
    (3, "指标编码", "not_on_sheet"),
    (4, "实际值", "bad_decimal"),
    (6, "指标编码", "duplicate"),
    (7, "对象编码", "no_sheet"),
    (8, "指标编码", "rated_line"),
    (9, "目标值", "bad_decimal"),
}


def test_it_reports_every_bad_row_with_its_row_and_column(
    api_for: Any, hr: User, scheme: Scheme, tmp_path: Path
) -> None:
    response = upload(api_for(hr), scheme.period, workbook(tmp_path, BAD_ROWS), apply=False)
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert issues(response) == BAD_ISSUES
    bad_decimal = next(e for e in body["errors"] if e["row"] == 4)
    assert (bad_decimal["sheet"], bad_decimal["value"]) == ("实际值", "12.3.4")


def test_it_writes_nothing_when_any_row_is_bad(api_for: Any, hr: User, scheme: Scheme, tmp_path: Path) -> None:
    before = snapshot(scheme.world)
    response = upload(api_for(hr), scheme.period, workbook(tmp_path, BAD_ROWS), apply=True)
    assert response.status_code == 400
    assert issues(response) == BAD_ISSUES
    assert snapshot(scheme.world) == before


def test_it_writes_nothing_in_a_dry_run(api_for: Any, hr: User, scheme: Scheme, tmp_path: Path) -> None:
    before = snapshot(scheme.world)
    data = workbook(tmp_path, [("a-employee", "OUT", 95, None, None)])
    response = upload(api_for(hr), scheme.period, data, apply=False)
    assert response.json()["summary"]["lines_updated"] == 1
    assert snapshot(scheme.world) == before


def test_it_names_a_missing_column(api_for: Any, hr: User, scheme: Scheme, tmp_path: Path) -> None:
    data = workbook(tmp_path, [("a-employee", "OUT")], header=("对象编码", "指标编码"))
    response = upload(api_for(hr), scheme.period, data, apply=False)
    assert issues(response) == {(1, "实际值", "missing_column")}


def test_it_refuses_actuals_for_a_draft_period(api_for: Any, hr: User, scheme: Scheme, tmp_path: Path) -> None:
    world = scheme.world
    with scope(organization=world.org):
        draft = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                       number=11, templates=[scheme.template])
    response = upload(api_for(hr), draft, workbook(tmp_path, [("a-employee", "OUT", 1, None, None)]), apply=False)
    assert (None, "", "period_not_open") in issues(response)


def test_it_answers_400_when_no_file_is_sent(api_for: Any, hr: User, scheme: Scheme) -> None:
    response = api_for(hr).post(url("period-actuals-dry-run", scheme.period.pk), {}, format="multipart")
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["no_file"]


def test_it_refuses_the_upload_to_anyone_but_hr(
    api_for: Any, head: User, scheme: Scheme, tmp_path: Path
) -> None:
    data = workbook(tmp_path, [("a-employee", "OUT", 95, None, None)])
    assert upload(api_for(head), scheme.period, data, apply=True).status_code == 403


# --- set-based ----------------------------------------------------------------------------------


def test_it_applies_60_subjects_with_as_many_queries_as_30_and_3_with_no_more(world_a: World, hr: User,
                                                                               tmp_path: Path) -> None:
    with scope(organization=world_a.org):
        for n in range(60):
            org_services.create_person(organization=world_a.org, acting_user=None, employee_no=f"X{n:02d}",
                                       name=f"X{n}", department=world_a.production)
    scheme = build_scheme(world_a)
    assert scheme.period.organization == world_a.org  # loaded once, before counting
    with scope(organization=world_a.org):
        # Every sheet scored, as before any import: each upload then rescores the totals of the
        # sheets it changed, and only those.
        services.rescore_period(period=scheme.period, acting_user=None, reason="scored")
    counts = []
    for numbers, base in ((range(3), 90), (range(30), 50), (range(60), 20)):
        rows = [(f"X{n:02d}", "OUT", base + n, None, None) for n in numbers]
        parsed = actuals.parse_actuals(workbook(tmp_path, rows))
        with CaptureQueriesContext(connection) as queries:
            plan = actuals.apply_actuals(period=scheme.period, parsed=parsed, acting_user=hr)
        assert plan.summary.lines_updated == len(rows)
        counts.append(len(queries))
    # A few rows are updated one statement each (core.bulk.FEW_ROWS); past them, a fixed number.
    assert counts[1] == counts[2] and counts[0] <= counts[1]
