"""Labour-cost budgets (#12, item 12; S1-4 §13.5): a budget per department and period, its
sub-departments' people included; a pay run over it is flagged when computed and shown on the run's
page; finance's confirmation is refused over budget unless finance gives a reason, kept on the run
and in its history."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal.models import Period
from appraisal.services import IllegalTransition
from organizations import services as org_services
from organizations.models import Person, User
from payroll import budgets, services
from payroll.models import PayBudget, PayRun
from tests.conftest import World
from tests.paying import closed_period, compute, save_policy

D = Decimal
FIXED = [{"code": "perf", "name": "绩效工资", "kind": "fixed", "config": {"amount": "600"}}]


def person(world: World, number: str, department: Any) -> Person:
    with scope(organization=world.org):
        return org_services.create_person(organization=world.org, acting_user=None, employee_no=number,
                                          name=f"员工{number}", department=department)


def budget(period: Period, department: Any, amount: str) -> PayBudget:
    with scope(organization=period.organization):
        return budgets.save_pay_budget(organization=period.organization, acting_user=None, period=period,
                                       department=department, amount=D(amount))


@pytest.fixture
def paid_period(world_a: World) -> Period:
    """600.00 each for 甲 (生产部) and 乙 (运行部, under 生产部): 生产部's cost is 1,200.00, 运行部's 600.00."""
    save_policy(world_a.org, FIXED)
    return closed_period(world_a.org, {person(world_a, "J1", world_a.production): "95",
                                       person(world_a, "Y1", world_a.shift_dept): "85"})


def test_it_flags_a_run_over_a_departments_budget_counting_its_sub_departments(paid_period, world_a):
    budget(paid_period, world_a.production, "1000")
    budget(paid_period, world_a.shift_dept, "700")
    run = compute(paid_period)
    assert run.over_budget == [{"department": "a-P", "name": "生产部", "budget": "1000.00", "cost": "1200.00"}]


def test_it_does_not_flag_a_run_that_reaches_its_budget_exactly(paid_period, world_a):
    budget(paid_period, world_a.production, "1200.00")
    assert compute(paid_period).over_budget == []


def test_it_refuses_to_confirm_over_budget_without_a_reason_naming_the_department(paid_period, world_a):
    budget(paid_period, world_a.production, "1000")
    run = compute(paid_period)
    with scope(organization=world_a.org), pytest.raises(IllegalTransition) as refused:
        services.confirm_pay_run(run=run, acting_user=None, budget_override_reason="  ")
    assert "生产部" in str(refused.value) and "1,200.00" in str(refused.value) and "1,000.00" in str(refused.value)
    with scope(organization=world_a.org):
        assert PayRun.objects.get(pk=run.pk).state == PayRun.State.COMPUTED


def test_it_confirms_over_budget_with_a_reason_kept_in_the_runs_history(paid_period, world_a):
    budget(paid_period, world_a.production, "1000")
    run = compute(paid_period)
    with scope(organization=world_a.org):
        services.confirm_pay_run(run=run, acting_user=None, budget_override_reason="年底集中兑现，经总经理批准")
        confirmed = PayRun.objects.get(pk=run.pk)
        last = confirmed.history.order_by("-history_id").first()
    assert confirmed.state == PayRun.State.CONFIRMED
    assert confirmed.budget_override_reason == "年底集中兑现，经总经理批准"
    assert (last.history_change_reason, last.budget_override_reason) == ("confirmed over budget",
                                                                         "年底集中兑现，经总经理批准")


def test_it_looks_at_the_budgets_again_at_confirmation(paid_period, world_a):
    run = compute(paid_period)
    assert run.over_budget == []
    budget(paid_period, world_a.production, "1199.99")  # set after the run was computed
    with scope(organization=world_a.org), pytest.raises(IllegalTransition):
        services.confirm_pay_run(run=run, acting_user=None)


def test_it_flags_the_same_version_when_a_budget_set_later_is_overrun_on_a_rerun(paid_period, world_a):
    first = compute(paid_period)
    budget(paid_period, world_a.production, "1000")
    again = compute(paid_period)  # the same slips: no new version, the flag brought up to date
    assert again.pk == first.pk and again.version == 1 and again.over_budget[0]["department"] == "a-P"


def test_it_refuses_a_negative_budget(paid_period, world_a):
    with pytest.raises(budgets.BudgetRejected) as refused:
        budget(paid_period, world_a.production, "-1")
    assert refused.value.field == "amount"


def _queries(world: World, count: int) -> int:
    save_policy(world.org, FIXED)
    period = closed_period(world.org, {person(world, f"Q{i}", world.shift_dept): "80" for i in range(count)})
    budget(period, world.production, "1")
    ContentType.objects.clear_cache()
    with scope(organization=world.org), CaptureQueriesContext(connection) as captured:
        run = services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None and run.over_budget
    return len(captured.captured_queries)


def test_it_checks_budgets_in_a_fixed_number_of_queries(world_a, world_b):
    assert _queries(world_a, 2) == _queries(world_b, 8)


# --- page and API ---------------------------------------------------------------------------------


def test_it_shows_the_overrun_and_asks_finance_for_a_reason_on_the_run_page(client: Client, finance: User,
                                                                            paid_period: Period, world_a) -> None:
    budget(paid_period, world_a.production, "1000")
    run = compute(paid_period)
    client.force_login(finance)
    html = client.get(reverse("pay-run-detail", args=[run.pk])).content.decode()
    block = html[html.index('id="pay-run-over-budget"'):]
    assert 'data-department="a-P"' in block and "1,200.00" in block
    assert 'name="budget_override_reason"' in block and 'id="pay-run-confirm-over-budget"' in block
    listed = client.get(reverse("period-pay-runs", args=[paid_period.pk])).content.decode()
    assert "pay-run-over-budget-badge" in listed


def test_it_confirms_from_the_page_only_with_a_reason(client: Client, finance: User, paid_period: Period,
                                                      world_a) -> None:
    budget(paid_period, world_a.production, "1000")
    run = compute(paid_period)
    client.force_login(finance)
    url = reverse("pay-run-confirm", args=[run.pk])
    client.post(url, {"budget_override_reason": ""})
    with scope(organization=world_a.org):
        assert PayRun.objects.get(pk=run.pk).state == PayRun.State.COMPUTED
    client.post(url, {"budget_override_reason": "经总经理批准"})
    with scope(organization=world_a.org):
        assert PayRun.objects.values_list("state", "budget_override_reason").get(pk=run.pk) == (
            PayRun.State.CONFIRMED, "经总经理批准")


def test_it_sets_a_budget_through_the_api_and_replaces_it_on_a_second_post(api_for: Any, finance: User,
                                                                           paid_period: Period, world_a) -> None:
    client = api_for(finance)
    body = {"period": paid_period.pk, "department": world_a.production.pk, "amount": "1000.00"}
    assert client.post(reverse("api-payroll:pay-budget-list"), body, format="json").status_code == 201
    second = client.post(reverse("api-payroll:pay-budget-list"), body | {"amount": "1500"}, format="json")
    assert second.status_code == 200 and second.json()["amount"] == "1500.00"
    negative = client.post(reverse("api-payroll:pay-budget-list"), body | {"amount": "-1"}, format="json")
    assert negative.status_code == 400 and "amount" in negative.json()


def test_it_answers_409_over_budget_without_a_reason_and_confirms_with_one(api_for: Any, finance: User,
                                                                         paid_period: Period, world_a) -> None:
    budget(paid_period, world_a.production, "1000")
    run = compute(paid_period)
    client = api_for(finance)
    url = reverse("api-payroll:pay-run-confirm", args=[run.pk])
    assert client.post(url, {}, format="json").status_code == 409
    done = client.post(url, {"budget_override_reason": "经总经理批准"}, format="json")
    assert done.status_code == 200
    assert done.json()["budget_override_reason"] == "经总经理批准"
    assert done.json()["over_budget"][0]["cost"] == "1200.00"


def test_it_lists_each_budget_beside_the_latest_runs_cost(client: Client, hr: User, paid_period: Period,
                                                          world_a) -> None:
    budget(paid_period, world_a.production, "1000")
    budget(paid_period, world_a.shift_dept, "700")
    compute(paid_period)
    client.force_login(hr)
    html = client.get(reverse("pay-budgets", args=[paid_period.pk])).content.decode()
    rows = dict(re.findall(r'<tr class="pay-budget[^"]*" data-department="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {"a-P", "a-P1"}
    assert "1,000.00" in rows["a-P"] and "1,200.00" in rows["a-P"] and "text-bg-danger" in rows["a-P"]
    assert "700.00" in rows["a-P1"] and "600.00" in rows["a-P1"] and "text-bg-danger" not in rows["a-P1"]
    assert 'id="pay-budget-form"' not in html  # HR reads budgets; finance sets them


def test_it_lets_finance_set_a_budget_from_the_page(client: Client, finance: User, paid_period: Period,
                                                    world_a) -> None:
    client.force_login(finance)
    url = reverse("pay-budgets", args=[paid_period.pk])
    response = client.post(url, {"department": world_a.production.pk, "amount": "1000.5"})
    assert response.status_code == 302 and response["Location"] == url
    refused = client.post(url, {"department": world_a.production.pk, "amount": "-1"})
    assert refused.status_code == 400 and "field-error" in refused.content.decode()
    with scope(organization=world_a.org):
        assert list(PayBudget.objects.values_list("department_id", "amount")) == [(world_a.production.pk,
                                                                                   D("1000.50"))]


def test_it_forbids_hr_to_set_a_budget(client: Client, hr: User, paid_period: Period, world_a) -> None:
    client.force_login(hr)
    response = client.post(reverse("pay-budgets", args=[paid_period.pk]),
                           {"department": world_a.production.pk, "amount": "1"})
    assert response.status_code == 403
    with scope(organization=world_a.org):
        assert not PayBudget.objects.exists()
