"""S0-5 哈医大附一院 (seed 000, 范文第5篇) as data: fixtures/schemes/S0-5/package.json loads into a
fresh organisation, twice without change, and three quarters of satisfaction surveys plus a year
of energy-saving targets, worked by hand from the article's rules, come out of the closes and the
pay run to the fen.

The article's rules used below: the support departments' service is surveyed among medical staff
and patients on 服务态度, 服务质量, 服务及时性, 服务时间安排, 人员配置; the results are published on
the intranet; **three consecutive satisfaction scores below 80** → the head is held accountable;
departments over their energy-saving targets → 诫勉谈话 or an economic penalty for the head.

The package's choices: a survey each quarter; the five items weighted 30 / 25 / 20 / 15 / 10, each
the survey's average (0–100) scaled to its weight; 满意 ≥ 90, 基本满意 ≥ 80, 不满意 below; energy
targets assessed yearly, each of six targets exceeded costs 10 points and 200 元.

    department  quarter  ATT×0.30 + QUA×0.25 + TIM×0.20 + HRS×0.15 + STF×0.10   score
    总务处      Q1       78 → 23.40, 80 → 20.00, 75 → 15.00, 82 → 12.30, 80 → 8.00  78.70
                Q2       76 → 22.80, 79 → 19.75, 78 → 15.60, 80 → 12.00, 75 → 7.50  77.65
                Q3       80 → 24.00, 78 → 19.50, 76 → 15.20, 79 → 11.85, 80 → 8.00  78.55 → 3rd below 80
    保卫处      Q1–Q3    79 / 85 / 78 on every item                                  79.00, 85.00, 78.00
    设备处      each     92 → 27.60, 90 → 22.50, 88 → 17.60, 85 → 12.75, 90 → 9.00  89.45
    信息中心    each     95 on every item                                           95.00
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

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S0-5" / "package.json"
D = Decimal
ITEMS = ("SAT_ATT", "SAT_QUA", "SAT_TIM", "SAT_HRS", "SAT_STF")
# Each department's survey averages (the five items in ITEMS order), quarter by quarter.
SURVEYS: dict[str, list[tuple[str, ...]]] = {
    "ZWC": [("78", "80", "75", "82", "80"), ("76", "79", "78", "80", "75"), ("80", "78", "76", "79", "80")],
    "BWC": [("79",) * 5, ("85",) * 5, ("78",) * 5],
    "SBC": [("92", "90", "88", "85", "90")] * 3,
    "XXZX": [("95",) * 5] * 3,
}
# The year's energy targets exceeded, by head of department (employee number).
OVER: dict[str, list[str]] = {"H001": ["power", "water"], "H003": ["vehicle"], "H004": [], "H005": []}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def load() -> Organization:
    return load_package(_package(), slug="s0-5", name="示例哈医大附一院（S0-5）")


@pytest.fixture
def hospital(db: None) -> Organization:
    return load()


def _snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "departments": sorted(Department.objects.values_list("code", "department_type__code", "inspects_others")),
            "people": sorted(Person.objects.values_list("employee_no", "name")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def _open(org: Organization, kind: str, number: int, code: str) -> Period:
    period = services.create_period(organization=org, acting_user=None, kind=kind, year=2026, number=number,
                                    templates=[Template.objects.get(code=code)],
                                    grading_policy=GradingPolicy.objects.get(code=code))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    return Period.objects.get(pk=period.pk)


def _finish(period: Period) -> Period:
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _survey(org: Organization, number: int) -> Period:
    """Quarter ``number`` of 2026: each support department's survey averages entered, closed."""
    with scope(organization=org):
        period = _open(org, "quarterly", number, "S05-SAT")
        for line in SheetLine.objects.filter(sheet__period=period).select_related("sheet__department", "indicator"):
            assert line.sheet.department is not None
            value = SURVEYS[line.sheet.department.code][number - 1][ITEMS.index(line.indicator.code)]
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, actual=D(value))
        return _finish(period)


def _energy_year(org: Organization) -> Period:
    """2026's energy-saving targets: each target exceeded recorded by 经管办 with its evidence, closed."""
    with scope(organization=org):
        period = _open(org, "annual", 1, "S05-EN")
        recorder = Department.objects.get(code="JGB")
        for sheet in Sheet.objects.filter(period=period).select_related("person"):
            assert sheet.person is not None
            line = SheetLine.objects.get(sheet=sheet, indicator__code="ENERGY")
            for item in OVER[sheet.person.employee_no]:
                services.record_deduction(line=line, acting_user=None, item_code=item, count=1,
                                          occurred_on=dt.date(2026, 12, 20), evidence="年度能耗计量与财务台账",
                                          recorder_department=recorder)
        return _finish(period)


def _departments(period: Period) -> dict[str, Result]:
    with scope(organization=period.organization):
        return {r.sheet.department.code: r for r in Result.objects.filter(period=period).select_related(
            "sheet__department") if r.sheet.department is not None}


def test_it_loads_the_package_twice_without_change(hospital: Organization) -> None:
    before = _snapshot(hospital)
    assert load().pk == hospital.pk
    assert _snapshot(hospital) == before
    assert before["templates"] == [("S05-EN", 1), ("S05-SAT", 1)]


def test_it_surveys_only_the_support_departments(hospital: Organization) -> None:
    # 血液内科 (clinical) and 经管办, which runs the survey, are not surveyed.
    assert sorted(_departments(_survey(hospital, 1))) == ["BWC", "SBC", "XXZX", "ZWC"]


def test_it_weights_the_five_survey_items(hospital: Organization) -> None:
    results = _departments(_survey(hospital, 1))
    assert {code: (r.final_score, r.grade) for code, r in results.items()} == {
        "ZWC": (D("78.70"), "不满意"),    # 23.40 + 20.00 + 15.00 + 12.30 + 8.00
        "BWC": (D("79.00"), "不满意"),
        "SBC": (D("89.45"), "基本满意"),  # 27.60 + 22.50 + 17.60 + 12.75 + 9.00
        "XXZX": (D("95.00"), "满意"),
    }


def test_it_holds_the_head_accountable_after_three_surveys_below_80(hospital: Organization) -> None:
    _survey(hospital, 1)
    _survey(hospital, 2)
    third = _survey(hospital, 3)
    results = _departments(third)
    assert (results["ZWC"].final_score, results["BWC"].final_score) == (D("78.55"), D("78.00"))
    flagged = {code: [(f["rule"], f["outcome"]) for f in r.flags] for code, r in results.items() if r.flags}
    # 总务处 78.70, 77.65, 78.55: three in a row. 保卫处 79.00, 85.00, 78.00: the 85 breaks the run.
    assert flagged == {"ZWC": [("three_below_80", "accountability")]}


def test_it_admonishes_the_heads_over_their_energy_targets(hospital: Organization) -> None:
    period = _energy_year(hospital)
    with scope(organization=hospital):
        results = {r.person.name: r for r in Result.objects.filter(period=period).select_related("person")
                   if r.person is not None}
    assert {name: (r.final_score, r.grade) for name, r in results.items()} == {
        "王振海": (D("80.00"), "超标"),   # power and water: 100 − 10 × 2
        "张宏伟": (D("90.00"), "超标"),   # vehicles: 100 − 10
        "刘国庆": (D("100.00"), "达标"),
        "赵雪": (D("100.00"), "达标"),
    }
    assert {name for name, r in results.items() if any(f["outcome"] == "admonition" for f in r.flags)} == {
        "王振海", "张宏伟"}


def test_it_fines_the_heads_200_for_each_target_exceeded(hospital: Organization) -> None:
    period = _energy_year(hospital)
    with scope(organization=hospital):
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="节能减排年度考核")
        assert run is not None
        fines = {s.person.name: s.amount("energy_fine") for s in PaySlip.objects.filter(run=run).select_related(
            "person")}
    assert fines == {"王振海": D("-400.00"), "张宏伟": D("-200.00"), "刘国庆": D("0.00"), "赵雪": D("0.00")}
