"""A pay policy's period kind and whether it needs a grade, set in a real browser (Debian's
Chromium, zh-Hans; see tests/browsing.py): HR opens 新建绩效工资办法 from the pay policies, writes a
quarterly policy that also pays people without a grade, and saves it; the policy is saved with
those two values and its page shows them. Django-level cases are in tests/test_pay_policy_kinds.py."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from organizations.models import User
from payroll.models import PayPolicy
from tests.browsing import axe_violations, sign_in
from tests.conftest import World
from tests.test_pay_policy_kinds import fixed

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser



def test_it_saves_a_quarterly_policy_that_pays_people_without_a_grade(
    axe_browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User,
) -> None:
    from playwright.sync_api import expect

    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto("/pay/policies/")
    page.locator("#pay-policy-new-link").click()
    page.wait_for_url(re.compile(r"/pay/policies/new/$"))
    page.fill("#id_code", "PQ")
    page.fill("#id_name", "季度计件奖")
    page.fill("#id_effective_from", "2025-01-01")
    page.select_option("#id_period_kind", "quarterly")
    page.check("#id_pays_ungraded")
    page.fill("#id_components", json.dumps(fixed("1234.56"), ensure_ascii=False))
    assert not axe_violations(page)
    page.locator("#pay-policy-save").click()
    page.wait_for_url(re.compile(r"/pay/policies/\d+/$"))

    expect(page.locator("#pay-policy-period-kind")).to_have_attribute("data-kind", "quarterly")
    expect(page.locator("#pay-policy-requires-grade")).to_have_attribute("data-requires-grade", "0")
    with scope(organization=world_a.org):
        assert PayPolicy.objects.values_list("period_kind", "requires_grade", "version").get(code="PQ") == (
            "quarterly", False, 1)
