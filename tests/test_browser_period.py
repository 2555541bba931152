"""HR runs a period from its page in a real browser: opens it, starts scoring and calibration, sees
the close refused because a sheet is unrated, sets 免考 on that sheet with a reason, closes (the
progress bar appears and finishes), and sends the closed period back to calibration — every step a
button on the period page and a confirmation, with no JavaScript of the page's own.

As tests/test_browser.py: Playwright's sync API drives Debian's Chromium (/usr/bin/chromium; never a
downloaded browser) against pytest-django's live server; where Chromium or Playwright is missing the
test skips, except in CI (CI=true) or under REQUIRE_SERVICES=1, where it fails instead. Tasks run
eagerly, so sheets are generated and the close runs when the request that asks for them commits.

The scheme: OUTPUT (completion against a benchmark of 200) and WORK, rated by self 0.2 (missing
counts as zero) and the supervisor 0.8. The heads have entered every output (set up through the
services); the head has not rated the employee's WORK, so the employee's sheet blocks the close.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Sheet, SheetLine
from indicators.services import add_benchmark, build_template, create_indicator
from organizations.models import User
from tests.browsing import sign_in as _sign_in
from tests.closing import make_policy
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/browser-period.png")
WORK_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "80"},
                                          {"label": "合格", "points": "60"}, {"label": "差", "points": "0"}]}
EXEMPT_REASON = "2026年11月调岗，本月免考"
REOPEN_REASON = "运行部产量数据需复核"




@pytest.fixture
def draft_period(transactional_db: None, world_a: World, hr: User, head: User, employee: User) -> Period:
    org = world_a.org
    policy = make_policy(org, quotas=[], status_grades={"exempt": "B"})
    with scope(organization=org):
        output = create_indicator(organization=org, acting_user=None, code="OUTPUT", name="产量", unit="吨",
                                  method="completion", config={"cap_rate": "1.2"})
        add_benchmark(indicator=output, acting_user=None, value="200")
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作表现", method="rating",
                         config=WORK_SCALE)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "STAFF", "name": "员工月度考核", "subject_kind": "person",
            "parts": [
                {"code": "kpi", "name": "指标", "weight": "0.6",
                 "lines": [{"indicator": "OUTPUT", "max_points": "100"}]},
                {"code": "work", "name": "工作表现", "weight": "0.4",
                 "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
            ],
            "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
                       {"role": "supervisor", "weight": "0.8"}],
        })
        return services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                      templates=[template], grading_policy=policy)


def _enter_every_output(period: Period) -> None:
    """What the heads did in the meantime: every sheet's output, through the services."""
    with scope(organization=period.organization):
        for line in SheetLine.objects.filter(sheet__period=period, indicator__code="OUTPUT"):
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 actual=Decimal("190"))



def _take_step(page: Page, button: str, *, reason: str = "") -> None:
    """Clicks a step on the period page, confirms it on its page (with a reason where it needs one)."""
    page.click(button)
    page.wait_for_selector("#step-confirm")
    if reason:
        page.fill("#step-reason", reason)
    page.click("#step-confirm")
    page.wait_for_selector("#period-state")


def test_it_runs_a_period_from_its_page_through_the_close_and_back_to_calibration(
    browser: Browser, live_server: Any, draft_period: Period
) -> None:
    from playwright.sync_api import expect

    page = _sign_in(browser, live_server.url, "hr")
    page.locator("#main-nav").get_by_role("link", name=re.compile("Periods|考核周期")).click()
    page.get_by_role("link", name=draft_period.code).first.click()
    page.wait_for_selector("#period-steps")
    state = page.locator("#period-state")
    expect(state).to_contain_text("草稿")

    # 启动考核: the sheets are generated when the request commits (tasks run eagerly here).
    _take_step(page, "#period-open")
    expect(state).to_contain_text("进行中")
    expect(page.locator("#period-sheet-count")).to_have_text("5")
    _enter_every_output(draft_period)

    # 开始评分, then 开始校准.
    _take_step(page, "#period-step-scoring")
    expect(state).to_contain_text("评分")
    _take_step(page, "#period-step-calibration")
    expect(state).to_contain_text("校准")

    # The close is refused: the employee's supervisor has not rated. The blocker links to the sheets.
    close_step = page.locator('.period-step[data-step="close"]')
    expect(close_step).to_have_attribute("data-legal", "false")
    expect(close_step.locator("button[disabled]")).to_have_count(1)
    blocker = close_step.locator(".step-blocker a")
    expect(blocker).to_have_text("1 张考核表尚有评分人未评分")
    blocker.click()
    expect(page.locator("#sheet-table tbody tr")).to_have_count(1)
    page.locator("#sheet-table").get_by_role("link", name=re.compile("employee-a")).click()

    # On the employee's sheet: the unrated supervisor is shown as 待评分, the total as 暂计; HR sets 免考.
    expect(page.locator('.sheet-line[data-indicator="WORK"] .rating-pending').first).to_have_text("待评分")
    expect(page.locator("#sheet-provisional")).to_have_text("暂计")
    page.select_option("#sheet-status-form select[name=status]", "exempt")
    page.fill("#sheet-status-form input[name=reason]", EXEMPT_REASON)
    page.click("#sheet-status-save")
    expect(page.locator("#sheet-special-status")).to_contain_text("免考")
    expect(page.locator("#sheet-special-status .special-reason")).to_have_text(EXEMPT_REASON)

    # Back on the period page the close is possible: 汇总定级, confirmed; the progress bar finishes.
    page.locator(".breadcrumb").get_by_role("link", name=draft_period.code).click()
    expect(page.locator('.period-step[data-step="close"]')).to_have_attribute("data-legal", "true")
    _take_step(page, "#period-close-button")
    progress = page.locator("#close-progress")
    expect(progress).to_have_attribute("data-state", "done")
    expect(progress.locator('[role="progressbar"]')).to_have_attribute("aria-valuenow", "100")
    expect(state).to_contain_text("已关闭")
    expect(page.locator("#result-table tbody tr")).to_have_count(5)

    # 退回校准, with a reason: the period is in calibration again and says why.
    _take_step(page, "#period-step-reopen", reason=REOPEN_REASON)
    expect(state).to_contain_text("校准")
    expect(page.locator("#period-reopened .reopen-reason")).to_have_text(REOPEN_REASON)
    expect(page.locator("#result-table")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    with scope(organization=draft_period.organization):
        period = Period.objects.get(pk=draft_period.pk)
        exempt = Sheet.objects.get(period=period, person__name="employee-a")
    assert (period.state, period.reopen_reason) == (Period.State.CALIBRATION, REOPEN_REASON)
    assert (exempt.special_status, exempt.special_reason) == ("exempt", EXEMPT_REASON)
