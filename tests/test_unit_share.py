"""A person's score combining their unit's result (#12 item 1; S1-4's deputies: 60 % the unit's
operating result + 40 % their own quarterly plan), as data: the person template's unit share and
unit, applied at the close before grading.

By hand: a deputy of 生产部 whose own sheet scores 88 and whose department scores 85, at a share of
0.6: 0.4 × 88 + 0.6 × 85 = 35.20 + 51.00 = 86.20.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal.models import Period, Result
from appraisal.services import closing, rollup, unit_share
from indicators.demo import template_spec
from indicators.models import Template
from indicators.services import TemplateRejected, build_template
from tests.closing import add_people, person_template
from tests.paying import closed_period, unit_template

D = Decimal


def _share(org: Any, share: str, unit: str = "department") -> Template:
    template = person_template(org)
    with scope(organization=org):
        Template.objects.filter(pk=template.pk).update(unit_share=D(share), unit=unit)
    return template


def _result(period: Period, person: Any) -> Result:
    with scope(organization=period.organization):
        return Result.objects.get(period=period, person=person)


def test_it_combines_the_persons_score_with_the_departments(world_a: Any) -> None:
    template = _share(world_a.org, "0.6")
    (deputy,) = add_people(world_a.org, world_a.production, 1)
    with scope(organization=world_a.org):
        units = unit_template(world_a.org, "department")
    period = closed_period(world_a.org, {deputy: "88", world_a.production: "85"}, templates=[template, units])
    result = _result(period, deputy)
    assert result.raw_score == D("86.20")
    assert result.rollup is not None and (result.rollup["source"], result.rollup["children"]) == ("unit", "85.00")
    assert "生产部" in result.explanation and "86.20" in result.explanation


def test_it_reads_the_nearest_department_above_with_a_score(world_a: Any) -> None:
    """The person is in 运行部, which has no scored sheet; its parent 生产部 scores 70:
    0.5 × 90 + 0.5 × 70 = 80.00."""
    template = _share(world_a.org, "0.5")
    (operator,) = add_people(world_a.org, world_a.shift_dept, 1)
    with scope(organization=world_a.org):
        units = unit_template(world_a.org, "department")
    period = closed_period(world_a.org, {operator: "90", world_a.production: "70"}, templates=[template, units])
    assert _result(period, operator).raw_score == D("80.00")


def test_it_reads_the_team_when_the_template_says_team(world_a: Any) -> None:
    """The employee's shift scores 100, he 80, a share of 0.25: 0.75 × 80 + 0.25 × 100 = 85.00."""
    template = _share(world_a.org, "0.25", unit="team")
    with scope(organization=world_a.org):
        units = unit_template(world_a.org, "team")
    employee = world_a.people["employee"]
    period = closed_period(world_a.org, {employee: "80", world_a.shift: "100"}, templates=[template, units])
    assert _result(period, employee).raw_score == D("85.00")


def test_it_keeps_the_own_score_when_the_unit_has_none(world_a: Any) -> None:
    template = _share(world_a.org, "0.6")
    (deputy,) = add_people(world_a.org, world_a.back_office, 1)
    period = closed_period(world_a.org, {deputy: "88"}, templates=[template])
    result = _result(period, deputy)
    assert result.raw_score == D("88.00")
    assert result.rollup is not None and result.rollup["children"] is None


def test_it_leaves_a_template_without_a_share_alone(world_a: Any) -> None:
    (clerk,) = add_people(world_a.org, world_a.production, 1)
    with scope(organization=world_a.org):
        units = unit_template(world_a.org, "department")
    period = closed_period(world_a.org, {clerk: "88", world_a.production: "85"},
                           templates=[person_template(world_a.org), units])
    result = _result(period, clerk)
    assert (result.raw_score, result.rollup) == (D("88.00"), None)


def test_it_recombines_a_new_own_score_with_the_same_unit_score() -> None:
    """An upheld appeal moves the own sheet from 88 to 93: 0.4 × 93 + 0.6 × 85 = 88.20."""
    kept = {"source": "unit", "share": "0.6", "own": "88.00", "children": "85.00", "exact": "85.00", "unit": "生产部",
            "explanation": "…"}
    score, again = rollup.with_own_score(kept, D("93.00"))
    assert score == D("88.20")
    assert again is not None and again["own"] == "93.00" and "88.20" in again["explanation"]


def test_it_recombines_through_a_unit_share_under_a_roll_up() -> None:
    """A unit share (0.5 of a unit at 80) inside a child-period roll-up (0.8 of 90): own 70 →
    unit-combined 75.00 → 0.2 × 75 + 0.8 × 90 = 87.00; an appeal to 90 → 85.00 → 89.00."""
    inner = {"source": "unit", "share": "0.5", "own": "70.00", "children": "80.00", "exact": "80.00", "unit": "部",
             "explanation": "…"}
    outer = {"share": "0.8", "own": "75.00", "children": "90.00", "exact": "90", "detail": "…", "inner": inner,
             "explanation": "…"}
    score, again = rollup.with_own_score(outer, D("90.00"))
    assert score == D("89.00")
    assert again is not None and again["own"] == "85.00" and again["inner"]["own"] == "90.00"


def _spec(**changes: Any) -> dict[str, Any]:
    return {"code": "DEP", "name": "副总考核", "subject_kind": "person",
            "parts": [{"code": "p", "name": "计划", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "100"}]}],
            **changes}


@pytest.mark.parametrize("changes", [{"unit_share": "1.5", "unit": "department"}, {"unit_share": "0.6"},
                                     {"unit_share": "0.6", "unit": "department", "subject_kind": "department"}],
                         ids=["above-1", "no-unit", "not-people"])
def test_it_refuses_a_share_that_cannot_apply(world_a: Any, changes: dict[str, Any]) -> None:
    person_template(world_a.org)
    with scope(organization=world_a.org), pytest.raises(TemplateRejected) as refused:
        build_template(organization=world_a.org, acting_user=None, spec=_spec(**changes))
    assert len(refused.value.problems) == 1
    with scope(organization=world_a.org):
        assert not Template.objects.filter(code="DEP").exists()


def test_it_keeps_the_share_in_the_package_spec(world_a: Any) -> None:
    person_template(world_a.org)
    with scope(organization=world_a.org):
        template = build_template(organization=world_a.org, acting_user=None,
                                  spec=_spec(unit_share="0.6", unit="department"))
        assert (template.unit_share, template.unit) == (D("0.6"), "department")
        assert (template_spec(template)["unit_share"], template_spec(template)["unit"]) == ("0.6", "department")


def _close_queries(world: Any, count: int, year: int) -> int:
    people = add_people(world.org, world.production, count, prefix=f"u{year}-")
    template = _share(world.org, "0.6")
    with scope(organization=world.org):
        units = unit_template(world.org, "department")
    period = closed_period(world.org, {**{p: "80" for p in people}, world.production: "90"},
                           templates=[template, units], year=year)
    with scope(organization=world.org):
        assert period.grading_policy is not None
        drafts, _unscored = closing.population_drafts(period, period.grading_policy)
        with CaptureQueriesContext(connection) as queries:
            assert unit_share.combine(period, drafts) == count
    return len(queries)


def test_it_combines_in_the_same_number_of_queries_for_any_head_count(world_a: Any) -> None:
    assert _close_queries(world_a, 2, 2024) == _close_queries(world_a, 7, 2025)
