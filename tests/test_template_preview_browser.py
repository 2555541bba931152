"""The template editor's live preview in a real browser (Debian's Chromium, zh-Hans; see
tests/browsing.py): HR opens a new version of a template in use, the preview shows the employee's
sheet at its saved score (87.60), HR moves 10 points from CHECK to OUTPUT and the preview says 87.00
without the page being reloaded. The scheme and the hand calculation: tests/test_template_preview.py.
Nothing is saved."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from organizations.models import User
from tests.browsing import axe_violations, sign_in
from tests.browsing import sign_in as _sign_in
from tests.conftest import World
from tests.test_template_preview import _written, build

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_it_follows_a_weight_changed_in_the_editor(browser: Browser, live_server: Any, transactional_db: None,
                                                   world_a: World, hr: User, head: User, employee: User) -> None:
    from playwright.sync_api import expect

    template, sheet = build(world_a)
    before = _written(sheet)
    page = _sign_in(browser, live_server.url, "hr")
    page.goto(f"/templates/{template.pk}/")
    page.locator("#template-new-version-link").click()
    page.wait_for_url(re.compile(rf"/templates/{template.pk}/editor/$"))
    page.evaluate("window.notReloaded = true")

    expect(page.locator("#preview-sheet")).to_have_value(str(sheet.pk))
    score = page.locator("#template-preview-score")
    expect(score).to_have_attribute("data-score", "87.60")
    expect(page.locator("#template-preview-saved")).to_have_attribute("data-score", "87.60")

    # OUTPUT 60 → 70 alone: the kpi part's lines add up to 110, and the preview says what to fix.
    page.fill("#id_lines-0-max_points", "70")
    page.locator("#id_lines-0-max_points").blur()
    expect(page.locator("#template-preview-problems")).to_be_visible()
    # CHECK 40 → 30: the draft adds up again; 100 × (0.6 × (63 + 26)/100 + 0.4 × 84/100) = 87.00.
    page.fill("#id_lines-1-max_points", "30")
    page.locator("#id_lines-1-max_points").blur()
    expect(score).to_have_attribute("data-score", "87.00")
    expect(page.locator("#template-preview-lines .line-score").first).to_have_attribute("data-score", "63.00")
    expect(page.locator("#template-preview-saved")).to_have_attribute("data-score", "87.60")

    assert page.evaluate("window.notReloaded") is True
    assert page.url.endswith(f"/templates/{template.pk}/editor/")
    assert _written(sheet) == before



def test_it_shows_the_preview_and_its_errors_accessibly(axe_browser: Browser, live_server: Any,
                                                        transactional_db: None, world_a: World, hr: User,
                                                        head: User, employee: User) -> None:
    """The editor with the preview's lines, then with the draft's errors: no serious or critical
    WCAG 2.1 AA violation axe finds."""
    from playwright.sync_api import expect

    template, _sheet = build(world_a)
    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto(f"/templates/{template.pk}/editor/")
    expect(page.locator("#template-preview-lines .preview-line")).to_have_count(3)
    assert not axe_violations(page)
    page.fill("#id_parts-0-weight", "50")
    page.locator("#id_parts-0-weight").blur()
    expect(page.locator("#template-preview-problems")).to_be_visible()
    assert not axe_violations(page)
