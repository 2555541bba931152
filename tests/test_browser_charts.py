"""HR turns the pages of a closed period's distribution in a real browser (issue #14, pages under
load): the populations that need attention come first, and the pager below the charts leads to the
rest. As tests/test_browser.py: Debian's Chromium against the live server, skipped only outside CI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal import result_views
from appraisal.models import Period, Result
from tests.browsing import sign_in
from tests.conftest import World
from tests.test_period_page_charts import closed_in_two_departments

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser


@pytest.fixture
def closed(transactional_db: None, world_a: World, hr: Any) -> Period:
    return closed_in_two_departments(world_a)


def _shown(page: Page) -> list[str]:
    return page.locator(".distribution").evaluate_all("charts => charts.map(c => c.dataset.population)")


def test_it_turns_the_pages_of_the_distribution(browser: Browser, live_server: Any, closed: Period,
                                                 world_a: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    monkeypatch.setattr(result_views, "CHARTS_PER_PAGE", 2)
    with scope(organization=world_a.org):
        everyone = set(Result.objects.filter(period=closed).values_list("population", flat=True))
        back = Result.objects.filter(period=closed, person__department=world_a.back_office).values_list(
            "population", flat=True).first()
    page = sign_in(browser, live_server.url, "hr")
    page.goto(f"/periods/{closed.pk}/")
    expect(page.locator("#chart-summary")).to_contain_text("共 3 个排名范围，其中 1 个需要处理")
    first = _shown(page)
    assert len(first) == 2 and first[0] == back
    page.locator("#chart-pages a[rel=next]").click()
    expect(page.locator(".distribution")).to_have_count(1)
    assert set(first + _shown(page)) == everyone
    expect(page.locator("#chart-pages")).to_contain_text("排名范围第 2 页，共 2 页")
