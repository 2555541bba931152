"""S0-1 研究所后勤精细化管理 (fixtures/schemes/S0-1): the package loads, and a month worked by hand
from the article (seed 000, 第1篇) comes out to the fen.

The article: each piece of logistics work has a target set beforehand; appraisal asks whether it
met the target at acceptance (验收), and if not the person and the one in charge must remedy it
until it passes. Cost control and safety are targets too. The package's choices (the article gives
no numbers): work items 60 % (accepted at round 1 → full marks, round 2 → 80 %, round 3 and later
→ 60 %, never accepted → 0; the part scaled to 100 by the person's own items), cost 20 % (budget ÷
actual spend, at most 100 %), safety 20 % (deductions); perf bonus = base pay × 30 % × score ÷ 100.
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
from appraisal.models import AcceptanceRound, GradingPolicy, Period, Result, Sheet, SheetLine
from indicators.models import Indicator, Template
from organizations.models import Department, Organization, Person
from organizations.packages import load_package
from payroll import services as pay
from payroll.models import PayPolicy, PayRun, PaySlip
from tests.closing import close

D = Decimal
PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S0-1" / "package.json"

# Each person's work items: (name, full marks, rounds as (passed, why it failed)).
ITEMS: dict[str, list[tuple[str, str, list[tuple[bool, str]]]]] = {
    "许文斌": [("专项防水工程", "40", [(False, "屋面渗水"), (True, "")]),
              ("二号楼供水管线更换", "30", [(True, "")]),
              ("配电室年度检修", "20", [(False, "接地电阻超标"), (False, "未整改到位")])],
    "何建军": [("水电年度检修计划", "50", [(True, "")]),
              ("防汛抽排水预案与沙袋储备", "50", [(True, "")])],
    "宋丽娟": [("办公楼卫生保洁", "60", [(True, "")]),
              ("绿化带补植", "40", [(False, "成活率不足"), (False, "仍有缺株"), (True, "")])],
    "韩梅": [("食堂食品安全检查", "50", [(False, "留样记录不全"), (True, "")]),
           ("餐具消毒", "50", [(True, "")])],
}
# Budget (target) and actual spend, in 元.
COST: dict[str, tuple[str, str]] = {
    "许文斌": ("5000", "5500"), "何建军": ("12000", "11000"), "宋丽娟": ("3000", "3000"), "韩梅": ("20000", "21000"),
}
SAFETY: dict[str, list[tuple[str, int]]] = {
    "许文斌": [("hidden_danger", 1)], "宋丽娟": [("violation", 1)], "韩梅": [("accident", 1)],
}


def load() -> Organization:
    data = json.loads(PACKAGE.read_text(encoding="utf-8"))
    return load_package(data, slug="s0-1", name="示例研究所后勤处（S0-1）")


def snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "departments": sorted(Department.objects.values_list("code", "name", "parent__code")),
            "people": sorted(Person.objects.values_list("employee_no", "name", "manager__employee_no")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def enter_month(org: Organization) -> Period:
    """March 2026, open, with every item inspected by the director of logistics (马国强)."""
    with scope(organization=org):
        period = services.create_period(
            organization=org, acting_user=None, kind="monthly", year=2026, number=3,
            templates=[Template.objects.get(code="S01")], grading_policy=GradingPolicy.objects.get(code="S01"))
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        inspector = Person.objects.get(employee_no="L001")
        item = Indicator.objects.get(code="WORK_ITEM")
        for name, items in ITEMS.items():
            sheet = Sheet.objects.get(period=period, person__name=name)
            for label, marks, rounds in items:
                line = services.add_sheet_line(sheet_id=sheet.pk, indicator=item, max_points=marks, label=label,
                                               acting_user=None, reason="本月工作事项")
                for day, (passed, why) in enumerate(rounds, start=10):
                    services.record_acceptance(line_id=line.pk, passed=passed, reason=why, inspected_by=inspector,
                                               inspected_on=dt.date(2026, 3, day), acting_user=None)
            cost = SheetLine.objects.get(sheet=sheet, indicator__code="COST")
            budget, spent = COST[name]
            services.update_line(line_id=cost.pk, expected_version=cost.version, acting_user=None,
                                 target=D(budget), actual=D(spent))
            safety = SheetLine.objects.get(sheet=sheet, indicator__code="SAFETY")
            for code, count in SAFETY.get(name, []):
                services.record_deduction(line=safety, acting_user=None, item_code=code, count=count,
                                          occurred_on=dt.date(2026, 3, 20), evidence="安全检查记录",
                                          recorded_by=inspector)
        return Period.objects.get(pk=period.pk)


def closed_month(org: Organization) -> Period:
    period = enter_month(org)
    with scope(organization=org):
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=org):
        return Period.objects.get(pk=period.pk)


def found(period: Period) -> dict[str, Result]:
    with scope(organization=period.organization):
        return {r.person.name: r for r in Result.objects.filter(period=period).select_related("person")
                if r.person is not None}


@pytest.fixture
def org(db: None) -> Organization:
    return load()


@pytest.fixture
def march(org: Organization) -> Period:
    return closed_month(org)


def test_it_loads_the_package_twice_without_change(org: Organization) -> None:
    before = snapshot(org)
    assert load().pk == org.pk
    assert snapshot(org) == before
    assert len(before["people"]) == 5 and before["pay"] == [("S01", 1)]


def test_it_keeps_every_acceptance_round_of_an_item_sent_back_for_remediation(org: Organization) -> None:
    period = enter_month(org)
    with scope(organization=org):
        line = SheetLine.objects.get(sheet__period=period, label="绿化带补植")
        rounds = list(AcceptanceRound.objects.filter(line=line).order_by("number").values_list(
            "number", "passed", "reason", "inspected_by__name"))
        assert rounds == [(1, False, "成活率不足", "马国强"), (2, False, "仍有缺株", "马国强"), (3, True, "", "马国强")]
        assert (line.accepted, line.acceptance_round, line.score) == (True, 3, D("24.00"))  # 60 % × 40


def test_it_scores_items_cost_and_safety_60_20_20(march: Period) -> None:
    scores = {name: r.final_score for name, r in found(march).items()}
    assert scores == {
        # items: 防水 passed at round 2: 0.8 × 40 = 32; 管线 30; 配电室 never passed: 0
        #        → 62 of 90 → 62 × 100 / 90 = 68.888…
        # cost: 100 × 5000 / 5500 = 90.909… → 90.91; safety: 100 − 5 = 95
        # 0.6 × 68.888… + 0.2 × 90.91 + 0.2 × 95 = 41.333… + 18.182 + 19 = 78.515… → 78.52
        "许文斌": D("78.52"),
        # items 50 + 50 = 100; cost under budget (12000 / 11000 > 1, capped at 100 %) 100; safety 100
        "何建军": D("100.00"),
        # items 60 + 0.6 × 40 (round 3) = 84; cost 100; safety 100 − 3 = 97
        # 0.6 × 84 + 0.2 × 100 + 0.2 × 97 = 50.4 + 20 + 19.4 = 89.80
        "宋丽娟": D("89.80"),
        # items 0.8 × 50 (round 2) + 50 = 90; cost 100 × 20000 / 21000 = 95.238… → 95.24; accident 100 − 20 = 80
        # 0.6 × 90 + 0.2 × 95.24 + 0.2 × 80 = 54 + 19.048 + 16 = 89.048 → 89.05
        "韩梅": D("89.05"),
    }


def test_it_grades_by_the_score(march: Period) -> None:
    grades = {name: r.grade for name, r in found(march).items()}
    assert grades == {"许文斌": "合格", "何建军": "优秀", "宋丽娟": "良好", "韩梅": "良好"}


def test_it_pays_thirty_percent_of_base_pay_times_the_score(march: Period) -> None:
    with scope(organization=march.organization):
        run = pay.compute_pay_run(period=march, acting_user=None, reason="月度绩效奖金")
        assert isinstance(run, PayRun)
        paid = {s.person.name: s.amount("perf") for s in PaySlip.objects.filter(run=run).select_related("person")}
    assert paid == {
        "许文斌": D("989.35"),   # 4200 × 0.3 × 0.7852 = 989.352
        "何建军": D("1680.00"),  # 5600 × 0.3 × 1
        "宋丽娟": D("1023.72"),  # 3800 × 0.3 × 0.898 = 1023.72
        "韩梅": D("935.03"),     # 3500 × 0.3 × 0.8905 = 935.025 → 935.03 (half up)
    }
