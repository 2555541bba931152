"""S1-8 支行内部绩效工资考核分配方案 (seed 001, 篇8) as data: fixtures/schemes/S1-8/package.json
loads into a fresh organisation, twice without change, and a quarter worked by hand from the
article's rules comes out of the close and the pay run to the fen.

The article's rules used below:

* 百分制, per department, not per person (第三条); four classes of indicators weighted by
  department type (第十条–第二十二条): 分理处 business 40 (对公存款 15, 储蓄存款 20, 中间业务 5) and
  other 60 (安全保卫 25, 内部管理 25, 服务质量 10); 业务发展类科室 定性 40 (25 / 10 / 5) and 定量 60
  (存款 15, 贷款 15, 资产质量 15, 收息率 10, 其它 5); 业务支持类 15 / 20 / 5 / 其它 5 and 本职工作 55;
  业务保障类 15 / 20 / 5 and 本职工作 60;
* quantities against a baseline of the third quarter's ten-day averages (第四条): the baseline
  is the mean of the nine 旬 averages entered as tenday_1 … tenday_9; rate = actual ÷ baseline,
  capped at 120 % (the package's choice);
* 安全保卫: the positive score may not exceed the indicator's weight, a failed check may go
  negative and eat into the other indicators (第八条);
* 服务质量: the parent bank's penalty is added to this scheme's own deductions (第九条).

The package's choices: the deduction items and their points, the grade bands (优秀 ≥ 95, 良好 ≥ 85,
合格 ≥ 70, 不合格), and pay = monthly base by level × months × department score ÷ 100 × the
person's own (department-internal) score ÷ 100.

The worked quarter, 2026 Q1 (个金金融业务科, 技术保障科 and 保卫科 are not part of it: exempt):

    城关分理处 FLC   business: 对公 15 × 5400/5000 = 16.20; 储蓄 20 × 7600/8000 = 19.00;
                     中间业务 5 × 50/40 = 125 % → capped 120 % = 6.00                     → 41.20
                     security: 25 − (accident 20 + vault 5 × 2) = −5.00 (no floor)          → −5.00
                     management: 25 − report 1 × 3 = 22.00; service: 10 − complaint 3 − parent bank 2 = 5.00
                     total 41.20 − 5.00 + 22.00 + 5.00 = 63.20 → 不合格, flagged (security below 0)
    东街储蓄所 CXS   business: 储蓄 35 × 6300/6000 = 36.75; 中间业务 5 × 19/20 = 4.75       → 41.50
                     security: 25 + counterfeit 2 = 27 → capped at 25; management 25; service 10
                     total 41.50 + 25 + 25 + 10 = 101.50 → 优秀
    公司业务科 GSK   management 25 − archive 1 × 2 = 23; service 10; security 5;
                     存款 15 × 21000/20000 = 15.75; 贷款 15 × 11400/12000 = 14.25;
                     资产质量 (lower is better) 15 × 800/1000 = 12.00; 收息率 10 × 93.1/95 = 9.80;
                     其它 "较好" 80 % × 5 = 4.00 → total 23 + 10 + 5 + 55.80 = 93.80 → 良好
    计财结算科 JCK   management 15 − accounting 2 = 13; service 20; security 5 − check 2 = 3;
                     其它 "好" 5; 本职工作 55 × 90 % = 49.50 → total 90.50 → 良好
    办公室 BGS       management 15; service 20 − standard 1 × 2 = 18; security 5; 本职工作 60 × 85 % = 51
                     → total 89.00 → 良好
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
from organizations.models import Department, DepartmentType, Organization, Person
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PayPolicy, PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-8" / "package.json"
D = Decimal
EXEMPT = ("GJK", "JBK", "BWK")  # not part of the worked quarter (no sample people there)


def tendays(*values: int) -> dict[str, str]:
    """The third quarter's nine ten-day (旬) averages, the baseline's inputs."""
    assert len(values) == 9
    return {f"tenday_{n}": str(v) for n, v in enumerate(values, start=1)}


# Per department: indicator → (actual, inputs) for data lines, a rating, or deductions (item, count).
DATA: dict[str, dict[str, Any]] = {
    "FLC": {
        "CORP_DEP": ("5400", tendays(4800, 4900, 5000, 5100, 5200, 4950, 5050, 5000, 5000)),  # mean 5000
        "SAV_DEP": ("7600", tendays(7800, 8200, 7900, 8100, 8000, 8000, 8000, 8000, 8000)),  # mean 8000
        "MID": ("50", tendays(36, 38, 40, 42, 44, 40, 40, 40, 40)),  # mean 40
        "SEC": [("accident", 1), ("vault", 2)],
        "MGMT": [("report", 3)],
        "SVC": [("complaint", 1)],
        "SVC_UP": ("2", None),
    },
    "CXS": {
        "SAV_DEP": ("6300", tendays(5800, 5900, 6000, 6100, 6200, 6000, 6000, 6000, 6000)),  # mean 6000
        "MID": ("19", tendays(20, 20, 20, 20, 20, 20, 20, 20, 20)),
        "SEC_AWARD": [("counterfeit", 1)],
        "SVC_UP": ("0", None),
    },
    "GSK": {
        "MGMT": [("archive", 2)],
        "SVC_UP": ("0", None),
        "DEP_ALL": ("21000", tendays(*[20000] * 9)),
        "LOAN": ("11400", tendays(*[12000] * 9)),
        "ASSET": ("1000", None),
        "INTEREST": ("93.1", None),
        "NEWBIZ": "较好",
    },
    "JCK": {
        "MGMT": [("accounting", 1)],
        "SEC": [("check", 1)],
        "SVC_UP": ("0", None),
        "OTHER_Q": "好",
        "DUTY": ("90", None),
    },
    "BGS": {
        "SVC": [("standard", 2)],
        "SVC_UP": ("0", None),
        "DUTY": ("85", None),
    },
}
# Each person's score in their department's own appraisal (部门内部考核).
INNER = {"ZN001": "100", "ZN002": "95", "ZN003": "100", "ZN004": "98", "ZN005": "96", "ZN006": "90",
         "ZN007": "100", "ZN008": "92"}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def load() -> Organization:
    return load_package(_package(), slug="s1-8", name="示例城南支行（S1-8）")


@pytest.fixture
def bank(db: None) -> Organization:
    return load()


def _snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "types": sorted(DepartmentType.objects.values_list("code", flat=True)),
            "departments": sorted(Department.objects.values_list("code", "department_type__code", "inspects_others")),
            "people": sorted(Person.objects.values_list("employee_no", "name")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def _enter(sheet: Sheet, entries: dict[str, Any]) -> None:
    lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=sheet).select_related("indicator")}
    for code, entry in entries.items():
        line = lines[code]
        if isinstance(entry, str):
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, rating=entry)
        elif isinstance(entry, list):
            for item, count in entry:
                services.record_deduction(line=line, acting_user=None, item_code=item, count=count,
                                          occurred_on=dt.date(2026, 2, 10), evidence="保卫科／办公室检查记录")
        else:
            actual, inputs = entry
            changes: dict[str, Any] = {"actual": D(actual)}
            if inputs:
                changes["inputs"] = inputs
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, **changes)


def _quarter(org: Organization) -> Period:
    """2026 Q1 with every template of the package, the worked entries made through the services, closed."""
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind="quarterly", year=2026, number=1,
                                        templates=list(Template.objects.all()),
                                        grading_policy=GradingPolicy.objects.get(code="S18"))
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        for sheet in Sheet.objects.filter(period=period).select_related("person", "department"):
            if sheet.person is not None:
                _enter(sheet, {"INNER": (INNER[sheet.person.employee_no], None)})
            elif sheet.department is not None and sheet.department.code in EXEMPT:
                services.set_special_status(sheet=sheet, status="exempt", reason="本例不考核", acting_user=None)
            elif sheet.department is not None:
                _enter(sheet, DATA[sheet.department.code])
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=org):
        return Period.objects.get(pk=period.pk)


def _departments(period: Period) -> dict[str, tuple[Decimal | None, str]]:
    with scope(organization=period.organization):
        results = Result.objects.filter(period=period, sheet__department__isnull=False).select_related(
            "sheet__department")
        return {r.sheet.department.code: (r.final_score, r.grade) for r in results
                if r.sheet.department and r.sheet.department.code not in EXEMPT}


def test_it_loads_the_package_twice_without_change(bank: Organization) -> None:
    before = _snapshot(bank)
    assert load().pk == bank.pk
    assert _snapshot(bank) == before
    assert before["templates"] == [("S18-CXS", 1), ("S18-DEV", 1), ("S18-FLC", 1), ("S18-GUA", 1), ("S18-P", 1),
                                   ("S18-SUP", 1)]


def test_it_scores_each_department_on_the_weights_of_its_type(bank: Organization) -> None:
    assert _departments(_quarter(bank)) == {
        "FLC": (D("63.20"), "不合格"),  # 41.20 − 5.00 + 22.00 + 5.00
        "CXS": (D("101.50"), "优秀"),   # 41.50 + 25 (27 capped) + 25 + 10
        "GSK": (D("93.80"), "良好"),    # 23 + 10 + 5 + (15.75 + 14.25 + 12.00 + 9.80 + 4.00)
        "JCK": (D("90.50"), "良好"),    # 13 + 20 + 3 + 5 + 49.50
        "BGS": (D("89.00"), "良好"),    # 15 + 18 + 5 + 51
    }


def test_it_lets_a_failed_security_check_go_negative_and_caps_a_positive_one(bank: Organization) -> None:
    period = _quarter(bank)
    with scope(organization=bank):
        lines = {(line.sheet.department.code, line.indicator.code): line.score
                 for line in SheetLine.objects.filter(sheet__period=period, sheet__department__code__in=["FLC", "CXS"],
                                                      indicator__code__in=["SEC", "SEC_AWARD"])
                 .select_related("sheet__department", "indicator") if line.sheet.department}
    # FLC: 25 − 20 − 5 × 2 = −5 (no floor); CXS: 25 and +2, the part capped at 25 (see the totals above).
    assert lines == {("FLC", "SEC"): D("-5.00"), ("FLC", "SEC_AWARD"): D("0.00"),
                     ("CXS", "SEC"): D("25.00"), ("CXS", "SEC_AWARD"): D("2.00")}


def test_it_bars_a_department_with_a_negative_security_score_from_awards(bank: Organization) -> None:
    period = _quarter(bank)
    with scope(organization=bank):
        flagged = {r.sheet.department.code: [f["rule"] for f in r.flags]
                   for r in Result.objects.filter(period=period, sheet__department__isnull=False)
                   .select_related("sheet__department") if r.sheet.department and r.flags}
    assert flagged == {"FLC": ["security_negative"]}


def test_it_pays_each_person_by_their_departments_score_and_their_own(bank: Organization) -> None:
    period = _quarter(bank)
    with scope(organization=bank):
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="季度绩效工资")
        assert run is not None
        paid = {s.person.name: s.amount("perf") for s in PaySlip.objects.filter(run=run).select_related("person")}
    # base (by level) × 3 months × department score ÷ 100 × own score ÷ 100
    assert paid == {
        "张建国": D("2844.00"),  # 1500 × 3 × 63.20% × 100%
        "李红梅": D("2161.44"),  # 1200 × 3 × 63.20% = 2275.20 × 95%
        "王丽": D("4567.50"),    # 1500 × 3 × 101.50%
        "赵敏": D("3580.92"),    # 1200 × 3 × 101.50% = 3654.00 × 98%
        "刘强": D("4052.16"),    # 1500 × 3 × 93.80% = 4221.00 × 96%
        "陈晓": D("3292.38"),    # 1300 × 3 × 93.80% = 3658.20 × 90%
        "周静": D("2715.00"),    # 1000 × 3 × 90.50%
        "孙伟": D("3684.60"),    # 1500 × 3 × 89.00% = 4005.00 × 92%
    }
