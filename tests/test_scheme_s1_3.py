"""S1-3 供电营业窗口 (fixtures/schemes/S1-3): the package loads, and a month and a quarter worked by
hand from the article (seed 001, 篇3) come out to the fen.

The article's rules used below:

* 工作质量绩效 on 100 points; each event (事件考核) costs points AND money ("在扣减绩效分外还应直接
  扣减相应绩效工资"); late or leaving early a 3rd time in a month costs 200 元;
* praise by customers or the media: +3 points;
* other awards in money (委屈奖 100, 管理奖 100 …);
* perf pay = 1000 元 × score ÷ 100 (the article's 人均1000元 × 绩效工资系数);
* the quarter's excellent employees: full marks over the quarter, 1–2 people, 200 元 each.

The amounts of the single events are the package's choice (the article refers them to its 细则).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import GradingPolicy, Period, Result, SheetLine
from appraisal.services import closing, window
from appraisal.services.closing import ClosureRefused
from indicators.models import Indicator, Template
from organizations.models import Department, Organization, Person, ReviewGroup
from organizations.packages import load_package
from payroll import services as pay
from payroll.models import PayPolicy, PayRun, PaySlip
from tests.closing import close

SHANGHAI = ZoneInfo("Asia/Shanghai")

D = Decimal
PACKAGE = Path(__file__).resolve().parent.parent / "fixtures" / "schemes" / "S1-3" / "package.json"

# January 2026: (indicator, item, count) recorded for each person; nobody else has an event.
JANUARY: dict[str, list[tuple[str, str, int]]] = {
    "张丽": [("EVENTS", "late", 3), ("EVENTS", "dress", 1)],
    "王芳": [("PRAISE", "praise", 1), ("AWARDS", "grievance", 1)],
    "杨帆": [("EVENTS", "complaint", 1)],
    "陈静": [("AWARDS", "management", 1)],
}
# The quarter: each person's three monthly scores, as the 副班长 sums them up.
QUARTER: dict[str, tuple[str, str, str]] = {
    "林晓燕": ("100", "100", "100"),
    "陈静": ("100", "100", "100"),
    "刘洋": ("100", "100", "100"),
    "王芳": ("103", "100", "98"),
    "张丽": ("92", "96", "100"),
    "杨帆": ("95", "100", "100"),
}


def load() -> Organization:
    data = json.loads(PACKAGE.read_text(encoding="utf-8"))
    return load_package(data, slug="s1-3", name="示例供电公司客户服务中心（S1-3）")


def snapshot(org: Organization) -> dict[str, Any]:
    with scope(organization=org):
        return {
            "departments": sorted(Department.objects.values_list("code", "name")),
            "people": sorted(Person.objects.values_list("employee_no", "name", "manager__employee_no")),
            "groups": sorted(ReviewGroup.objects.values_list("code", "kind")),
            "indicators": sorted(Indicator.objects.values_list("code", "method")),
            "templates": sorted(Template.objects.values_list("code", "version")),
            "grading": sorted(GradingPolicy.objects.values_list("code", "version")),
            "pay": sorted(PayPolicy.objects.values_list("code", "version")),
        }


def open_period(org: Organization, kind: str, template: str) -> Period:
    with scope(organization=org):
        period = services.create_period(
            organization=org, acting_user=None, kind=kind, year=2026, number=1,
            templates=[Template.objects.get(code=template)], grading_policy=GradingPolicy.objects.get(code=template))
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        return Period.objects.get(pk=period.pk)


def finish(period: Period) -> Period:
    with scope(organization=period.organization):
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
    close(period)
    with scope(organization=period.organization):
        return Period.objects.get(pk=period.pk)


def january(org: Organization) -> Period:
    """January with the events recorded by the 业务引导员 (刘洋), each with its evidence."""
    period = open_period(org, "monthly", "S13-M")
    with scope(organization=org):
        guide = Person.objects.get(employee_no="K004")
        for name, events in JANUARY.items():
            for code, item, count in events:
                line = SheetLine.objects.get(sheet__period=period, sheet__person__name=name, indicator__code=code)
                services.record_deduction(line=line, acting_user=None, item_code=item, count=count,
                                          occurred_on=dt.date(2026, 1, 12), evidence="考勤记录／现场检查",
                                          recorded_by=guide)
    return finish(period)


def quarter(org: Organization) -> Period:
    period = open_period(org, "quarterly", "S13-Q")
    with scope(organization=org):
        for name, (m1, m2, m3) in QUARTER.items():
            line = SheetLine.objects.get(sheet__period=period, sheet__person__name=name, indicator__code="QTOTAL")
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 inputs={"m1": m1, "m2": m2, "m3": m3})
    return finish(period)


def found(period: Period) -> dict[str, Result]:
    with scope(organization=period.organization):
        return {r.person.name: r for r in Result.objects.filter(period=period).select_related("person")
                if r.person is not None}


def run_pay(period: Period) -> dict[str, PaySlip]:
    with scope(organization=period.organization):
        run = pay.compute_pay_run(period=period, acting_user=None, reason="绩效工资")
        assert isinstance(run, PayRun)
        return {s.person.name: s for s in PaySlip.objects.filter(run=run).select_related("person")}


def choose_between_ties(period: Period) -> None:
    """The 考核组 prefers 林晓燕 and 陈静 for their overall performance (综合表现最优异): 刘洋's 100
    is calibrated to 99.50 (within 5 % of 100), which leaves two people with full marks."""
    with scope(organization=period.organization):
        result = Result.objects.get(period=period, person__name="刘洋")
        closing.calibrate(result=result, score=D("99.50"), reason="考核组按综合表现评定", acting_user=None)


@pytest.fixture
def org(db: None) -> Organization:
    return load()


def test_it_loads_the_package_twice_without_change(org: Organization) -> None:
    before = snapshot(org)
    assert load().pk == org.pk
    assert snapshot(org) == before
    assert before["pay"] == [("S13", 1)]


def test_it_deducts_points_for_events_and_adds_three_for_praise(org: Organization) -> None:
    scores = {name: r.final_score for name, r in found(january(org)).items()}
    assert scores == {
        "张丽": D("92.00"),    # late ×3: 2 + 2 + 2; dress ×1: 2 → 100 − 8 = 92
        "王芳": D("103.00"),   # praise: 100 + 3 (the 委屈奖 is money only)
        "杨帆": D("95.00"),    # complaint: 100 − 5
        "陈静": D("100.00"), "刘洋": D("100.00"), "林晓燕": D("100.00"),
    }


def test_it_pays_1000_times_the_score_less_the_event_money_plus_the_awards(org: Organization) -> None:
    slips = run_pay(january(org))
    paid = {name: (s.amount("perf"), s.amount("events"), s.amount("awards"), s.total) for name, s in slips.items()}
    assert paid == {
        # 1000 × 0.92 = 920.00; late 20 + 20 + 200 (the 3rd in a month) + dress 20 = 260 → 660.00
        "张丽": (D("920.00"), D("-260.00"), D("0.00"), D("660.00")),
        # 1000 × 1.03 = 1030.00; 委屈奖 100 → 1130.00
        "王芳": (D("1030.00"), D("0.00"), D("100.00"), D("1130.00")),
        # 1000 × 0.95 = 950.00; complaint 100 → 850.00
        "杨帆": (D("950.00"), D("-100.00"), D("0.00"), D("850.00")),
        # 1000 × 1.00; 管理奖 100 → 1100.00
        "陈静": (D("1000.00"), D("0.00"), D("100.00"), D("1100.00")),
        "刘洋": (D("1000.00"), D("0.00"), D("0.00"), D("1000.00")),
        "林晓燕": (D("1000.00"), D("0.00"), D("0.00"), D("1000.00")),
    }


def test_it_scores_the_quarter_on_the_months_each_counted_at_most_100(org: Organization) -> None:
    scores = {name: r.final_score for name, r in found(quarter(org)).items()}
    assert scores == {
        "林晓燕": D("100.00"), "陈静": D("100.00"), "刘洋": D("100.00"),
        "王芳": D("99.33"),   # (100 + 100 + 98) / 3 = 99.333…: the 103 counts 100
        "张丽": D("96.00"),   # (92 + 96 + 100) / 3
        "杨帆": D("98.33"),   # (95 + 100 + 100) / 3 = 98.333…
    }


def test_it_leaves_three_full_marks_for_two_excellent_places_to_the_review_group(org: Organization) -> None:
    results = found(quarter(org))
    tied = sorted(name for name, r in results.items() if r.needs_calibration)
    assert tied == ["刘洋", "林晓燕", "陈静"]
    assert all(results[name].grade == "优秀" for name in tied)  # provisionally, until calibrated


def test_it_pays_200_to_each_of_the_two_excellent_employees(org: Organization) -> None:
    period = quarter(org)
    choose_between_ties(period)
    results = found(period)
    assert sorted(name for name, r in results.items() if r.grade == "优秀") == ["林晓燕", "陈静"]
    assert not any(r.needs_calibration for r in results.values())
    excellent = {name: slip.amount("excellent") for name, slip in run_pay(period).items()}
    assert excellent == {"林晓燕": D("200.00"), "陈静": D("200.00"), "刘洋": D("0.00"), "王芳": D("0.00"),
                         "张丽": D("0.00"), "杨帆": D("0.00")}


def test_it_publishes_the_month_for_three_days_of_objections(org: Organization) -> None:
    period = january(org)
    with scope(organization=org):
        published = window.publish(period=period, acting_user=None,
                                   now=dt.datetime(2026, 2, 2, 10, 0, tzinfo=SHANGHAI))
    # Published on 2 February: the three days are 3, 4 and 5 February; the window ends at 24:00 on the 5th.
    assert published.window_ends_at == dt.datetime(2026, 2, 6, 0, 0, tzinfo=SHANGHAI)


def test_it_refuses_to_publish_the_quarter_before_the_review_group_chooses(org: Organization) -> None:
    period = quarter(org)
    with scope(organization=org), pytest.raises(ClosureRefused):
        window.publish(period=period, acting_user=None)
