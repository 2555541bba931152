"""The busy pages under load (#14, point 5): the pay run's component totals are stored when it is
computed, the sheet list counts only its page's lines, the pages cost the same number of queries
whatever the number of sheets or slips, and the load benchmark command runs against a server."""

from __future__ import annotations

import importlib
import io
import random
import re
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from appraisal import services, views
from appraisal.models import Period, Result, Sheet, SheetLine
from organizations.models import User
from payroll import services as pay_services
from payroll.management.commands.bench_pages import PASSWORD, Pace, load_plan, run_stage
from payroll.models import PayInput, PayRun, PaySlip
from tests.closing import add_people, person_template
from tests.conftest import World, add_member
from tests.test_pay_runs import S19, closed_period, compute, pay_policy
from tests.test_settings_env import loaded

# A component paying fens: 1.37 × the score, so each person's amount and the total have cents.
FENS = [*S19, {"code": "share", "name": "效益分成", "kind": "formula",
               "config": {"expression": "ROUND(score * 1.37, 2)"}}]
SCORES = ["95", "85.5", "75.25", "65.75", "91.5"]


def _run(world: World, scores: list[str] = SCORES) -> PayRun:
    pay_policy(world.org, components=FENS)
    period, _people = closed_period(world, scores, quotas=[])
    return compute(period)


def _lines_summed(run: PayRun) -> dict[str, str]:
    """Each column's total as the run page used to add it up: every slip's paid lines."""
    sums = {code: Decimal("0.00") for code, _name in run.components}
    with scope(organization=run.organization):
        for lines in PaySlip.objects.filter(run=run).values_list("lines", flat=True):
            for line in lines:
                if line["paid"] and line["code"] in sums:
                    sums[line["code"]] += Decimal(line["amount"])
    return {code: format(total, "f") for code, total in sums.items()}


def _stored(run: PayRun) -> dict[str, str]:
    return PayRun._base_manager.get(pk=run.pk).component_totals


# --- stored pay-run totals ----------------------------------------------------------------------


def test_it_stores_each_components_total_equal_to_the_slips_lines_to_the_fen(world_a: World) -> None:
    run = _run(world_a)
    stored = _stored(run)
    assert stored == _lines_summed(run)
    assert Decimal(stored["share"]) % 1 != 0  # 1.37 × each score, rounded person by person: fens
    assert sum(Decimal(v) for v in stored.values()) == run.total


def test_it_shows_the_stored_totals_on_the_run_page_without_reading_every_slips_lines(
        client: Client, finance: User, world_a: World) -> None:
    run = _run(world_a)
    client.force_login(finance)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("pay-run-detail", args=[run.pk]))
    assert response.status_code == 200
    shown = dict(re.findall(r'data-code="(\w+)"><td>[^<]*</td><td class="text-end">([\d,.]+)</td>',
                            response.content.decode()))
    assert {code: value.replace(",", "") for code, value in shown.items()} == _lines_summed(run)
    # The only read of the slips' lines is the page's own slips (by id): none over the whole run.
    unbounded = [q["sql"] for q in queries.captured_queries
                 if '"payroll_payslip"."lines"' in q["sql"] and '"payroll_payslip"."id" IN (' not in q["sql"]]
    assert unbounded == []


def test_it_gives_the_stored_totals_in_the_api(client: Client, finance: User, world_a: World) -> None:
    run = _run(world_a)
    client.force_login(finance)
    body = client.get(f"/api/pay-runs/{run.pk}/").json()
    assert body["component_totals"] == _lines_summed(run)


def test_it_fills_the_totals_of_runs_computed_before_the_column_existed(world_a: World) -> None:
    run = _run(world_a)
    expected = _lines_summed(run)
    PayRun._base_manager.filter(pk=run.pk).update(component_totals={})
    migration = importlib.import_module("payroll.migrations.0006_pay_run_component_totals")
    with scopes_disabled():
        migration.fill_component_totals(apps, None)
    assert _stored(run) == expected


def test_it_costs_the_run_page_the_same_queries_for_three_or_eight_slips(
        client: Client, world_a: World, world_b: World) -> None:
    small, large = _run(world_a, SCORES[:3]), _run(world_b, [*SCORES, "70", "80", "90"])
    counts = []
    for run, world in ((small, world_a), (large, world_b)):
        client.force_login(_finance_of(world))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("pay-run-detail", args=[run.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _finance_of(world: World) -> User:
    return add_member(world, f"pay-clerk-{world.org.slug}", person=None, finance=True)


# --- the sheet list and the list APIs -----------------------------------------------------------


def _open_period(world: World, extra: int) -> Period:
    """An open period with a sheet for each of the world's people and ``extra`` more."""
    add_people(world.org, world.production, extra, prefix="load")
    with scope(organization=world.org):
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=[person_template(world.org)])
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
    return period


def _hr_of(world: World) -> User:
    return add_member(world, f"hr-clerk-{world.org.slug}", person=None, hr=True)


def _sheet_list(client: Client, world: World, period: Period, page: int = 2) -> tuple[Any, list[str]]:
    client.force_login(_hr_of(world))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("sheets"), {"period": period.pk, "page": page})
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries]


def test_it_counts_the_lines_of_the_pages_sheets_only(client: Client, world_a: World,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "SHEETS_PER_PAGE", 3)
    period = _open_period(world_a, 6)
    response, queries = _sheet_list(client, world_a, period)
    counted = [sql for sql in queries if "appraisal_sheetline" in sql]
    assert counted and all(' IN (' in sql and "OFFSET" not in sql for sql in counted)
    assert len(re.findall(r'<tr [^>]*id="sheet-\d+"', response.content.decode())) == 3


def test_it_lists_a_page_in_the_subject_order_with_each_sheets_progress(client: Client, world_a: World,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "SHEETS_PER_PAGE", 3)
    period = _open_period(world_a, 6)
    with scope(organization=world_a.org):
        ordered = list(Sheet.objects.filter(period=period).order_by("person__employee_no", "team__code",
                                                                    "department__code")
                       .values_list("pk", flat=True))
        lines = SheetLine.objects.filter(sheet_id=ordered[3]).count()
    response, _queries = _sheet_list(client, world_a, period, page=2)
    html = response.content.decode()
    shown = [int(pk) for pk in re.findall(r'<tr [^>]*id="sheet-(\d+)"', html)]
    assert shown == ordered[3:6]
    row = html[html.index(f'id="sheet-{ordered[3]}"'):]
    assert f"0 / {lines}" in row[:row.index("</tr>")]


def test_it_costs_the_sheet_list_the_same_queries_for_few_or_many_sheets(
        client: Client, world_a: World, world_b: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "SHEETS_PER_PAGE", 3)
    counts = [len(_sheet_list(client, world, _open_period(world, extra))[1])
              for world, extra in ((world_a, 3), (world_b, 12))]
    assert counts[0] == counts[1]


def _wide(table: str) -> str:
    """How a query reading whole rows of ``table`` (not only their ids) starts."""
    return f'SELECT "{table}"."id", "{table}"."organization_id"'


def _api(client: Client, url: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.json(), [q["sql"] for q in queries.captured_queries]


def test_it_pages_the_sheets_api_by_id_then_reads_only_that_pages_sheets(client: Client, world_a: World) -> None:
    period = _open_period(world_a, 4)
    client.force_login(_hr_of(world_a))
    body, queries = _api(client, f"/api/sheets/?period={period.pk}")
    with scope(organization=world_a.org):
        expected = list(Sheet.objects.filter(period=period).order_by("period_id", "subject_kind", "pk")
                        .values_list("pk", flat=True))
    assert [row["id"] for row in body["results"]] == expected
    assert all(row["lines"] for row in body["results"])
    wide = [sql for sql in queries if sql.startswith(_wide("appraisal_sheet"))]
    assert wide and all(' IN (' in sql and "OFFSET" not in sql and "LIMIT" not in sql for sql in wide)


def test_it_costs_the_sheets_api_the_same_queries_for_few_or_many_sheets(
        client: Client, world_a: World, world_b: World) -> None:
    counts = []
    for world, extra in ((world_a, 2), (world_b, 9)):
        period = _open_period(world, extra)
        client.force_login(_hr_of(world))
        counts.append(len(_api(client, f"/api/sheets/?period={period.pk}")[1]))
    assert counts[0] == counts[1]


def test_it_pages_the_results_api_in_its_order(client: Client, world_a: World) -> None:
    run = _run(world_a)
    client.force_login(_hr_of(world_a))
    body, queries = _api(client, f"/api/results/?period={run.period_id}")
    with scope(organization=world_a.org):
        expected = list(Result.objects.filter(period_id=run.period_id).order_by("period_id", "population", "rank",
                                                                                "pk").values_list("pk", flat=True))
    assert [row["id"] for row in body["results"]] == expected
    wide = [sql for sql in queries if sql.startswith(_wide("appraisal_result"))]
    assert wide and all(' IN (' in sql and "LIMIT" not in sql for sql in wide)


# --- the load benchmark command -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_drives_every_page_of_a_tiny_organisation_for_a_second_without_errors(live_server: Any) -> None:
    out = io.StringIO()
    call_command("bench_pages", build=True, people=12, departments=2, stdout=out)
    assert "organisation bench-pages: 12 people, 2 departments, 24 sheets" in out.getvalue()
    out = io.StringIO()
    # One user at a time: the test database is one SQLite connection the live server's threads share.
    for role in ("hr", "head", "employee"):
        call_command("bench_pages", url=live_server.url, users="1", roles=role, duration=1.0, ramp=0.0, stdout=out)
    rows = {" ".join(line.split()[:-4]): line.split()[-4:] for line in out.getvalue().splitlines()
            if re.match(r"^[a-z].*\s\d+\s+\d+\s+\S+\s+\S+$", line)}
    assert {"sheet list", "period page", "a sheet", "line save", "my results"} <= rows.keys(), out.getvalue()
    assert all(int(errors) == 0 for _requests, errors, _p50, _p95 in rows.values()), out.getvalue()


def test_it_draws_each_think_time_anew_between_its_bounds() -> None:
    rng = random.Random(7)
    waits = [Pace(1.0, 5.0, ramp=5.0).wait(rng) for _ in range(200)]
    assert all(1.0 <= wait <= 5.0 for wait in waits) and len(set(waits)) == 200
    assert Pace(1.0, 1.0, ramp=0.0).wait(rng) == 1.0


@pytest.mark.django_db(transaction=True)
def test_it_counts_no_request_sent_during_the_ramp(live_server: Any) -> None:
    call_command("bench_pages", build=True, people=12, departments=2, stdout=io.StringIO())
    with scopes_disabled():
        plan = load_plan(PASSWORD)
    stats = run_stage(live_server.url, plan, ["employee"], 0.5, Pace(0.1, 0.1, ramp=0.6), random.Random(1))
    counted = sum(len(times) for times in stats.values())
    # About 0.5 s / (0.1 s + a request) counted after the ramp, never the ~5 requests during it.
    assert 0 < counted <= 6, stats


def test_it_pages_the_slips_api_by_id_in_its_order(client: Client, world_a: World) -> None:
    run = _run(world_a)
    client.force_login(_finance_of(world_a))
    body, queries = _api(client, "/api/pay-slips/")
    with scope(organization=world_a.org):
        expected = list(PaySlip.objects.order_by("-run__period__start", "-run__version", "person_id")
                        .values_list("pk", flat=True))
    assert [row["id"] for row in body["results"]] == expected
    assert all(row["lines"] for row in body["results"])
    wide = [sql for sql in queries if sql.startswith(_wide("payroll_payslip"))]
    assert wide and all(' IN (' in sql and "LIMIT" not in sql for sql in wide)
    assert [row["id"] for row in _api(client, f"/api/pay-runs/{run.pk}/slips/")[0]["results"]] == sorted(
        expected, key=lambda pk: (PaySlip._base_manager.get(pk=pk).department_id,
                                  PaySlip._base_manager.get(pk=pk).person_id))


# --- PostgreSQL's JIT ---------------------------------------------------------------------------


def test_it_turns_postgresqls_jit_off_for_its_connections() -> None:
    assert loaded("settings.DATABASES['default']['OPTIONS']['options']",
                  DATABASE_URL="postgres://u:p@h:5432/d") == "-c jit=off"


def test_it_leaves_postgresqls_jit_alone_when_asked() -> None:
    assert loaded("settings.DATABASES['default'].get('OPTIONS', {}).get('options')",
                  DATABASE_URL="postgres://u:p@h:5432/d", DB_JIT="1") == "None"


# --- the delta on the run page ------------------------------------------------------------------


def test_it_shows_the_same_delta_as_the_full_comparison_without_loading_every_slip(
        client: Client, world_a: World) -> None:
    first = _run(world_a)
    with scope(organization=world_a.org):
        changed = list(PaySlip.objects.filter(run=first).order_by("person_id").values_list("person_id", flat=True))[:2]
        for person_id, pay in zip(changed, ("2000", "1200"), strict=True):
            PayInput.objects.create(organization=world_a.org, period_id=first.period_id, person_id=person_id,
                                    name="base_salary", value=Decimal(pay))
    second = compute(first.period, reason="late inputs")
    with scope(organization=world_a.org):
        full = pay_services.delta(run=second, previous=first)
    assert [row.person_id for row in full] == changed
    client.force_login(_finance_of(world_a))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("pay-run-detail", args=[second.pk]))
    assert response.context["delta_count"] == 2
    assert response.context["delta_total"] == sum((row.difference for row in full), Decimal("0.00"))
    assert [(row.old_total, row.new_total) for row in response.context["delta_rows"]] == [
        (row.old_total, row.new_total) for row in full]
    # Slips' amounts are read for the shown people and the page's own slips only, never for a whole version.
    amounts = [sql for sql in (q["sql"] for q in queries.captured_queries) if '"payroll_payslip"."amounts"' in sql
               and "EXISTS" not in sql and not re.search(r'"payroll_payslip"\."(person_id|id)" IN \(', sql)]
    assert amounts == []
