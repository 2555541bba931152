"""HR builds a three-grade grading policy with a quota in the structured editor, in a real browser
(Debian's Chromium, zh-Hans; see tests/browsing.py), sees the draft's counts on a closed period
and saves it.

By hand: the closed period has five scored people (95, 92, 85, 75, 60) and everyone else exempt.
The editor starts from A ≥ 90, B ≥ 70, C below; with A ≤ 20 % of five = 1 person, 92 falls to B:
the preview's A count is 1 (2 by score alone). Saved: version 1 with the three bands and the quota.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal.models import GradingPolicy, Period
from organizations.models import User
from tests.browsing import axe_violations, sign_in
from tests.browsing import sign_in as _sign_in
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser



@pytest.fixture
def closed_period(transactional_db: None, world_a: World, hr: User) -> Period:
    people = add_people(world_a.org, world_a.production, 5)
    period = scored_period(world_a.org, dict(zip(people, ["95", "92", "85", "75", "60"], strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    return period


def test_it_builds_a_three_grade_policy_with_a_quota(browser: Browser, live_server: Any,
                                                     closed_period: Period) -> None:
    from playwright.sync_api import expect

    page = _sign_in(browser, live_server.url, "hr")
    page.locator("#main-nav").get_by_role("link", name=re.compile("Grading policies|等级评定办法")).click()
    page.click("#grading-policy-create-link")
    page.wait_for_url(re.compile(r"/grading-policies/editor/new/$"))

    page.fill("#id_code", "G3")
    page.fill("#id_name", "三级评定")
    for n, (label, coefficient) in enumerate([("优秀", "1.2"), ("合格", "1.0"), ("待改进", "0.8")]):
        page.fill(f"#id_bands-{n}-label", label)
        page.fill(f"#id_bands-{n}-coefficient", coefficient)

    page.click("#add-quotas")
    expect(page.locator("#quotas-row-0")).to_be_visible()
    page.fill("#id_quotas-0-grade", "A")
    page.select_option("#id_quotas-0-op", "<=")
    page.select_option("#id_quotas-0-unit", "share")
    page.fill("#id_quotas-0-value", "20")

    # The preview follows the draft: A ≤ 1 of 5 (2 by score alone).
    a_row = page.locator('#grading-preview-table tr[data-grade="A"]')
    expect(a_row.locator(".draft-count")).to_have_text("1")
    expect(a_row.locator("td").first).to_have_text("2")

    page.click("#grading-policy-save")
    page.wait_for_url(re.compile(r"/grading-policies/$"))
    expect(page.locator("#grading-policy-table")).to_contain_text("G3")
    with scope(organization=closed_period.organization):
        policy = GradingPolicy.objects.get(code="G3")
    assert [band["grade"] for band in policy.scale["bands"]] == ["A", "B", "C"]
    assert [band["coefficient"] for band in policy.scale["bands"]] == ["1.2", "1.0", "0.8"]
    assert policy.quotas == [{"grade": "A", "op": "<=", "share": "0.2"}]
    assert policy.version == 1


def test_it_shows_a_refused_band_accessibly(axe_browser: Browser, live_server: Any, world_a: World, hr: User,
                                            transactional_db: None) -> None:
    """Two bands at one lower bound: the page comes back with the error on the second band's lower
    bound, and axe finds no serious or critical WCAG 2.1 AA violation on it."""
    from playwright.sync_api import expect

    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto("/grading-policies/editor/new/")
    page.fill("#id_code", "G3")
    page.fill("#id_name", "三级评定")
    page.fill("#id_bands-1-lower", "90")
    page.click("#grading-policy-save")
    expect(page.locator("#grading-policy-problems")).to_be_visible()
    expect(page.locator("#bands-row-1 .field-error")).to_have_count(1)
    assert not axe_violations(page)
    with scope(organization=world_a.org):
        assert not GradingPolicy.objects.exists()
