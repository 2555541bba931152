"""An appeal against a line walked through in a real browser: the employee appeals against their
工作业绩 line within the review window, the head gives an opinion, HR upholds it entering the
line's correct actual, and the employee sees the new line, final score, grade and the line's
history. After each form posts, the focus is on the message that answers it.

Playwright's sync API drives Debian's Chromium (/usr/bin/chromium; never a downloaded browser)
against pytest-django's live server, as tests/test_browser.py does: where Chromium or Playwright
is missing the test skips, except in CI (CI=true) or under REQUIRE_SERVICES=1, where it fails.

The period (tests/line_appeals.py): the employee scores 72.00 (B) with 工作业绩 at 70 (actual 70
of a target of 100, weight 0.6); the colleague 83.00 holds the one A place. The actual becomes
95: 工作业绩 95.00, final 100 × (0.6 × 0.95 + 0.2 × 0.90 + 0.2 × 0.60) = 87.00, which takes the
A place (the colleague falls to B).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from organizations.models import User
from tests.browsing import sign_in as _sign_in
from tests.conftest import World
from tests.line_appeals import LinePeriod, line_period

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/browser-line-appeal.png")




@pytest.fixture
def published(transactional_db: None, world_a: World, hr: User, head: User, employee: User) -> LinePeriod:
    return line_period(world_a)



def _answer(page: Page) -> Any:
    """The message that answers the form just posted: it has the focus."""
    return page.locator('main [role="alert"]')


def test_it_walks_an_appeal_against_a_line_to_the_rescored_line(
    browser: Browser, live_server: Any, published: LinePeriod
) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    work = published.lines["WORK"]

    # The employee appeals against 工作业绩 within the window.
    page = _sign_in(browser, base, "employee")
    page.locator('#main-nav a[href="/results/mine/"]').click()
    mine = page.locator("section.my-result")
    expect(mine.locator(f"#line-{work.pk} .line-score")).to_have_text("70.00")
    mine.locator(".appeal-form select").select_option(label="工作业绩")
    mine.locator(".appeal-form textarea").fill("10月产量报表漏记了夜班产量")
    mine.locator(".appeal-submit").click()
    expect(_answer(page)).to_be_focused()
    expect(_answer(page)).to_have_attribute("tabindex", "-1")
    expect(mine.locator('.appeal[data-state="filed"] .appeal-reason')).to_have_text("10月产量报表漏记了夜班产量")

    # The head sees the line appealed with its data, gives an opinion and forwards it.
    page = _sign_in(browser, base, "head")
    page.locator('#main-nav a[href="/appeals/"]').click()
    waiting = page.locator("section.appeal-to-forward")
    expect(waiting.locator(".appeal-line")).to_have_text("工作业绩")
    expect(waiting.locator(".appeal-line-score")).to_have_text("70.00")
    waiting.locator('textarea[name="opinion"]').fill("夜班产量确有漏记")
    waiting.locator(".appeal-forward").click()
    expect(_answer(page)).to_be_focused()
    expect(page.locator("section.appeal-to-forward")).to_have_count(0)

    # HR upholds it, entering the line's correct actual in the form that shows its current data.
    page = _sign_in(browser, base, "hr")
    page.locator('#main-nav a[href="/appeals/"]').click()
    deciding = page.locator("section.appeal-to-decide")
    expect(deciding.locator(".appeal-opinion")).to_contain_text("夜班产量确有漏记")
    actual = deciding.get_by_label("实际值")
    expect(actual).to_have_value("70")
    actual.fill("95")
    deciding.locator('textarea[name="reason"]').fill("核对生产日报，夜班产量属实")
    deciding.locator(".appeal-uphold").click()
    expect(_answer(page)).to_be_focused()
    expect(_answer(page)).to_contain_text("87.00")
    expect(page.locator("section.appeal-to-decide")).to_have_count(0)

    # The employee sees the new line, final score and grade, and the line's history.
    page = _sign_in(browser, base, "employee")
    page.locator('#main-nav a[href="/results/mine/"]').click()
    mine = page.locator("section.my-result")
    line = mine.locator(f"#line-{work.pk}")
    expect(line.locator(".line-value")).to_have_text(["100", "95"])  # target, actual
    expect(line.locator(".line-score")).to_have_text("95.00")
    expect(mine.locator(".result-score")).to_have_text("87.00")
    expect(mine.locator(".result-grade")).to_contain_text("A")
    history = mine.locator(".line-history")
    expect(history.locator(".history-reason")).to_have_text("核对生产日报，夜班产量属实")
    expect(history.locator(".history-date")).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$"))
    expect(history.locator(".history-change").first).to_contain_text("实际值")
    expect(history.locator(".history-old").first).to_have_text("70")
    expect(history.locator(".history-new").first).to_have_text("95")
    expect(history.locator(".history-final")).to_contain_text("72.00 → 87.00")
    expect(mine.locator('.appeal[data-state="upheld"] .decision-reason')).to_have_text("核对生产日报，夜班产量属实")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
