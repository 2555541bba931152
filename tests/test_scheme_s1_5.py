"""S1-5 the hospital's balanced scorecard (seeds/001 篇5) as data: fixtures/schemes/S1-5/package.json
loads into a fresh organisation, twice without change, and a month worked by hand from the article's
rules comes out of the close and the pay run to the fen.

The worked month: April 2026, 内科 (NK) only (外科's sheets are exempt: not paid). Its scorecard (each
dimension out of 100, weighted 0.3 / 0.2 / 0.35 / 0.15):

    财务        成本率 85 % at its target 85 → 25; 人均结余 5 400 against 6 000 → 25 × 0.9 = 22.5;
                药费构成比 35 % at 35 → 20; 门诊次均 250 against 260 (lower, capped) → 15;
                住院次均 9 800 at 9 800 → 15                                           = 97.5
    患者满意度  服务满意度 95 % at 95 → 50; 一次有效投诉 (医务科) 25 − 10 → 15; no dispute → 25 = 90
    医疗质量    病床使用率 93 % → 15; 平均住院日 10 against 9 (lower) → 15 × 0.9 = 13.5; 出院 200 → 20;
                病案甲级率 90 % → 15; 处方合格率 98 % → 15; 不合理用药 ×2 (医务科) 20 − 4 → 16 = 94.5
    学习与成长  讲座参加率 81 % against 90 → 30 × 0.9 = 27; 规培 优 30; 学术交流 良 16; 计划 优 20 = 93

    score = 0.3 × 97.5 + 0.2 × 90 + 0.35 × 94.5 + 0.15 × 93 = 29.25 + 18 + 33.075 + 13.95 = 94.275 → 94.28
    grade 良好 (85 ≤ 94.28 < 95)

The complaint was 马超's: his own sheet loses 10 points (90, 良好); everyone else scores 100 (优秀).
Pay = the post's base (科主任 3 000, 医师 2 000, 护士长 2 200, 护士 1 500) × 94.28 / 100 × own score / 100:

    黄志明 3 000 × 0.9428       = 2 828.40      郑红 2 200 × 0.9428 = 2 074.16
    马超   2 000 × 0.9428 × 0.9 = 1 697.04      徐婷 1 500 × 0.9428 = 1 414.20
    林晓燕 2 000 × 0.9428       = 1 885.60
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
from appraisal.models import GradingPolicy, Period, Result, Sheet, SheetLine
from indicators.models import Indicator, Template
from organizations.models import Department, Organization, Person
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PayPolicy, PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-5" / "package.json"
D = Decimal
DAY = dt.date(2026, 4, 15)
ACTUALS = {"F-COST": "85", "F-SURPLUS": "5400", "F-DRUG": "35", "F-OPD": "250", "F-IPD": "9800", "S-SURVEY": "95",
           "Q-BED": "93", "Q-LOS": "10", "Q-DISCHARGE": "200", "Q-RECORD": "90", "Q-RX": "98", "L-LECTURE": "81"}
RATINGS = {"L-TRAIN": "优", "L-EXCHANGE": "良", "L-PLAN": "优"}
NK = ("K001", "K002", "K003", "K004", "K005")


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def hospital(db: None) -> Organization:
    return load_package(_package(), slug="s1-5-hospital", name="平衡计分卡医院")


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "indicators": Indicator.objects.count(), "templates": Template.objects.count(),
            "pay": PayPolicy.objects.count()}


def _enter(line: SheetLine, **changes: Any) -> None:
    services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, **changes)


def _record(line: SheetLine, item: str, count: int) -> None:
    services.record_deduction(line=line, acting_user=None, item_code=item, count=count, occurred_on=DAY,
                              evidence="医务科检查记录", recorder_department=Department.objects.get(code="MED"))


def _month(org: Organization) -> Period:
    """April 2026 with both templates, 外科 exempt, 内科's scorecard and the complaint entered, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=4,
                                    templates=list(Template.objects.all()),
                                    grading_policy=GradingPolicy.objects.get(code="S15"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person", "department"):
        unit = sheet.person.department if sheet.person is not None else sheet.department
        assert unit is not None
        if unit.code != "NK":
            services.set_special_status(sheet=sheet, status="exempt", reason="本例不考核", acting_user=None)
    lines = {line.indicator.code: line for line in SheetLine.objects.filter(
        sheet__period=period, sheet__department__code="NK").select_related("indicator")}
    for code, actual in ACTUALS.items():
        _enter(lines[code], actual=D(actual))
    for code, label in RATINGS.items():
        _enter(lines[code], rating=label)
    _record(lines["S-COMPLAINT"], "complaint", 1)
    _record(lines["Q-CHECK"], "drugs", 2)
    _record(SheetLine.objects.get(sheet__period=period, sheet__person__employee_no="K002"), "complaint", 1)
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def test_it_loads_twice_without_change(hospital: Organization) -> None:
    with scope(organization=hospital):
        before = _counts()
    load_package(_package(), slug="s1-5-hospital", name="平衡计分卡医院")
    with scope(organization=hospital):
        assert _counts() == before == {"people": 8, "departments": 7, "indicators": 19, "templates": 2, "pay": 1}


def test_it_scores_the_scorecard_by_hand(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _month(hospital)
        department = Result.objects.get(period=period, sheet__department__code="NK")
        people = {r.person.employee_no: (r.final_score, r.grade) for r in
                  Result.objects.filter(period=period, person__department__code="NK").select_related("person")
                  if r.person is not None}
    assert (department.final_score, department.grade) == (D("94.28"), "良好")  # 94.275 rounded half up
    assert people == {"K001": (D("100.00"), "优秀"), "K002": (D("90.00"), "良好"),  # his complaint: −10
                      "K003": (D("100.00"), "优秀"), "K004": (D("100.00"), "优秀"), "K005": (D("100.00"), "优秀")}


def test_it_pays_by_the_department_score_by_hand(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _month(hospital)
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert run is not None
        paid = {slip.person.employee_no: slip.total for slip in
                PaySlip.objects.filter(run=run).select_related("person")}
    assert paid == {"K001": D("2828.40"),   # 3 000 × 94.28 / 100
                    "K002": D("1697.04"),   # 2 000 × 94.28 / 100 × 90 / 100
                    "K003": D("1885.60"), "K004": D("2074.16"), "K005": D("1414.20")}
