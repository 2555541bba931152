"""What-if (payroll.whatif): a closed period regraded by a candidate grading policy and paid by a
candidate pay policy, in memory. A person moved to another grade is paid the hand-computed
difference, department totals add up to the per-person changes, nothing is written (every table's
row count, audit trails included, is the same after), the .xlsx has the rows, another
organisation's period or policy is 404, and the queries do not grow with the head count.

Elements are found by their ids and data attributes; texts are compared by codes and amounts.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape
from typing import Any, cast

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from openpyxl import load_workbook

from appraisal.models import GradingPolicy, Period, Result
from organizations.models import Organization, Person
from payroll.whatif import WhatIf, regrade, what_if
from tests.closing import S14_SCALE, add_people, close, make_policy, scored_period
from tests.conftest import World
from tests.test_pay_runs import S19, closed_period, pay_policy

D = Decimal
# S1-4's scale with A from 86 instead of 80: the person at 85 falls from A to B.
STRICTER_A = {"bands": [{**band, "from": "86"} if band["grade"] == "A" else band
                        for band in cast(list[dict[str, Any]], S14_SCALE["bands"])]}


@pytest.fixture
def scenario(world_a: World) -> tuple[Period, list[Person]]:
    """S19 pays 600 × the grade coefficient + 150 (base pay 3000); four people at 95, 85, 75, 65
    are S, A, B, C without quotas."""
    pay_policy(world_a.org)
    return closed_period(world_a, ["95", "85", "75", "65"], quotas=[])


def stricter(world: World) -> GradingPolicy:
    return make_policy(world.org, code="ALT", name="更严的良好线", scale=STRICTER_A, quotas=[])


def run(period: Period, **candidate: Any) -> WhatIf:
    with scope(organization=period.organization):
        return what_if(Period.objects.select_related("grading_policy").get(pk=period.pk), **candidate)


def by_employee(result: WhatIf) -> dict[str, Any]:
    return {p.employee_no: p for p in result.people}


def everything() -> dict[str, int]:
    """Every table's row count, the audit trails (historical models) included."""
    with scopes_disabled():
        return {model._meta.label: model._default_manager.count() for model in apps.get_models()
                if model._meta.managed and model._meta.label != "sessions.Session"}


def _page(client: Client, **query: Any) -> Any:
    return client.get(reverse("pay-what-if"), {k: v for k, v in query.items() if v is not None})


def test_it_moves_a_person_to_another_grade_and_pays_the_hand_computed_difference(world_a, scenario):
    period, people = scenario
    result = run(period, grading_policy=stricter(world_a))
    moved = by_employee(result)[people[1].employee_no]
    assert (moved.old_grade, moved.new_grade) == ("A", "B")
    # perf 600 × 1.1 = 660 → 600 × 1.0 = 600; the allowance 150 stays: 810.00 → 750.00.
    assert (moved.old_pay, moved.new_pay, moved.change) == (D("810.00"), D("750.00"), D("-60.00"))
    assert result.moved == 1
    assert result.change == D("-60.00")


def test_it_counts_each_grade_before_and_after(world_a, scenario):
    period, _people = scenario
    result = run(period, grading_policy=stricter(world_a))
    counts = {g.grade: (g.before, g.after) for g in result.distribution}
    # The five people of the world are exempt: not assessed on both sides.
    assert counts == {"S": (1, 1), "A": (1, 0), "B": (1, 2), "C": (1, 1), "": (5, 5)}


def test_it_changes_nothing_when_nothing_is_chosen(scenario):
    period, _people = scenario
    result = run(period)
    assert result.moved == 0
    assert result.before == result.after == D("3060.00")  # 870 + 810 + 750 + 630
    assert all(p.change == 0 for p in result.people)


def test_it_pays_by_a_candidate_pay_policy_not_in_use(world_a, scenario):
    period, people = scenario
    raised = [dict(c, config={"amount": "200"}) if c["code"] == "post" else c for c in S19]
    # Version 2 of the same policy, in force only from 2030: it replaces version 1 in the what-if alone.
    newer = pay_policy(world_a.org, raised, effective_from=dt.date(2030, 1, 1))
    assert newer.version == 2
    result = run(period, pay_policy=newer)
    assert {by_employee(result)[p.employee_no].change for p in people} == {D("50.00")}
    assert result.change == D("200.00")


def test_it_reconciles_department_totals_with_the_per_person_changes(world_a, scenario):
    _period, people = scenario
    more = add_people(world_a.org, world_a.back_office, 2, prefix="y")
    with scope(organization=world_a.org):
        Person.objects.filter(pk__in=[p.pk for p in more]).update(base_pay=D("3000"))
    second = scored_period(world_a.org, {**{p: s for p, s in zip(people, ["95", "85", "75", "65"], strict=True)},
                                         more[0]: "84", more[1]: "99"},
                           policy=make_policy(world_a.org, quotas=[]), number=11)
    close(second)
    result = run(second, grading_policy=stricter(world_a))
    assert len(result.departments) >= 2
    for department in result.departments:
        mine = [p for p in result.people if p.department_id == department.department_id]
        assert department.change == sum((p.change for p in mine), D("0"))
        assert department.before == sum((p.old_pay or D("0") for p in mine), D("0"))
    assert result.change == sum((p.change for p in result.people), D("0")) == D("-120.00")


def test_it_saves_nothing(world_a, hr, scenario):
    period, _people = scenario
    candidate = stricter(world_a)
    client = Client()
    client.force_login(hr)
    before = everything()
    response = _page(client, period=period.pk, grading=candidate.pk)
    download = client.get(reverse("pay-what-if-download"), {"period": period.pk, "grading": candidate.pk})
    assert response.status_code == 200 and download.status_code == 200
    b"".join(download.streaming_content)
    assert everything() == before


def test_it_shows_the_changes_on_the_page(world_a, hr, scenario):
    period, people = scenario
    client = Client()
    client.force_login(hr)
    html = unescape(_page(client, period=period.pk, grading=stricter(world_a).pk).content.decode())
    row = re.search(rf'<tr class="what-if-person[^"]*" data-employee="{people[1].employee_no}"[^>]*>', html)
    assert row is not None and 'data-old-grade="A" data-new-grade="B"' in row.group(0)
    assert re.search(r'id="what-if-change">\s*-60\.00<', html)
    assert 'id="what-if-download"' in html


def test_it_downloads_the_rows_as_xlsx(world_a, hr, scenario):
    period, people = scenario
    client = Client()
    client.force_login(hr)
    response = client.get(reverse("pay-what-if-download"), {"period": period.pk, "grading": stricter(world_a).pk})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'what-if-{period.code}.xlsx"')
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
                .iter_rows(values_only=True))
    found = {row[0]: row for row in rows[1:] if row[0]}
    moved = found[people[1].employee_no]
    assert (moved[3], moved[4], D(str(moved[5])), D(str(moved[6])), D(str(moved[7]))) == (
        "A", "B", D("810"), D("750"), D("-60"))
    assert len(found) == 9  # four paid people and the world's five, who are not assessed
    assert D(str(rows[-1][7])) == D("-60")  # the grand total's change


def test_it_is_404_for_another_organisations_period(world_b, hr, scenario):
    other, _people = closed_period(world_b, ["90"], quotas=[])
    client = Client()
    client.force_login(hr)
    assert _page(client, period=other.pk).status_code == 404
    assert client.get(reverse("pay-what-if-download"), {"period": other.pk}).status_code == 404


def test_it_is_404_for_another_organisations_policies(world_b, hr, scenario):
    period, _people = scenario
    grading, pay = make_policy(world_b.org, code="B"), pay_policy(world_b.org)
    client = Client()
    client.force_login(hr)
    assert _page(client, period=period.pk, grading=grading.pk).status_code == 404
    assert _page(client, period=period.pk, pay=pay.pk).status_code == 404


def test_it_is_only_for_hr(finance, employee, scenario):
    period, _people = scenario
    for user in (finance, employee):
        client = Client()
        client.force_login(user)
        assert _page(client, period=period.pk).status_code == 403


def _queries(world: World, hr: Any, count: int, prefix: str, number: int) -> int:
    """The page's queries for a period of ``count`` people scored 95, 85, 75, 65, … (with no
    earlier closed period, so no history is read either time)."""
    people = add_people(world.org, world.production, count, prefix=prefix)
    with scope(organization=world.org):
        Person.objects.filter(pk__in=[p.pk for p in people]).update(base_pay=D("3000"))
    scores = dict(zip(people, ["95", "85", "75", "65"] * 3, strict=False))
    period = scored_period(world.org, scores, policy=make_policy(world.org, quotas=[]), number=number)
    close(period)
    candidate = make_policy(world.org, code=f"ALT{number}", scale=STRICTER_A, quotas=[])
    client = Client()
    client.force_login(hr)
    with CaptureQueriesContext(connection) as queries:
        assert _page(client, period=period.pk, grading=candidate.pk).status_code == 200
    return len(queries)


def test_it_reads_as_many_queries_for_12_people_as_for_3(world_a, hr):
    pay_policy(world_a.org)
    few = _queries(world_a, hr, 3, "f", 11)  # the later period first: neither has an earlier one closed
    many = _queries(world_a, hr, 12, "m", 10)
    assert many == few


def test_it_offers_only_periods_with_results(world_a, hr, scenario):
    period, _people = scenario
    other = scored_period(world_a.org, {}, policy=make_policy(world_a.org, quotas=[]), number=11)
    client = Client()
    client.force_login(hr)
    html = _page(client).content.decode()
    periods = html[html.index('id="what-if-period"'):html.index("</select>", html.index('id="what-if-period"'))]
    assert f'<option value="{period.pk}"' in periods
    assert f'<option value="{other.pk}"' not in periods
    assert _page(client, period=other.pk).status_code == 404  # not closed yet


def test_it_regrades_by_the_periods_own_policy_to_the_stored_grades(world_a):
    """The regrade is the close's own: with the period's policy (forced distribution S1-4 over ten
    people) it gives every stored grade, coefficient and final score back."""
    people = add_people(world_a.org, world_a.production, 10, prefix="q")
    scores = ["98", "93", "88", "86", "81", "77", "74", "72", "66", "55"]
    period = scored_period(world_a.org, dict(zip(people, scores, strict=True)), policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        period = Period.objects.select_related("grading_policy").get(pk=period.pk)
        assert period.grading_policy is not None
        regraded = regrade(period, period.grading_policy)
        stored = {person_id: (grade, coefficient, score) for person_id, grade, coefficient, score in
                  Result.objects.filter(period=period, person__in=people).values_list(
                      "person_id", "grade", "coefficient", "final_score")}
    assert {p.pk: regraded[p.pk] for p in people} == stored
    assert len({grade for grade, _c, _s in stored.values()}) == 4  # the quotas moved people: S, A, B and C


@pytest.mark.django_db
def test_it_benchmarks_a_small_synthetic_period_and_rolls_back() -> None:
    """bench_whatif (the README's figure) at 40 people, to keep it working."""
    out = io.StringIO()
    call_command("bench_whatif", employees=40, departments=4, stdout=out)
    text = out.getvalue()
    assert "what-if: grading and pay candidates" in text and "40 people" in text
    assert re.search(r"what-if: nothing changed .* \(\+0\.00\)", text)
    with scopes_disabled():
        assert not Organization.objects.filter(slug__startswith="bench-whatif").exists()
