"""从方案创建 in a real browser (Debian's Chromium, zh-Hans; see tests/browsing.py): HR opens the
gallery from the menu, opens scheme S0-1 (the smallest: 4 departments, 3 indicators, 1 template,
1 grading and 1 pay policy), names the new organisation and creates it; the new organisation has
the scheme's configuration, HR is its HR admin, works in it at once and can switch away and back
with the organisation switcher; 导出本单位配置 then downloads the new organisation's package, which
names its departments. Django-level cases (refusals, the round trip of every scheme) are in
tests/test_gallery.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal.models import GradingPolicy
from indicators.models import Indicator, Template
from organizations import gallery
from organizations.models import Department, Membership, Organization, User
from payroll.models import PayPolicy
from tests.browsing import axe_violations, sign_in
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCHEME = "S0-1"



def switch_to(page: Page, organization: Organization) -> None:
    page.locator("#org-switcher .dropdown-toggle").click()
    page.locator(f'#org-switcher button[value="{organization.pk}"]').click()
    page.wait_for_url(re.compile(r"/$"))


def test_it_creates_an_organisation_from_a_scheme_and_exports_its_configuration(
    axe_browser: Browser, live_server: Any, transactional_db: None, world_a: World, hr: User,
) -> None:
    from playwright.sync_api import expect

    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.locator('#main-nav a[href="/schemes/"]').click()
    page.wait_for_url(re.compile(r"/schemes/$"))
    card = page.locator("#scheme-s0-1")
    card.locator("summary").click()
    page.fill("#id_scheme-s0-1-name", "新研究所")
    page.fill("#id_scheme-s0-1-slug", "new-institute")
    assert not axe_violations(page)  # the gallery with one scheme's form open
    card.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    made = Organization.objects.get(slug="new-institute")
    package = gallery.package(SCHEME)
    with scope(organization=made):
        assert made.name == "新研究所"
        assert Department.objects.count() == len(package["departments"])
        assert Indicator.objects.count() == len(package["indicators"])
        assert Template.objects.count() == len(package["templates"])
        assert GradingPolicy.objects.count() == len(package["grading_policies"])
        assert PayPolicy.objects.count() == len(package["pay_policies"])
        assert list(Membership.objects.values_list("user__username", "is_hr_admin")) == [("hr", True)]
    # HR works in the new organisation at once, and can switch away from it and back with the switcher.
    expect(page.locator("#org-switcher .dropdown-toggle")).to_have_text("新研究所")
    switch_to(page, world_a.org)
    expect(page.locator("#org-switcher .dropdown-toggle")).to_have_text(world_a.org.name)
    switch_to(page, made)
    expect(page.locator("#org-switcher .dropdown-toggle")).to_have_text("新研究所")

    page.goto("/schemes/")
    with page.expect_download() as download:
        page.locator("#organization-export").click()
    assert download.value.suggested_filename == "new-institute-package.json"
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert exported["organization"]["slug"] == "new-institute"
    assert sorted(row["部门编码"] for row in exported["departments"]) == sorted(
        row["部门编码"] for row in package["departments"])
