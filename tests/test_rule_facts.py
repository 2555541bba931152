"""Rules over more than score and grade, at the close (issue #12, item 9): conditions read facts of
the subject's sheet (a line's value by indicator code, the self-assessments missed), supplied by the
close set-based; "set_grade" and "not_assessed" outcomes force the result before the forced
distribution and leave the subject out of the quotas; refusal scores 0.

S1-4 (恒盛地产): more than 20 days' personal leave in a quarter → C; a whole quarter of sick leave →
not assessed, no performance pay. S1-9: not self-assessing → self score 0, twice in a row → fail (E), and
a fail → salary grade −1 (工资等级降一级).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal import services
from appraisal.calibration import quota_lines
from appraisal.models import Period, Rater, Result, Sheet, SheetLine
from appraisal.services import closing
from indicators.models import Template
from indicators.services import build_template, create_indicator
from organizations.models import Job, Organization, Person
from tests.closing import S14_QUOTAS, add_people, close, make_policy

SELF_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "差", "points": "0"}]}

# S1-4: > 20 days' personal leave in a quarter → C; a whole quarter (90 days) of sick leave → not assessed.
LEAVE_RULES: list[dict[str, Any]] = [
    {"code": "personal_leave", "name": "事假超过20天", "kind": "streak",
     "config": {"periods": 1, "condition": {"fact": "line:LEAVE_P.actual", "above": "20"}},
     "outcome": "set_grade", "grade": "C"},
    {"code": "sick_quarter", "name": "整季病假", "kind": "streak",
     "config": {"periods": 1, "condition": {"fact": "line:LEAVE_S.actual", "at_least": "90"}},
     "outcome": "not_assessed"},
]

# S1-9: A ≥ 90, B 80–89, C 70–79, D 60–69, E below 60.
S19_SCALE = {"bands": [
    {"grade": "A", "label": "优秀", "from": "90", "coefficient": "1.2"},
    {"grade": "B", "label": "良好", "from": "80", "coefficient": "1.0"},
    {"grade": "C", "label": "合格", "from": "70", "coefficient": "0.9"},
    {"grade": "D", "label": "较差", "from": "60", "coefficient": "0.6"},
    {"grade": "E", "label": "不合格", "from": None, "coefficient": "0"},
]}
SELF_RULES: list[dict[str, Any]] = [
    {"code": "no_self_twice", "name": "连续二次不参与自评", "kind": "streak",
     "config": {"periods": 2, "condition": {"fact": "missed_self_assessments", "at_least": "1"}},
     "outcome": "set_grade", "grade": "E"},
    {"code": "fail", "name": "不合格降薪级", "kind": "streak",
     "config": {"periods": 1, "condition": {"grade_in": ["E"]}}, "outcome": "salary_down"},
]


def leave_template(org: Organization) -> Template:
    """WORK against a target of 100 at 100 points (the score is the actual), and the personal and
    sick leave days as lines worth no points."""
    with scope(organization=org):
        for code, name in [("WORK", "工作完成"), ("LEAVE_P", "事假天数"), ("LEAVE_S", "病假天数")]:
            create_indicator(organization=org, acting_user=None, code=code, name=name, method="completion",
                             config={"cap_rate": "1.2"})
        return build_template(organization=org, acting_user=None, spec={
            "code": "LT", "name": "季度考核", "subject_kind": "person",
            "parts": [{"code": "p", "name": "业绩", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "100"},
                                 {"indicator": "LEAVE_P", "max_points": "0"},
                                 {"indicator": "LEAVE_S", "max_points": "0"}]}],
        })


def self_template(org: Organization) -> Template:
    """WORK (80 points: 0.8 × the actual) and a self-assessment (20 points), a missing one counting 0."""
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作完成", method="completion",
                         config={"cap_rate": "1.2"})
        create_indicator(organization=org, acting_user=None, code="SELF", name="自评", method="rating",
                         config=SELF_SCALE)
        return build_template(organization=org, acting_user=None, spec={
            "code": "ST", "name": "员工季度考评", "subject_kind": "person",
            "parts": [{"code": "p", "name": "业绩", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "80"},
                                 {"indicator": "SELF", "max_points": "20", "source": "raters"}]}],
            "raters": [{"role": "self", "weight": "1", "missing_counts_as_zero": True}],
        })


def quarter(org: Organization, template: Template, people: dict[Person, dict[str, str]], *, policy: Any,
            number: int = 1, status: dict[Person, str] | None = None) -> Period:
    """A quarter in calibration where each listed person's lines hold the given actuals (by indicator
    code; WORK against a target of 100, leave against 1) and everyone else is exempt."""
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind="quarterly", year=2025,
                                        number=number, templates=[template])
        Period.objects.filter(pk=period.pk).update(grading_policy=policy)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        by_person = {p.pk: values for p, values in people.items()}
        for sheet in Sheet.objects.filter(period=period):
            if sheet.person_id not in by_person:
                Sheet.objects.filter(pk=sheet.pk).update(special_status="exempt", special_reason="not in this test")
                continue
            for code, value in by_person[sheet.person_id].items():
                target = Decimal("100") if code == "WORK" else Decimal("1")
                SheetLine.objects.filter(sheet=sheet, indicator__code=code).update(target=target,
                                                                                  actual=Decimal(value))
        for person, special in (status or {}).items():
            Sheet.objects.filter(period=period, person=person).update(special_status=special, special_reason="测试")
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
        return Period.objects.get(pk=period.pk)


def self_assess(period: Period, people: list[Person]) -> None:
    """Each of ``people`` rates their own SELF line 优秀."""
    with scope(organization=period.organization):
        for person in people:
            line = SheetLine.objects.select_related("sheet__period").get(sheet__period=period, sheet__person=person,
                                                                         indicator__code="SELF")
            rater = Rater.objects.get(sheet=line.sheet, role="self")
            services.rate_line(line=line, rater=rater, acting_user=None, rating="优秀")


def found(period: Period) -> dict[str, Result]:
    with scope(organization=period.organization):
        return {r.person.name: r for r in Result.objects.filter(period=period).select_related("person", "sheet")
                if r.person is not None}


def leave(work: str, personal: str = "0", sick: str = "0") -> dict[str, str]:
    return {"WORK": work, "LEAVE_P": personal, "LEAVE_S": sick}


# --- S1-4: personal leave → C, a quarter of sick leave → not assessed --------------------------------


@pytest.fixture
def thirty(world_a: Any) -> list[Person]:
    return add_people(world_a.org, world_a.production, 30)


def test_it_sets_c_for_more_than_twenty_days_personal_leave_whatever_the_score(world_a: Any,
                                                                                 thirty: list[Person]) -> None:
    policy = make_policy(world_a.org, quotas=[], rules=LEAVE_RULES)
    template = leave_template(world_a.org)
    values = {p: leave("85") for p in thirty[:3]}
    values[thirty[0]] = leave("95", personal="21")
    values[thirty[1]] = leave("95", personal="20")  # exactly 20: not more than 20
    period = quarter(world_a.org, template, values, policy=policy)
    assert close(period).state == Job.State.DONE
    results = found(period)
    over, at = results[thirty[0].name], results[thirty[1].name]
    assert (over.band_grade, over.grade, over.grade_label, over.coefficient) == ("S", "C", "待改进", Decimal("0.8000"))
    assert over.rank is None and over.final_score == Decimal("95.00")
    assert over.flags == [{"rule": "personal_leave", "outcome": "set_grade", "grade": "C",
                           "message": "本考核周期LEAVE_P 实际值高于 20（2025-Q1 21）"}]
    assert over.explanation == ("95.00 分 → S（90–120 分）；规则 事假超过20天：本考核周期LEAVE_P 实际值高于 20"
                                "（2025-Q1 21） → 直接定为 C，不占名额；最终等级 C，绩效系数 0.8")
    assert (at.grade, at.flags) == ("S", [])


def test_it_leaves_a_whole_quarter_of_sick_leave_unassessed_without_grade_or_pay(world_a: Any,
                                                                                  thirty: list[Person]) -> None:
    policy = make_policy(world_a.org, quotas=[], rules=LEAVE_RULES)
    template = leave_template(world_a.org)
    values = {thirty[0]: leave("75", sick="90"), thirty[1]: leave("75", sick="89"),
              thirty[2]: leave("75", personal="30", sick="91")}
    period = quarter(world_a.org, template, values, policy=policy)
    close(period)
    results = found(period)
    sick, almost, both = results[thirty[0].name], results[thirty[1].name], results[thirty[2].name]
    assert (sick.grade, sick.coefficient, sick.final_score, sick.rank) == ("", None, None, None)
    assert sick.raw_score == Decimal("75.00") and sick.band_grade == "B"
    assert [f["outcome"] for f in sick.flags] == ["not_assessed"]
    assert almost.grade == "B"
    # Both rules flag the third: not assessed beats the set grade, and both flags are kept.
    assert both.grade == "" and [f["rule"] for f in both.flags] == ["personal_leave", "sick_quarter"]


def test_it_leaves_forced_grades_out_of_the_population_the_quotas_are_worked_out_from(
        world_a: Any, thirty: list[Person]) -> None:
    # 30 people under S1-4: S ≤ 5 % of 30 = 1.5 → 2. One top scorer took 25 days' personal leave: he
    # is set to C outside the quotas, so the S cap is 5 % of 29 = 1.45 → 1, and the S cap does not
    # count him either.
    scores = ["98", "97", "96"] + ["75"] * 27
    values = {p: leave(s) for p, s in zip(thirty, scores, strict=True)}
    values[thirty[0]] = leave("98", personal="25")
    policy = make_policy(world_a.org, quotas=S14_QUOTAS, rules=LEAVE_RULES)
    period = quarter(world_a.org, leave_template(world_a.org), values, policy=policy)
    close(period)
    results = found(period)
    assert [results[p.name].grade for p in thirty[:3]] == ["C", "S", "A"]
    assert "× 29 = 1.45 → 1" in results[thirty[2].name].explanation
    with scope(organization=world_a.org):
        period = Period.objects.select_related("grading_policy").get(pk=period.pk)
        (population,) = quota_lines(period, {results[thirty[0].name].population})
    assert population.graded == 29 and population.outside == 1
    assert population.line("C") is not None and population.line("C").actual == 0  # type: ignore[union-attr]


def test_it_keeps_the_forced_grade_when_calibration_regrades_the_population(world_a: Any, hr: Any,
                                                                            thirty: list[Person]) -> None:
    values = {thirty[0]: leave("95", personal="22"), thirty[1]: leave("80"), thirty[2]: leave("72")}
    policy = make_policy(world_a.org, quotas=[], rules=LEAVE_RULES)
    period = quarter(world_a.org, leave_template(world_a.org), values, policy=policy)
    close(period)
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=thirty[1])
        closing.calibrate(result=result, score=Decimal("83"), reason="复核", acting_user=hr)
    results = found(period)
    assert results[thirty[0].name].grade == "C" and results[thirty[0].name].flags[0]["rule"] == "personal_leave"
    assert results[thirty[1].name].final_score == Decimal("83.00")


def test_it_counts_a_refusal_as_zero_points_and_the_lowest_grade(world_a: Any, thirty: list[Person]) -> None:
    values = {thirty[0]: leave("95"), thirty[1]: leave("88")}
    policy = make_policy(world_a.org, quotas=[], rules=LEAVE_RULES)
    period = quarter(world_a.org, leave_template(world_a.org), values, policy=policy,
                     status={thirty[1]: "refused"})
    close(period)
    refused = found(period)[thirty[1].name]
    assert (refused.raw_score, refused.final_score, refused.grade) == (Decimal("0.00"), Decimal("0.00"), "C")
    assert refused.explanation.startswith("拒绝参加考核 → 0 分")


def test_it_reads_the_facts_with_the_same_queries_for_three_people_or_twelve(world_a: Any,
                                                                             thirty: list[Person]) -> None:
    template = leave_template(world_a.org)
    warn = {"code": "warn", "kind": "streak", "outcome": "warning",
            "config": {"periods": 2, "condition": {"fact": "missed_self_assessments", "at_least": "1"}}}
    policy = make_policy(world_a.org, quotas=[], rules=[*LEAVE_RULES, warn])
    counts = []
    # The first quarter has no past; the second and third read the past and its facts alike.
    for number, people in [(1, thirty[:2]), (2, thirty[:3]), (3, thirty[3:15])]:
        period = quarter(world_a.org, template, {p: leave("80", personal="25") for p in people}, policy=policy,
                         number=number)
        with scope(organization=world_a.org):
            job = closing.start_close(period=period, acting_user=None)
            with CaptureQueriesContext(connection) as queries:
                closing.run_close(job=job)
        counts.append(len(queries))
        assert {r.grade for r in found(period).values() if r.status == "normal"} == {"C"}
    assert counts[1] == counts[2]


# --- S1-9: twice not self-assessed → fail, and the fail lowers the salary grade -----------------------


def test_it_fails_whoever_missed_two_self_assessments_in_a_year(world_a: Any) -> None:
    people = add_people(world_a.org, world_a.production, 3, prefix="s")
    missing, diligent, once = people
    policy = make_policy(world_a.org, code="S19", scale=S19_SCALE, quotas=[], rules=SELF_RULES)
    template = self_template(world_a.org)
    works = {p: {"WORK": "100"} for p in people}
    first = quarter(world_a.org, template, works, policy=policy, number=1)
    self_assess(first, [diligent, once])
    close(first)
    q1 = found(first)
    assert q1[missing.name].grade == "B" and q1[missing.name].flags == []  # one miss: 80 + 0 points
    second = quarter(world_a.org, template, works, policy=policy, number=2)
    self_assess(second, [diligent])
    close(second)
    q2 = found(second)
    assert (q2[missing.name].band_grade, q2[missing.name].grade) == ("B", "E")
    assert [f["outcome"] for f in q2[missing.name].flags] == ["set_grade", "salary_down"]
    assert "2025-Q1 1" in q2[missing.name].flags[0]["message"]
    assert "2025-Q2 1" in q2[missing.name].flags[0]["message"]
    assert (q2[diligent.name].grade, q2[diligent.name].flags) == ("A", [])
    assert (q2[once.name].grade, q2[once.name].flags) == ("B", [])  # missed once only
