"""The pages people open on a phone work at 390 px (an iPhone 12–15 in portrait; WCAG 2.1 1.4.10
reflow): the sheet page, rating a sheet, my results, the appeal form and my pay slips.

On each page, at a 390 × 844 viewport with a touch screen: the page itself never scrolls sideways
(``document.documentElement.scrollWidth <= 390``); a table wider than the screen scrolls inside its
own box (an ancestor ``.table-responsive``), never the page; every control of a form is on screen
(stacked, not pushed off the right edge). And the work is done: the head rates a line and the
employee files an appeal, with a phone.

The data is tests/showcase.py's (the demo plus a published period); the browser is Debian's
Chromium driven by Playwright, skipped or failed as tests/test_browser.py explains.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.test import TestCase
from django.urls import reverse
from django_scopes import scope

from tests.browsing import chromium
from tests.showcase import PASSWORD_SUFFIX, Showcase, build_showcase

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844

# What overflows the phone's width, as the page reports it: the page's own scroll width, each
# table wider than the screen without a scrolling box around it, each form control off screen.
LAYOUT = """() => {
  const width = window.innerWidth;
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const tables = [...document.querySelectorAll('main table')]
    .filter(t => visible(t) && t.getBoundingClientRect().width > width && !t.closest('.table-responsive'))
    .map(describe);
  const fields = 'main input:not([type=hidden]), main select, main textarea, main button';
  const controls = [...document.querySelectorAll(fields)]
    .filter(el => visible(el) && !el.closest('.table-responsive'))
    .filter(el => { const r = el.getBoundingClientRect(); return r.left < -1 || r.right > width + 1; })
    .map(describe);
  return {scrollWidth: document.documentElement.scrollWidth, tables, controls};
}"""



@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    with chromium(monkeypatch, purpose="the phone test") as launched:
        yield launched


@pytest.fixture
def showcase(transactional_db: None) -> Showcase:
    return build_showcase(TestCase.captureOnCommitCallbacks)


def _on_a_phone(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": WIDTH, "height": HEIGHT},
                                  is_mobile=True, has_touch=True, device_scale_factor=3)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username + PASSWORD_SUFFIX)
    page.locator("main form button[type=submit]").tap()
    page.wait_for_url(base_url + "/")
    return page


def _fits(page: Page, url: str) -> list[str]:
    found = page.evaluate(LAYOUT)
    problems = []
    if found["scrollWidth"] > WIDTH:
        problems.append(f"{url}: the page is {found['scrollWidth']} px wide, wider than the {WIDTH} px screen")
    problems += [f"{url}: table {t} is wider than the screen outside a .table-responsive box" for t in found["tables"]]
    problems += [f"{url}: control {c} is off the screen" for c in found["controls"]]
    return problems


def _sheet(showcase: Showcase, period: Any, employee_no: str) -> int:
    from appraisal.models import Sheet

    with scope(organization=showcase.plant):
        return Sheet.objects.get(period=period, person__employee_no=employee_no).pk


def test_the_phone_pages_never_scroll_sideways(browser: Browser, live_server: Any, showcase: Showcase) -> None:
    pages = {
        # The employee: their sheet of the open period (self-assessment), of the published one, their
        # results (with their appeal) and their pay slips.
        "employee": [reverse("sheet-detail", args=[_sheet(showcase, showcase.open_period, "D0009")]),
                     reverse("sheet-detail", args=[_sheet(showcase, showcase.period, "D0009")]),
                     reverse("my-results"), reverse("my-pay-slips"), reverse("appeals"), "/"],
        # The head: rating the sheet of a shift leader they supervise; their own results, with the appeal form.
        "head": [reverse("sheet-detail", args=[_sheet(showcase, showcase.open_period, "D0008")]),
                 reverse("my-results"), reverse("appeals"), reverse("sheets")],
    }
    problems: list[str] = []
    for username, urls in pages.items():
        page = _on_a_phone(browser, live_server.url, username)
        problems += _fits(page, "/")
        for url in urls:
            page.goto(url)
            page.wait_for_load_state("load")
            problems += _fits(page, f"{url} ({username})")
        page.context.close()
    assert not problems, "\n".join(problems)


def test_a_head_rates_a_line_on_a_phone(browser: Browser, live_server: Any, showcase: Showcase) -> None:
    from playwright.sync_api import expect

    page = _on_a_phone(browser, live_server.url, "head")  # 刘强 is the direct supervisor of 周洋 (D0008)
    page.goto(reverse("sheet-detail", args=[_sheet(showcase, showcase.open_period, "D0008")]))
    line = page.locator('.sheet-line[data-indicator="WORK"]')
    rating = line.locator("select.rate-value")
    rating.scroll_into_view_if_needed()
    box = rating.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    rating.select_option("良好")  # htmx posts on change and swaps the line in place
    expect(line.locator(".line-score")).not_to_have_text("—")
    expect(line.locator(".line-explanation")).to_contain_text("85.00")
    assert not _fits(page, "after rating")


def test_an_employee_appeals_on_a_phone(browser: Browser, live_server: Any, showcase: Showcase) -> None:
    from playwright.sync_api import expect

    page = _on_a_phone(browser, live_server.url, "head")  # 刘强 has not appealed yet: the form is there
    page.goto(reverse("my-results"))
    form = page.locator("section.my-result .appeal-form").first
    expect(form).to_be_visible()
    fields = [form.locator("select"), form.locator("input[type=file]"), form.locator("textarea")]
    boxes = [field.bounding_box() for field in fields]
    assert all(box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH for box in boxes)
    # Stacked: each field below the one before, none beside it.
    tops = [box["y"] for box in boxes if box is not None]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)
    form.locator("textarea").fill("当月承担两次机组启停，加班未计入")
    form.locator(".appeal-submit").tap()
    expect(page.locator("main [data-answer]")).to_be_visible()
    expect(page.locator('section.my-result .appeal[data-state="filed"] .appeal-reason').first).to_have_text(
        "当月承担两次机组启停，加班未计入")
    assert not _fits(page, "after appealing")
