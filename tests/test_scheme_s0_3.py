"""S0-3 精神病专科医院 (seeds/000 第3篇) as data: fixtures/schemes/S0-3/package.json loads into a
fresh organisation, twice without change, and a quarter worked by hand from the article's rules
comes out of the close and the pay run to the fen.

The worked quarter: 2026 Q1. Five people are assessed, one per tier or kind of post; everyone else
is marked 免考 (exempt). Each member of the assessing group gives one score (0–100) on every rated
line of the sheet; a rated line scores the mean of its raters' points, the subject never rating
themself (a group member who is assessed is recused).

    院长 赵建华 (LEADER, 领导小组: 钱玉兰 88, 孙志远 86; he is recused)
        every dimension 87 → 100 × (0.4 + 0.3 + 0.1 + 0.2) × 0.87 = 87.00 → 合格
    科主任 周文斌 (HEAD, 工作小组: 孙志远 95, 何志明 90)
        every dimension 92.5 → 92.50 → 优秀
    医师 李明 (STAFF-W1, 科室小组: 周文斌 80, 吴秀梅 76; he is recused → mean 78)
        服务质量及内部管理  核心制度 40 − 2 × 5 = 30; 医疗安全 30 − 10 = 20; 文书 30 × 0.78 = 23.4 → 73.4
        社会效益和病人满意  满意率 50 × 81 / 90 = 45; 医德医风 50 × 0.78 = 39                     → 84
        科研教学能力        100 × 0.78                                                            → 78
        财务效率            执行物价政策 100 − 10                                                  → 90
        score = 0.4 × 73.4 + 0.3 × 84 + 0.1 × 78 + 0.2 × 90 = 29.36 + 25.2 + 7.8 + 18 = 80.36 → 合格
    护士 王芳 (STAFF-W1, 科室小组: 周文斌 90, 吴秀梅 86, 李明 88 → mean 88)
        服务质量及内部管理  核心制度 40 − 5 = 35; 医疗安全 30; 文书 30 × 0.88 = 26.4              → 91.4
        社会效益和病人满意  满意率 50 × 85.5 / 90 = 47.5; 医德医风 50 × 0.88 = 44                 → 91.5
        科研教学能力        88;  财务效率 100
        score = 0.4 × 91.4 + 0.3 × 91.5 + 0.1 × 88 + 0.2 × 100 = 36.56 + 27.45 + 8.8 + 20 = 92.81 → 优秀
    后勤工人 曹建 (STAFF-LOG, 科室小组: 韩德胜 55, 邓卫 51; he is recused → mean 53)
        服务质量及内部管理 (0.5)  岗位职责 60 × 0.53 = 31.8; 劳动纪律 40 − 2 × 2 = 36           → 67.8
        社会效益和病人满意 (0.3)  53;  科研教学能力 (0.1) 53;  财务效率 (0.1) 成本控制 100 − 5 = 95
        score = 0.5 × 67.8 + 0.3 × 53 + 0.1 × 53 + 0.1 × 95 = 33.9 + 15.9 + 5.3 + 9.5 = 64.60 → 基本合格
    后勤工人 邓卫 (STAFF-LOG, 科室小组: 韩德胜 40, 曹建 36; he is recused → mean 38)
        服务质量及内部管理 (0.5)  岗位职责 60 × 0.38 = 22.8; 劳动纪律 40 − 5 (脱岗) = 35          → 57.8
        社会效益和病人满意 (0.3)  38;  科研教学能力 (0.1) 38;  财务效率 (0.1) 100
        score = 0.5 × 57.8 + 0.3 × 38 + 0.1 × 38 + 0.1 × 100 = 28.9 + 11.4 + 3.8 + 10 = 54.10 → 不合格,
        so he may not be chosen as 先进 this year (rule unqualified, outcome no_award)

Pay: 绩效工资 = 季度基数 (by 薪档) × 科室绩效分配系数 × 等次系数 (优秀 1.2, 合格 1.0, 基本合格 0.8,
不合格 0). 科室系数 = 0.3 × 业务 + 0.3 × 技术 + 0.2 × 风险 + 0.2 × 劳动强度: 精神科病区
0.39 + 0.39 + 0.30 + 0.28 = 1.36; 行政职能 0.30 + 0.30 + 0.16 + 0.18 = 0.94; 后勤 0.27 + 0.24 + 0.18 + 0.22 = 0.91.

    赵建华 P8 12000 × 0.94 × 1.0 = 11280.00
    周文斌 P6  9000 × 1.36 × 1.2 = 14688.00
    李明   P5  7500 × 1.36 × 1.0 = 10200.00
    王芳   P4  6000 × 1.36 × 1.2 =  9792.00
    曹建   P3  4500 × 0.91 × 0.8 =  3276.00
    邓卫   P3  4500 × 0.91 × 0   =     0.00
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import GradingPolicy, Period, Rater, Result, Sheet, SheetLine
from indicators.models import Indicator, Template
from organizations import services as org_services
from organizations.models import Department, Organization, Person, ReviewGroup, User
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S0-3" / "package.json"
D = Decimal
SLUG, NAME = "psy", "市精神病专科医院"
# Who sits in which group (the package has no accounts: each member gets one here).
MEMBERS = {"LG": ["E01", "E02", "E03"], "WG": ["E03", "E10"], "G-W1": ["E11", "E12", "E13"],
           "G-LOG": ["E41", "E42", "E43"]}
# The worked quarter: per assessed person, the score each rater gives (by employee number) and the
# deductions recorded (indicator, item, count) and actuals entered.
QUARTER: dict[str, dict[str, Any]] = {
    "E01": {"raters": {"E02": "88", "E03": "86"}},
    "E11": {"raters": {"E03": "95", "E10": "90"}},
    "E13": {"raters": {"E11": "80", "E12": "76"}, "actual": {"SATISFY": "81"},
            "records": [("CORE", "handover", 2), ("SAFETY", "error", 1), ("PRICE", "overcharge", 1)]},
    "E14": {"raters": {"E11": "90", "E12": "86", "E13": "88"}, "actual": {"SATISFY": "85.5"},
            "records": [("CORE", "rounds", 1)]},
    "E42": {"raters": {"E41": "55", "E43": "51"}, "records": [("DISC", "late", 2), ("COST", "waste", 1)]},
    "E43": {"raters": {"E41": "40", "E42": "36"}, "records": [("DISC", "absent", 1)]},
}
DAY = dt.date(2026, 2, 10)


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def hospital(db: None) -> Organization:
    org = load_package(_package(), slug=SLUG, name=NAME)
    with scope(organization=org):
        memberships = {}
        for number in sorted({n for members in MEMBERS.values() for n in members}):
            user = User.objects.create(username=f"psy-{number.lower()}", display_name=number)
            memberships[number] = org_services.create_membership(
                organization=org, acting_user=None, user=user, person=Person.objects.get(employee_no=number))
        for code, members in MEMBERS.items():
            group = ReviewGroup.objects.get(code=code)
            for number in members:
                org_services.add_group_member(group=group, membership=memberships[number], acting_user=None)
    return org


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "groups": ReviewGroup.objects.count(), "indicators": Indicator.objects.count(),
            "templates": Template.objects.count(), "policies": GradingPolicy.objects.count()}


def _quarter(org: Organization) -> Period:
    """2026 Q1 with every template of the package, the worked quarter's entries made through the
    services, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="quarterly", year=2026, number=1,
                                    templates=list(Template.objects.all()),
                                    grading_policy=GradingPolicy.objects.get(code="PSY"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person"):
        assert sheet.person is not None
        entry = QUARTER.get(sheet.person.employee_no)
        if entry is None:
            services.set_special_status(sheet=sheet, status="exempt", reason="本例不考核", acting_user=None)
        else:
            _enter(sheet, entry)
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _enter(sheet: Sheet, entry: dict[str, Any]) -> None:
    lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=sheet).select_related("indicator")}
    raters = Rater.objects.filter(sheet=sheet, recused=False).select_related("person")
    given = {rater.person.employee_no: rater for rater in raters if rater.person is not None}
    assert set(given) == set(entry["raters"])  # the group minus the subject
    for line in lines.values():
        if line.source == "raters":
            for number, score in entry["raters"].items():
                services.rate_line(line=line, rater=given[number], acting_user=None, actual=D(score))
    for code, actual in entry.get("actual", {}).items():
        line = lines[code]
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, actual=D(actual))
    for code, item, count in entry.get("records", []):
        services.record_deduction(line=lines[code], acting_user=None, item_code=item, count=count, occurred_on=DAY,
                                  evidence="科室考核记录")


def _results(period: Period) -> dict[str, tuple[str, str]]:
    return {r.person.name: (str(r.final_score), r.grade_label)
            for r in Result.objects.filter(period=period, status="normal").select_related("person") if r.person}


def test_it_loads_twice_without_change(hospital: Organization) -> None:
    with scope(organization=hospital):
        before = _counts()
    load_package(_package(), slug=SLUG, name=NAME)
    with scope(organization=hospital):
        assert _counts() == before == {"people": 15, "departments": 5, "groups": 7, "indicators": 16,
                                       "templates": 6, "policies": 1}


def test_it_grades_each_tier_by_its_own_group(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _quarter(hospital)
        found = _results(period)
    assert found == {
        "赵建华": ("87.00", "合格"),  # 领导小组 (88 + 86) / 2
        "周文斌": ("92.50", "优秀"),  # 工作小组 (95 + 90) / 2
        "李明": ("80.36", "合格"),  # 29.36 + 25.2 + 7.8 + 18
        "王芳": ("92.81", "优秀"),  # 36.56 + 27.45 + 8.8 + 20
        "曹建": ("64.60", "基本合格"),  # 33.9 + 15.9 + 5.3 + 9.5
        "邓卫": ("54.10", "不合格"),  # 28.9 + 11.4 + 3.8 + 10
    }


def test_it_pays_by_the_departments_coefficient_and_the_grade(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _quarter(hospital)
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert run is not None
        paid = {s.person.name: s.amount("perf") for s in PaySlip.objects.filter(run=run).select_related("person")}
    assert paid == {
        "赵建华": D("11280.00"),  # 12000 × 0.94 × 1.0 (行政职能)
        "周文斌": D("14688.00"),  # 9000 × 1.36 × 1.2 (精神科病区, 优秀)
        "李明": D("10200.00"),  # 7500 × 1.36 × 1.0
        "王芳": D("9792.00"),  # 6000 × 1.36 × 1.2
        "曹建": D("3276.00"),  # 4500 × 0.91 × 0.8 (后勤, 基本合格)
        "邓卫": D("0.00"),  # 不合格: 等次系数 0
    }


def test_it_keeps_the_unqualified_from_being_chosen_as_advanced(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _quarter(hospital)
        flagged = {r.person.name for r in Result.objects.filter(period=period).select_related("person")
                   if r.person and any(f.get("rule") == "unqualified" and f.get("outcome") == "no_award"
                                       for f in r.flags)}
    assert flagged == {"邓卫"}


def test_it_sends_appeals_to_the_supervision_group(hospital: Organization) -> None:
    with scope(organization=hospital):
        policy = GradingPolicy.objects.select_related("appeal_group").get(code="PSY")
    assert policy.appeal_group is not None and policy.appeal_group.kind == "supervision"
