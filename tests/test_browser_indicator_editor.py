"""HR builds an indicator in the structured editor in a real browser: picks the bands method, keeps
two bands (tiers) of the example, fills them in and sees the draft's score on a real sheet line
before saving. Driven like tests/test_browser.py (Debian's Chromium, pytest-django's live server).

By hand: the employee's OUTPUT line has actual 250; bands below 200 → 5 points, 200 and above → 10
points; 250 is in the upper band: 10.00, and 105.00 once HR types a 5 after the 10.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from indicators.models import Indicator
from organizations.models import User
from tests.browsing import axe_violations, sign_in
from tests.conftest import World
from tests.test_appraisal_pages import Scheme, build_scheme

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.fixture
def open_period(transactional_db: None, world_a: World, hr: User, head: User, employee: User) -> Scheme:
    scheme = build_scheme(world_a)
    line = scheme.line("employee", "OUTPUT")
    with scope(organization=world_a.org):
        line.actual = 250
        line.save()
    return scheme


def test_it_creates_a_two_band_indicator_and_previews_its_score(
    browser: Browser, live_server: Any, open_period: Scheme
) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, live_server.url, "hr", bypass_csp=True)
    page.goto("/indicators/")
    page.click("#indicator-create-link")
    page.wait_for_selector("#indicator-editor")
    page.fill("#id_code", "TIERED")
    page.fill("#id_name", "分档产量")
    page.select_option("#id_method", "banded")
    expect(page.locator('#indicator-settings[data-method="banded"]')).to_have_count(1)
    expect(page.locator("#bands-row-2")).to_have_count(1)  # the example's three bands …
    page.locator("#bands-row-2 button").click()
    expect(page.locator("#bands-row-2")).to_have_count(0)  # … one removed: two tiers left
    page.fill('[name="bands-0-low"]', "")
    page.fill('[name="bands-0-high"]', "200")
    page.fill('[name="bands-0-value"]', "5")
    page.fill('[name="bands-1-low"]', "200")
    page.fill('[name="bands-1-high"]', "")
    page.fill('[name="bands-1-value"]', "10")
    option = page.locator("#sample-line option", has_text=re.compile("employee-a"))
    page.select_option("#sample-line", option.get_attribute("value"))
    expect(page.locator("#preview-score")).to_have_text("10.00")
    expect(page.locator("#preview-explanation")).to_contain_text("250")
    page.locator('[name="bands-1-value"]').press_sequentially("5")  # 10 → 105, previewed as HR types
    expect(page.locator("#preview-score")).to_have_text("105.00")
    assert not axe_violations(page)

    page.click("#indicator-save")
    page.wait_for_url(re.compile(r"/indicators/\d+/$"))
    with scope(organization=open_period.world.org):
        saved = Indicator.objects.get(code="TIERED")
    assert saved.method == "banded"
    assert saved.config["bands"] == [{"from": None, "to": "200", "points": "5"},
                                     {"from": "200", "to": None, "points": "105"}]


def test_it_shows_the_template_totals_turn_red_as_hr_types(
    browser: Browser, live_server: Any, open_period: Scheme
) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, live_server.url, "hr", bypass_csp=True)
    page.goto("/templates/")
    page.click("#template-create-link")
    page.wait_for_selector("#template-editor")
    expect(page.locator("#template-totals .total-off")).to_have_count(0)  # one part of 100 %
    page.locator('[name="parts-0-weight"]').fill("90")
    expect(page.locator("#template-totals .total-off .total-value")).to_have_text("90%")
    assert not axe_violations(page)
