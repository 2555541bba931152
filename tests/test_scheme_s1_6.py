"""S1-6 the hospital's "classified target" method (seeds/001 篇6) as data: fixtures/schemes/S1-6/
package.json loads into a fresh organisation, twice without change, and a month worked by hand from
the article's rules comes out of the close and the pay run to the fen.

The worked month: March 2026, 心血管内科病区 (NK1) only (普外科病区's sheets are exempt: not paid).

Department score (template S16-D: cost-of-care targets 60 + quality 40, each line 10 unless said):

    平均住院日 10 days against 9 (lower): 10 × 9 / 10 = 9; the five other targets met (capped at 10): 50
    病人满意度 96 % against 95: 10 (capped); 医疗质量 85 of 100: 20 × 0.85 = 17; 护理质量 90: 10 × 0.9 = 9
    score = 59 + 36 = 95

Department pool (一级分配), the department's inputs:

    成本控制   (1 200 000 − 1 000 000) × 5 %                      = 10 000
    目标与质量  8 000 × 95 / 100                                    =  7 600
    工作数量   134 admissions × 50 + 1 500 visits × 3 + 0 surgeries = 11 200
    Σ 28 800; per head (6 people) 4 800 → 超额累进递减:
        3 000 × 1 + 1 000 × 0.8 + 800 × 0.5 = 4 200             → pool 4 200 × 6 = 25 200

Four parts (weights: 科主任 1 × 1.5, 医师 1 + 1, 护士长 0.7 × 2.0, 护士 0.7 + 0.7 = 6.3; 25 200 / 6.3 =
4 000 a unit): 科主任 6 000 (1.5 × the doctors' average 4 000), 医师 8 000, 护士长 5 600 (2.0 × the nurses'
average 2 800), 护士 5 600 (average 2 800 = 70 % of the doctors'). Each part then by the 8 factors' score
(template S16-P, rated by the director and the head nurse):

    王建华 科主任 100  → 6 000            张丽 护士长  85 → 5 600
    李明   医师    90  → 8 000 × 90 / 160 = 4 500    刘芳 护士 80 → 5 600 × 80 / 140 = 3 200
    陈静   医师    70  → 8 000 × 70 / 160 = 3 500    杨雪 护士 60 → 5 600 × 60 / 140 = 2 400

Monthly allowance: 节假夜间来院抢救 100 a call: 李明 2 → 200, 陈静 1 → 100.
"""

from __future__ import annotations

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

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-6" / "package.json"
D = Decimal
ACTUALS = {"C-LOS": "10", "C-DRUG": "33", "C-OPD-FEE": "255", "C-IPD-FEE": "9800", "C-MATERIAL": "17.5",
           "C-ANTI": "38", "Q-SATISFY": "96", "Q-MEDICAL": "85", "Q-NURSING": "90"}
FACTORS = ("F-POST", "F-TITLE", "F-EDU", "F-SENIOR", "F-WORK", "F-SKILL", "F-ETHIC", "F-RISK")
RATINGS = {
    "N001": ("科主任/护士长", "正高", "博士", "20年以上", "饱满", "高", "优", "高"),  # 100
    "N002": ("医疗组长/副主任", "副高", "硕士", "10～20年", "饱满", "高", "优", "高"),  # 12+12+8+8+15+15+10+10 = 90
    "N003": ("住院医师/责任护士", "初级", "硕士", "5～10年", "较饱满", "一般", "优", "高"),  # 9+6+8+6+12+9+10+10 = 70
    "N004": ("科主任/护士长", "中级", "本科", "20年以上", "饱满", "较高", "优", "较高"),  # 15+9+6+10+15+12+10+8 = 85
    "N005": ("住院医师/责任护士", "副高", "本科", "10～20年", "饱满", "较高", "优", "较高"),  # 9+12+6+8+15+12+10+8 = 80
    # 9+6+4+4+12+9+8+8 = 60
    "N006": ("住院医师/责任护士", "初级", "大专及以下", "5年以下", "较饱满", "一般", "良", "较高"),
}
DEPARTMENT_INPUTS = {"dept_income": "1200000", "dept_expense": "1000000", "assess_base": "8000", "admissions": "134",
                     "outpatient_visits": "1500", "surgeries": "0"}
PERSON_INPUTS = {"N001": {"lead_coefficient": "1.5"}, "N002": {"rescue_calls": "2"}, "N003": {"rescue_calls": "1"},
                 "N004": {"lead_coefficient": "2.0"}}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def hospital(db: None) -> Organization:
    return load_package(_package(), slug="s1-6-hospital", name="分类目标考核医院")


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "indicators": Indicator.objects.count(), "templates": Template.objects.count(),
            "pay": PayPolicy.objects.count()}


def _enter(line: SheetLine, **changes: Any) -> None:
    services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, **changes)


def _month(org: Organization) -> Period:
    """March 2026 with both templates, 普外科病区 exempt, the data and the 8 factors entered, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=3,
                                    templates=list(Template.objects.all()),
                                    grading_policy=GradingPolicy.objects.get(code="S16"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person", "department"):
        unit = sheet.person.department if sheet.person is not None else sheet.department
        assert unit is not None
        if unit.code != "NK1":
            services.set_special_status(sheet=sheet, status="exempt", reason="本例不考核", acting_user=None)
    for line in SheetLine.objects.filter(sheet__period=period, sheet__department__code="NK1").select_related(
            "indicator"):
        _enter(line, actual=D(ACTUALS[line.indicator.code]))
    for number, labels in RATINGS.items():
        for code, label in zip(FACTORS, labels, strict=True):
            _enter(SheetLine.objects.get(sheet__period=period, sheet__person__employee_no=number, indicator__code=code),
                   rating=label)
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _paid(org: Organization, period: Period) -> dict[str, dict[str, Decimal]]:
    department = Department.objects.get(code="NK1")
    for name, value in DEPARTMENT_INPUTS.items():
        pay_services.save_pay_input(organization=org, acting_user=None, period=period, name=name,
                                    department=department, value=D(value))
    for number in RATINGS:
        person = Person.objects.get(employee_no=number)
        for name, value in {"rescue_calls": "0", **PERSON_INPUTS.get(number, {})}.items():
            pay_services.save_pay_input(organization=org, acting_user=None, period=period, name=name,
                                        person=person, value=D(value))
    run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None
    return {slip.person.employee_no: {line["code"]: D(line["amount"]) for line in slip.lines}
            for slip in PaySlip.objects.filter(run=run).select_related("person")}


def test_it_loads_twice_without_change(hospital: Organization) -> None:
    with scope(organization=hospital):
        before = _counts()
    load_package(_package(), slug="s1-6-hospital", name="分类目标考核医院")
    with scope(organization=hospital):
        assert _counts() == before == {"people": 11, "departments": 4, "indicators": 17, "templates": 2, "pay": 1}


def test_it_scores_the_department_and_the_eight_factors_by_hand(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _month(hospital)
        department = Result.objects.get(period=period, sheet__department__code="NK1").final_score
        people = {r.person.employee_no: r.final_score for r in
                  Result.objects.filter(period=period, person__department__code="NK1").select_related("person")
                  if r.person is not None}
    assert department == D("95.00")  # 59 + 36
    assert people == {"N001": D("100.00"), "N002": D("90.00"), "N003": D("70.00"), "N004": D("85.00"),
                      "N005": D("80.00"), "N006": D("60.00")}


def test_it_builds_the_pool_from_the_department_score(hospital: Organization) -> None:
    with scope(organization=hospital):
        paid = _paid(hospital, _month(hospital))
    pools = {code: paid["N002"][code] for code in
             ("cost_bonus", "target_bonus", "workload_bonus", "raw_pool", "per_capita", "pool")}
    assert pools == {"cost_bonus": D("10000.00"), "target_bonus": D("7600.00"),   # 8 000 × 95 / 100
                     "workload_bonus": D("11200.00"), "raw_pool": D("28800.00"),
                     "per_capita": D("4200.00"),   # 4 800 a head: 3 000 + 1 000 × 0.8 + 800 × 0.5
                     "pool": D("25200.00")}
    assert {number: lines["pool"] for number, lines in paid.items()} == dict.fromkeys(RATINGS, D("25200.00"))


def test_it_splits_the_pool_by_role_and_factor(hospital: Organization) -> None:
    with scope(organization=hospital):
        paid = _paid(hospital, _month(hospital))
    assert {number: (lines["bonus"], lines["rescue"]) for number, lines in paid.items()} == {
        "N001": (D("6000.00"), D("0.00")),    # 1.5 × the doctors' average 4 000
        "N002": (D("4500.00"), D("200.00")),  # 8 000 × 90 / 160; 2 calls × 100
        "N003": (D("3500.00"), D("100.00")),  # 8 000 × 70 / 160
        "N004": (D("5600.00"), D("0.00")),    # 2.0 × the nurses' average 2 800
        "N005": (D("3200.00"), D("0.00")),    # 5 600 × 80 / 140
        "N006": (D("2400.00"), D("0.00")),    # 5 600 × 60 / 140
    }
