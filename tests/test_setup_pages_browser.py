"""The set-up pages in a real browser (Debian's Chromium, zh-Hans; see tests/test_browser.py):
Swagger UI shows the API's operations with every request off this site blocked; HR fills a year
of the working calendar with the button 「导入法定节假日」 and adds a department type and a person
without the Django admin."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
from django_scopes import scope

from organizations.models import CalendarDay, DepartmentType, Person, User
from tests.browsing import sign_in as _sign_in
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

pytestmark = pytest.mark.browser


def test_it_shows_swagger_ui_with_the_network_blocked(browser: Browser, live_server: Any,
                                                      transactional_db: None) -> None:
    own = urlparse(live_server.url).netloc
    blocked: list[str] = []

    def only_this_site(route: Route) -> None:
        if urlparse(route.request.url).netloc == own:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.route("**/*", only_this_site)
    page = context.new_page()
    page.goto("/api/docs/")
    page.locator(".opblock").first.wait_for(timeout=15_000)
    # A large spec is rendered tag by tag as the page scrolls (only what is near the viewport is in the
    # DOM), so read the operations while scrolling to the end.
    paths: set[str] = set()
    for _ in range(200):
        paths.update(page.locator(".opblock-summary-path").evaluate_all("els => els.map(e => e.dataset.path)"))
        at_end = page.evaluate("() => window.scrollY + window.innerHeight >= document.body.scrollHeight - 2")
        if at_end:
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(50)
    assert len(paths) > 20 and "/api/department-types/" in paths
    assert blocked == []


def test_it_sets_up_the_calendar_a_type_and_a_person_in_the_browser(
    browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User,
) -> None:
    page = _sign_in(browser, live_server.url, "hr")
    page.locator('#main-nav a[href="/calendar/"]').click()
    page.goto("/calendar/?year=2025")
    page.locator("#calendar-fill-button").click()
    page.wait_for_url(re.compile(r"/calendar/\?year=2025$"))
    assert "calendar-holiday" in (page.locator('td[data-date="2025-10-01"]').get_attribute("class") or "")
    assert page.locator("#calendar-working").inner_text() == "248"

    page.locator('#main-nav a[href="/department-types/"]').click()
    page.locator("#setup-new").click()
    page.fill("#id_code", "lab")
    page.fill("#id_name", "检验")
    page.locator("#setup-save").click()
    page.wait_for_url(re.compile(r"/department-types/$"))

    page.goto("/people/")
    page.locator("#person-new").click()
    page.fill("#id_employee_no", "a-new")
    page.fill("#id_name", "新同事")
    page.select_option("#id_department", str(world_a.back_office.pk))
    page.locator("#setup-save").click()
    page.wait_for_url(re.compile(r"/people/\d+/$"))
    assert "新同事" in page.locator("h1").inner_text()

    with scope(organization=world_a.org):
        assert CalendarDay.objects.filter(date__year=2025).exists()
        assert DepartmentType.objects.filter(code="lab").exists()
        assert Person.objects.get(employee_no="a-new").department == world_a.back_office
