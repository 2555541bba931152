"""Labour-cost budgets in a real browser (Debian's Chromium, zh-Hans; see tests/browsing.py).

The period's run pays 600.00 to 甲 (生产部) and 600.00 to 乙 (运行部, under 生产部). Finance opens
the period's budgets from its pay-run page and sets 生产部's budget to 1,000.00: the page shows the
cost of 1,200.00 over it; the run's page lists the overrun and asks for a reason; an empty reason
is not sent (the field is required) and a blank one is refused by the server, the run staying
computed; with a reason the run is confirmed and the reason kept. Django-level cases are in
tests/test_pay_budgets.py."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal.models import Period
from organizations.models import User
from payroll.models import PayBudget, PayRun
from tests.browsing import axe_violations, sign_in
from tests.conftest import World
from tests.paying import closed_period, compute, save_policy
from tests.test_pay_budgets import FIXED, person

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

REASON = "年底集中兑现，经总经理批准"



@pytest.fixture
def paid_period(transactional_db: None, world_a: World) -> Period:
    """As tests/test_pay_budgets.py's: 生产部 costs 1,200.00 (its own 600.00 and 运行部's 600.00)."""
    save_policy(world_a.org, FIXED)
    return closed_period(world_a.org, {person(world_a, "J1", world_a.production): "95",
                                       person(world_a, "Y1", world_a.shift_dept): "85"})


def test_it_sets_a_budget_and_confirms_the_run_over_it_only_with_a_reason(
    axe_browser: Browser, live_server: Any, paid_period: Period, world_a: World, finance: User,
) -> None:
    from playwright.sync_api import expect

    run = compute(paid_period)
    page = sign_in(axe_browser, live_server.url, "finance", bypass_csp=True)
    page.goto(f"/pay/periods/{paid_period.pk}/")
    page.locator("#pay-budgets-link").click()
    page.wait_for_url(re.compile(rf"/pay/periods/{paid_period.pk}/budgets/$"))
    page.select_option("#id_department", str(world_a.production.pk))
    page.fill("#id_amount", "1000")
    page.locator("#pay-budget-save").click()
    page.wait_for_url(re.compile(rf"/pay/periods/{paid_period.pk}/budgets/$"))
    row = page.locator('tr.pay-budget[data-department="a-P"]')
    expect(row.locator(".pay-budget-amount")).to_have_text("1,000.00")
    expect(row.locator(".pay-budget-cost")).to_contain_text("1,200.00")
    expect(row.locator(".badge.text-bg-danger")).to_have_count(1)
    assert not axe_violations(page)
    with scope(organization=world_a.org):
        assert list(PayBudget.objects.values_list("department__code", "amount")) == [("a-P", 1000)]

    page.locator(".breadcrumb a").nth(1).click()  # the period's pay runs
    page.locator(f"#pay-run-{run.pk} a").click()
    page.wait_for_url(re.compile(rf"/pay/runs/{run.pk}/$"))
    overrun = page.locator('#pay-run-over-budget tr.pay-over-budget[data-department="a-P"]')
    expect(overrun.locator(".pay-over-budget-cost")).to_have_text("1,200.00")
    reason = page.locator("#budget-override-reason")
    page.locator("#pay-run-confirm").click()  # empty: the browser does not send it
    assert reason.evaluate("field => field.validity.valueMissing")
    reason.fill("   ")
    page.locator("#pay-run-confirm").click()
    expect(page.locator("main .alert-danger[data-answer]")).to_contain_text("1,200.00")
    with scope(organization=world_a.org):
        assert PayRun.objects.get(pk=run.pk).state == PayRun.State.COMPUTED
    assert not axe_violations(page)

    page.locator("#budget-override-reason").fill(REASON)
    page.locator("#pay-run-confirm").click()
    expect(page.locator("#pay-run-budget-override")).to_contain_text(REASON)
    with scope(organization=world_a.org):
        assert PayRun.objects.values_list("state", "budget_override_reason").get(pk=run.pk) == (
            PayRun.State.CONFIRMED, REASON)
