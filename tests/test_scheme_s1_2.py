"""S1-2 driving-school coaches (seeds/001 篇2) as data: fixtures/schemes/S1-2/package.json loads into a
fresh organisation, twice without change, and two months worked by hand from the article's rules come
out of the close and the pay runs to the fen.

The worked example: November and December 2026 (the year end), group 1 (组长 杨建国 and his coaches
和丽萍, 木春华, 李志强; 李志强 leaves on 10 December). Every coach's base salary is 1,400. Fuel costs
7.50 a litre. Seniority (the package's 工龄参照表): 杨建国 18 years → 200, 和丽萍 10 → 150,
木春华 3 → 60, 李志强 5 → 100.

Monthly sheet (安全行车 40 + 教学纪律与职业道德 60): November 木春华 has an accident (−40 → 60),
李志强 breaks the school's discipline (−10 → 90); December 杨建国 has a valid student complaint (−5 → 95).

                      passed (C / B2)  enrolled  members  YTD car  idle  fuel L  repair
    Nov 杨建国         3 / 0            2         8        38       0     150     200
        和丽萍         4 / 0            1         0        34       0     200     250
        木春华         1 / 1            0         0        20       0     100     100
        李志强         2 / 0            0         0        25       0      80     150
    Dec 杨建国         4 / 0            1         7        42       0     180     320
        和丽萍         6 / 0            0         0        40       0     250     500
        木春华         0 / 0            0         0        21      22      20      30
        李志强         1 / 0            0         0        26       0      40      60
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
from organizations.models import Department, Organization, Person, Team
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PayPolicy, PayRun, PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-2" / "package.json"
D = Decimal
INPUTS = ("passed_C", "passed_B2", "enrolled", "members_passed", "year_car_graduates", "idle_days", "fuel_litres",
          "repair_cost")
MONTHS: dict[int, dict[str, tuple[int, ...]]] = {
    11: {"J001": (3, 0, 2, 8, 38, 0, 150, 200), "J002": (4, 0, 1, 0, 34, 0, 200, 250),
         "J003": (1, 1, 0, 0, 20, 0, 100, 100), "J004": (2, 0, 0, 0, 25, 0, 80, 150)},
    12: {"J001": (4, 0, 1, 7, 42, 0, 180, 320), "J002": (6, 0, 0, 0, 40, 0, 250, 500),
         "J003": (0, 0, 0, 0, 21, 22, 20, 30), "J004": (1, 0, 0, 0, 26, 0, 40, 60)},
}
DEDUCTIONS: dict[int, dict[str, tuple[str, str]]] = {
    11: {"J003": ("SAFETY", "accident"), "J004": ("CONDUCT", "discipline")},
    12: {"J001": ("CONDUCT", "complaint")},
}
GROUP = ("J001", "J002", "J003", "J004")


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def school(db: None) -> Organization:
    return load_package(_package(), slug="s1-2-school", name="安通驾校")


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "teams": Team.objects.count(), "indicators": Indicator.objects.count(),
            "templates": Template.objects.count(), "pay": PayPolicy.objects.count()}


def _month(org: Organization, month: int) -> Period:
    """The month with the package's template, its deductions recorded through the services, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=month,
                                    templates=[Template.objects.get(code="S12-M")],
                                    grading_policy=GradingPolicy.objects.get(code="S12"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period, person__employee_no__in=GROUP).select_related("person"):
        assert sheet.person is not None
        found = DEDUCTIONS[month].get(sheet.person.employee_no)
        if found is None:
            continue
        line = SheetLine.objects.get(sheet=sheet, indicator__code=found[0])
        services.record_deduction(line=line, acting_user=None, item_code=found[1], count=1,
                                  occurred_on=dt.date(2026, month, 5), evidence="总教练检查记录")
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _pay(org: Organization, period: Period) -> PayRun:
    """The month's inputs: group 1 as in the table, group 2 (not asserted) all nought."""
    idle = {number: (0,) * len(INPUTS) for number in ("J005", "J006")}
    for number, values in {**MONTHS[period.number], **idle}.items():
        person = Person.objects.get(employee_no=number)
        named = {**{name: D(value) for name, value in zip(INPUTS, values, strict=True)},
                 "passed_A3": D(0), "passed_A1": D(0), "fuel_price": D("7.50")}
        for name, value in named.items():
            pay_services.save_pay_input(organization=org, acting_user=None, period=period, name=name,
                                        person=person, value=value)
    run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None
    return run


def _slips(run: PayRun) -> dict[str, PaySlip]:
    return {slip.person.employee_no: slip for slip in PaySlip.objects.filter(run=run).select_related("person")
            if slip.person.employee_no in GROUP}


def _lines(slip: PaySlip) -> dict[str, Decimal]:
    return {line["code"]: D(line["amount"]) for line in slip.lines if line["paid"]}


def _two_months(org: Organization) -> tuple[dict[str, PaySlip], dict[str, PaySlip]]:
    with scope(organization=org):
        november = _slips(_pay(org, _month(org, 11)))
        december = _slips(_pay(org, _month(org, 12)))
    return november, december


def _number(result: Result) -> str:
    assert result.person is not None
    return result.person.employee_no


def test_it_loads_twice_without_change(school: Organization) -> None:
    with scope(organization=school):
        before = _counts()
    load_package(_package(), slug="s1-2-school", name="安通驾校")
    with scope(organization=school):
        assert _counts() == before == {"people": 6, "departments": 2, "teams": 2, "indicators": 2, "templates": 1,
                                       "pay": 1}


def test_it_scores_and_grades_the_months_by_hand(school: Organization) -> None:
    with scope(organization=school):
        results = {}
        for month in (11, 12):
            period = _month(school, month)
            results[month] = {_number(r): (r.final_score, r.grade) for r in
                              Result.objects.filter(period=period, person__employee_no__in=GROUP)
                              .select_related("person")}
    assert results[11] == {"J001": (D("100.00"), "达标"), "J002": (D("100.00"), "达标"),
                           "J003": (D("60.00"), "扣分"),    # accident: 40 − 40 + 60
                           "J004": (D("90.00"), "扣分")}    # discipline: 40 + 60 − 10
    assert results[12] == {"J001": (D("95.00"), "扣分"),    # complaint: 40 + 60 − 5
                           "J002": (D("100.00"), "达标"), "J003": (D("100.00"), "达标"),
                           "J004": (D("100.00"), "达标")}


def test_it_pays_november_by_hand(school: Organization) -> None:
    with scope(organization=school):
        november = _slips(_pay(school, _month(school, 11)))
    assert {number: _lines(slip) for number, slip in november.items()} == {
        "J001": {"base": D("1400.00"), "hold": D("-400.00"), "seniority": D("200.00"),
                 "commission": D("1800.00"),       # 3 × 600
                 "enrolment": D("400.00"),         # 2 × 200
                 "overtarget": D("0.00"),          # not the year end
                 "safety": D("0.00"),              # 300 accrued, paid at the year end
                 "leader": D("160.00"),            # members 4 + 2 + 2 = 8 × 20 (no accident, no deduction)
                 "fuel": D("-112.50"),             # quota 3 × 45 = 135 L, used 150: −15 × 7.50
                 "repair": D("32.00")},            # quota 3 × 80 = 240, spent 200: 40 × 80 %
        "J002": {"base": D("1400.00"), "hold": D("-400.00"), "seniority": D("150.00"),
                 "commission": D("2400.00"), "enrolment": D("200.00"), "overtarget": D("0.00"),
                 "safety": D("0.00"), "leader": D("0.00"),
                 "fuel": D("-150.00"),             # quota 180 L, used 200: −20 × 7.50
                 "repair": D("56.00")},            # quota 320, spent 250: 70 × 80 %
        "J003": {"base": D("1400.00"), "hold": D("-400.00"), "seniority": D("60.00"),
                 "commission": D("1600.00"),       # C 600 + B2 1000
                 "enrolment": D("0.00"), "overtarget": D("0.00"),
                 "safety": D("0.00"),              # accident: nothing accrued this month
                 "leader": D("0.00"),
                 "fuel": D("-75.00"),              # quota 2 × 45 = 90 L, used 100: −10 × 7.50
                 "repair": D("48.00")},            # quota 160, spent 100: 60 × 80 %
        "J004": {"base": D("1400.00"), "hold": D("-400.00"), "seniority": D("100.00"),
                 "commission": D("1200.00"), "enrolment": D("0.00"), "overtarget": D("0.00"),
                 "safety": D("0.00"), "leader": D("0.00"),
                 "fuel": D("60.00"),               # quota 90 L, used 80: 10 × 7.50 × 80 %
                 "repair": D("8.00")},             # quota 160, spent 150: 10 × 80 %
    }
    assert {number: slip.total for number, slip in november.items()} == {
        "J001": D("3479.50"), "J002": D("3656.00"), "J003": D("2633.00"), "J004": D("2368.00")}
    assert {number: slip.balances for number, slip in november.items()} == {
        "J001": {"hold": "400.00", "safety": "300.00"}, "J002": {"hold": "400.00", "safety": "300.00"},
        "J003": {"hold": "400.00", "safety": "0.00"}, "J004": {"hold": "400.00", "safety": "300.00"}}


def test_it_settles_the_year_end_and_the_leaver_by_hand(school: Organization) -> None:
    _november, december = _two_months(school)
    assert {number: _lines(slip) for number, slip in december.items()} == {
        # Target met (42 ≥ 30): the withheld 400 + 400 released, less December's 400 withheld.
        # 42 − 30 = 12 over target, above 10: every one of them at +500. Safety 300 + 300 paid.
        # The complaint costs the group leader his December allowance (7 × 20 not paid).
        "J001": {"base": D("1400.00"), "hold": D("400.00"), "seniority": D("200.00"),
                 "commission": D("2400.00"), "enrolment": D("200.00"), "overtarget": D("6000.00"),
                 "safety": D("600.00"), "leader": D("0.00"),
                 "fuel": D("0.00"),                # quota 4 × 45 = 180 L, used 180
                 "repair": D("0.00")},             # quota 320, spent 320
        # 40 − 30 = 10 over target: "0~10人(含10人)", each at +300.
        "J002": {"base": D("1400.00"), "hold": D("400.00"), "seniority": D("150.00"),
                 "commission": D("3600.00"), "enrolment": D("0.00"), "overtarget": D("3000.00"),
                 "safety": D("600.00"), "leader": D("0.00"),
                 "fuel": D("120.00"),              # quota 270 L, used 250: 20 × 7.50 × 80 %
                 "repair": D("-20.00")},           # quota 480, spent 500
        # Target missed (21 < 30): the 800 withheld is forfeited, December's 400 withheld with it.
        # 22 idle days: no safety accrual; November's was lost to the accident: nothing to pay.
        "J003": {"base": D("1400.00"), "hold": D("-400.00"), "seniority": D("60.00"),
                 "commission": D("0.00"), "enrolment": D("0.00"), "overtarget": D("0.00"),
                 "safety": D("0.00"), "leader": D("0.00"),
                 "fuel": D("-150.00"),             # no graduate, quota 0: −20 × 7.50
                 "repair": D("-30.00")},
        # Leaves on 10 December: 10 of 31 days. Base 1400 × 10 / 31 = 451.61; withheld 400 × 10 / 31
        # = 129.03 and forfeited with the 400 before; seniority 100 × 10 / 31 = 32.26; safety 600 lost.
        "J004": {"base": D("451.61"), "hold": D("-129.03"), "seniority": D("32.26"),
                 "commission": D("600.00"), "enrolment": D("0.00"), "overtarget": D("0.00"),
                 "safety": D("0.00"), "leader": D("0.00"),
                 "fuel": D("30.00"),               # quota 45 L, used 40: 5 × 7.50 × 80 %
                 "repair": D("16.00")},            # quota 80, spent 60: 20 × 80 %
    }
    assert {number: slip.total for number, slip in december.items()} == {
        "J001": D("11200.00"), "J002": D("9250.00"), "J003": D("880.00"), "J004": D("1000.84")}
    assert {number: slip.balances for number, slip in december.items()} == {
        number: {"hold": "0.00", "safety": "0.00"} for number in GROUP}
