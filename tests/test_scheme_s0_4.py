"""S0-4 支行工作报告 (seed 000, 范文第4篇) as data: fixtures/schemes/S0-4/package.json loads into a
fresh organisation, twice without change, and a first quarter worked by hand from the article's
rule — 每人每月绩效工资与任务及进度挂钩，实行严罚重奖，按月考核，逐季兑现 — comes out of three
monthly closes and pay runs to the fen.

The package's choices (the article gives neither the amount, "xxx元", nor the scale): 600 元 a
person a month; the month's rate = cumulative new deposits ÷ the cumulative progress target to
that month (outlets 60 / 100 / 150 万元 for January–March, 业务发展部 30 / 50 / 80); below 60 % →
0, 60–80 % → 60 %, 80–100 % → 80 %, 100–120 % → 100 %, 120 % and above → 130 %; the month's
amount is accrued and the quarter's balance paid in its last month.

    person   Jan           Feb            Mar                 accrued           paid in March
    周海燕   75/60 125% 130  110/100 110% 100  150/150 100% 100   780 + 600 + 600   1980.00
    吴国平   45/60  75%  60   85/100  85%  80  170/150 113% 100   360 + 480 + 600   1440.00
    郑丽     30/60  50%   0   55/100  55%   0  100/150  67%  60     0 +   0 + 360    360.00
    冯磊     36/30 120% 130   60/50  120% 130   96/80  120% 130   780 + 780 + 780   2340.00
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import GradingPolicy, Period, Result, SheetLine
from indicators.models import Benchmark, Indicator, Template
from organizations.models import Department, Organization, Person
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PayPolicy, PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S0-4" / "package.json"
D = Decimal
# Each person's cumulative new deposits (万元) at the end of January, February and March.
DEPOSITS: dict[str, tuple[str, str, str]] = {
    "周海燕": ("75", "110", "150"),
    "吴国平": ("45", "85", "170"),
    "郑丽": ("30", "55", "100"),
    "冯磊": ("36", "60", "96"),
}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def load() -> Organization:
    return load_package(_package(), slug="s0-4", name="示例城西支行（S0-4）")


@pytest.fixture
def branch(db: None) -> Organization:
    return load()


def _snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "departments": sorted(Department.objects.values_list("code", "department_type__code")),
            "people": sorted(Person.objects.values_list("employee_no", "name")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "benchmarks": Benchmark.objects.count(),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def _month(org: Organization, number: int) -> Period:
    """Month ``number`` of 2026 with each person's cumulative deposits entered, closed."""
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=number,
                                        templates=[Template.objects.get(code="S04-M")],
                                        grading_policy=GradingPolicy.objects.get(code="S04"))
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        for line in SheetLine.objects.filter(sheet__period=period).select_related("sheet__person"):
            assert line.sheet.person is not None
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 actual=D(DEPOSITS[line.sheet.person.name][number - 1]))
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=org):
        return Period.objects.get(pk=period.pk)


def _results(period: Period) -> dict[str, Result]:
    with scope(organization=period.organization):
        return {r.person.name: r for r in Result.objects.filter(period=period).select_related("person")
                if r.person is not None}


def _pay(period: Period) -> dict[str, PaySlip]:
    with scope(organization=period.organization):
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="月度考核")
        assert run is not None
        return {s.person.name: s for s in PaySlip.objects.filter(run=run).select_related("person")}


def _quarter(org: Organization) -> list[dict[str, PaySlip]]:
    """January to March, each month closed and its pay run computed before the next."""
    return [_pay(_month(org, number)) for number in (1, 2, 3)]


def test_it_loads_the_package_twice_without_change(branch: Organization) -> None:
    before = _snapshot(branch)
    assert load().pk == branch.pk
    assert _snapshot(branch) == before
    assert before["benchmarks"] == 24  # 12 monthly progress targets for the outlets, 12 for 业务发展部


def test_it_takes_the_months_progress_target_for_the_persons_department(branch: Organization) -> None:
    with scope(organization=branch):
        targets = {}
        for number in (1, 3):
            period = _month(branch, number)
            lines = SheetLine.objects.filter(sheet__period=period).select_related("sheet__person")
            targets[number] = {line.sheet.person.name: line.target for line in lines if line.sheet.person is not None}
    assert targets == {
        1: {"周海燕": D("60"), "吴国平": D("60"), "郑丽": D("60"), "冯磊": D("30")},
        3: {"周海燕": D("150"), "吴国平": D("150"), "郑丽": D("150"), "冯磊": D("80")},
    }


def test_it_scores_the_month_by_the_band_of_its_progress_rate(branch: Organization) -> None:
    results = _results(_month(branch, 1))
    assert {name: (r.final_score, r.grade) for name, r in results.items()} == {
        "周海燕": (D("130.00"), "超额"),    # 75 / 60 = 125 % → 120 % and above: 130 %
        "吴国平": (D("60.00"), "基本完成"),  # 45 / 60 = 75 % → 60–80 %: 60 %
        "郑丽": (D("0.00"), "未完成"),       # 30 / 60 = 50 % → below 60 %: nothing
        "冯磊": (D("130.00"), "超额"),       # 36 / 30 = 120 % exactly → the 130 % band
    }


def test_it_accrues_the_first_two_months_without_paying_them(branch: Organization) -> None:
    january, february, _march = _quarter(branch)
    assert {name: (s.amount("quarterly"), s.balances) for name, s in february.items()} == {
        "周海燕": (D("0.00"), {"quarterly": "1380.00"}),  # 600 × 130 % = 780 + 600 × 100 % = 600
        "吴国平": (D("0.00"), {"quarterly": "840.00"}),   # 600 × 60 % = 360 + 600 × 80 % = 480
        "郑丽": (D("0.00"), {"quarterly": "0.00"}),       # 0 + 0
        "冯磊": (D("0.00"), {"quarterly": "1560.00"}),    # 780 + 780
    }
    assert all(slip.total == D("0.00") for slip in january.values())


def test_it_pays_the_quarters_balance_in_march(branch: Organization) -> None:
    march = _quarter(branch)[2]
    assert {name: (s.amount("quarterly"), s.balances) for name, s in march.items()} == {
        "周海燕": (D("1980.00"), {"quarterly": "0.00"}),  # 780 + 600 + 600 (150 / 150 = 100 %)
        "吴国平": (D("1440.00"), {"quarterly": "0.00"}),  # 360 + 480 + 600 (170 / 150 = 113.33 %)
        "郑丽": (D("360.00"), {"quarterly": "0.00"}),     # 0 + 0 + 360 (100 / 150 = 66.67 % → 60 %)
        "冯磊": (D("2340.00"), {"quarterly": "0.00"}),    # 780 × 3 (96 / 80 = 120 %)
    }


def test_it_flags_two_months_in_a_row_below_sixty_percent(branch: Organization) -> None:
    _month(branch, 1)
    february = _month(branch, 2)
    flagged = {name: [(f["rule"], f["outcome"]) for f in r.flags]
               for name, r in _results(february).items() if r.flags}
    assert flagged == {"郑丽": [("two_months_below_60", "interview")]}  # 0 in January and in February
