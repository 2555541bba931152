"""A whole period run from the browser alone, every role, in zh-Hans, on the demo data (issue #16).

The set-up is ``load_demo`` and nothing else; from there every step is a page, as the README's
"Demo walkthrough" tells it (the same steps by hand on ``bin/demo``):

1. HR pastes a template for the plant's operators (主值班员 of the three shifts, rated by the head
   of 发电运行部 as the second line, 80 %, and by themselves, 20 %, a missing self-assessment
   counting 0) and creates the period 2026年12月 with it and the shifts' template, grading
   policy FD; 启动考核 generates 12 sheets (3 shifts, 9 operators), 开始评分.
2. The head types each shift's coal, plant power and make-up water on its sheet, and rates seven
   operators; HR's period page says two sheets block the close, linked to the list of them.
3. The head rates 吴敏 (the demo employee) 合格; HR sets 免考 with a reason on 徐艳's sheet.
4. 开始校准, 汇总定级: the close's progress bar reaches 100 %; HR calibrates one 74.40 to 76.00
   (within the ±5 % cap, 70.68–78.12) on the calibration page, and 结果公示.
5. 吴敏 appeals against his 工作业绩 line inside the review window; the head gives his opinion and
   forwards it; HR upholds it, entering the head's rating 良好 instead of 合格.
6. 吴敏's breakdown shows 工作业绩 68.00 (0.8 × 85) and the final 74.40 (C → B); a new pay-run
   version is computed; finance confirms it and exports the pay sheet, whose grand total in the
   .xlsx equals the page's to the fen.

Scores by hand (operators): 工作业绩 = 0.2 × self (missing: 0) + 0.8 × the head's rating (优秀 100,
良好 85, 合格 70), 劳动纪律 100 with no record; final = 0.8 × 工作业绩 + 0.2 × 100:
优秀 84.00 (A), 良好 74.40 (B), 合格 64.80 (C). Eight graded (徐艳 免考 takes the policy's B): the
quotas allow one A and one C, so nothing waits for calibration and nothing ties a quota line.

Playwright drives Debian's Chromium (/usr/bin/chromium) against pytest-django's live server, as
tests/test_browser.py does: without it the test skips, except in CI (CI=true) or under
REQUIRE_SERVICES=1, where it fails. Tasks run eagerly (tests/plugins/services.py): sheets are
generated, the close, the pay runs and the export run when the request that starts them commits.
"""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import call_command
from django.test import TestCase

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/browser-period-walk.png")
PASSWORD_SUFFIX = "-demo-2026"  # the demo's sign-ins (organizations/management/commands/load_demo.py)
PLANT = "示范热电厂"
PERIOD_NAME = "2026年12月"
TEMPLATE_NAME = "运行值班员月度考评"
TEMPLATE: dict[str, Any] = {
    "code": "OPS-OP", "name": TEMPLATE_NAME, "subject_kind": "person",
    "applies_to": [{"team_kind": "shift", "position": "主值班员"}],
    "parts": [
        {"code": "work", "name": "工作业绩", "weight": "0.8", "full_marks": "100",
         "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
        {"code": "disc", "name": "劳动纪律", "weight": "0.2", "full_marks": "100",
         "lines": [{"indicator": "DISC", "max_points": "100"}]},
    ],
    "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
               {"role": "second_line", "weight": "0.8", "department": "OPS"}],
}
# Each shift's figures as the head types them (lower is better against the benchmarks 300 / 5.20 / 1.50).
SHIFT_DATA = {"运行一值": {"COAL": "292.4", "POWER": "5.10", "WATER": "1.42"},
              "运行二值": {"COAL": "301.7", "POWER": "5.32", "WATER": "1.58"},
              "运行三值": {"COAL": "296.0", "POWER": "5.05", "WATER": "1.61"}}
# The head's rating of each operator; 吴敏 (the demo employee) and 徐艳 come later.
FIRST_RATINGS = {"孙霞": "优秀", "朱芳": "良好", "高洋": "良好", "林超": "良好", "郭斌": "良好", "马磊": "良好",
                 "罗涛": "良好"}
SCORES = {"优秀": "84.00", "良好": "74.40", "合格": "64.80"}
EXEMPT_REASON = "12月脱产参加集团技能培训，本月免考"
CALIBRATION_REASON = "与值长核实后微调"
APPEAL_REASON = "12月承担2号机组启动操作，工作业绩评为合格偏低"
OPINION = "情况属实，建议改为良好"
DECISION = "核实启动操作记录，工作业绩改为良好"




@pytest.fixture
def demo(transactional_db: None) -> None:
    """What ``bin/demo`` loads; its calendar is seeded on commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("load_demo", stdout=io.StringIO())


class Walk:
    """One browser, a page per role (each its own session), all on the live server."""

    def __init__(self, browser: Browser, base_url: str, downloads: Path) -> None:
        self.browser, self.base, self.downloads = browser, base_url, downloads
        self.pages: dict[str, Page] = {}
        self.period_url = ""
        self.period_code = "2026-12"
        self.window_end_day = ""  # the review window's last day as the period page shows it

    @property
    def period_pk(self) -> int:
        return int(self.period_url.rstrip("/").rsplit("/", 1)[1])

    def as_(self, username: str) -> Page:
        """The role's page, signed in through the login form (once), in the plant."""
        if username in self.pages:
            return self.pages[username]
        context = self.browser.new_context(base_url=self.base, locale="zh-CN", viewport={"width": 1440, "height": 900},
                                           accept_downloads=True)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", username + PASSWORD_SUFFIX)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(self.base + "/")
        if page.locator("#org-switcher").count():  # HR works in two organisations
            page.locator("#org-switcher .dropdown-toggle").click()
            page.locator("#org-switcher .dropdown-menu button", has_text=PLANT).click()
            page.wait_for_url(self.base + "/")
        self.pages[username] = page
        return page

    def nav(self, page: Page, name: str) -> None:
        page.locator("#main-nav").get_by_role("link", name=name, exact=True).first.click()


def _take_step(page: Page, button: str) -> None:
    """A step on the period page: its button, then the confirmation page's confirm."""
    page.click(button)
    page.wait_for_selector("#step-confirm")
    page.click("#step-confirm")
    page.wait_for_selector("#period-state")


def _sheet(page: Page, subject: str) -> None:
    """Opens a sheet of the period from the sheet list."""
    page.locator("#sheet-table").get_by_role("link", name=subject).click()
    page.wait_for_selector("#sheet-total")


def _line(page: Page, code: str) -> Locator:
    return page.locator(f'.sheet-line[data-indicator="{code}"]')


def hr_sets_up_the_period(walk: Walk) -> None:
    from playwright.sync_api import expect

    page = walk.as_("hr")
    page.goto("/templates/new/")
    page.fill("#id_spec", json.dumps(TEMPLATE, ensure_ascii=False, indent=2))
    page.click("#template-save")
    expect(page.locator("#template-problems")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text(TEMPLATE_NAME)

    walk.nav(page, "考核周期")
    page.get_by_role("link", name="新建考核周期").click()
    page.select_option("#id_kind", "monthly")
    page.fill("#id_year", "2026")
    page.fill("#id_number", "12")
    page.fill("#id_start_day", "26")
    page.fill("#id_name", PERIOD_NAME)
    page.locator("#field-templates").get_by_label(re.compile("运行值月度指标考核")).check()
    page.locator("#field-templates").get_by_label(re.compile(TEMPLATE_NAME)).check()
    page.click("#period-save")
    page.wait_for_selector("#period-steps")
    walk.period_url = page.url
    # The grading policy (FD) is chosen on the period page.
    policy = page.locator("#grading-policy-select option", has_text="员工等级与强制分布").get_attribute("value")
    assert policy
    page.select_option("#grading-policy-select", policy)
    page.locator("#period-grading-policy button[type=submit]").click()
    expect(page.locator("#grading-policy-select option:checked")).to_contain_text("员工等级与强制分布")
    state = page.locator("#period-state")
    expect(state).to_contain_text("草稿")

    _take_step(page, "#period-open")  # 启动考核: the sheets are generated
    expect(state).to_contain_text("进行中")
    expect(page.locator("#period-sheet-count")).to_have_text("12")
    _take_step(page, "#period-step-scoring")  # 开始评分
    expect(state).to_contain_text("评分")


def _enter_shift(page: Page, shift: str) -> None:
    """Types the shift's three figures, each saved on change; the line's score comes back in place."""
    from playwright.sync_api import expect

    _sheet(page, shift)
    for code, value in SHIFT_DATA[shift].items():
        line = _line(page, code)
        line.locator('input[name="actual"]').fill(value)
        line.locator('input[name="actual"]').press("Tab")  # htmx posts on change
        expect(line.locator(".line-score")).to_have_text(re.compile(r"^\d+\.\d\d$"))
        expect(line.locator(".line-explanation")).to_contain_text(value)
    expect(page.locator("#sheet-provisional")).to_have_count(0)  # every line has its data
    page.go_back()


def _rate(page: Page, person: str, rating: str) -> None:
    from playwright.sync_api import expect

    _sheet(page, person)
    work = _line(page, "WORK")
    work.locator("select.rate-value").select_option(rating)
    expect(work.locator(".line-score")).to_have_text(_work_score(rating))
    expect(page.locator("#sheet-score")).to_have_text(SCORES[rating])
    expect(page.locator("#sheet-provisional")).to_have_text("暂计")  # the self-assessment is still missing
    page.go_back()


def _work_score(rating: str) -> str:
    """工作业绩 with the self-assessment missing (counted 0): 0.8 × the head's points."""
    points = {"优秀": Decimal(100), "良好": Decimal(85), "合格": Decimal(70)}[rating]
    return f"{Decimal('0.8') * points:.2f}"


def head_scores_the_shifts_and_seven_operators(walk: Walk) -> None:
    page = walk.as_("head")
    walk.nav(page, "考核表")
    page.goto(page.url.split("?")[0] + f"?period={walk.period_pk}")  # the list filtered on the period
    for shift in SHIFT_DATA:
        _enter_shift(page, shift)
    for person, rating in FIRST_RATINGS.items():
        _rate(page, person, rating)


def hr_sees_two_sheets_block_the_close(walk: Walk) -> None:
    from playwright.sync_api import expect

    page = walk.as_("hr")
    page.goto(walk.period_url)
    expect(page.locator("#period-sheets-incomplete")).to_have_text("2 张未完成，阻止汇总定级")
    note = page.locator('.period-step[data-step="calibration"] .step-note a')
    expect(note).to_have_text("2 张考核表尚有评分人未评分")
    note.click()
    expect(page.locator("#sheet-table tbody tr")).to_have_count(2)
    expect(page.locator("#sheet-table")).to_contain_text("吴敏")
    expect(page.locator("#sheet-table")).to_contain_text("徐艳")


def head_finishes_and_hr_exempts_one(walk: Walk) -> None:
    from playwright.sync_api import expect

    page = walk.as_("head")
    _rate(page, "吴敏", "合格")

    page = walk.as_("hr")  # still on the list of the two sheets
    _sheet(page, "徐艳")
    expect(_line(page, "WORK").locator(".rating-pending").first).to_have_text("待评分")
    page.select_option("#sheet-status-form select[name=status]", "exempt")
    page.fill("#sheet-status-form input[name=reason]", EXEMPT_REASON)
    page.click("#sheet-status-save")
    expect(page.locator("#sheet-special-status")).to_contain_text("免考")
    expect(page.locator("#sheet-special-status .special-reason")).to_have_text(EXEMPT_REASON)


def hr_closes_calibrates_and_publishes(walk: Walk) -> None:
    from playwright.sync_api import expect

    page = walk.as_("hr")
    page.goto(walk.period_url)
    expect(page.locator("#period-sheets-incomplete")).to_have_count(0)
    _take_step(page, "#period-step-calibration")  # 开始校准
    expect(page.locator('.period-step[data-step="close"]')).to_have_attribute("data-legal", "true")
    _take_step(page, "#period-close-button")  # 汇总定级: the progress bar runs to the end
    progress = page.locator("#close-progress")
    expect(progress).to_have_attribute("data-state", "done")
    expect(progress.locator('[role="progressbar"]')).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#period-state")).to_contain_text("已关闭")

    # 校准, from HR's home page: one 74.40 becomes 76.00, inside its cap (70.68–78.12).
    page.goto("/")
    page.locator(f"#live-period-{walk.period_pk} a", has_text="校准").click()
    row = page.locator("tr.calibration-row", has_text="朱芳")
    expect(row.locator(".result-final")).to_have_text("74.40")
    expect(row.locator(".cap-low")).to_have_text("70.68")
    expect(row.locator(".cap-high")).to_have_text("78.12")
    row.locator(".calibrate-edit").click()
    row.locator('input[name="score"]').fill("76.00")
    row.locator('input[name="reason"]').fill(CALIBRATION_REASON)
    row.locator('button[type="submit"]').click()
    expect(row.locator(".calibrate-saved")).to_be_visible()
    expect(row.locator(".result-final")).to_have_text("76.00")
    expect(row).to_have_attribute("data-grade", "B")

    page.goto(walk.period_url)
    _take_step(page, "#period-publish")  # 结果公示: the review window opens
    expect(page.locator("#period-state")).to_contain_text("公示")
    expect(page.locator("#period-window-end .window-end")).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日"))
    day = re.match(r"\d{4}年\d{1,2}月\d{1,2}日", page.locator("#period-window-end .window-end").inner_text())
    assert day is not None
    walk.window_end_day = day.group(0)


def employee_appeals_a_line(walk: Walk) -> None:
    from playwright.sync_api import expect

    from appraisal.notices import RESULTS_PUBLISHED

    page = walk.as_("employee")
    # Told by the bell, not by finding the page: the notice says until when, and leads to the result.
    page.locator("#notification-bell").click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    notice = page.locator(f'.notification[data-kind="{RESULTS_PUBLISHED}"]')
    expect(notice.locator(".notification-body")).to_contain_text(walk.window_end_day)
    notice.locator(".notification-open").click()
    page.wait_for_url(re.compile(r"/results/mine/"))
    mine = page.locator(f'section.my-result[data-period="{walk.period_code}"]')
    expect(mine.locator(".result-score")).to_have_text(SCORES["合格"])
    expect(mine.locator(".result-grade")).to_contain_text("C")
    expect(mine.locator('.result-line[data-indicator="WORK"] .line-score')).to_have_text(_work_score("合格"))
    mine.locator(".appeal-form select").select_option(label="工作业绩")
    mine.locator(".appeal-form textarea").fill(APPEAL_REASON)
    mine.locator(".appeal-submit").click()
    expect(mine.locator('.appeal[data-state="filed"] .appeal-reason')).to_have_text(APPEAL_REASON)


def head_forwards_and_hr_upholds(walk: Walk) -> None:
    from playwright.sync_api import expect

    page = walk.as_("head")
    walk.nav(page, "申诉")
    waiting = page.locator("section.appeal-to-forward")
    expect(waiting.locator(".appeal-line")).to_have_text("工作业绩")
    waiting.locator('textarea[name="opinion"]').fill(OPINION)
    waiting.locator(".appeal-forward").click()
    expect(page.locator("section.appeal-to-forward")).to_have_count(0)

    page = walk.as_("hr")
    walk.nav(page, "申诉")
    deciding = page.locator("section.appeal-to-decide")
    expect(deciding.locator(".appeal-opinion")).to_contain_text(OPINION)
    rating = deciding.get_by_label(re.compile("刘强"))  # the head's rating, as the line is scored from it
    expect(rating).to_have_value("合格")
    rating.select_option("良好")
    deciding.locator('textarea[name="reason"]').fill(DECISION)
    deciding.locator(".appeal-uphold").click()
    expect(page.locator('main [role="alert"]')).to_contain_text(SCORES["良好"])
    expect(page.locator("section.appeal-to-decide")).to_have_count(0)


def employee_sees_the_new_line(walk: Walk) -> None:
    from playwright.sync_api import expect

    page = walk.as_("employee")
    page.reload()
    mine = page.locator(f'section.my-result[data-period="{walk.period_code}"]')
    expect(mine.locator('.result-line[data-indicator="WORK"] .line-score')).to_have_text(_work_score("良好"))
    expect(mine.locator(".result-score")).to_have_text(SCORES["良好"])
    expect(mine.locator(".result-grade")).to_contain_text("B")
    history = mine.locator(".line-history")
    expect(history.locator(".history-reason")).to_have_text(DECISION)
    expect(history.locator(".history-old").first).to_have_text("合格")
    expect(history.locator(".history-new").first).to_have_text("良好")
    expect(history.locator(".history-final")).to_contain_text(f"{SCORES['合格']} → {SCORES['良好']}")
    expect(mine.locator('.appeal[data-state="upheld"] .decision-reason')).to_have_text(DECISION)


def finance_confirms_and_exports(walk: Walk) -> None:
    from openpyxl import load_workbook
    from playwright.sync_api import expect

    page = walk.as_("finance")
    walk.nav(page, "工资核算")
    page.get_by_role("link", name=walk.period_code).first.click()
    runs = page.locator("#pay-run-table tbody tr")
    expect(runs).to_have_count(2)  # computed at the close, and again after the upheld appeal
    page.locator("#pay-run-table").get_by_role("link", name="v2").click()
    expect(page.locator("#pay-delta")).to_contain_text("吴敏")  # against v1: 吴敏 C → B, 720.00 → 900.00
    expect(page.locator("#pay-delta-total")).to_contain_text("180.00")
    expect(page.locator("#pay-grand-total")).to_have_text("8,160.00")  # 8 × 900.00 + 孙霞 (A) 960.00
    page.click("#pay-run-confirm")
    expect(page.locator("#pay-run-state")).to_contain_text("已确认")
    shown = Decimal(page.locator("#pay-grand-total").inner_text().replace(",", ""))
    assert shown > 0
    page.click("#pay-export-pay_sheet-xlsx")
    download_link = page.locator('.pay-export[data-kind="pay_sheet"][data-format="xlsx"] .pay-export-download')
    with page.expect_download() as info:
        download_link.first.click()
    path = walk.downloads / "pay-sheet.xlsx"
    info.value.save_as(path)
    sheet = load_workbook(path, read_only=True).active
    assert sheet is not None
    last = [cell for cell in list(sheet.iter_rows(values_only=True))[-1] if cell is not None]
    assert Decimal(str(last[-1])).quantize(Decimal("0.01")) == shown


def test_it_runs_a_whole_period_from_the_browser_alone(browser: Browser, live_server: Any, demo: None,
                                                       tmp_path: Path) -> None:
    walk = Walk(browser, live_server.url, tmp_path)
    try:
        _walk(walk)
    except Exception:
        for name, page in walk.pages.items():
            Path(f"/tmp/browser-period-walk-{name}.html").write_text(page.content())  # where each role was
        raise


def _walk(walk: Walk) -> None:
    hr_sets_up_the_period(walk)
    head_scores_the_shifts_and_seven_operators(walk)
    hr_sees_two_sheets_block_the_close(walk)
    head_finishes_and_hr_exempts_one(walk)
    hr_closes_calibrates_and_publishes(walk)
    employee_appeals_a_line(walk)
    head_forwards_and_hr_upholds(walk)
    employee_sees_the_new_line(walk)
    finance_confirms_and_exports(walk)
    walk.as_("hr").screenshot(path=str(SCREENSHOT), full_page=True)
