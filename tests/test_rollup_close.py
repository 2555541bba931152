"""The quarter → year roll-up at the annual close (appraisal.services.rollup): the annual period
declares its quarters and their weights, each year-end template its share of the quarters, and the
close combines, per person, (1 − share) × the year-end sheet + share × the quarters' weighted final
scores, rounded once, before grading.

Worked by hand (grades by band: S ≥ 90, A 80–89, B 70–79, C below 70; no quotas):

* S1-4 (share 0.8 for everyone): 甲 quarters 80, 85, 90, 95 → average 87.5, year-end 78 →
  0.2 × 78 + 0.8 × 87.5 = 15.6 + 70 = 85.60 (A); 乙 quarters 70, 72, 68, 74 → 71, year-end 90 →
  18 + 56.8 = 74.80 (B).
* S1-9: managers 80 % year-end + 20 % quarters (share 0.2), others 60 % quarters + 40 % year-end
  (share 0.6). Both with quarters 80, 85, 90, 95 (87.5) and year-end 96: manager 0.8 × 96 + 0.2 ×
  87.5 = 76.8 + 17.5 = 94.30 (S); staff 0.6 × 87.5 + 0.4 × 96 = 52.5 + 38.4 = 90.90 (S).
* A transfer (S1-4): 丙 scores 80 and 84 in Q1–Q2 in one department, 90 and 94 in Q3–Q4 in
  another; year-end 85 → average 87 → 0.2 × 85 + 0.8 × 87 = 17 + 69.6 = 86.60.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal import appeals, services
from appraisal.appeal_lines import LineChange
from appraisal.models import GradingPolicy, Period, Result, Sheet, SheetLine
from appraisal.services import closing, rollup, window
from indicators.models import Template
from indicators.services import build_template
from organizations.models import Job, Organization, Person
from organizations.packages import export_package, load_sections
from tests.closing import add_people, close, make_policy, person_template, results

D = Decimal
QUARTERS = ("80", "85", "90", "95")


def _template(org: Organization, code: str, people: Sequence[Person] = ()) -> Template:
    """A year-end template on the WORK line (the score is the actual), for ``people`` or everyone."""
    person_template(org)  # creates the WORK indicator
    spec: dict[str, Any] = {"code": code, "name": f"年度考核 {code}", "subject_kind": "person",
                            "parts": [{"code": "p", "name": "业绩", "weight": "1",
                                       "lines": [{"indicator": "WORK", "max_points": "100"}]}]}
    if people:
        spec["applies_to"] = [{"people": [p.employee_no for p in people]}]
    with scope(organization=org):
        return build_template(organization=org, acting_user=None, spec=spec)


def _period(org: Organization, kind: str, number: int, templates: Sequence[Template],
            scores: Mapping[Person, str], policy: GradingPolicy, year: int = 2026) -> Period:
    """A period in calibration whose listed people score exactly ``scores``; everyone else exempt."""
    with scope(organization=org):
        period = services.create_period(organization=org, acting_user=None, kind=kind, year=year, number=number,
                                        templates=list(templates), grading_policy=policy)
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        by_person = {p.pk: v for p, v in scores.items()}
        for sheet in Sheet.objects.filter(period=period):
            if sheet.person_id not in by_person:
                Sheet.objects.filter(pk=sheet.pk).update(special_status="exempt", special_reason="not in this test")
                continue
            SheetLine.objects.filter(sheet=sheet).update(target=D("100"), actual=D(by_person[sheet.person_id]))
        for step in ["scoring", "calibration"]:
            services.transition(period=period, to=step, acting_user=None)
        return Period.objects.get(pk=period.pk)


def _quarters(org: Organization, per_person: Mapping[Person, Sequence[str]], policy: GradingPolicy,
              closed: int = 4, year: int = 2026) -> list[Period]:
    """Q1–Q4 of ``year`` on the quarterly template; the first ``closed`` of them closed."""
    quarters = []
    for number in range(1, 5):
        quarter = _period(org, "quarterly", number, [person_template(org)],
                          {p: s[number - 1] for p, s in per_person.items()}, policy, year)
        if number <= closed:
            close(quarter)
        quarters.append(quarter)
    return quarters


def _year(org: Organization, quarters: Sequence[Period], templates: Sequence[Template],
          scores: Mapping[Person, str], policy: GradingPolicy, shares: Mapping[str, str], number: int = 2026) -> Period:
    year = _period(org, "annual", 1, templates, scores, policy, number)
    with scope(organization=org):
        services.set_rollup(parent=year, children={q: D("0.25") for q in quarters}, acting_user=None)
        for code, share in shares.items():
            services.set_rollup_share(organization=org, template_code=code, share=D(share), acting_user=None)
    return year


@pytest.fixture
def policy(org_a: Organization) -> GradingPolicy:
    return make_policy(org_a, code="BANDS", quotas=[])


@pytest.fixture
def people(world_a: Any) -> list[Person]:
    return add_people(world_a.org, world_a.back_office, 3, prefix="r")


def test_it_combines_80_percent_of_the_quarters_average_with_20_percent_of_the_year_end(org_a, policy, people):
    jia, yi, _bing = people
    quarters = _quarters(org_a, {jia: QUARTERS, yi: ("70", "72", "68", "74")}, policy)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78", yi: "90"}, policy, {"YEAR": "0.8"})
    close(year)
    found = results(year)
    assert {name: (r.final_score, r.grade) for name, r in found.items() if name in (jia.name, yi.name)} == {
        jia.name: (D("85.60"), "A"), yi.name: (D("74.80"), "B")}


def test_it_explains_both_parts_of_the_annual_score(org_a, policy, people):
    jia = people[0]
    quarters = _quarters(org_a, {jia: QUARTERS}, policy)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78"}, policy, {"YEAR": "0.8"})
    close(year)
    result = results(year)[jia.name]
    assert result.rollup is not None
    assert (result.rollup["own"], result.rollup["children"], result.rollup["share"]) == ("78.00", "87.50", "0.8")
    assert "78.00 × 20%" in result.explanation and "87.50 × 80%" in result.explanation
    assert "2026-Q1 80.00 × 0.25" in result.explanation and "= 85.60" in result.explanation


def test_it_weighs_managers_and_staff_by_their_own_templates_shares(org_a, policy, people):
    manager, staff, _bing = people
    quarters = _quarters(org_a, {manager: QUARTERS, staff: QUARTERS}, policy)
    templates = [_template(org_a, "Y-MGR", [manager]), _template(org_a, "Y-STAFF")]
    year = _year(org_a, quarters, templates, {manager: "96", staff: "96"}, policy,
                 {"Y-MGR": "0.2", "Y-STAFF": "0.6"})
    close(year)
    found = results(year)
    assert (found[manager.name].final_score, found[staff.name].final_score) == (D("94.30"), D("90.90"))


def test_it_counts_the_quarters_of_a_person_who_moved_department(world_a, policy, people):
    org = world_a.org
    bing = people[2]
    per_person = {bing: ("80", "84", "90", "94")}
    first_half = [_period(org, "quarterly", n, [person_template(org)], {bing: per_person[bing][n - 1]}, policy)
                  for n in (1, 2)]
    for quarter in first_half:
        close(quarter)
    with scope(organization=org):
        Person.objects.filter(pk=bing.pk).update(department=world_a.production)  # moved in July
    second_half = [_period(org, "quarterly", n, [person_template(org)], {bing: per_person[bing][n - 1]}, policy)
                   for n in (3, 4)]
    for quarter in second_half:
        close(quarter)
    year = _year(org, [*first_half, *second_half], [_template(org, "YEAR")], {bing: "85"}, policy, {"YEAR": "0.8"})
    close(year)
    assert results(year)[bing.name].final_score == D("86.60")


def test_it_averages_over_the_quarters_a_person_has(org_a, policy, people):
    # 丁 joined in April: Q2–Q4 84, 90, 93 → 89 (weights 0.75 scaled up to 1); year-end 79 →
    # 0.2 × 79 + 0.8 × 89 = 15.8 + 71.2 = 87.00.
    ding = people[0]
    quarters = [_period(org_a, "quarterly", n, [person_template(org_a)], {ding: s} if s else {}, policy)
                for n, s in ((1, ""), (2, "84"), (3, "90"), (4, "93"))]
    for quarter in quarters:
        close(quarter)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {ding: "79"}, policy, {"YEAR": "0.8"})
    close(year)
    result = results(year)[ding.name]
    assert result.final_score == D("87.00") and "0.75" in result.explanation


def test_it_keeps_the_sheet_score_of_a_template_without_a_share(org_a, policy, people):
    jia = people[0]
    quarters = _quarters(org_a, {jia: QUARTERS}, policy)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78"}, policy, {})
    close(year)
    result = results(year)[jia.name]
    assert (result.final_score, result.rollup) == (D("78.00"), None)


def test_it_refuses_to_close_the_year_before_its_quarters_naming_them(org_a, policy, people):
    jia = people[0]
    quarters = _quarters(org_a, {jia: QUARTERS}, policy, closed=3)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78"}, policy, {"YEAR": "0.8"})
    with scope(organization=org_a), pytest.raises(closing.ClosureRefused, match="2026-Q4") as refused:
        closing.start_close(period=year, acting_user=None)
    assert "2026-Q1" not in str(refused.value)
    with scope(organization=org_a):
        assert not Result.objects.filter(period=year).exists()


def test_a_second_close_of_the_year_writes_no_second_result(org_a, policy, people):
    jia, yi, _bing = people
    quarters = _quarters(org_a, {jia: QUARTERS, yi: QUARTERS}, policy)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78", yi: "90"}, policy, {"YEAR": "0.8"})
    job = close(year)
    with scope(organization=org_a):
        Job.objects.filter(pk=job.pk).update(state="running")  # a redelivered task
        assert closing.run_close(job=Job.objects.get(pk=job.pk)) == {"results": 0}
        counts = {r.person_id: 0 for r in Result.objects.filter(period=year)}
        for person_id in Result.objects.filter(period=year).values_list("person_id", flat=True):
            counts[person_id] += 1
        assert set(counts.values()) == {1}
        assert Result.objects.get(period=year, person=jia).final_score == D("85.60")


def test_it_keeps_the_roll_up_in_the_explanation_after_a_calibration(org_a, policy, people):
    jia = people[0]
    quarters = _quarters(org_a, {jia: QUARTERS}, policy)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78"}, policy, {"YEAR": "0.8"})
    close(year)
    with scope(organization=org_a):
        result = closing.calibrate(result=Result.objects.get(period=year, person=jia), score=D("86.00"),
                                   reason="校准", acting_user=None)
    assert result.final_score == D("86.00") and "87.50 × 80%" in result.explanation


def _combine_queries(world: Any, policy: GradingPolicy, count: int, year: int) -> int:
    """The queries the annual close's roll-up makes for ``count`` people (their quarters closed)."""
    org = world.org
    staff = add_people(org, world.back_office, count, prefix=f"n{year}-")
    quarters = _quarters(org, {p: QUARTERS for p in staff}, policy, year=year)
    annual = _year(org, quarters, [_template(org, f"Y{year}")], {p: "78" for p in staff}, policy,
                   {f"Y{year}": "0.8"}, number=year)
    with scope(organization=org):
        drafts, _unscored = closing.population_drafts(annual, policy)
        with CaptureQueriesContext(connection) as queries:
            assert rollup.combine(annual, drafts) == count
    assert [d.rollup["children"] for d in drafts if d.rollup] == ["87.50"] * count
    return len(queries)


def test_the_roll_up_reads_the_quarters_in_queries_flat_in_head_count(world_a, policy):
    assert _combine_queries(world_a, policy, 2, 2026) == _combine_queries(world_a, policy, 6, 2027) == 4


def test_it_refuses_weights_that_do_not_add_up_naming_the_field(org_a, policy, people):
    quarters = _quarters(org_a, {}, policy, closed=0)
    with scope(organization=org_a):
        year = services.create_period(organization=org_a, acting_user=None, kind="annual", year=2026, number=1,
                                      templates=[])
        with pytest.raises(rollup.RollupRefused) as refused:
            services.set_rollup(parent=year, children={q: D("0.3") for q in quarters}, acting_user=None)
    assert refused.value.field == "weights" and "1.2" in str(refused.value)


def test_an_upheld_appeal_against_the_year_end_line_keeps_the_quarters_part(org_a, policy, people):
    # 甲's year-end line goes from 78 to 88: 0.2 × 88 + 0.8 × 87.5 = 17.6 + 70 = 87.60 (was 85.60).
    jia = people[0]
    quarters = _quarters(org_a, {jia: QUARTERS}, policy)
    year = _year(org_a, quarters, [_template(org_a, "YEAR")], {jia: "78"}, policy, {"YEAR": "0.8"})
    close(year)
    with scope(organization=org_a):
        window.publish(period=Period.objects.get(pk=year.pk), acting_user=None)
        result = Result.objects.get(period=year, person=jia)
        appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=jia, reason="年终评价偏低",
                                     line=SheetLine.objects.get(sheet=result.sheet))
        appeal = appeals.forward_appeal(appeal=appeal, acting_user=None, opinion="情况属实")
        appeals.decide_appeal(appeal=appeal, acting_user=None, upheld=True, reason="复核属实",
                              line_change=LineChange(values={"actual": D("88")}))
        result.refresh_from_db()
    assert (result.final_score, result.rollup["own"] if result.rollup else None) == (D("87.60"), "88.00")
    assert "88.00 × 20%" in result.explanation


def test_a_package_carries_the_shares_and_a_periods_child_periods(org_a):
    person_template(org_a)
    quarters = [{"kind": "quarterly", "year": 2026, "number": n, "templates": ["PT"]} for n in range(1, 5)]
    year = {"kind": "annual", "year": 2026, "number": 1, "templates": ["PT"],
            "rollup": [{"period": f"2026-Q{n}", "weight": "0.25"} for n in range(1, 5)]}
    with scope(organization=org_a):
        load_sections(org_a, {"rollup_shares": [{"template": "PT", "share": "0.8"}], "periods": [*quarters, year]})
        children = [(child.code, weight) for child, weight in rollup.children_of(Period.objects.get(code="2026"))]
    assert children == [(f"2026-Q{n}", D("0.25")) for n in range(1, 5)]
    assert export_package(org_a)["rollup_shares"] == [{"template": "PT", "share": "0.8"}]
