"""Sums of pay inputs and headcounts as standard inputs (#12): a year's inputs so far (S1-2: the
graduates of the year decide the tiered bonus and the return of the withheld base), a department's
or team's inputs (a group leader paid on the group's results) and the number of people of the
department or team (S1-6), without anyone typing a running total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal.models import Period
from organizations.models import Person
from payroll import services
from tests.closing import add_people
from tests.paying import closed_period, compute, save_policy, slips

D = Decimal


def _input(period: Period, person: Person, name: str, value: str) -> None:
    with scope(organization=period.organization):
        services.save_pay_input(organization=period.organization, acting_user=None, period=period, name=name,
                                person=person, value=D(value))


def _formula(expression: str) -> list[dict[str, Any]]:
    return [{"code": "bonus", "name": "奖金", "kind": "formula", "config": {"expression": expression}}]


def test_it_sums_a_persons_inputs_over_the_year_so_far(world_a: Any) -> None:
    """Graduates: 3 in October, 4 in November, 9 in the quarter (another kind) and 50 in December
    2024 (another year); November pays 10 a graduate of the year so far: (3 + 4) × 10 = 70.00."""
    save_policy(world_a.org, _formula("ytd_passed * 10"), inputs=["passed"], effective_from=dt.date(2024, 1, 1))
    (coach,) = add_people(world_a.org, world_a.back_office, 1)
    october = closed_period(world_a.org, {coach: "80"}, number=10)
    _input(october, coach, "passed", "3")
    november = closed_period(world_a.org, {coach: "80"}, number=11)
    _input(november, coach, "passed", "4")
    quarter = closed_period(world_a.org, {coach: "80"}, number=4, kind="quarterly")
    _input(quarter, coach, "passed", "9")
    december_before = closed_period(world_a.org, {coach: "80"}, number=12, year=2024)
    _input(december_before, coach, "passed", "50")
    assert slips(compute(november))[coach.name].amount("bonus") == D("70.00")


def test_it_reads_a_year_without_inputs_as_zero(world_a: Any) -> None:
    save_policy(world_a.org, _formula("100 + ytd_passed"), inputs=["passed"])
    (coach,) = add_people(world_a.org, world_a.back_office, 1)
    assert slips(compute(closed_period(world_a.org, {coach: "80"})))[coach.name].amount("bonus") == D("100.00")


def test_it_sums_the_departments_and_the_teams_inputs(world_a: Any) -> None:
    """Back office: 2 + 5 = 7 passed; the shift team (the employee alone of the three with inputs
    there) 6; the leader is paid 10 a graduate of the department and 1 of the team."""
    save_policy(world_a.org, _formula("dept_sum_passed * 10 + team_sum_passed"), inputs=["passed"])
    first, second = add_people(world_a.org, world_a.back_office, 2)
    shift_worker = world_a.people["employee"]
    period = closed_period(world_a.org, {first: "80", second: "80", shift_worker: "80"})
    _input(period, first, "passed", "2")
    _input(period, second, "passed", "5")
    _input(period, shift_worker, "passed", "6")
    found = slips(compute(period))
    assert (found[first.name].amount("bonus"), found[second.name].amount("bonus")) == (D("70.00"), D("70.00"))
    assert found[shift_worker.name].amount("bonus") == D("66.00")  # department 6 × 10, team 6


def test_it_counts_the_people_assessed_in_the_department_and_team(world_a: Any) -> None:
    """A pool of 900 a department shared per head: the back office's three assessed people get 300.00
    each, the shift worker alone in his department 900.00 (and alone in his team)."""
    save_policy(world_a.org, _formula("900 / dept_headcount + team_headcount"))
    people = add_people(world_a.org, world_a.back_office, 3)
    shift_worker = world_a.people["employee"]
    found = slips(compute(closed_period(world_a.org, {**{p: "80" for p in people}, shift_worker: "80"})))
    assert {found[p.name].amount("bonus") for p in people} == {D("300.00")}
    assert found[shift_worker.name].amount("bonus") == D("901.00")


def test_it_refuses_the_sum_of_an_input_the_policy_does_not_declare(world_a: Any) -> None:
    with pytest.raises(services.PolicyRejected) as refused:
        save_policy(world_a.org, _formula("ytd_pased * 10"), inputs=["passed"])
    assert "ytd_pased" in refused.value.message


def _queries(world: Any, n: int, year: int) -> int:
    people = add_people(world.org, world.back_office, n, prefix=f"q{year}-")
    period = closed_period(world.org, {p: "80" for p in people}, year=year)
    for person in people:
        _input(period, person, "passed", "1")
    with scope(organization=world.org), CaptureQueriesContext(connection) as queries:
        services.compute_pay_run(period=period, acting_user=None, reason="closed")
    return len(queries)


def test_it_reads_the_sums_in_the_same_number_of_queries_for_any_head_count(world_a: Any) -> None:
    save_policy(world_a.org, _formula("ytd_passed + dept_sum_passed + team_sum_passed + dept_headcount"),
                inputs=["passed"], effective_from=dt.date(2024, 1, 1))
    # The later year first: neither run has an earlier one to carry balances from (two more queries).
    assert _queries(world_a, 7, 2025) == _queries(world_a, 2, 2024)
