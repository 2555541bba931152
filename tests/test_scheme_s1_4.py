"""S1-4 恒盛地产 (seeds/001 篇4) as data: fixtures/schemes/S1-4/package.json loads into a fresh
organisation, twice without change, and a quarter worked by hand from the article's rules comes out
of the close and the pay run to the fen.

The worked quarter (2026 Q1, 杭州城市公司). The headquarters' people and the city company's general
manager are graded by the organisational appraisal (组织绩效), which the article does not give:
they are marked 免考 (exempt, no grade here). 何静 is on maternity leave the whole quarter (长期请假:
not assessed, no performance pay). The plan scores (0–100) each rater enters:

    person   template   scores entered                                   score
    刘晓东   DEPUTY     运营成绩 85 (HR), 工作计划 88 (总经理)             0.6×85 + 0.4×88 = 51 + 35.2 = 86.20
    孙丽     STAFF      工作计划 88 (总经理)                               88.00
    张伟     LINE-ENG   总部工程中心 82, 总经理 76                         0.7×82 + 0.3×76 = 57.4 + 22.8 = 80.20
    李娜     STAFF      孙丽 75                                            75.00
    吴昊     LINE-ENG   总部工程中心 65, 张伟 72                           0.7×65 + 0.3×72 = 45.5 + 21.6 = 67.10
    郑洁     STAFF      刘晓东 79.5                                        79.50
    马超     STAFF      郑洁 81, but 23 days' personal leave (> 20)         81.00 → forced C (rule leave20)
    黄磊     LINE-ENG   总部工程中心 93, 张伟 85                           0.7×93 + 0.3×85 = 65.1 + 25.5 = 90.60

Forced distribution over the 7 ranked people (马超's grade is forced before it), counts rounded
half up: S ≤ 7×5% = 0.35 → 0, A ≤ 7×15% = 1.05 → 1, C ≤ 7×10% = 0.7 → 1, B ≥ 7×70% = 4.9 → 5.
By score: 黄磊 S; 孙丽, 刘晓东, 张伟 A; 郑洁, 李娜 B; 吴昊 C. S has no place: 黄磊 falls to A.
A has one place: 黄磊 (first) keeps it; 孙丽, 刘晓东 and 张伟 fall to B. B then holds 5 (≥ 5), C 1.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import GradingPolicy, Period, Rater, Result, Sheet, SheetLine
from indicators.models import Indicator, Template
from organizations import services as org_services
from organizations.models import Department, Organization, Person, User
from organizations.packages import load_package
from payroll import services as pay_services
from payroll.models import PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-4" / "package.json"
D = Decimal
EXEMPT = ["HS001", "HS002", "HS003", "HZ001"]  # graded by the organisational appraisal
ON_LEAVE = ["HZ008"]  # 何静: maternity leave the whole quarter
# Q1: what each rater enters on the PLAN line (by the rater's employee number), the deputy's
# operating score (OPS) and the days of personal leave (LEAVE_P).
Q1: dict[str, dict[str, Any]] = {
    "HZ002": {"PLAN": {"HZ001": "88"}, "OPS": "85"},
    "HZ003": {"PLAN": {"HZ001": "88"}},
    "HZ004": {"PLAN": {"HS003": "82", "HZ001": "76"}},
    "HZ005": {"PLAN": {"HZ003": "75"}},
    "HZ006": {"PLAN": {"HS003": "65", "HZ004": "72"}},
    "HZ007": {"PLAN": {"HZ002": "79.5"}},
    "HZ009": {"PLAN": {"HZ007": "81"}, "LEAVE_P": "23"},
    "HZ010": {"PLAN": {"HS003": "93", "HZ004": "85"}},
}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


@pytest.fixture
def hengsheng(db: None) -> Organization:
    org = load_package(_package(), slug="hengsheng", name="恒盛地产")
    # The package has no accounts; the head of HQ's engineering centre needs one to rate the
    # line-managed engineers as the second-line rater (70 %).
    with scope(organization=org):
        user = User.objects.create(username="zhaolixin", display_name="赵立新")
        org_services.create_membership(organization=org, acting_user=None, user=user,
                                       person=Person.objects.get(employee_no="HS003"),
                                       headed_departments=[Department.objects.get(code="HQ-ENG")])
    return org


def _counts() -> dict[str, int]:
    return {"people": Person.objects.count(), "departments": Department.objects.count(),
            "indicators": Indicator.objects.count(), "templates": Template.objects.count(),
            "policies": GradingPolicy.objects.count()}


def _quarter(org: Organization, number: int, entries: dict[str, dict[str, Any]],
             refused: tuple[str, ...] = ()) -> Period:
    """Quarter ``number`` of 2026 with the package's templates and policy, every entry made through
    the services (the ``refused`` marked as refusing to take part), closed."""
    templates = [Template.objects.get(code=code) for code in ("STAFF", "LINE-ENG", "DEPUTY")]
    period = services.create_period(organization=org, acting_user=None, kind="quarterly", year=2026, number=number,
                                    templates=templates, grading_policy=GradingPolicy.objects.get(code="FD"))
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person"):
        assert sheet.person is not None  # the package's templates score people only
        number_ = sheet.person.employee_no
        if number_ in EXEMPT:
            services.set_special_status(sheet=sheet, status="exempt", reason="按组织绩效考核", acting_user=None)
            continue
        if number_ in ON_LEAVE:
            services.set_special_status(sheet=sheet, status="long_leave", reason="全季产假", acting_user=None)
            continue
        if number_ in refused:
            services.set_special_status(sheet=sheet, status="refused", reason="经提醒仍拒不填写考核表",
                                        acting_user=None)
            continue
        _enter(sheet, entries[number_])
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def _enter(sheet: Sheet, entry: dict[str, Any]) -> None:
    for line in SheetLine.objects.filter(sheet=sheet).select_related("indicator"):
        code = line.indicator.code
        if code == "PLAN":
            for rater in Rater.objects.filter(sheet=sheet).select_related("person"):
                assert rater.person is not None
                services.rate_line(line=line, rater=rater, acting_user=None,
                                   actual=D(entry["PLAN"][rater.person.employee_no]))
        else:
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 actual=D(entry.get(code, "0")))


def _results(period: Period) -> dict[str, tuple[Decimal | None, str]]:
    return {_name(r): (r.final_score, r.grade) for r in Result.objects.filter(period=period).select_related("person")}


def _name(result: Result) -> str:
    assert result.person is not None
    return result.person.name


def test_it_loads_twice_without_change(hengsheng: Organization) -> None:
    with scope(organization=hengsheng):
        before = _counts()
    load_package(_package(), slug="hengsheng", name="恒盛地产")
    with scope(organization=hengsheng):
        assert _counts() == before == {"people": 13, "departments": 8, "indicators": 4, "templates": 4,
                                       "policies": 2}


def test_it_scores_and_grades_the_quarter_by_hand(hengsheng: Organization) -> None:
    with scope(organization=hengsheng):
        period = _quarter(hengsheng, 1, Q1)
        assert _results(period) == {
            # exempt (organisational appraisal) and the whole quarter on maternity leave: no grade
            "陈永康": (None, ""), "林静": (None, ""), "赵立新": (None, ""), "王海涛": (None, ""), "何静": (None, ""),
            "黄磊": (D("90.60"), "A"),    # 0.7×93 + 0.3×85; S band, S has 0 places → A, first of 4 A → keeps A
            "孙丽": (D("88.00"), "B"),    # A band, 2nd of 4 for 1 A place → B
            "刘晓东": (D("86.20"), "B"),  # 0.6×85 + 0.4×88; A band, 3rd of 4 → B
            "张伟": (D("80.20"), "B"),    # 0.7×82 + 0.3×76; A band, 4th of 4 → B
            "郑洁": (D("79.50"), "B"),
            "李娜": (D("75.00"), "B"),
            "吴昊": (D("67.10"), "C"),    # 0.7×65 + 0.3×72; C band, C has 1 place
            "马超": (D("81.00"), "C"),    # A by score, but 23 days' personal leave > 20 → C, outside the quotas
        }


def test_it_pays_the_quarter_in_the_next_quarters_first_month(hengsheng: Organization) -> None:
    with scope(organization=hengsheng):
        period = _quarter(hengsheng, 1, Q1)
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert run is not None
        paid = {slip.person.name: {line["code"]: D(line["amount"]) for line in slip.lines if line["paid"]}
                for slip in PaySlip.objects.filter(run=run).select_related("person")}
    # month_base = 基本工资 × floating share of the level (经理 75:25, 主管/专员 85:15, 副总经理 6:4);
    # first_month = month_base + month_base × (coefficient − 1) × 3 (13.1 2));
    # the deputy is on an annual salary: quarter_perf = month_base × 3 × coefficient (13.1 1)).
    assert paid == {
        "刘晓东": {"first_month": D("0.00"), "quarter_perf": D("30000.00")},  # 25000×0.4 = 10000; ×3×1.0
        "孙丽": {"first_month": D("4000.00"), "quarter_perf": D("0.00")},     # 16000×0.25; B: + 0
        "张伟": {"first_month": D("4500.00"), "quarter_perf": D("0.00")},     # 18000×0.25; B
        "郑洁": {"first_month": D("1650.00"), "quarter_perf": D("0.00")},     # 11000×0.15; B
        "李娜": {"first_month": D("1200.00"), "quarter_perf": D("0.00")},     # 8000×0.15; B
        "黄磊": {"first_month": D("2535.00"), "quarter_perf": D("0.00")},     # 13000×0.15 = 1950 + 1950×0.1×3 = 585
        "吴昊": {"first_month": D("720.00"), "quarter_perf": D("0.00")},      # 12000×0.15 = 1800 − 1800×0.2×3 = 1080
        "马超": {"first_month": D("450.00"), "quarter_perf": D("0.00")},      # 7500×0.15 = 1125 − 1125×0.2×3 = 675
        # 免考 and 何静 (maternity leave the whole quarter): not graded, no performance pay.
    }


def test_refusing_to_take_part_forfeits_the_whole_quarters_performance_pay(hengsheng: Organization) -> None:
    # 13.6: 李娜 refuses → 0 points for the quarter (C) and the whole quarter's performance pay is
    # taken back. 吴昊 scores 0.7×72 + 0.3×72 = 72 (B) here, so that C holds one person (8 ranked:
    # C ≤ 8×10% = 0.8 → 1).
    entries = dict(Q1, HZ006={"PLAN": {"HS003": "72", "HZ004": "72"}})
    with scope(organization=hengsheng):
        period = _quarter(hengsheng, 1, entries, refused=("HZ005",))
        result = Result.objects.get(period=period, person__employee_no="HZ005")
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
        assert run is not None
        slip = PaySlip.objects.get(run=run, person__employee_no="HZ005")
    assert (result.final_score, result.grade) == (D("0.00"), "C")
    # month_base 8000 × 0.15 = 1200; coefficient 0 (score 0): 1200 + 1200 × (0 − 1) × 3 = −2400.00,
    # i.e. the three months paid at coefficient 1 during the quarter are taken back.
    assert D(next(line["amount"] for line in slip.lines if line["code"] == "first_month")) == D("-2400.00")


def test_two_c_quarters_in_a_year_flag_the_person_unfit(hengsheng: Organization) -> None:
    with scope(organization=hengsheng):
        _quarter(hengsheng, 1, Q1)
        second = _quarter(hengsheng, 2, Q1)  # the same entries: the same grades in Q2
        unfit = {_name(r): [f["rule"] for f in r.flags if f["outcome"] == "unfit"]
                 for r in Result.objects.filter(period=second).select_related("person")}
    # 吴昊 (C by score) and 马超 (C for his leave) hold C in Q1 and Q2 of 2026: 13.3 → unfit.
    assert {name: rules for name, rules in unfit.items() if rules} == {"吴昊": ["twoC"], "马超": ["twoC"]}


# --- the year: 80 % the quarters' average + 20 % the year-end assessment ---------------------------

# 年终资质评价 (0–100) each person's direct supervisor enters on the year-end sheet (template YEAR).
YEAR_END = {"HZ002": "85", "HZ003": "90", "HZ004": "80", "HZ005": "82", "HZ006": "70", "HZ007": "80",
            "HZ008": "78", "HZ009": "75", "HZ010": "88"}


def _year(org: Organization, quarters: list[Period]) -> Period:
    """The year 2026 (template YEAR, policy FD-Y) rolled up from ``quarters`` at 0.25 each, the
    year-end assessments entered, closed."""
    period = services.create_period(organization=org, acting_user=None, kind="annual", year=2026, number=1,
                                    templates=[Template.objects.get(code="YEAR")],
                                    grading_policy=GradingPolicy.objects.get(code="FD-Y"))
    services.set_rollup(parent=period, children={q: D("0.25") for q in quarters}, acting_user=None)
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    for sheet in Sheet.objects.filter(period=period).select_related("person"):
        assert sheet.person is not None
        if sheet.person.employee_no in EXEMPT:
            services.set_special_status(sheet=sheet, status="exempt", reason="按组织绩效考核", acting_user=None)
            continue
        line = SheetLine.objects.get(sheet=sheet)
        services.rate_line(line=line, rater=Rater.objects.get(sheet=sheet), acting_user=None,
                           actual=D(YEAR_END[sheet.person.employee_no]))
    for step in ["scoring", "calibration"]:
        services.transition(period=period, to=step, acting_user=None)
    close(period)
    return Period.objects.get(pk=period.pk)


def test_the_year_weighs_the_quarters_average_80_and_the_year_end_20(hengsheng: Organization) -> None:
    """Q1–Q4 of 2026 as Q1 above, except 李娜, who moves from 综合部 to 营销部 on 1 July (14.1: the
    year weighs the quarters before and after the move) and scores 75, 75, 85, 87: average 80.5.
    何静 is on maternity leave in every quarter: no quarter result, so the year is her year-end
    sheet alone (78.00). Annual = 0.8 × quarters' average + 0.2 × year-end:

        黄磊   0.8 × 90.60 + 0.2 × 88 = 72.48 + 17.6 = 90.08   S band
        孙丽   0.8 × 88.00 + 0.2 × 90 = 70.40 + 18.0 = 88.40   A band
        刘晓东 0.8 × 86.20 + 0.2 × 85 = 68.96 + 17.0 = 85.96   A band
        李娜   0.8 × 80.50 + 0.2 × 82 = 64.40 + 16.4 = 80.80   A band
        张伟   0.8 × 80.20 + 0.2 × 80 = 64.16 + 16.0 = 80.16   A band
        马超   0.8 × 81.00 + 0.2 × 75 = 64.80 + 15.0 = 79.80   B (his quarters' C came from his leave, not his score)
        郑洁   0.8 × 79.50 + 0.2 × 80 = 63.60 + 16.0 = 79.60   B
        何静   78.00 (no quarter result)                          B
        吴昊   0.8 × 67.10 + 0.2 × 70 = 53.68 + 14.0 = 67.68   C

    Forced distribution over 9: S ≤ 0.45 → 0, A ≤ 1.35 → 1, B ≥ 6.3 → 7, C ≤ 0.9 → 1. 黄磊 has no S
    place and keeps the one A; 孙丽, 刘晓东, 李娜 and 张伟 fall to B (7 B), 吴昊 C — and a C for the
    year is unfit (13.3). The deputy's annual performance pay (13.1 1), 年薪制): month base 25000 ×
    0.4 = 10000 × 3 × coefficient 1.0 (B) = 30000.00.
    """
    with scope(organization=hengsheng):
        quarters = [_quarter(hengsheng, 1, Q1), _quarter(hengsheng, 2, Q1)]
        org_services.update_person(person=Person.objects.get(employee_no="HZ005"), acting_user=None, reason="调动",
                                   department=Department.objects.get(code="HZ-MKT"))
        quarters += [_quarter(hengsheng, 3, dict(Q1, HZ005={"PLAN": {"HZ003": "85"}})),
                     _quarter(hengsheng, 4, dict(Q1, HZ005={"PLAN": {"HZ003": "87"}}))]
        year = _year(hengsheng, quarters)
        found = {_name(r): (r.final_score, r.grade) for r in Result.objects.filter(period=year).select_related("person")
                 if r.final_score is not None}
        unfit = [_name(r) for r in Result.objects.filter(period=year).select_related("person")
                 if any(f["outcome"] == "unfit" for f in r.flags)]
        run = pay_services.compute_pay_run(period=year, acting_user=None, reason="年度")
        assert run is not None
        paid = {slip.person.name: {line["code"]: D(line["amount"]) for line in slip.lines if line["paid"]}
                for slip in PaySlip.objects.filter(run=run).select_related("person")}
    assert found == {
        "黄磊": (D("90.08"), "A"), "孙丽": (D("88.40"), "B"), "刘晓东": (D("85.96"), "B"), "李娜": (D("80.80"), "B"),
        "张伟": (D("80.16"), "B"), "马超": (D("79.80"), "B"), "郑洁": (D("79.60"), "B"), "何静": (D("78.00"), "B"),
        "吴昊": (D("67.68"), "C")}
    assert unfit == ["吴昊"]
    assert paid["刘晓东"] == {"year_perf": D("30000.00")}
    # staff: nothing (their year-end bonus pool is not modelled)
    assert {name: paid[name] for name in ("孙丽", "李娜", "黄磊")} == {
        name: {"year_perf": D("0.00")} for name in ("孙丽", "李娜", "黄磊")}
