"""S1-9 公司员工考评 (fixtures/schemes/S1-9): the package loads, and a quarter worked by hand from
the article (seed 001, 篇9) comes out to the fen.

The article's rules used below:

* each item: self 20 % + direct supervisor 80 % (a self-assessment not given counts 0);
* quarter score = 关键业绩（工作技能）× 0.8 + 综合素质 × 0.2 (the package's choice: the article
  gives this 80/20 for the annual review and no other split);
* HR (人力资源主办 with the department head) may move the total by at most 5 % of it;
* grades: ≥ 90 A 优秀, 80–89 B 良好, 70–79 C 合格, 60–69 D 差, ≤ 59 E 不合格;
* coefficient = final score ÷ 100; monthly perf pay = quota × coefficient, the quota by salary
  (≤ 1500 → 200, ≤ 2500 → 400, above → 600), drawn monthly and paid once a quarter (× 3);
  E has no right to perf pay; a fail lowers the salary grade, a D is sent to training;
* not self-assessing twice in a row → 不合格 (E).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.grading import CalibrationError
from appraisal.models import GradingPolicy, Period, Rater, Result, Sheet, SheetLine
from appraisal.services import closing
from indicators.models import Indicator, Template
from organizations.models import Department, Organization, Person, ReviewGroup
from organizations.packages import load_package
from payroll import services as pay
from payroll.models import PayPolicy, PayRun, PaySlip
from tests.closing import close

D = Decimal
PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-9" / "package.json"

# Points given by (self, supervisor) per item: KPI_PLAN of 60, KPI_SKILL of 40, QUALITY of 100.
# None: the person did not assess himself (self counts 0).
Q1_POINTS: dict[str, dict[str, tuple[str | None, str]]] = {
    "孙伟": {"KPI_PLAN": ("60", "57"), "KPI_SKILL": ("40", "38"), "QUALITY": ("100", "92")},
    "钱丽": {"KPI_PLAN": ("50", "48"), "KPI_SKILL": ("32", "30"), "QUALITY": ("80", "78")},
    "李娜": {"KPI_PLAN": ("55", "50"), "KPI_SKILL": ("36", "35"), "QUALITY": ("90", "85")},
    "周杰": {"KPI_PLAN": (None, "58"), "KPI_SKILL": (None, "38"), "QUALITY": (None, "95")},
    "吴芳": {"KPI_PLAN": ("30", "30"), "KPI_SKILL": ("20", "20"), "QUALITY": ("60", "50")},
    "郑浩": {"KPI_PLAN": ("40", "40"), "KPI_SKILL": ("28", "25"), "QUALITY": ("70", "65")},
}


def package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def load() -> Organization:
    return load_package(package(), slug="s1-9", name="示例公司（S1-9）")


def snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "departments": sorted(Department.objects.values_list("code", "name")),
            "people": sorted(Person.objects.values_list("employee_no", "name", "base_pay", "manager__employee_no")),
            "groups": sorted(ReviewGroup.objects.values_list("code", "kind")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def open_quarter(org: Organization, number: int, kind: str = "quarterly") -> Period:
    with scope(organization=org):
        period = services.create_period(
            organization=org, acting_user=None, kind=kind, year=2026, number=number,
            templates=[Template.objects.get(code="S19")], grading_policy=GradingPolicy.objects.get(code="S19"))
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        return Period.objects.get(pk=period.pk)


def rate(period: Period, points: dict[str, dict[str, tuple[str | None, str]]]) -> None:
    """Each person's self and supervisor ratings, entered through the service as the raters would."""
    with scope(organization=period.organization):
        for name, items in points.items():
            sheet = Sheet.objects.get(period=period, person__name=name)
            raters = {r.role: r for r in Rater.objects.filter(sheet=sheet)}
            for code, (own, boss) in items.items():
                line = SheetLine.objects.get(sheet=sheet, indicator__code=code)
                for role, value in (("self", own), ("supervisor", boss)):
                    if value is not None:
                        services.rate_line(line=SheetLine.objects.get(pk=line.pk), rater=raters[role],
                                           acting_user=None, actual=D(value))


def closed_quarter(org: Organization, number: int, points: dict[str, dict[str, tuple[str | None, str]]],
                   kind: str = "quarterly") -> Period:
    period = open_quarter(org, number, kind)
    rate(period, points)
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


def calibrate(period: Period, name: str, score: str) -> Result:
    with scope(organization=period.organization):
        result = Result.objects.get(period=period, person__name=name)
        return closing.calibrate(result=result, score=D(score), reason="人力资源主办会同部门负责人复核",
                                 acting_user=None)


def run_pay(period: Period) -> dict[str, PaySlip]:
    with scope(organization=period.organization):
        run = pay.compute_pay_run(period=period, acting_user=None, reason="季度绩效工资")
        assert isinstance(run, PayRun)
        return {s.person.name: s for s in PaySlip.objects.filter(run=run).select_related("person")}


@pytest.fixture
def org(db: None) -> Organization:
    return load()


@pytest.fixture
def q1(org: Organization) -> Period:
    return closed_quarter(org, 1, Q1_POINTS)


def test_it_loads_the_package_twice_without_change(org: Organization) -> None:
    before = snapshot(org)
    assert load().pk == org.pk
    assert snapshot(org) == before
    assert len(before["people"]) == 7 and before["pay"] == [("S19", 1), ("S19-Y", 1)]
    assert before["templates"] == [("S19", 1), ("S19-Y", 1), ("S19-Y-MGR", 1)]


def test_it_weighs_each_item_self_20_supervisor_80_and_the_parts_80_20(q1: Period) -> None:
    # 孙伟: PLAN 0.2×60 + 0.8×57 = 57.60, SKILL 0.2×40 + 0.8×38 = 38.40 → kpi 96.00;
    #       QUALITY 0.2×100 + 0.8×92 = 93.60; 0.8×96.00 + 0.2×93.60 = 76.80 + 18.72 = 95.52
    # 钱丽: 48.40 + 30.40 = 78.80; 78.40 → 63.04 + 15.68 = 78.72
    # 李娜: 0.2×55 + 0.8×50 = 51.00, 0.2×36 + 0.8×35 = 35.20 → 86.20; 0.2×90 + 0.8×85 = 86.00
    #       → 68.96 + 17.20 = 86.16
    # 周杰 (no self-assessment, counts 0): 0.8×58 = 46.40, 0.8×38 = 30.40 → 76.80; 0.8×95 = 76.00
    #       → 61.44 + 15.20 = 76.64
    # 吴芳: 30.00 + 20.00 = 50.00; 0.2×60 + 0.8×50 = 52.00 → 40.00 + 10.40 = 50.40
    # 郑浩: 40.00, 0.2×28 + 0.8×25 = 25.60 → 65.60; 0.2×70 + 0.8×65 = 66.00 → 52.48 + 13.20 = 65.68
    scores = {name: r.raw_score for name, r in found(q1).items()}
    assert scores == {"孙伟": D("95.52"), "钱丽": D("78.72"), "李娜": D("86.16"), "周杰": D("76.64"),
                      "吴芳": D("50.40"), "郑浩": D("65.68")}


def test_it_grades_a_to_e_by_the_article_bands(q1: Period) -> None:
    grades = {name: (r.grade, r.grade_label) for name, r in found(q1).items()}
    assert grades == {"孙伟": ("A", "优秀"), "李娜": ("B", "良好"), "钱丽": ("C", "合格"), "周杰": ("C", "合格"),
                      "郑浩": ("D", "差"), "吴芳": ("E", "不合格")}


def test_it_flags_a_fail_for_a_lower_salary_grade_and_a_poor_quarter_for_training(q1: Period) -> None:
    outcomes = {name: [f["outcome"] for f in r.flags] for name, r in found(q1).items() if r.flags}
    assert outcomes == {"吴芳": ["salary_down"], "郑浩": ["training"]}


def test_it_lets_hr_move_a_score_within_five_percent_and_regrades(q1: Period) -> None:
    # 钱丽 78.72: 5 % = 3.936, so 74.784–82.656 is allowed; 81.00 is B.
    result = calibrate(q1, "钱丽", "81.00")
    assert (result.final_score, result.grade) == (D("81.00"), "B")


def test_it_refuses_a_calibration_beyond_five_percent(q1: Period) -> None:
    with pytest.raises(CalibrationError):
        calibrate(q1, "钱丽", "82.66")  # 82.66 − 78.72 = 3.94 > 3.936


def test_it_pays_quota_times_score_over_100_for_the_three_months_of_the_quarter(q1: Period) -> None:
    calibrate(q1, "钱丽", "81.00")
    slips = run_pay(q1)
    perf = {name: slip.amount("perf") for name, slip in slips.items()}
    assert perf == {
        "孙伟": D("1719.36"),  # base 4500 > 2500 → 600; 600 × 0.9552 × 3 = 1719.36
        "钱丽": D("1458.00"),  # base 3200 → 600; calibrated 81.00: 600 × 0.81 × 3 = 1458.00
        "李娜": D("1033.92"),  # base 2500 (含2500) → 400; 400 × 0.8616 × 3 = 1033.92
        "周杰": D("459.84"),   # base 1500 (含1500) → 200; 200 × 0.7664 × 3 = 459.84
        "郑浩": D("788.16"),   # base 1800 → 400; 400 × 0.6568 × 3 = 788.16 (D keeps the right to perf pay)
        "吴芳": D("0.00"),     # E 不合格: 无绩效工资资格
    }
    assert "赵志刚" not in slips  # 总经理: the template applies to the four departments only


def test_it_shows_the_employees_half_of_the_quota_without_paying_it(q1: Period) -> None:
    slips = run_pay(q1)
    # 个人承担: 李娜 (2500 → 400 a month) 200 × 3 = 600.00; 周杰 (1500 → 200) 100 × 3 = 300.00.
    shares = {name: next(line for line in slip.lines if line["code"] == "personal_share")
              for name, slip in slips.items() if name in ("李娜", "周杰")}
    assert {name: (line["amount"], line["paid"]) for name, line in shares.items()} == {
        "李娜": ("600.00", False), "周杰": ("300.00", False)}


def test_it_fails_someone_who_twice_in_a_row_did_not_assess_himself(org: Organization) -> None:
    closed_quarter(org, 1, Q1_POINTS)
    # Q2: 周杰 again gives no self-assessment; his supervisor rates him as before (76.64, C by score).
    q2 = closed_quarter(org, 2, Q1_POINTS)
    zhou = found(q2)["周杰"]
    assert (zhou.final_score, zhou.band_grade, zhou.grade) == (D("76.64"), "C", "E")
    assert [f["rule"] for f in zhou.flags] == ["no_self_twice", "fail"]
    assert run_pay(q2)["周杰"].amount("perf") == D("0.00")


def test_it_raises_the_salary_grade_after_two_excellent_quarters(org: Organization) -> None:
    closed_quarter(org, 1, Q1_POINTS)
    q2 = closed_quarter(org, 2, Q1_POINTS)
    assert [f["rule"] for f in found(q2)["孙伟"].flags] == ["excellent_twice"]


def quarter_points(score: int) -> dict[str, dict[str, tuple[str | None, str]]]:
    """Everyone assesses himself as his supervisor does, ``score`` in all: KPI_PLAN 0.6 × score,
    KPI_SKILL 0.4 × score (kpi = score), QUALITY score → 0.8 × score + 0.2 × score = score."""
    items = {"KPI_PLAN": str(score * 6 / 10), "KPI_SKILL": str(score * 4 / 10), "QUALITY": str(score)}
    return {name: {code: (value, value) for code, value in items.items()} for name in Q1_POINTS}


def closed_year(org: Organization) -> Period:
    """Q1–Q4 of 2026 closed with everyone at 80, 85, 90 and 95, then the year-end review (年终考评)
    on the two year-end templates with the Q1 points above, rolled up from the four quarters."""
    quarters = [closed_quarter(org, number, quarter_points(score))
                for number, score in enumerate((80, 85, 90, 95), start=1)]
    with scope(organization=org):
        year = services.create_period(
            organization=org, acting_user=None, kind="annual", year=2026, number=1,
            templates=list(Template.objects.filter(code__in=["S19-Y", "S19-Y-MGR"])),
            grading_policy=GradingPolicy.objects.get(code="S19"))
        services.set_rollup(parent=year, children={q: D("0.25") for q in quarters}, acting_user=None)
        services.open_period(period=year, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=year.pk))
        year = Period.objects.get(pk=year.pk)
    rate(year, Q1_POINTS)
    with scope(organization=org):
        for step in ["scoring", "calibration"]:
            services.transition(period=year, to=step, acting_user=None)
    close(year)
    with scope(organization=org):
        return Period.objects.get(pk=year.pk)


def test_it_weighs_the_year_end_score_and_the_quarters_by_managers_and_staff(org: Organization) -> None:
    # The quarters average (80 + 85 + 90 + 95) / 4 = 87.5 for everyone; the year-end sheets score as
    # Q1 above. 中层管理 (孙伟 技术部经理, 钱丽 人力资源主办; template S19-Y-MGR, quarters' share 0.2):
    #   孙伟 0.8 × 95.52 + 0.2 × 87.5 = 76.416 + 17.5 = 93.916 → 93.92 A
    #   钱丽 0.8 × 78.72 + 17.5 = 62.976 + 17.5 = 80.476 → 80.48 B
    # the others (S19-Y, share 0.6): 0.6 × 87.5 = 52.5 +
    #   李娜 0.4 × 86.16 = 34.464 → 86.964 → 86.96 B;  周杰 0.4 × 76.64 = 30.656 → 83.156 → 83.16 B
    #   吴芳 0.4 × 50.40 = 20.16 → 72.66 C;             郑浩 0.4 × 65.68 = 26.272 → 78.772 → 78.77 C
    year = closed_year(org)
    assert {name: (r.final_score, r.grade) for name, r in found(year).items()} == {
        "孙伟": (D("93.92"), "A"), "钱丽": (D("80.48"), "B"), "李娜": (D("86.96"), "B"), "周杰": (D("83.16"), "B"),
        "吴芳": (D("72.66"), "C"), "郑浩": (D("78.77"), "C")}
    with scope(organization=org):
        for person in Person.objects.filter(employee_no__in=["C002", "C003", "C004", "C005", "C006", "C007"]):
            pay.save_pay_input(organization=org, acting_user=None, period=year, name="year_end_base", person=person,
                               value=D("3000"))
    slips = run_pay(year)
    # annual coefficient = annual score / 100 (4 places): 孙伟 0.9392 × 3000 = 2817.60;
    # 李娜 0.8696 × 3000 = 2608.80 — the figures of the former hand-keyed q1–q4 inputs, now from the roll-up.
    assert {name: slips[name].amount("year_end") for name in ("孙伟", "李娜")} == {
        "孙伟": D("2817.60"), "李娜": D("2608.80")}
    assert "perf" not in {line["code"] for line in slips["孙伟"].lines}  # the quarterly policy is not the year's
