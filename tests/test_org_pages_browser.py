"""The organisation pages in a real browser (Debian's Chromium, zh-Hans; see tests/browsing.py): HR
issues an API token from the menu, copies the key shown once, and the key works for the API; HR
adds a sub-department from the departments tree and sees it indented under its parent."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope
from rest_framework.test import APIClient

from organizations.models import ApiToken, Department, User
from tests.browsing import sign_in as _sign_in
from tests.conftest import World, membership_of

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_it_issues_a_token_and_adds_a_sub_department_in_the_browser(
    browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User, employee: User,
) -> None:
    page = _sign_in(browser, live_server.url, "hr")
    page.locator('#main-nav a[href="/api-tokens/"]').click()
    page.locator("#api-token-new").click()
    page.fill("#id_name", "考勤系统")
    page.select_option("#id_membership", str(membership_of(employee, world_a.org).pk))
    page.locator("#setup-save").click()
    key = page.locator("#api-token-key").input_value()
    assert key.startswith("pa_")
    page.locator("#api-token-copy").click()
    # Selected for Ctrl+C where the clipboard API is not offered (a live server is plain http).
    assert page.evaluate("document.activeElement.id") == "api-token-key"
    page.locator("#api-token-done").click()
    page.wait_for_url(re.compile(r"/api-tokens/$"))
    assert "考勤系统" in page.locator("#api-token-table").inner_text()
    assert key not in page.content()

    page.locator('#main-nav a[href="/departments/"]').click()
    page.locator(f"#department-{world_a.production.pk} .department-add-child").click()
    page.fill("#id_code", "a-P7")
    page.fill("#id_name", "燃料分部")
    page.check("#id_inspects_others")
    page.locator("#setup-save").click()
    page.wait_for_url(re.compile(r"/departments/$"))
    row = page.locator('tr[data-code="a-P7"]')
    assert row.get_attribute("data-depth") == "1"
    assert row.get_attribute("data-parent") == str(world_a.production.pk)
    assert row.locator(".department-inspects").count() == 1

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/people/").status_code == 200
    with scope(organization=world_a.org):
        assert ApiToken.objects.get(name="考勤系统").membership == membership_of(employee, world_a.org)
        added = Department.objects.get(code="a-P7")
        assert (added.parent, added.inspects_others) == (world_a.production, True)
