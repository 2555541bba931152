"""HR builds a pay policy in the structured editor, in a real browser (Debian's Chromium, zh-Hans;
see tests/browsing.py): a grade-coefficient component (the example's, with one more grade row) and a
tiered component added by the rows, sees the preview of one person's pay follow the draft, and saves.

By hand: the closed period's first person scored 95 (grade S, base pay 3000): perf = 600 × 1.2 =
720.00; the tiered component pays the score 95 at the tier from 90, 2 a point: 190.00.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from organizations.models import User
from payroll.models import PayPolicy
from tests.browsing import axe_violations, htmx_settled, sign_in
from tests.browsing import sign_in as _sign_in
from tests.conftest import World
from tests.test_pay_runs import closed_period

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser



def replace_second_component_by_tiers(page: Page) -> None:
    """The example's second component removed and a tiered bonus on the score added by the rows:
    1 a point, 2 a point from 90 (the whole score at its tier's rate)."""
    from playwright.sync_api import expect

    page.click("#component-1-remove")
    expect(page.locator("#component-1")).to_have_count(0)
    page.click("#add-component")
    expect(page.locator("#component-1")).to_be_visible()
    htmx_settled(page)
    page.select_option("#id_c1-kind", "tiered")
    expect(page.locator("#id_c1-s-quantity")).to_be_visible()
    page.fill("#id_c1-code", "piece")
    page.fill("#id_c1-name", "计分奖")
    page.fill("#id_c1-s-quantity", "score")
    page.select_option("#id_c1-s-mode", "whole")
    for row, (start, rate) in enumerate([("0", "1"), ("90", "2")]):
        page.fill(f"#id_c1-t-tiers-{row}-from", start)
        page.fill(f"#id_c1-t-tiers-{row}-rate", rate)


def _build(page: Page, person_pk: int) -> None:
    """The example's grade coefficients with a D row, the allowance replaced by tiers of the score."""
    from playwright.sync_api import expect

    page.fill("#id_code", "PB")
    page.fill("#id_name", "绩效与计件")
    page.click("#add-c0-coefficients")
    expect(page.locator("#c0-t-coefficients-row-4")).to_be_visible()
    page.fill("#id_c0-t-coefficients-4-key", "D")
    page.fill("#id_c0-t-coefficients-4-value", "0.5")
    replace_second_component_by_tiers(page)
    expect(page.locator(f'#preview-person option[value="{person_pk}"]')).to_have_count(1)
    page.select_option("#preview-person", str(person_pk))


def test_it_builds_a_policy_by_rows_sees_the_preview_and_saves(browser: Browser, live_server: Any,
                                                                transactional_db: None, world_a: World,
                                                                hr: User) -> None:
    from playwright.sync_api import expect

    period, people = closed_period(world_a, ["95", "85"], quotas=[])
    page = _sign_in(browser, live_server.url, "hr")
    page.goto("/pay/policies/")
    page.click("#pay-policy-editor-link")
    page.wait_for_url(re.compile(r"/pay/policies/editor/new/$"))
    _build(page, people[0].pk)

    preview = page.locator("#pay-preview-table")
    expect(preview.locator('tr[data-code="perf"] .line-amount')).to_have_text("720.00")
    expect(preview.locator('tr[data-code="piece"] .line-amount')).to_have_text("190.00")
    expect(page.locator("#pay-preview-total")).to_have_text("910.00")
    page.fill("#id_c1-t-tiers-1-rate", "3")  # the preview follows the draft
    expect(preview.locator('tr[data-code="piece"] .line-amount')).to_have_text("285.00")

    page.click("#pay-policy-editor-save")
    page.wait_for_url(re.compile(r"/pay/policies/\d+/$"))
    with scope(organization=world_a.org):
        saved = PayPolicy.objects.get(code="PB")
    assert [c["kind"] for c in saved.components] == ["grade_coefficient", "tiered"]
    assert saved.components[0]["config"]["coefficients"]["D"] == "0.5"
    assert [(t["from"], t["rate"]) for t in saved.components[1]["config"]["tiers"]] == [("0", "1"), ("90", "3")]
    assert period.pk  # the preview's period: nothing of it changed by the preview


def test_it_shows_a_refused_tier_and_an_unknown_name_accessibly(axe_browser: Browser, live_server: Any,
                                                                transactional_db: None, world_a: World,
                                                                hr: User) -> None:
    """A formula naming an unknown name is flagged as typed; tiers that fall come back on their row;
    axe finds no serious or critical WCAG 2.1 AA violation on the editor."""
    from playwright.sync_api import expect

    closed_period(world_a, ["95"], quotas=[])
    # axe is injected as an inline script: the context bypasses the page's CSP (as the grading editor's test).
    page = sign_in(axe_browser, live_server.url, "hr", bypass_csp=True)
    page.goto("/pay/policies/editor/new/")
    page.select_option("#id_c1-kind", "tiered")
    expect(page.locator("#id_c1-s-quantity")).to_be_visible()
    page.fill("#id_c1-s-quantity", "scroe")
    expect(page.locator("#check-id_c1-s-quantity .formula-problem")).to_contain_text("scroe")
    page.fill("#id_c1-s-quantity", "score")
    expect(page.locator("#check-id_c1-s-quantity .formula-ok")).to_have_count(1)
    page.select_option("#id_c1-s-mode", "whole")
    for row, start in enumerate(["90", "10"]):
        page.fill(f"#id_c1-t-tiers-{row}-from", start)
        page.fill(f"#id_c1-t-tiers-{row}-rate", "1")
    page.fill("#id_code", "PX")
    page.fill("#id_name", "退回")
    page.click("#pay-policy-editor-save")
    expect(page.locator("#pay-policy-problems")).to_be_visible()
    expect(page.locator("#c1-t-tiers-row-1 .field-error")).to_have_count(1)
    assert not axe_violations(page)
    with scope(organization=world_a.org):
        assert not PayPolicy.objects.exists()
