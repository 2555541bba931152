"""WCAG 2.1 AA basics in a real browser (issue #16, /work/shared/GLOSSARY.md "Accessibility").

Each role of the demo signs in on the realistic data set of tests/showcase.py (a closed, published
period with results, appeals and a pay run beside the demo's open one) and walks its main pages:
the navigation's, and the period, sheet, calibration, appeal and pay pages its work leads to. On
each, axe-core (tests/browser/node_modules, installed by bin/_common.sh with ``npm ci``) checks the
page against WCAG 2.0/2.1 A and AA; any violation of impact "serious" or "critical" fails, reported
with the page, the rule, and the elements. The keyboard: the first Tab reaches the skip link, which
takes the focus to the main content; after a form posts, the focus is on the message that answers it.

Playwright drives Debian's Chromium (/usr/bin/chromium), as tests/test_browser.py does: without it,
Playwright or axe-core the tests skip, except in CI (CI=true) or under REQUIRE_SERVICES=1, where
they fail. Pages allow only the site's own scripts (CSP); the test context bypasses the policy to
inject axe, which changes nothing else on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.test import TestCase
from django.urls import reverse
from django_scopes import scope

from tests.browsing import AXE_NEEDS, axe_violations, chromium
from tests.showcase import PASSWORD_SUFFIX, Showcase, build_showcase

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser



@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    with chromium(monkeypatch, purpose="the accessibility test", needs=AXE_NEEDS) as launched:
        yield launched


@pytest.fixture
def showcase(transactional_db: None) -> Showcase:
    return build_showcase(TestCase.captureOnCommitCallbacks)


def sign_in(browser: Browser, base_url: str, showcase: Showcase, username: str, **context: Any) -> Page:
    """A fresh session signed in through the login form, working in the demo plant."""
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, **context}
    browser_context = browser.new_context(base_url=base_url, locale="zh-CN", bypass_csp=True, **options)
    browser_context.set_default_timeout(10_000)
    page = browser_context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", username + PASSWORD_SUFFIX)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base_url + "/")
    if page.locator("#org-switcher").count():
        page.locator("#org-switcher .dropdown-toggle").click()
        page.locator(f'#org-switcher button[value="{showcase.plant.pk}"]').click()
        page.wait_for_url(base_url + "/")
    return page


def main_pages(showcase: Showcase, role: str) -> list[str]:
    """The pages of a role's daily work beyond the navigation (which the walk adds itself)."""
    from appraisal.models import Appeal, Sheet
    from payroll.models import PayPolicy

    period, current = showcase.period, showcase.open_period
    with scope(organization=showcase.plant):
        person = showcase.users[role].memberships.get(organization=showcase.plant).person
        own = Sheet.objects.filter(period=current, person=person).first()
        employee_sheet = Sheet.objects.filter(period=current, person__employee_no="D0009").first()
        shift_sheet = Sheet.objects.filter(period=period, team__code="OPS-1").first()
        policy = PayPolicy.objects.order_by("pk").first()
        appealed = Appeal.objects.filter(result__period=period).exists()
    pages = [reverse("period-detail", args=[period.pk])]
    if own is not None:
        pages.append(reverse("sheet-detail", args=[own.pk]))
    if role in ("hr", "head") and employee_sheet is not None:
        pages.append(reverse("sheet-detail", args=[employee_sheet.pk]))
    if role == "hr":
        pages += [reverse("period-detail", args=[current.pk]), reverse("period-calibration", args=[period.pk]),
                  reverse("sheet-detail", args=[shift_sheet.pk]) if shift_sheet else "",
                  reverse("period-confirm", args=[current.pk, "scoring"]), reverse("period-create"),
                  reverse("indicator-create"), reverse("template-create")]
    if role in ("hr", "finance"):
        pages += [reverse("period-pay-runs", args=[period.pk]), reverse("pay-inputs", args=[period.pk]),
                  reverse("pay-input-new", args=[period.pk])]
        pages += [reverse("pay-run-detail", args=[run.pk]) for run in showcase.runs]
        if policy is not None:
            pages += [reverse("pay-policy-detail", args=[policy.pk]),
                      reverse("pay-policy-new-version", args=[policy.pk])]
        if role == "hr":  # the structured pay policy editor: HR's (finance may only read policies)
            pages += [reverse("pay-policy-editor-create"),
                      reverse("pay-policy-editor-edit", args=[policy.pk]) if policy is not None else ""]
    if appealed:
        pages.append(reverse("appeals"))
    return [page for page in pages if page]


def _nav_links(page: Page) -> list[str]:
    return [href for href in page.locator("#main-nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            if href]


@pytest.mark.parametrize("role", ["hr", "head", "employee", "finance", "supervisor"])
def test_every_main_page_passes_axe(browser: Browser, live_server: Any, showcase: Showcase, role: str) -> None:
    page = sign_in(browser, live_server.url, showcase, role)
    urls = ["/", *_nav_links(page), *main_pages(showcase, role)]
    problems: dict[str, list[str]] = {}
    for url in dict.fromkeys(urls):
        page.goto(url)
        page.wait_for_load_state("load")
        found = axe_violations(page)
        if found:
            problems[url] = found
    assert len(urls) >= 5
    assert not problems, "\n" + "\n".join(f"{url} ({role})\n    " + "\n    ".join(hits)
                                          for url, hits in problems.items())


def test_the_sign_in_page_passes_axe(browser: Browser, live_server: Any, transactional_db: None) -> None:
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", "nobody")
    page.locator("main form button[type=submit]").click()  # and its answer to a wrong password
    page.wait_for_load_state("load")
    assert not axe_violations(page)


def test_the_first_tab_reaches_the_skip_link_which_leads_to_the_content(
        browser: Browser, live_server: Any, showcase: Showcase) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, live_server.url, showcase, "employee")
    for url in ["/", reverse("my-results"), reverse("sheets")]:
        page.goto(url)
        page.keyboard.press("Tab")
        skip = page.locator("#skip-link")
        expect(skip).to_be_focused()
        expect(skip).to_be_visible()  # hidden until focused, then shown
        page.keyboard.press("Enter")
        expect(page.locator("main#main-content")).to_be_focused()
        page.keyboard.press("Tab")  # the next Tab starts inside the content, past the menu
        assert page.evaluate("document.activeElement.closest('main') !== null")


def test_the_focus_moves_to_the_message_that_answers_a_posted_form(
        browser: Browser, live_server: Any, showcase: Showcase) -> None:
    """base.html loads static/js/answer-focus.js on every page: here the organisation switcher (a
    form in the top bar) and the acknowledgement of a result."""
    from playwright.sync_api import expect

    page = sign_in(browser, live_server.url, showcase, "hr")  # switched to the plant through the form
    answer = page.locator("main [data-answer]")
    expect(answer).to_be_focused()
    expect(answer).to_contain_text("示范热电厂")

    page = sign_in(browser, live_server.url, showcase, "employee")
    page.goto(reverse("my-results"))
    page.locator(".result-acknowledge").first.click()
    expect(page.locator("main [data-answer]")).to_be_focused()
    # A page reached by a link has no answer: the focus stays at the top, for the skip link.
    page.goto(reverse("sheets"))
    assert page.evaluate("document.activeElement === document.body")


def test_every_progress_bar_has_a_name(browser: Browser, live_server: Any, showcase: Showcase) -> None:
    page = sign_in(browser, live_server.url, showcase, "finance")
    page.goto(reverse("pay-run-detail", args=[showcase.runs[-1].pk]))
    bars = page.locator('[role="progressbar"]')
    assert bars.count() >= 1  # the finished export's
    for index in range(bars.count()):
        assert (bars.nth(index).get_attribute("aria-label") or "").strip()
