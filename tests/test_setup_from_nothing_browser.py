"""An organisation set up from nothing with the browser only (issue #17's "done when"): Debian's
Chromium, zh-Hans, pages only — no Django admin, no JSON, no API.

HR of a new hospital, which has nothing but HR's own sign-in, makes a department type and two
departments, four doctors, fills 2026 from the official calendar, builds three indicators of
different methods (completion, bands, deductions), a template of them, a grading policy with a quota
and a rule, a pay policy with a grade-coefficient component and a tiered one, opens a period and
sees the preview of a draft change on a real sheet line.

By hand for the preview: 王医生's satisfaction line has actual 93; the bands are below 90 → 20
points, 90 and above → 30 points, so 30.00; HR drafts 35 for the upper band and the preview says
35.00 before anything is saved (the stored indicator still gives 30).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from django_scopes import scope

from appraisal.models import GradingPolicy, Period, Sheet
from indicators.models import Indicator, Template, TemplateLine
from organizations import services
from organizations.models import CalendarDay, Department, DepartmentType, Organization, Person, User
from payroll.models import PayPolicy
from tests.browsing import sign_in as _sign_in
from tests.test_pay_policy_editor_browser import replace_second_component_by_tiers

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

DOCTORS = [("YS01", "王医生", "内科"), ("YS02", "李医生", "内科"), ("YS03", "赵医生", "外科"),
           ("YS04", "钱医生", "外科")]


@dataclass
class Hospital:
    org: Organization
    hr: User


@pytest.fixture
def hospital(transactional_db: None) -> Hospital:
    """Nothing but the organisation and its HR admin's sign-in."""
    org = services.create_organization(name="青松医院", slug="qingsong", acting_user=None)
    user = User.objects.create_user(username="qs-hr", password="pw-qs-hr")
    with scope(organization=org):
        services.create_membership(organization=org, acting_user=None, user=user, person=None, is_hr_admin=True)
    return Hospital(org, user)


def _save_setup(page: Page, url: re.Pattern[str]) -> None:
    page.locator("#setup-save").click()
    page.wait_for_url(url)


def makes_the_structure(page: Page) -> None:
    page.goto("/department-types/")
    page.locator("#setup-new").click()
    page.fill("#id_code", "clinic")
    page.fill("#id_name", "临床科室")
    _save_setup(page, re.compile(r"/department-types/$"))

    for code, name in (("NK", "内科"), ("WK", "外科")):
        page.goto("/departments/")
        page.locator("#department-new").click()
        page.fill("#id_code", code)
        page.fill("#id_name", name)
        page.select_option("#id_department_type", label="临床科室")
        _save_setup(page, re.compile(r"/departments/$"))

    for number, name, department in DOCTORS:
        page.goto("/people/")
        page.locator("#person-new").click()
        page.fill("#id_employee_no", number)
        page.fill("#id_name", name)
        page.select_option("#id_department", label=department)
        page.fill("#id_position", "医师")
        page.fill("#id_base_pay", "6000.00")
        _save_setup(page, re.compile(r"/people/\d+/$"))

    page.goto("/calendar/?year=2026")
    page.locator("#calendar-fill-button").click()
    page.wait_for_url(re.compile(r"/calendar/\?year=2026$"))


def _new_indicator(page: Page, code: str, name: str, method: str) -> None:
    from playwright.sync_api import expect

    page.goto("/indicators/")
    page.click("#indicator-create-link")
    page.wait_for_selector("#indicator-editor")
    page.fill("#id_code", code)
    page.fill("#id_name", name)
    page.select_option("#id_method", method)
    expect(page.locator(f'#indicator-settings[data-method="{method}"]')).to_have_count(1)


def builds_three_indicators(page: Page) -> None:
    from playwright.sync_api import expect

    _new_indicator(page, "MZL", "门诊量", "completion")
    page.click("#indicator-save")
    page.wait_for_url(re.compile(r"/indicators/\d+/$"))

    _new_indicator(page, "MYD", "患者满意度", "banded")
    while page.locator("#bands-row-2").count():  # the example's third band goes: two bands
        page.locator("#bands-row-2 button").click()
        expect(page.locator("#bands-row-2")).to_have_count(0)
    for row, (low, high, points) in enumerate([("", "90", "20"), ("90", "", "30")]):
        page.fill(f'[name="bands-{row}-low"]', low)
        page.fill(f'[name="bands-{row}-high"]', high)
        page.fill(f'[name="bands-{row}-value"]', points)
    page.click("#indicator-save")
    page.wait_for_url(re.compile(r"/indicators/\d+/$"))

    _new_indicator(page, "AQ", "医疗安全", "deduction")  # the example's deduction items are kept
    page.click("#indicator-save")
    page.wait_for_url(re.compile(r"/indicators/\d+/$"))


def builds_the_template(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/templates/")
    page.click("#template-create-link")
    page.wait_for_selector("#template-editor")
    page.fill("#id_code", "YS")
    page.fill("#id_name", "医师月度考核")
    page.select_option("#id_department_type", label="临床科室")
    page.fill('[name="parts-0-code"]', "YW")
    page.fill('[name="parts-0-name"]', "医疗业务")
    page.fill('[name="parts-0-weight"]', "100")
    page.fill('[name="parts-0-full_marks"]', "100")
    for row, (code, points) in enumerate([("MZL", "40"), ("MYD", "30"), ("AQ", "30")]):
        if not page.locator(f'[name="lines-{row}-part"]').count():
            page.click("#add-lines")
            expect(page.locator(f'[name="lines-{row}-part"]')).to_have_count(1)
        page.fill(f'[name="lines-{row}-part"]', "YW")
        page.select_option(f'[name="lines-{row}-indicator"]', code)
        page.fill(f'[name="lines-{row}-max_points"]', points)
    expect(page.locator("#template-totals .total-off")).to_have_count(0)
    page.click("#template-save")
    page.wait_for_url(re.compile(r"/templates/\d+/$"))


def builds_the_grading_policy(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/grading-policies/")
    page.click("#grading-policy-create-link")
    page.wait_for_url(re.compile(r"/grading-policies/editor/new/$"))
    page.fill("#id_code", "YSDJ")
    page.fill("#id_name", "医师等级评定")
    page.click("#add-quotas")
    expect(page.locator("#quotas-row-0")).to_be_visible()
    page.fill("#id_quotas-0-grade", "A")
    page.select_option("#id_quotas-0-op", "<=")
    page.select_option("#id_quotas-0-unit", "share")
    page.fill("#id_quotas-0-value", "25")
    page.click("#add-rules")
    expect(page.locator("#rules-row-0")).to_be_visible()
    page.fill("#id_rules-0-code", "LXC")
    page.fill("#id_rules-0-name", "连续两期不合格")
    page.select_option("#id_rules-0-kind", "streak")
    page.fill("#id_rules-0-n", "2")
    page.select_option("#id_rules-0-condition", "grade_in")
    page.fill("#id_rules-0-value", "C")
    page.select_option("#id_rules-0-outcome", "set_grade")
    page.fill("#id_rules-0-grade", "C")
    page.click("#grading-policy-save")
    page.wait_for_url(re.compile(r"/grading-policies/$"))


def builds_the_pay_policy(page: Page) -> None:
    """The editor's example grade coefficients kept; its second component replaced by a tiered bonus on
    the score (1 a point, 2 a point from 90)."""
    from playwright.sync_api import expect

    page.goto("/pay/policies/")
    page.click("#pay-policy-editor-link")
    page.wait_for_url(re.compile(r"/pay/policies/editor/new/$"))
    page.fill("#id_code", "YSJX")
    page.fill("#id_name", "医师绩效工资")
    expect(page.locator("#id_c0-kind")).to_have_value("grade_coefficient")
    replace_second_component_by_tiers(page)
    page.click("#pay-policy-editor-save")
    page.wait_for_url(re.compile(r"/pay/policies/\d+/$"))


def _take_step(page: Page, button: str) -> None:
    page.click(button)
    page.wait_for_selector("#step-confirm")
    page.click("#step-confirm")
    page.wait_for_selector("#period-state")


def opens_a_period(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/periods/")
    page.get_by_role("link", name="新建考核周期").click()
    page.select_option("#id_kind", "monthly")
    page.fill("#id_year", "2026")
    page.fill("#id_number", "12")
    page.locator("#field-templates").get_by_label(re.compile("医师月度考核")).check()
    page.click("#period-save")
    page.wait_for_selector("#period-steps")
    policy = page.locator("#grading-policy-select option", has_text="医师等级评定").get_attribute("value")
    assert policy
    page.select_option("#grading-policy-select", policy)
    page.locator("#period-grading-policy button[type=submit]").click()
    _take_step(page, "#period-open")
    expect(page.locator("#period-sheet-count")).to_have_text("4")


def previews_a_draft_change(page: Page) -> None:
    """HR types 王医生's satisfaction on his sheet, then drafts a new upper band and sees its score."""
    from playwright.sync_api import expect

    page.goto("/sheets/")
    page.locator("#sheet-table").get_by_role("link", name="王医生").click()
    line = page.locator('.sheet-line[data-indicator="MYD"]')
    line.locator('input[name="actual"]').fill("93")
    line.locator('input[name="actual"]').press("Tab")
    expect(line.locator(".line-score")).to_have_text("30.00")

    page.goto("/indicators/")
    page.locator("main").get_by_role("link", name="患者满意度").first.click()
    page.wait_for_url(re.compile(r"/indicators/\d+/$"))
    page.goto(page.url + "editor/")
    option = page.locator("#sample-line option", has_text=re.compile("王医生"))
    page.select_option("#sample-line", option.get_attribute("value"))
    expect(page.locator("#preview-score")).to_have_text("30.00")
    page.fill('[name="bands-1-value"]', "35")
    page.locator('[name="bands-1-value"]').press("Tab")
    expect(page.locator("#preview-score")).to_have_text("35.00")


def test_it_sets_up_a_hospital_from_nothing_in_the_browser(browser: Any, live_server: Any,
                                                            hospital: Hospital) -> None:
    page = _sign_in(browser, live_server.url, "qs-hr")
    makes_the_structure(page)
    builds_three_indicators(page)
    builds_the_template(page)
    builds_the_grading_policy(page)
    builds_the_pay_policy(page)
    opens_a_period(page)
    previews_a_draft_change(page)

    with scope(organization=hospital.org):
        clinic = DepartmentType.objects.get(code="clinic")
        assert set(Department.objects.filter(department_type=clinic).values_list("name", flat=True)) == {"内科", "外科"}
        assert Person.objects.filter(position="医师").count() == 4
        assert CalendarDay.objects.filter(date__year=2026).exists()
        methods = dict(Indicator.objects.values_list("code", "method"))
        assert methods == {"MZL": "completion", "MYD": "banded", "AQ": "deduction"}
        template = Template.objects.get(code="YS")
        lines = TemplateLine.objects.filter(part__template=template)
        assert sorted(lines.values_list("indicator__code", flat=True)) == ["AQ", "MYD", "MZL"]
        policy = GradingPolicy.objects.get(code="YSDJ")
        assert policy.quotas == [{"grade": "A", "op": "<=", "share": "0.25"}]
        assert [rule["code"] for rule in policy.rules] == ["LXC"]
        pay = PayPolicy.objects.get(code="YSJX")
        assert [component["kind"] for component in pay.components] == ["grade_coefficient", "tiered"]
        assert [(t["from"], t["rate"]) for t in pay.components[1]["config"]["tiers"]] == [("0", "1"), ("90", "2")]
        period = Period.objects.get(year=2026, number=12)
        assert Sheet.objects.filter(period=period).count() == 4
        # The preview saved nothing: the stored upper band still gives 30.
        assert Indicator.objects.get(code="MYD").config["bands"][1]["points"] == "30"
