"""Debian's Chromium driven by Playwright, for every browser test.

One place decides where Chromium is, how it is launched and what happens when it is missing: a
developer's machine without it skips the test with the reason; CI and the services pass
(``CI=true`` / ``REQUIRE_SERVICES=1``) fail instead, so a browser test can never silently not run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# axe-core (tests/browser/package.json), injected into a page to check WCAG 2.1 A/AA.
AXE = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AXE_NEEDS = ((AXE, "cd tests/browser && npm ci; bin/test does it"),)
FAILING_IMPACTS = ("serious", "critical")
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"]}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def browser_missing(*needs: tuple[Path, str]) -> str | None:
    """Why a browser test cannot run here (None when it can); ``needs`` adds files it also needs,
    each with the command that provides it."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    for path, remedy in needs:
        if not path.exists():
            return f"{path} is missing ({remedy})"
    return None


@contextmanager
def chromium(monkeypatch: pytest.MonkeyPatch, *, purpose: str = "the browser test",
             needs: tuple[tuple[Path, str], ...] = ()) -> Iterator[Browser]:
    missing = browser_missing(*needs)
    if missing is not None:
        if os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true":
            pytest.fail(f"{purpose} must run here, but {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own database calls are
    # synchronous and safe (the live server answers in its own thread).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    with chromium(monkeypatch) as launched:
        yield launched


@pytest.fixture
def axe_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Chromium with axe-core at hand (sign in with ``bypass_csp=True`` so that it can be injected)."""
    with chromium(monkeypatch, purpose="the accessibility check", needs=AXE_NEEDS) as launched:
        yield launched


def axe_violations(page: Page) -> list[str]:
    """The serious and critical violations of WCAG 2.1 A/AA axe finds on the page, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        nodes = "; ".join(f"{' '.join(node['target'])} ({node.get('failureSummary', '').splitlines()[-1].strip()})"
                          for node in violation["nodes"][:5])
        found.append(f"{violation['impact']} {violation['id']}: {violation['help']} — {nodes}")
    return found


def sign_in(browser: Browser, base_url: str, username: str, *, bypass_csp: bool = False) -> Page:
    """A fresh browser session (its own cookies) signed in through the login form as a test user
    (password ``pw-<username>``, as tests/conftest.py makes them). ``bypass_csp``: the page's content
    security policy off, so that axe-core can be injected (nothing else on the page changes)."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1440, "height": 900},
                                  bypass_csp=bypass_csp)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-" + username)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base_url + "/")
    return page


def htmx_settled(page: Page) -> None:
    """Waits until htmx has swapped and settled what it fetched: a control swapped in is bound to its
    hx- triggers only when htmx processes it, a moment after it is in the DOM (and visible), so a
    test acting at once can act before the binding — which no person is quick enough to do."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
