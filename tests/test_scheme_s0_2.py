"""S0-2 热电二厂 (seeds/000 第2篇) as data: fixtures/schemes/S0-2/package.json loads into a fresh
organisation, twice without change, and a month worked by hand from the article's rules comes out
of the close and the pay run to the fen.

The worked month: 2026年12月 (2026-11-26 — 2026-12-25, the article's 26th-to-25th period), in the
heating season, so the benchmarks limited to months 11–3 apply. Only 运行一值 (GEN-1), 发电运行分场
(GEN) and 人力资源部 (HR) are assessed with their people; every other sheet is marked 免考 (exempt),
which keeps the hand computation to three sheets.

运行一值 (template SHIFT: base 110, the 29 Class-II KPIs, score = full marks × completion rate,
rounded once at the end). 25 KPIs are exactly at their benchmark (full marks, 78 points); four are
not:

    锅炉效率  (higher)  6 × 90.16 / 92.00 (heating)  = 6 × 0.98            = 5.88
    排烟温度  (lower)   5 × 130 (heating) / 125      = 5 × 1.04            = 5.20
    热耗率    (lower)   6 × 8900 / 9000              = 6 × 0.988888…       = 5.933333…
    热值差    (lower)   5 × 420 / 525                = 5 × 0.8             = 4.00
    Σ = 78 + 5.88 + 5.20 + 5.933333… + 4.00 = 99.013333…
    score = 110 × 99.013333… / 100 = 108.914666… → 108.91

发电运行分场 (template D-GEN: base 110; parts weighted 0.3 / 0.15 / 0.25 / 0.15 / 0.15, the indicator
parts adding up to the article's 0.7):

    生产技术 (Class I)   供电煤耗 30 × 305 (heating) / 310 = 29.516129…, the six others at benchmark 70
                         → 99.516129…
    财务                 供电单位成本 (267.50 − 265) × 36000 MWh = 90000 元 = 9 万元 → 50 − 9 = 41
                         售热单位成本 (47.20 − 48) × 250000 GJ = −200000 元 = −20 万元 → 50 + 20 = 70,
                         capped at 120 % of 50 = 60                                → 41 + 60 = 101
    管理                 点火耗油量 3 t over plan × 2 = −6, 操作票 2 bad × 1 = −2 → 100 − 8 = 92
    职能                 人力资源部: 考勤 1 × 2; 安监部: 习惯性违章 2 × 3 → 100 − 8 = 92
    过程控制             生产技术部 (专业相近部室) gives 95                         → 95
    score = 110 × (0.3 × 0.99516129… + 0.15 × 1.01 + 0.25 × 0.92 + 0.15 × 0.92 + 0.15 × 0.95)
          = 110 × (0.298548387… + 0.1515 + 0.23 + 0.138 + 0.1425) = 110 × 0.960548387… = 105.660322… → 105.66

人力资源部 (template D-HR: base 100, 职能 0.5 + 过程控制 0.5 — the article's "0.8–1" for 机关后勤):

    职能      综合部: 职能检查履职不到位 1 × 5 → 95
    过程控制  综合部 gives 90
    score = 100 × (0.5 × 0.95 + 0.5 × 0.90) = 92.50

Grades (the package's scale: A ≥ 105, B ≥ 95, C ≥ 85, D below): 运行一值 A, 发电运行分场 A, 人力资源部 C;
the people score 100 on their own discipline line (nothing recorded) → B.

Pay (业绩工资 = 基数 by 薪档 × the unit's score / 100; a shift's people by the shift, the others by
their department):

    李国栋 运行一值 P5  3000 × 108.91 / 100 = 3267.30
    王磊   运行一值 P4  2400 × 108.91 / 100 = 2613.84
    赵静   运行一值 P3  2000 × 108.91 / 100 = 2178.20
    张海涛 发电运行分场 P7 4000 × 105.66 / 100 = 4226.40
    孙伟   人力资源部 P7  4000 × 92.50 / 100 = 3700.00
    周敏   人力资源部 P4  2400 × 92.50 / 100 = 2220.00
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import GradingPolicy, Period, Rater, Result, Sheet, SheetLine
from indicators.models import Indicator, Template
from organizations import services as org_services
from organizations.models import Department, Organization, Person, Team, User
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S0-2" / "package.json"
D = Decimal
SLUG, NAME = "rd2", "石家庄东方热电股份公司热电二厂"
ASSESSED_UNITS = {"GEN-1", "GEN", "HR"}  # everyone else's sheet is exempt in the worked month
ASSESSED_PEOPLE = {"E001", "E004", "E005", "E011", "E012", "E013"}
# 运行一值's actuals that differ from the benchmark (every other Class-II KPI is at it).
SHIFT_ACTUALS = {"K2-B01": "90.16", "K2-B02": "125", "K2-T07": "9000", "K2-F01": "525"}
# 发电运行分场's data lines that differ from the benchmark: (actual, inputs).
GEN_ACTUALS: dict[str, tuple[str, dict[str, str]]] = {
    "K1-COAL-P": ("310", {}),
    "C-PWR-COST": ("267.50", {"volume": "36000"}),
    "C-HEAT-COST": ("47.20", {"volume": "250000"}),
}
DAY = dt.date(2026, 12, 10)


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def plant(db: None) -> Organization:
    org = load_package(_package(), slug=SLUG, name=NAME)
    # The package carries no accounts. The heads of 生产技术部, 综合部, 人力资源部 and 设备维护分场 need
    # one: they score the other departments' process control (过程控制, the templates' second-line
    # raters: 专业相近部室).
    with scope(organization=org):
        for username, number, department in (("liuzhenhua", "E002", "TECH"), ("chenli", "E003", "GENERAL"),
                                             ("sunwei", "E004", "HR"), ("wangzhigang", "E007", "MNT")):
            user = User.objects.create(username=username, display_name=username)
            org_services.create_membership(organization=org, acting_user=None, user=user,
                                           person=Person.objects.get(employee_no=number),
                                           headed_departments=[Department.objects.get(code=department)])
    return org


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "teams": Team.objects.count(), "indicators": Indicator.objects.count(),
            "templates": Template.objects.count(), "policies": GradingPolicy.objects.count()}


def _assessed(sheet: Sheet) -> bool:
    if sheet.person is not None:
        return sheet.person.employee_no in ASSESSED_PEOPLE
    unit = sheet.team or sheet.department
    return unit is not None and unit.code in ASSESSED_UNITS


def _month(org: Organization, assessed: Callable[[Sheet], bool] = _assessed,
           enter: Callable[[Period], None] | None = None) -> Period:
    """December 2026 with every template of the package, the sheets not ``assessed`` exempt, the
    entries (by default those of the worked month) made through the services, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2026, number=12,
                                    start_day=26, templates=list(Template.objects.all()),
                                    grading_policy=GradingPolicy.objects.get(code="RD2"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person", "team", "department"):
        if not assessed(sheet):
            services.set_special_status(sheet=sheet, status="exempt", reason="本例不考核", acting_user=None)
    (enter or _worked_month)(Period.objects.get(pk=period.pk))
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _worked_month(period: Period) -> None:
    _shift(period)
    _generation(period)
    _human_resources(period)


def _lines(period: Period, **subject: Any) -> dict[str, SheetLine]:
    return {line.indicator.code: line
            for line in SheetLine.objects.filter(sheet__period=period, **subject).select_related("indicator")}


def _enter(line: SheetLine, actual: str | D, inputs: dict[str, str] | None = None) -> None:
    changes: dict[str, Any] = {"actual": D(actual)}
    if inputs:
        changes["inputs"] = inputs
    services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, **changes)


def _shift(period: Period) -> None:
    for code, line in _lines(period, sheet__team__code="GEN-1").items():
        assert line.target is not None  # every Class-II KPI has its benchmark
        _enter(line, SHIFT_ACTUALS.get(code, line.target))


def _generation(period: Period) -> None:
    lines = _lines(period, sheet__department__code="GEN")
    for code, line in lines.items():
        if line.indicator.method == "completion":
            assert line.target is not None  # every Class-I KPI has its benchmark
            _enter(line, GEN_ACTUALS[code][0] if code in GEN_ACTUALS else line.target)
        elif code in GEN_ACTUALS:
            actual, inputs = GEN_ACTUALS[code]
            _enter(line, actual, inputs)
    _record(lines["M-GEN-OIL"], "over", 3, "GEN")
    _record(lines["M-GEN-TICKET"], "bad", 2, "GEN")
    _record(lines["FUNC-CHECK"], "attendance", 1, "HR")
    _record(lines["FUNC-CHECK"], "habitual", 2, "SAFETY")
    _rate(lines["PROC"], "95")


def _human_resources(period: Period) -> None:
    lines = _lines(period, sheet__department__code="HR")
    _record(lines["FUNC-CHECK"], "duty", 1, "GENERAL")
    _rate(lines["PROC"], "90")


def _record(line: SheetLine, item: str, count: int, by: str) -> None:
    services.record_deduction(line=line, acting_user=None, item_code=item, count=count, occurred_on=DAY,
                              evidence="周检记录", recorder_department=Department.objects.get(code=by))


def _rate(line: SheetLine, score: str) -> None:
    rater = Rater.objects.get(sheet_id=line.sheet_id)  # the head of the 专业相近部室
    services.rate_line(line=line, rater=rater, acting_user=None, actual=D(score))


def _unit(period: Period, code: str) -> Result:
    results = Result.objects.filter(period=period, person__isnull=True).select_related("sheet__team",
                                                                                       "sheet__department")
    return next(r for r in results if getattr(r.sheet.team or r.sheet.department, "code", None) == code)


def test_it_loads_twice_without_change(plant: Organization) -> None:
    with scope(organization=plant):
        before = _counts()
    load_package(_package(), slug=SLUG, name=NAME)
    with scope(organization=plant):
        # 7 Class I + 29 Class II + 10 financial + 26 management + 职能检查 + 过程控制 + 个人纪律 = 75
        assert _counts() == before == {"people": 15, "departments": 7, "teams": 4, "indicators": 75,
                                       "templates": 9, "policies": 1}


def test_it_builds_the_kpi_tree(plant: Organization) -> None:
    """Each of the 7 Class-I KPIs is decomposed into Class-II KPIs; the 29 of them are the shift
    template's lines, their full marks (the weights) adding up to 100."""
    with scope(organization=plant):
        class_one = Indicator.objects.filter(dimension="Ⅰ类KPI")
        children = {i.code: i.children.count() for i in class_one}
        shift = Template.objects.get(code="SHIFT")
        lines = [line for part in shift.parts.all() for line in part.lines.select_related("indicator__parent")]
    assert len(children) == 7 and all(children.values()) and sum(children.values()) == 29
    parents = [line.indicator.parent for line in lines]
    assert len(lines) == 29 and all(p is not None and p.dimension == "Ⅰ类KPI" for p in parents)
    assert sum(line.max_points for line in lines) == 100


def test_it_scores_a_shift_on_its_class_ii_kpis_against_the_heating_benchmarks(plant: Organization) -> None:
    with scope(organization=plant):
        period = _month(plant)
        shift = _unit(period, "GEN-1")
    assert (shift.final_score, shift.grade) == (D("108.91"), "A")  # 110 × 99.013333…/100


def test_it_weights_the_generation_departments_parts_on_its_base_of_110(plant: Organization) -> None:
    with scope(organization=plant):
        period = _month(plant)
        generation = _unit(period, "GEN")
    assert (generation.final_score, generation.grade) == (D("105.66"), "A")  # 110 × 0.960548387…


def test_it_scores_a_back_office_department_on_functional_checks_and_process_control(plant: Organization) -> None:
    with scope(organization=plant):
        period = _month(plant)
        hr = _unit(period, "HR")
    assert (hr.final_score, hr.grade) == (D("92.50"), "C")  # 100 × (0.5 × 0.95 + 0.5 × 0.90)


def test_it_pays_each_person_the_score_of_their_shift_or_department_over_100(plant: Organization) -> None:
    with scope(organization=plant):
        period = _month(plant)
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert run is not None
        paid = {s.person.name: s.amount("perf") for s in PaySlip.objects.filter(run=run).select_related("person")}
    assert paid == {
        "李国栋": D("3267.30"),  # 3000 × 108.91 / 100 (运行一值)
        "王磊": D("2613.84"),  # 2400 × 108.91 / 100
        "赵静": D("2178.20"),  # 2000 × 108.91 / 100
        "张海涛": D("4226.40"),  # 4000 × 105.66 / 100 (发电运行分场)
        "孙伟": D("3700.00"),  # 4000 × 92.50 / 100 (人力资源部)
        "周敏": D("2220.00"),  # 2400 × 92.50 / 100
    }


# The bottom-3 month: every department assessed, nothing recorded, every data line at its benchmark
# (the financial lines with any volume: no cost impact), so each department's score is set by the
# process-control score its 专业相近部室 gives:
#
#   发电运行分场  110 × (0.3 + 0.15 + 0.25 + 0.15 + 0.15 × 1.00)      = 110.00
#   设备维护分场  100 × (0.3 + 0.4 + 0.15 + 0.15 × 0.96)              =  99.40
#   燃料部        100 × (0.35 + 0.35 + 0.15 + 0.15 × 0.90)            =  98.50
#   安监部        100 × (0.5 + 0.5 × 0.92)                            =  96.00
#   生产技术部    100 × (0.05 + 0.15 + 0.4 + 0.4 × 0.88)              =  95.20
#   综合部        100 × (0.05 + 0.15 + 0.4 + 0.4 × 0.85)              =  94.00
#   人力资源部    100 × (0.5 + 0.5 × 0.80)                            =  90.00
#
# The last three (生产技术部, 综合部, 人力资源部) cannot be 先进集体 (rule bottom3, outcome no_award).
PROCESS = {"GEN": "100", "MNT": "96", "FUEL": "90", "SAFETY": "92", "TECH": "88", "GENERAL": "85", "HR": "80"}


def _departments_only(sheet: Sheet) -> bool:
    return sheet.department is not None


def _every_department(period: Period) -> None:
    for code, score in PROCESS.items():
        for line in _lines(period, sheet__department__code=code).values():
            if line.indicator.code == "PROC":
                _rate(line, score)
            elif line.indicator.method != "deduction":
                assert line.target is not None
                _enter(line, line.target, {"volume": "1000"} if line.indicator.method == "formula" else None)


def test_it_keeps_the_bottom_three_departments_from_being_advanced(plant: Organization) -> None:
    with scope(organization=plant):
        period = _month(plant, _departments_only, _every_department)
        results = Result.objects.filter(period=period, sheet__department__isnull=False).select_related(
            "sheet__department")
        scores = {r.sheet.department.code: str(r.final_score) for r in results if r.sheet.department}
        flagged = {r.sheet.department.code for r in results if r.sheet.department
                   and any(f.get("rule") == "bottom3" and f.get("outcome") == "no_award" for f in r.flags)}
    assert scores == {"GEN": "110.00", "MNT": "99.40", "FUEL": "98.50", "SAFETY": "96.00", "TECH": "95.20",
                      "GENERAL": "94.00", "HR": "90.00"}
    assert flagged == {"TECH", "GENERAL", "HR"}
