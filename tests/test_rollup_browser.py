"""HR declares an annual period's quarters in a real browser (Debian's Chromium, zh-Hans; see
tests/browsing.py): weights adding up to 1.2 come back with the error on the first weight and no
serious or critical axe violation; 0.25 each and a share of 0.8 are saved and shown on the period
page."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, PeriodRollup, RollupShare
from organizations.models import User
from tests.browsing import axe_violations, sign_in
from tests.closing import person_template
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser



@pytest.fixture
def annual(transactional_db: None, world_a: World) -> tuple[Period, list[Period]]:
    org = world_a.org
    template = person_template(org)
    with scope(organization=org):
        quarters = [services.create_period(organization=org, acting_user=None, kind="quarterly", year=2026,
                                           number=n, templates=[template]) for n in range(1, 5)]
        year = services.create_period(organization=org, acting_user=None, kind="annual", year=2026, number=1,
                                      templates=[template])
    return year, quarters


def test_it_declares_the_quarters_of_the_year(axe_browser: Browser, live_server: Any, hr: User,
                                              annual: tuple[Period, list[Period]]) -> None:
    from playwright.sync_api import expect

    year, quarters = annual
    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto(f"/periods/{year.pk}/")
    page.click("#period-rollup-link")
    for quarter in quarters:
        page.fill(f"#id_weight_{quarter.pk}", "0.3")
    page.click("#rollup-save")
    expect(page.locator(f"#field-weight_{quarters[0].pk} .field-error")).to_have_count(1)
    assert not axe_violations(page)
    for quarter in quarters:
        page.fill(f"#id_weight_{quarter.pk}", "0.25")
    page.fill("#rollup-shares input[type=number]", "0.8")
    page.click("#rollup-save")
    page.wait_for_url(f"{live_server.url}/periods/{year.pk}/")
    expect(page.locator("#period-rollup .rollup-child")).to_have_count(4)
    with scope(organization=year.organization):
        assert PeriodRollup.objects.filter(parent=year, weight=Decimal("0.25")).count() == 4
        assert RollupShare.objects.get(template_code="PT").share == Decimal("0.8")
