"""One monthly sheet walked through in a real browser: HR opens the period, the head enters the
actual and rates, the employee assesses themself; every score appears without a page reload.

Playwright's sync API drives Debian's Chromium (/usr/bin/chromium; never a downloaded browser)
against pytest-django's live server. Where Chromium or Playwright is missing the test skips —
except in CI (CI=true) or under REQUIRE_SERVICES=1, where a skipped browser test would mean the
check silently did not happen, so it fails instead (as tests/test_services.py does for services).

The scheme, scores by hand: part kpi (weight 0.6) has OUTPUT, completion against a target of 200
from a benchmark, 100 points; part work (weight 0.4) has WORK, rated 优秀 100 / 良好 80 / 合格 60 /
差 0 by self 0.2 (missing counts as zero) and the supervisor 0.8, 100 points.

* actual 190 → OUTPUT 190/200 × 100 = 95.00; WORK is not rated yet: both missing ratings count 0
  (shown 待评分, the line and the total 暂计): 0.00; total 100 × (0.6 × 95/100 + 0.4 × 0/100) = 57.00
* supervisor 良好 → WORK 0.2 × 0 + 0.8 × 80 = 64.00 (暂计 until the self-assessment); total 57 + 0.4 × 64
  = 82.60
* self 优秀 → WORK 0.2 × 100 + 0.8 × 80 = 84.00; total 57 + 0.4 × 84 = 90.60
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import Period
from indicators.services import add_benchmark, build_template, create_indicator
from organizations.models import User
from tests.browsing import sign_in as _sign_in
from tests.conftest import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/browser-sheet.png")
WORK_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "80"},
                                          {"label": "合格", "points": "60"}, {"label": "差", "points": "0"}]}




@pytest.fixture
def draft_period(transactional_db: None, world_a: World, hr: User, head: User, employee: User) -> Period:
    org = world_a.org
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
                                      templates=[template])



def _line(page: Page, code: str) -> Any:
    return page.locator(f'.sheet-line[data-indicator="{code}"]')


def _open_the_employees_sheet(page: Page) -> None:
    page.locator("#main-nav").get_by_role("link", name=re.compile("Sheets|考核表")).click()
    page.locator("#sheet-table").get_by_role("link", name=re.compile("employee-a")).click()
    page.wait_for_selector("#sheet-total")


def test_it_walks_a_monthly_sheet_from_hr_to_head_to_employee(
    browser: Browser, live_server: Any, draft_period: Period
) -> None:
    from playwright.sync_api import expect

    base = live_server.url

    # HR opens the period on the periods page; the sheets are generated (eagerly here).
    page = _sign_in(browser, base, "hr")
    page.locator("#main-nav").get_by_role("link", name=re.compile("Periods|考核周期")).click()
    page.click(f"#period-open-{draft_period.pk}")
    page.wait_for_url(re.compile(rf"/periods/{draft_period.pk}/$"))
    expect(page.locator("#period-state")).not_to_contain_text("草稿")
    expect(page.locator("#period-sheet-count")).to_have_text("5")  # everyone in organisation A
    expect(page.locator("#sheet-table tbody tr")).to_have_count(5)

    # The head opens the employee's sheet and enters the actual: the line and the total update in place.
    page = _sign_in(browser, base, "head")
    _open_the_employees_sheet(page)
    page.evaluate("window.__sameDocument = true")
    output, work = _line(page, "OUTPUT"), _line(page, "WORK")
    expect(output.locator(".line-target input")).to_have_value("200")  # from the benchmark
    output.locator('input[name="actual"]').fill("190")
    output.locator('input[name="actual"]').press("Tab")  # htmx posts on change
    expect(output.locator(".line-score")).to_have_text("95.00")
    expect(output.locator(".line-explanation")).to_contain_text("95.00")
    expect(output.locator(".line-explanation")).to_contain_text("190")
    expect(page.locator("#sheet-score")).to_have_text("57.00")
    expect(output.locator('input[name="version"]')).to_have_value("2")

    # … and rates the rated line as the supervisor.
    work.locator("select.rate-value").select_option("良好")
    expect(work.locator(".line-score")).to_have_text("64.00")
    expect(page.locator("#sheet-score")).to_have_text("82.60")
    assert page.evaluate("window.__sameDocument") is True  # no page load in between

    # The employee opens their sheet: no data entry, their self-assessment, every explanation, the total.
    page = _sign_in(browser, base, "employee")
    page.locator("#main-nav").get_by_role("link", name=re.compile("Sheets|考核表")).click()
    page.locator("#my-sheets a.my-sheet-link").first.click()
    page.wait_for_selector("#sheet-total")
    output, work = _line(page, "OUTPUT"), _line(page, "WORK")
    expect(output.locator("input")).to_have_count(0)
    expect(output.locator(".line-explanation")).to_contain_text("95.00")
    work.locator("select.rate-value").select_option("优秀")
    expect(work.locator(".line-score")).to_have_text("84.00")
    expect(work.locator(".line-explanation")).to_contain_text("84.00")
    expect(page.locator("#sheet-score")).to_have_text("90.60")
    expect(page.locator("#sheet-explanation")).to_contain_text("90.60")

    page.screenshot(path=str(SCREENSHOT), full_page=True)


@pytest.fixture
def closed_period(transactional_db: None, world_a: World, hr: User, head: User, employee: User) -> Period:
    """A closed period without quotas: colleague 92 (S), employee 85 (A), head 75 (B); the employee
    reports to the head, who therefore gives the supervisor's opinion on their appeal."""
    from organizations.models import Person
    from tests.closing import close, make_policy, scored_period

    people = world_a.people
    with scope(organization=world_a.org):
        Person.objects.filter(pk=people["employee"].pk).update(manager=people["head"])
    period = scored_period(world_a.org, {people["employee"]: "85", people["colleague"]: "92", people["head"]: "75"},
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    return period


def test_it_walks_an_appeal_from_publication_to_the_upheld_grade(
    browser: Browser, live_server: Any, closed_period: Period
) -> None:
    from playwright.sync_api import expect

    base = live_server.url

    # HR publishes the closed period on its page; the review window's end is shown in Beijing time.
    page = _sign_in(browser, base, "hr")
    page.goto(f"/periods/{closed_period.pk}/")
    expect(page.locator("#result-table tbody tr")).to_have_count(5)
    page.click("#period-publish")  # the period page's step, then its confirmation
    page.click("#step-confirm")
    window_end = page.locator("#period-window-end .window-end")
    expect(window_end).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}$"))  # a time in a sentence
    end = window_end.inner_text()

    # The employee sees their result and the window's end, and appeals against the grade.
    page = _sign_in(browser, base, "employee")
    page.locator('#main-nav a[href="/results/mine/"]').click()  # the label awaits its translation
    mine = page.locator("section.my-result")
    expect(mine.locator(".result-grade")).to_contain_text("A")
    expect(mine.locator(".window-end")).to_have_text(end)
    mine.locator(".appeal-form textarea").fill("夜班加班未计入")
    mine.locator(".appeal-submit").click()
    expect(mine.locator('.appeal[data-state="filed"] .appeal-reason')).to_have_text("夜班加班未计入")
    expect(mine.locator(".appeal-form")).to_have_count(0)

    # The head gives the supervisor's opinion and forwards it.
    page = _sign_in(browser, base, "head")
    page.locator('#main-nav a[href="/appeals/"]').click()
    waiting = page.locator("section.appeal-to-forward")
    expect(waiting).to_have_count(1)
    expect(waiting.locator(".appeal-reason")).to_have_text("夜班加班未计入")
    waiting.locator('textarea[name="opinion"]').fill("情况属实，建议调整")
    waiting.locator(".appeal-forward").click()
    expect(page.locator("section.appeal-to-forward")).to_have_count(0)

    # HR upholds it with a new score.
    page = _sign_in(browser, base, "hr")
    page.locator('#main-nav a[href="/appeals/"]').click()
    deciding = page.locator("section.appeal-to-decide")
    expect(deciding.locator(".appeal-opinion")).to_contain_text("情况属实，建议调整")
    deciding.locator('input[name="new_score"]').fill("93")
    deciding.locator('textarea[name="reason"]').fill("考勤记录核实，加班属实")
    deciding.locator(".appeal-uphold").click()
    expect(page.locator("section.appeal-to-decide")).to_have_count(0)

    # The employee sees the new grade and the reason for the decision.
    page = _sign_in(browser, base, "employee")
    page.locator('#main-nav a[href="/results/mine/"]').click()  # the label awaits its translation
    mine = page.locator("section.my-result")
    expect(mine.locator(".result-grade")).to_contain_text("S")
    expect(mine.locator(".result-score")).to_have_text("93.00")
    expect(mine.locator('.appeal[data-state="upheld"] .decision-reason')).to_have_text("考勤记录核实，加班属实")
    page.screenshot(path="/tmp/browser-appeal.png", full_page=True)
