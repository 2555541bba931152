"""Finance exports: the pay sheet reopens with openpyxl and its totals match the database; the
delta sheet and the bank list; CSV; exports run as jobs with a file to download."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django_scopes import scope
from openpyxl import load_workbook

from appraisal import appeals
from appraisal.models import Result
from appraisal.services import window
from organizations.models import Job, Person
from payroll import exports
from payroll.models import PaySlip
from tests.closing import S14_QUOTAS, add_people, close, make_policy, scored_period
from tests.test_pay_runs import compute, pay_policy


def two_departments(world: Any, org_scores: dict[str, list[str]],
                    **policy: Any) -> tuple[Any, dict[str, list[Person]]]:
    departments = {"production": world.production, "office": world.back_office}
    people: dict[str, list[Person]] = {}
    scores: dict[Person, str] = {}
    for key, values in org_scores.items():
        people[key] = add_people(world.org, departments[key], len(values), prefix=key[0])
        scores.update(zip(people[key], values, strict=True))
    with scope(organization=world.org):
        Person.objects.filter(pk__in=[p.pk for p in scores]).update(base_pay=Decimal("3000"), bank_account="6222")
    period = scored_period(world.org, scores, policy=make_policy(world.org, **({"quotas": []} | policy)))
    close(period)
    return period, people


def read_xlsx(data: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True))


def test_it_exports_a_pay_sheet_whose_totals_match_the_database(world_a):
    pay_policy(world_a.org)
    period, _people = two_departments(world_a, {"production": ["95", "85", "75"], "office": ["65", "91"]})
    run = compute(period)
    buffer = io.BytesIO()
    with scope(organization=world_a.org):
        exports.write_xlsx(exports.pay_sheet(run), buffer)
        database_total = PaySlip.objects.filter(run=run).aggregate(t=Sum("total"))["t"]
        production_total = PaySlip.objects.filter(run=run, department=world_a.production).aggregate(
            t=Sum("total"))["t"]
    rows = read_xlsx(buffer.getvalue())
    assert rows[0][:4] == ("工号", "姓名", "部门", "等级") and rows[0][-1] == "合计"
    people_rows = [r for r in rows[1:] if r[0]]
    subtotals = {r[1]: r[-1] for r in rows if r[1] and str(r[1]).endswith("小计")}
    grand = rows[-1]
    assert len(people_rows) == 5
    assert Decimal(str(grand[-1])) == database_total == run.total
    assert Decimal(str(subtotals["生产部 小计"])) == production_total
    assert sum(Decimal(str(v)) for v in subtotals.values()) == database_total


def test_it_formats_money_cells_to_the_fen(world_a):
    pay_policy(world_a.org)
    period, _people = two_departments(world_a, {"production": ["95"], "office": []})
    run = compute(period)
    buffer = io.BytesIO()
    with scope(organization=world_a.org):
        exports.write_xlsx(exports.pay_sheet(run), buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet["E2"].number_format == "#,##0.00"


def test_it_exports_the_delta_after_an_upheld_appeal(world_a, hr, head):
    pay_policy(world_a.org)
    period, people = two_departments(world_a, {"production": ["95", "89"] + ["75"] * 18, "office": []},
                                     quotas=S14_QUOTAS)
    compute(period)
    production = people["production"]
    with scope(organization=world_a.org):
        window.publish(period=period, acting_user=hr)
        appeal = appeals.file_appeal(result=Result.objects.get(period=period, person=production[1]),
                                     acting_user=None, filed_by=production[1], reason="漏记")
        appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="属实")
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="属实", new_score=Decimal("96"))
    second = compute(period, reason="appeal")
    buffer = io.BytesIO()
    with scope(organization=world_a.org):
        exports.write_xlsx(exports.delta_sheet(second), buffer)
    rows = read_xlsx(buffer.getvalue())
    changed = {r[1]: Decimal(str(r[-1])) for r in rows[1:-1]}
    assert changed == {production[1].name: Decimal("60"), production[0].name: Decimal("-60")}
    assert Decimal(str(rows[-1][-1])) == 0


def test_it_exports_a_bank_list_as_csv_excel_can_read(world_a):
    pay_policy(world_a.org)
    period, _people = two_departments(world_a, {"production": ["95", "75"], "office": []})
    run = compute(period)
    text = io.StringIO()
    with scope(organization=world_a.org):
        exports.write_csv(exports.bank_list(run), text)
    assert text.getvalue().startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.getvalue().lstrip("\ufeff"))))
    assert rows[0] == ["工号", "姓名", "银行账号", "金额"]
    assert rows[1][2:] == ["6222", "870.00"]
    assert rows[-1][-1] == "1620.00"  # 870 + 750


def test_it_runs_a_large_export_as_a_job_with_a_file_to_download(world_a, finance, django_capture_on_commit_callbacks):
    pay_policy(world_a.org)
    period, _people = two_departments(world_a, {"production": ["95", "75"], "office": ["80"]})
    run = compute(period)
    with scope(organization=world_a.org), django_capture_on_commit_callbacks(execute=True):
        job = exports.start_export(run=run, kind="pay_sheet", fmt="xlsx", acting_user=finance)
    with scope(organization=world_a.org):
        job = Job.objects.get(pk=job.pk)
    assert (job.state, job.percent) == (Job.State.DONE, 100)
    with job.file.open("rb") as handle:
        rows = read_xlsx(handle.read())
    assert Decimal(str(rows[-1][-1])) == run.total


def test_it_makes_the_pay_sheet_header_bold_and_its_subtotals_and_total_bold_on_grey(world_a: Any) -> None:
    pay_policy(world_a.org)
    period, _people = two_departments(world_a, {"production": ["95", "85"], "office": ["65"]})
    run = compute(period)
    buffer = io.BytesIO()
    with scope(organization=world_a.org):
        exports.write_xlsx(exports.pay_sheet(run), buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    emphasised = [row for row in sheet.iter_rows(min_row=2) if not row[0].value]
    people = [row for row in sheet.iter_rows(min_row=2) if row[0].value]
    assert all(cell.font.b for cell in sheet[1])
    assert [row[1].value for row in emphasised] == ["综合办 小计", "生产部 小计", "总计"]
    for row in emphasised:
        assert all(cell.font.b and cell.fill.fgColor.rgb.endswith("F2F2F2") for cell in row)
        assert row[-1].number_format == "#,##0.00"
    assert len(people) == 3
    assert not any(cell.font.b or cell.fill.fill_type for row in people for cell in row)


def test_it_reports_progress_while_it_writes_a_pay_sheet(world_a: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pay_policy(world_a.org)
    period, _people = two_departments(world_a, {"production": ["95", "85", "75"], "office": ["65", "91"]})
    run = compute(period)
    monkeypatch.setattr(exports, "CHUNK", 2)
    calls: list[int] = []
    with scope(organization=world_a.org):
        written = exports.write_xlsx(exports.pay_sheet(run), io.BytesIO(), calls.append)
    # 5 people, a subtotal for each of the 2 departments and the grand total; the header not counted.
    assert written == 8
    assert calls == [2, 4, 6, 8]
