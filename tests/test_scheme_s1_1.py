"""S1-1 savings outlets (seeds/001 篇1) as data: fixtures/schemes/S1-1/package.json loads into a
fresh organisation, twice without change, and a month worked by hand from the article's rules comes
out of the close and the pay run to the fen.

The worked month (2026-03). Behaviour penalties recorded by the checking group (each point = 20 CNY):

    许晨   迟到 ×2 (2 points each) + 接电话不说“你好” ×1 (1 point)     = 5 points  → score 95, −100.00
    韩磊   柜台内烟头 5 根: 5 + 5 + 5, then from the 4th 8 + 8          = 31 points → score 69, −620.00
    曹阳   工作时间饮酒 ×1                                                = 10 points → score 90, −200.00
    everyone else: nothing                                                           → score 100

Work reward: 0.1 % of the outlet's daily-average deposits over the start of the year, split equally
among its staff (exact to the fen, the odd fen to the first employee numbers):

    专柜   21 800 000 − 20 000 000 = 1 800 000 × 0.1 % = 1800.00 → 900.00 × 2
    城东   86 500 000 − 80 000 000 = 6 500 000 × 0.1 % = 6500.00 → 2166.67, 2166.67, 2166.66
    城西   52 300 000 − 53 000 000 < 0: no net increase, no reward
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

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-1" / "package.json"
D = Decimal
ON = dt.date(2026, 3, 18)
PENALTIES: dict[str, list[tuple[str, int]]] = {
    "C002": [("late", 1), ("late", 1), ("phone_greeting", 1)],
    "C005": [("butt", 5)],
    "C007": [("drinking", 1)],
}
DEPOSITS = {"SC": ("21800000", "20000000"), "EAST": ("86500000", "80000000"), "WEST": ("52300000", "53000000")}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def savings(db: None) -> Organization:
    return load_package(_package(), slug="s1-1-savings", name="储蓄网点")


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "indicators": Indicator.objects.count(), "templates": Template.objects.count(),
            "pay": PayPolicy.objects.count()}


def _month(org: Organization) -> Period:
    """March 2026 with the package's template, every penalty recorded through the services, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=3,
                                    templates=[Template.objects.get(code="SAVINGS")],
                                    grading_policy=GradingPolicy.objects.get(code="SAV"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person"):
        assert sheet.person is not None
        line = SheetLine.objects.get(sheet=sheet, indicator__code="BEHAV")
        for item, count in PENALTIES.get(sheet.person.employee_no, []):
            services.record_deduction(line=line, acting_user=None, item_code=item, count=count, occurred_on=ON,
                                      evidence="考核小组检查记录")
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _name(result: Result) -> str:
    assert result.person is not None
    return result.person.name


def test_it_loads_twice_without_change(savings: Organization) -> None:
    with scope(organization=savings):
        before = _counts()
    load_package(_package(), slug="s1-1-savings", name="储蓄网点")
    with scope(organization=savings):
        assert _counts() == before == {"people": 7, "departments": 4, "indicators": 1, "templates": 1, "pay": 1}


def test_it_scores_the_month_by_hand(savings: Organization) -> None:
    with scope(organization=savings):
        period = _month(savings)
        scores = {_name(r): r.final_score for r in Result.objects.filter(period=period).select_related("person")}
    assert scores == {"黄丽萍": D("100.00"), "许晨": D("95.00"), "蒋国华": D("100.00"), "谢婷": D("100.00"),
                      "韩磊": D("69.00"), "唐静": D("100.00"), "曹阳": D("90.00")}


def test_it_pays_the_reward_less_twenty_yuan_a_point(savings: Organization) -> None:
    with scope(organization=savings):
        period = _month(savings)
        for code, (average, start) in DEPOSITS.items():
            department = Department.objects.get(code=code)
            pay_services.save_pay_input(organization=savings, acting_user=None, period=period,
                                        name="daily_average_deposits", department=department, value=D(average))
            pay_services.save_pay_input(organization=savings, acting_user=None, period=period,
                                        name="start_of_year_deposits", department=department, value=D(start))
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert run is not None
        paid = {slip.person.name: {line["code"]: D(line["amount"]) for line in slip.lines if line["paid"]}
                for slip in PaySlip.objects.filter(run=run).select_related("person")}
    assert paid == {
        "黄丽萍": {"reward": D("900.00"), "penalty": D("0.00")},
        "许晨": {"reward": D("900.00"), "penalty": D("-100.00")},    # 5 points × 20
        "蒋国华": {"reward": D("2166.67"), "penalty": D("0.00")},
        "谢婷": {"reward": D("2166.67"), "penalty": D("0.00")},
        "韩磊": {"reward": D("2166.66"), "penalty": D("-620.00")},   # 31 points × 20
        "唐静": {"reward": D("0.00"), "penalty": D("0.00")},
        "曹阳": {"reward": D("0.00"), "penalty": D("-200.00")},     # 10 points × 20
    }
