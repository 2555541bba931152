"""Money on the score sheet reaches pay (#12, item 2): sheet_points, sheet_money and, per indicator
code, line_<CODE>_points and line_<CODE>_money are standard pay inputs; nothing is re-keyed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appraisal.models import Period, SheetLine
from appraisal.services.entry import record_deduction
from indicators.services import build_template, create_indicator
from payroll import services
from payroll.standard import line_names, safe
from tests.closing import add_people, person_template
from tests.paying import closed_period, compute, save_policy, slips

D = Decimal
DAY = dt.date(2025, 10, 15)

# S1-1 (储蓄岗位): behaviour penalties in points, each point 20 CNY off the month's performance pay;
# a cigarette end costs 5 points, 8 from the fourth on; lateness 2.
S11_BEHAVIOUR = {"items": [{"code": "smoke", "name": "柜台内烟头", "points": "5",
                            "tiers": [{"from_count": 4, "points": "8"}]},
                           {"code": "late", "name": "迟到", "points": "2"}],
                 "money_per_point": "20"}
# S1-10: quality deductions by tier with money: tier 1 −300, tier 2 −200, tier 3 −100, tier 4 10 CNY a
# point; at most 300 a month.
S110_QUALITY = {"items": [{"code": "t1", "name": "一级", "points": "3", "money": "300"},
                          {"code": "t2", "name": "二级", "points": "2", "money": "200"},
                          {"code": "t3", "name": "三级", "points": "1", "money": "100"},
                          {"code": "t4", "name": "四级", "points": "1", "money": "10"}],
                "total_cap_money": "300"}
# S1-3 (供电营业窗口): event deductions with points and money; the third lateness in a month costs 200.
S13_SERVICE = {"items": [{"code": "dress", "name": "着装不规范", "points": "2", "money": "50"},
                         {"code": "late", "name": "迟到", "points": "1", "money": "0",
                          "tiers": [{"from_count": 3, "points": "1", "money": "200"}]}]}


def template_with(org: Any, code: str, config: dict[str, Any], *, work: str, line: str) -> Any:
    """Work (completion, ``work`` full marks) plus one deduction line ``code`` (``line`` full marks)."""
    person_template(org)  # the WORK indicator
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code=code, name=code, method="deduction", config=config)
        return build_template(organization=org, acting_user=None, spec={
            "code": f"T-{code}", "name": f"{code}考核", "subject_kind": "person",
            "parts": [{"code": "p", "name": "考核", "weight": "1", "full_marks": str(D(work) + D(line)), "lines": [
                {"indicator": "WORK", "max_points": work}, {"indicator": code, "max_points": line}]}]})


def deductions(records: dict[Any, list[tuple[str, int]]], code: str) -> Any:
    def record(period: Period) -> None:
        for person, items in records.items():
            line = SheetLine.objects.get(sheet__period=period, sheet__person=person, indicator__code=code)
            for item, count in items:
                record_deduction(line=line, acting_user=None, item_code=item, count=count, occurred_on=DAY,
                                 evidence="检查记录")
                line = SheetLine.objects.get(pk=line.pk)
    return record


def test_it_takes_twenty_yuan_a_point_off_the_months_pay(world_a):
    """S1-1: three cigarette ends (3 × 5 = 15 points) and one lateness (2) = 17 points × 20 CNY =
    340.00 off 1500: 1160.00. The line keeps 20 − 17 = 3 points; the sheet 80 + 3 = 83."""
    template = template_with(world_a.org, "BEHAV", S11_BEHAVIOUR, work="80", line="20")
    save_policy(world_a.org, [
        {"code": "perf", "name": "绩效工资", "kind": "formula", "config": {"expression": "1500 + line_BEHAV_money"}},
        {"code": "points", "kind": "formula", "pays": False, "config": {"expression": "line_BEHAV_points"}},
        {"code": "sheet", "kind": "formula", "pays": False, "config": {"expression": "sheet_points"}}])
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    period = closed_period(world_a.org, {clerk: "100"}, templates=[template],
                           before_close=deductions({clerk: [("smoke", 3), ("late", 1)]}, "BEHAV"))
    lines = {line["code"]: line["amount"] for line in slips(compute(period))[clerk.name].lines}
    assert lines == {"perf": "1160.00", "points": "3.00", "sheet": "83.00"}


def test_it_pays_the_quality_bonus_less_the_capped_deductions(world_a):
    """S1-10: bonus 300 a month less the quality deductions, at most 300.
    甲: one tier 2 (200) + three tier-4 points (3 × 10) = 230 → 300 − 230 = 70.00;
    乙: one tier 1 (300) + one tier 2 (200) = 500, capped at 300 → 0.00; 丙: none → 300.00."""
    template = template_with(world_a.org, "QUAL", S110_QUALITY, work="90", line="10")
    save_policy(world_a.org, [{"code": "bonus", "name": "效益奖", "kind": "formula",
                               "config": {"expression": "300 + sheet_money"}}])
    jia, yi, bing = add_people(world_a.org, world_a.back_office, 3)
    period = closed_period(world_a.org, {jia: "100", yi: "100", bing: "100"}, templates=[template],
                           before_close=deductions({jia: [("t2", 1), ("t4", 3)], yi: [("t1", 1), ("t2", 1)]},
                                                   "QUAL"))
    found = slips(compute(period))
    assert [found[p.name].amount("bonus") for p in (jia, yi, bing)] == [D("70.00"), D("0.00"), D("300.00")]


def test_it_reads_a_lines_points_and_money_under_an_identifier_safe_code(world_a):
    """S1-3: three latenesses (1 + 1 + 1 points; the third costs 200) and a dress fault (2 points,
    50): the 100-point quality line keeps 95. Pay = 2000 × 95 / 100 − 250 = 1650.00. The code
    SVC-Q is named line_SVC_Q_…."""
    template = template_with(world_a.org, "SVC-Q", S13_SERVICE, work="0", line="100")
    assert line_names("SVC-Q") == ("line_SVC_Q_points", "line_SVC_Q_money")
    save_policy(world_a.org, [{"code": "perf", "kind": "formula",
                               "config": {"expression": "2000 * line_SVC_Q_points / 100 + line_SVC_Q_money"}}])
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    period = closed_period(world_a.org, {clerk: "100"}, templates=[template],
                           before_close=deductions({clerk: [("late", 3), ("dress", 1)]}, "SVC-Q"))
    assert slips(compute(period))[clerk.name].amount("perf") == D("1650.00")


def test_it_reads_nothing_for_a_line_the_persons_sheet_does_not_have(world_a):
    """BEHAV exists in the organisation, but this period's template has no such line: 0 points, 0.00."""
    template_with(world_a.org, "BEHAV", S11_BEHAVIOUR, work="80", line="20")
    save_policy(world_a.org, [{"code": "perf", "kind": "formula", "config": {
        "expression": "1500 + line_BEHAV_money + line_BEHAV_points + sheet_money"}}])
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    period = closed_period(world_a.org, {clerk: "100"})
    assert slips(compute(period))[clerk.name].amount("perf") == D("1500.00")


def test_it_refuses_a_line_name_of_an_indicator_the_organisation_does_not_have(world_a):
    person_template(world_a.org)
    with pytest.raises(services.PolicyRejected) as caught:
        save_policy(world_a.org, [{"code": "perf", "kind": "formula", "config": {"expression": "line_WROK_money"}}])
    assert "line_WROK_money" in caught.value.message and "line_WORK_money" in caught.value.message


def test_it_makes_every_other_character_an_underscore():
    assert (safe("MNT-E"), safe("a.b c"), safe("质量-1")) == ("MNT_E", "a_b_c", "质量_1")


def test_it_labels_a_line_name_by_its_code_not_as_a_bare_key() -> None:
    from django.utils import translation

    from payroll.labels import input_label

    assert input_label("line_BEHAV_money") == "BEHAV 指标奖扣金额"
    with translation.override("en"):
        assert input_label("line_BEHAV_money") == "Money of line BEHAV"
        assert input_label("dept_type_outlet_score") == "Score of the outlet department above"
        assert input_label("dept_score") == "Department score"
