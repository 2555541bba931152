"""S1-7 瓦室小学班主任 (seed 001, 篇7) as data: fixtures/schemes/S1-7/package.json loads into a fresh
organisation, twice without change, and a school year worked by hand from the article's rules
comes out of the close and the pay run to the fen.

The article's rules used below: head teachers are appointed for one school year (聘期一年) with the
last place eliminated each school year (学年末位淘汰制); 教导处 scores them by routine checks under
four documents (班主任考核意见, 班级常规管理细则, 星级班主任评选标准, 学校文化建设要求) and ranks them;
every deduction carries its evidence; the best head teachers are named once a year, by their
scores.

The package's choices: the school year (start month 9) as the period; 班级常规管理 50 and 班主任工作
30 as per-occurrence deductions, 班级文化建设 20 as a rating (优 20, 良 16, 中 12, 差 6), star
points on top (at most 10); 优秀 ≥ 90 for at most 20 % of the head teachers, 不合格 < 60; pay
3000 × score ÷ 100 and 500 for 优秀.

The worked school year 2026 (2026-09-01 → 2027-08-31), six head teachers:

    王秀英  50 + 30 + 优 20 + flag 1 × 3 + school 3                         = 106.00
    刘芳    50 − dress 0.5 × 4 = 48; 30 − log 1 = 29; 优 20; county 5          = 102.00
    赵丽娟  50 − hygiene 1 = 49; 30 − class meeting 2 = 28; 良 16; flag 1      = 94.00
    李春梅  50 − hygiene 1 × 2 − morning 0.5 × 2 = 47; 30 − plan 2 = 28; 良 16; flag 1 × 2 = 93.00
    张志刚  50 − queue 1 × 3 − break 0.5 × 2 = 46; 30 − meeting 2 − visit 1 × 2 = 26; 良 16 = 88.00
    陈刚    50 − accident 5 − queue 1 × 2 = 43; 30 − meeting 2 × 2 − plan 2 = 24; 中 12  = 79.00

优秀: four score 90 or more, but 20 % of 6 = 1.2 → 1 place (half up): 王秀英 keeps it, 刘芳, 赵丽娟
and 李春梅 fall to 合格. The last place, 陈刚 (79.00), is flagged for elimination.
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
from payroll.models import PayPolicy, PaySlip
from tests.closing import close

PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-7" / "package.json"
D = Decimal

# Per head teacher: the deductions and star points (indicator, item, count) and the culture rating.
YEAR: dict[str, dict[str, Any]] = {
    "王秀英": {"records": [("STAR", "flag", 3), ("STAR", "school", 1)], "culture": "优"},
    "刘芳": {"records": [("ROUTINE", "dress", 4), ("DUTY", "log", 1), ("STAR", "county", 1)], "culture": "优"},
    "赵丽娟": {"records": [("ROUTINE", "hygiene", 1), ("DUTY", "class_meeting", 1), ("STAR", "flag", 1)],
              "culture": "良"},
    "李春梅": {"records": [("ROUTINE", "hygiene", 2), ("ROUTINE", "morning", 2), ("DUTY", "plan", 1),
                         ("STAR", "flag", 2)], "culture": "良"},
    "张志刚": {"records": [("ROUTINE", "queue", 3), ("ROUTINE", "break", 2), ("DUTY", "meeting", 1),
                         ("DUTY", "visit", 2)], "culture": "良"},
    "陈刚": {"records": [("ROUTINE", "accident", 1), ("ROUTINE", "queue", 2), ("DUTY", "meeting", 2),
                        ("DUTY", "plan", 1)], "culture": "中"},
}


def _package() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text(encoding="utf-8"))


def load() -> Organization:
    return load_package(_package(), slug="s1-7", name="示例瓦室小学（S1-7）")


@pytest.fixture
def school(db: None) -> Organization:
    return load()


def _snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "departments": sorted(Department.objects.values_list("code", "inspects_others")),
            "teams": sorted(Team.objects.values_list("code", "department__code")),
            "people": sorted(Person.objects.values_list("employee_no", "name", "team__code")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def _school_year(org: Organization, entries: dict[str, dict[str, Any]] = YEAR) -> Period:
    """School year 2026 (start month 9) with the recorded checks, each with its evidence, closed."""
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind="annual", year=2026, number=1,
                                        start_month=9, templates=[Template.objects.get(code="S17-HT")],
                                        grading_policy=GradingPolicy.objects.get(code="S17"))
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        inspector = Person.objects.get(employee_no="WS01")
        for sheet in Sheet.objects.filter(period=period).select_related("person"):
            assert sheet.person is not None
            entry = entries[sheet.person.name]
            lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=sheet)
                     .select_related("indicator")}
            for code, item, count in entry["records"]:
                services.record_deduction(line=lines[code], acting_user=None, item_code=item, count=count,
                                          occurred_on=dt.date(2026, 11, 12), evidence="教导处常规检查记录表",
                                          recorded_by=inspector)
            culture = lines["CULTURE"]
            services.update_line(line_id=culture.pk, expected_version=culture.version, acting_user=None,
                                 rating=entry["culture"])
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=org):
        return Period.objects.get(pk=period.pk)


def _results(period: Period) -> dict[str, Result]:
    with scope(organization=period.organization):
        return {r.person.name: r for r in Result.objects.filter(period=period).select_related("person")
                if r.person is not None}


def test_it_loads_the_package_twice_without_change(school: Organization) -> None:
    before = _snapshot(school)
    assert load().pk == school.pk
    assert _snapshot(school) == before
    assert before["templates"] == [("S17-HT", 1)]


def test_it_runs_the_school_year_from_september_and_scores_only_head_teachers(school: Organization) -> None:
    period = _school_year(school)
    assert (period.start, period.end) == (dt.date(2026, 9, 1), dt.date(2027, 8, 31))
    # 教导主任 马建华 and the subject teacher 孙晓燕 are not head teachers: no sheet.
    assert sorted(_results(period)) == sorted(YEAR)


def test_it_scores_the_routine_checks_with_star_points_on_top(school: Organization) -> None:
    scores = {name: r.final_score for name, r in _results(_school_year(school)).items()}
    assert scores == {
        "王秀英": D("106.00"),  # 50 + 30 + 20 + 3 + 3
        "刘芳": D("102.00"),    # 48 + 29 + 20 + 5
        "赵丽娟": D("94.00"),   # 49 + 28 + 16 + 1
        "李春梅": D("93.00"),   # 47 + 28 + 16 + 2
        "张志刚": D("88.00"),   # 46 + 26 + 16
        "陈刚": D("79.00"),     # 43 + 24 + 12
    }


def test_it_names_at_most_a_fifth_of_the_head_teachers_excellent(school: Organization) -> None:
    grades = {name: r.grade for name, r in _results(_school_year(school)).items()}
    # Four at 90 or more, one place (6 × 20 % = 1.2 → 1): the best keeps 优秀, the others 合格.
    assert grades == {"王秀英": "优秀", "刘芳": "合格", "赵丽娟": "合格", "李春梅": "合格", "张志刚": "合格",
                      "陈刚": "合格"}


def test_it_flags_the_last_place_for_elimination(school: Organization) -> None:
    flagged = {name: [(f["rule"], f["outcome"]) for f in r.flags]
               for name, r in _results(_school_year(school)).items() if r.flags}
    assert flagged == {"陈刚": [("last_place", "eliminated")]}


def test_it_caps_the_star_points_at_ten(school: Organization) -> None:
    entries = dict(YEAR, 王秀英={"records": [("STAR", "flag", 8), ("STAR", "county", 1)], "culture": "优"})
    score = _results(_school_year(school, entries))["王秀英"].final_score
    assert score == D("110.00")  # 50 + 30 + 20 + min(8 + 5, 10)


def test_it_pays_3000_times_the_score_and_500_to_the_excellent(school: Organization) -> None:
    period = _school_year(school)
    with scope(organization=school):
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="学年班主任考核绩效")
        assert run is not None
        paid = {s.person.name: (s.amount("perf"), s.amount("excellent"), s.total)
                for s in PaySlip.objects.filter(run=run).select_related("person")}
    assert paid == {
        "王秀英": (D("3180.00"), D("500.00"), D("3680.00")),  # 3000 × 1.06; 优秀
        "刘芳": (D("3060.00"), D("0.00"), D("3060.00")),      # 3000 × 1.02
        "赵丽娟": (D("2820.00"), D("0.00"), D("2820.00")),    # 3000 × 0.94
        "李春梅": (D("2790.00"), D("0.00"), D("2790.00")),    # 3000 × 0.93
        "张志刚": (D("2640.00"), D("0.00"), D("2640.00")),    # 3000 × 0.88
        "陈刚": (D("2370.00"), D("0.00"), D("2370.00")),      # 3000 × 0.79
    }
