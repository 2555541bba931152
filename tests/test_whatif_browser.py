"""The what-if page in a real browser (Debian's Chromium, zh-Hans; see tests/test_browser.py): HR
goes from the pay policies to 测算, picks a closed period and a stricter grading policy, sees the
person at 85 fall from A to B and the cost fall by 60.00, and downloads the .xlsx. Nothing is saved."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from organizations.models import User
from tests.browsing import sign_in as _sign_in
from tests.conftest import World
from tests.test_pay_runs import closed_period, pay_policy
from tests.test_whatif import everything, stricter

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_it_shows_a_stricter_grading_policys_cost_and_downloads_it(
    browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User,
) -> None:
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95", "85", "75", "65"], quotas=[])
    candidate = stricter(world_a)
    page = _sign_in(browser, live_server.url, "hr")
    before = everything()  # after signing in, which logs the sign-in
    page.goto("/pay/policies/")
    page.locator("#pay-what-if-link").click()
    page.wait_for_url(re.compile(r"/pay/what-if/$"))
    page.select_option("#what-if-period", str(period.pk))
    page.select_option("#what-if-grading", str(candidate.pk))
    page.locator("#what-if-run").click()
    page.wait_for_url(re.compile(rf"/pay/what-if/\?period={period.pk}&grading={candidate.pk}"))

    moved = page.locator(f'tr.what-if-person[data-employee="{people[1].employee_no}"]')
    assert (moved.get_attribute("data-old-grade"), moved.get_attribute("data-new-grade")) == ("A", "B")
    assert moved.locator(".pay-change").inner_text() == "-60.00"
    assert page.locator("#what-if-change").inner_text() == "-60.00"
    assert page.locator('tr.what-if-grade[data-grade="B"] .grade-after').inner_text() == "2"

    with page.expect_download() as download:
        page.locator("#what-if-download").click()
    assert download.value.suggested_filename == f"what-if-{period.code}.xlsx"
    assert everything() == before
