"""A signed-in browser session that axe-core can check, for the browser tests of single pages.

tests/browsing.py's ``sign_in`` keeps the site's content security policy, which allows only the
site's own scripts; axe is injected, so these sessions bypass the policy (nothing else on the page
changes), as tests/test_accessibility.py does. The ``axe_browser`` fixture of a test module is
``chromium(monkeypatch, purpose=..., needs=AXE_NEEDS)``: without axe-core the test skips, except
in CI, where it fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browsing import sign_in
from tests.test_accessibility import AXE, axe_violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

AXE_NEEDS = ((AXE, "cd tests/browser && npm ci; bin/test does it"),)

__all__ = ["AXE_NEEDS", "axe_violations", "sign_in_for_axe"]


def sign_in_for_axe(browser: Browser, base_url: str, username: str) -> Page:
    """As tests.browsing.sign_in (password ``pw-<username>``), in a context that may inject axe."""
    return sign_in(browser, base_url, username, bypass_csp=True)
