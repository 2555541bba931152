"""S1-10 hospital quality deductions and benefit bonus (seeds/001 篇10) as data:
fixtures/schemes/S1-10/package.json loads into a fresh organisation, twice without change, and a
month worked by hand from the article's rules comes out of the close and the pay run to the fen.

The worked month (2026-03). Deductions recorded (QT1: tier 1, 30 points = 300 CNY each; QT: tier 2
20 points / 200, tier 3 10 / 100, tier 4 1 point / 10 CNY per point, at most 30 points / 300 CNY):

    周明    tier 2 ×1, tier 3 ×2, tier 4 8 points: 20 + 20 + 8 = 48 points → capped 30 → score 70, −300.00
    李秀梅  tier 4 6 points                                                 → score 94, −60.00
    郑丽    tier 1 ×2: QT1 −60 points (no floor), −600.00                  → score 40, stand-by (rule)
    冯小军  tier 1 ×1: QT1 −30 points, −300.00                               → score 70
    everyone else: nothing                                                   → score 100

Grades: 合格 P (100), 受扣罚 D (0–99.99, coefficient 1), 待岗 W (coefficient 0.6): two or more tier-1
deductions in a month (QT1 ≤ −60 points) force W.
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

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-10" / "package.json"
D = Decimal
ON = dt.date(2026, 3, 12)
# Each person's deduction records: (indicator, item, count).
DEDUCTIONS: dict[str, list[tuple[str, str, int]]] = {
    "Y004": [("QT", "t2", 1), ("QT", "t3", 1), ("QT", "t3", 1), ("QT", "t4", 8)],
    "Y005": [("QT", "t4", 6)],
    "Y007": [("QT1", "t1", 1), ("QT1", "t1", 1)],
    "Y009": [("QT1", "t1", 1)],
}
# The month's department inputs.
COSTS = ("staff_base_pay", "provisions", "depreciation", "repairs", "materials", "energy")
DEPARTMENT_INPUTS: dict[str, dict[str, str]] = {
    # 内科: 420000 + 180000 − (19800 + 30000 + 45000 + 8000 + 260000 + 12000) = 225200 net revenue
    "MED": {"insured_revenue": "420000", "cash_revenue": "180000", **dict(zip(COSTS, (
        "19800", "30000", "45000", "8000", "260000", "12000"), strict=True)),
        "bonus_coefficient": "0", "medtech": "0", "cash_growth": "0", "quality_share": "33.33",
        "major_errors": "0", "general_errors": "0"},
    # 检验科 (医技): 150000 + 95000 − (13000 + 12000 + 60000 + 15000 + 110000 + 9000) = 26000
    "LAB": {"insured_revenue": "150000", "cash_revenue": "95000", **dict(zip(COSTS, (
        "13000", "12000", "60000", "15000", "110000", "9000"), strict=True)),
        "bonus_coefficient": "0", "medtech": "1", "cash_growth": "6.5", "quality_share": "50",
        "major_errors": "0", "general_errors": "0"},
    "ADM": {"bonus_coefficient": "0.9"},
    "LOG": {"bonus_coefficient": "0.7"},
}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def hospital(db: None) -> Organization:
    return load_package(_package(), slug="s1-10-hospital", name="示范医院")


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "indicators": Indicator.objects.count(), "templates": Template.objects.count(),
            "grading": GradingPolicy.objects.count(), "pay": PayPolicy.objects.count()}


def _month(org: Organization) -> Period:
    """March 2026 with the package's template and policy, every deduction recorded through the
    services, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=3,
                                    templates=[Template.objects.get(code="QUALITY")],
                                    grading_policy=GradingPolicy.objects.get(code="QC"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person"):
        assert sheet.person is not None
        for code, item, count in DEDUCTIONS.get(sheet.person.employee_no, []):
            line = SheetLine.objects.get(sheet=sheet, indicator__code=code)
            services.record_deduction(line=line, acting_user=None, item_code=item, count=count, occurred_on=ON,
                                      evidence="质控办检查记录")
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _name(result: Result) -> str:
    assert result.person is not None
    return result.person.name


def test_it_loads_twice_without_change(hospital: Organization) -> None:
    with scope(organization=hospital):
        before = _counts()
    load_package(_package(), slug="s1-10-hospital", name="示范医院")
    with scope(organization=hospital):
        assert _counts() == before == {"people": 9, "departments": 4, "indicators": 2, "templates": 1,
                                       "grading": 1, "pay": 1}


def _slips(org: Organization, period: Period) -> dict[str, dict[str, Decimal]]:
    """The month's department inputs entered through the service, the pay run computed: each
    person's paid lines by code."""
    for code, values in DEPARTMENT_INPUTS.items():
        for name, value in values.items():
            pay_services.save_pay_input(organization=org, acting_user=None, period=period, name=name,
                                        department=Department.objects.get(code=code), value=D(value))
    run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None
    return {slip.person.name: {line["code"]: D(line["amount"]) for line in slip.lines if line["paid"]}
            for slip in PaySlip.objects.filter(run=run).select_related("person")}


def test_it_scores_and_grades_the_month_by_hand(hospital: Organization) -> None:
    with scope(organization=hospital):
        period = _month(hospital)
        results = {_name(r): (r.final_score, r.grade)
                   for r in Result.objects.filter(period=period).select_related("person")}
    assert results == {
        "钱志远": (D("100.00"), "P"), "陈晓燕": (D("100.00"), "P"), "孙立群": (D("100.00"), "P"),
        "吴建华": (D("100.00"), "P"), "王大勇": (D("100.00"), "P"),
        "周明": (D("70.00"), "D"),     # 100 − min(20 + 2×10 + 8, 30)
        "李秀梅": (D("94.00"), "D"),   # 100 − 6
        "冯小军": (D("70.00"), "D"),   # 100 − 30 (one tier-1: no stand-by)
        "郑丽": (D("40.00"), "W"),     # 100 − 2×30; D by score, two tier-1 deductions force 待岗
    }


def test_it_pays_the_bonus_the_benefit_bonus_and_the_allowance_by_hand(hospital: Organization) -> None:
    with scope(organization=hospital):
        paid = _slips(hospital, _month(hospital))
    # quality_bonus = 300 less the month's deductions, at most 300 off; nothing on stand-by.
    # standby = −40 % of the base pay (paid at 60 %).
    # benefit: 内科 225200 × 5 % = 11260.00 split equally among 3 (largest remainder: Y003 gets the
    #   odd fen) = 3753.34 / 3753.33 / 3753.33; 检验科 26000 × 5 % = 1300.00, 郑丽 on stand-by weighs 0.
    # average_benefit: the hospital average (3753.34 + 3753.33 + 3753.33 + 1300.00) / 4 = 3140.00
    #   × 院办 0.9 = 2826.00, × 后勤 0.7 = 2198.00.
    # director_allowance 800: 孙立群 33.33 % of staff with tier 1–3 → 3 × 10 % → 560.00;
    #   吴建华 cash growth 6.5 % < 10 % → 10 %, 50 % of staff → 5 × 10 % → 60 % off → 320.00.

    def pay(bonus: str, standby: str = "0.00", benefit: str = "0.00", average: str = "0.00",
            allowance: str = "0.00") -> dict[str, Decimal]:
        return {"quality_bonus": D(bonus), "standby": D(standby), "benefit": D(benefit),
                "average_benefit": D(average), "director_allowance": D(allowance)}

    assert paid == {
        "钱志远": pay("300.00", average="2826.00"),
        "陈晓燕": pay("300.00", average="2826.00"),
        "孙立群": pay("300.00", benefit="3753.34", allowance="560.00"),
        "周明": pay("0.00", benefit="3753.33"),          # 300 − 300 (capped from 480)
        "李秀梅": pay("240.00", benefit="3753.33"),      # 300 − 6 × 10
        "吴建华": pay("300.00", benefit="1300.00", allowance="320.00"),
        "郑丽": pay("0.00", standby="-2080.00"),         # −(1 − 0.6) × 5200; no bonuses
        "王大勇": pay("300.00", average="2198.00"),
        "冯小军": pay("0.00", average="2198.00"),        # 300 − 300
    }
