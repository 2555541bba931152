"""A pay computation in parts (issue #14, payroll.pay_parts): whole departments a part, the same
run as a computation in one piece (slips, totals, component totals, budgets, notes), a part run
twice staging once, an unchanged recomputation writing no version, a group policy kept in one
piece, and a failing part failing the job with nothing staged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appraisal.models import Period
from organizations.chunks import JobChunk
from organizations.models import Job, Person
from payroll import pay_parts, services
from payroll.models import PayRun, PaySlip, StagedSlip
from payroll.tasks import compute_pay_run_task
from tests.closing import add_people, close, make_policy, scored_period
from tests.test_pay_runs import pay_policy

SCORES = ["95", "88", "81", "76", "72", "66"]


def three_departments(world: Any, number: int = 10) -> Period:
    """Six people in each of the world's three departments, base pay by department, closed."""
    people: list[Person] = []
    for index, department in enumerate([world.production, world.shift_dept, world.back_office]):
        mine = add_people(world.org, department, len(SCORES), prefix=f"q{number}{index}-")
        with scope(organization=world.org):
            Person.objects.filter(pk__in=[p.pk for p in mine]).update(base_pay=Decimal(2000 + 500 * index))
        people += mine
    period = scored_period(world.org, dict(zip(people, SCORES * 3, strict=True)),
                           policy=make_policy(world.org, code=f"Q{number}", quotas=[]), number=number)
    close(period)
    return period


def computed(period: Period) -> PayRun | None:
    """The pay computation as the task runs it (eagerly, so its parts run here), and its run."""
    compute_pay_run_task.apply(kwargs={"organization_id": period.organization_id, "period_id": period.pk,
                                       "reason": "closed"})
    with scope(organization=period.organization):
        return PayRun.objects.filter(period=period).order_by("-version").first()


def paid(run: PayRun) -> dict[str, tuple[str, str, Any, Any, Any]]:
    with scope(organization=run.organization):
        return {number: (str(total), grade, lines, amounts, balances) for number, total, grade, lines, amounts, balances
                in PaySlip.objects.filter(run=run).values_list("person__employee_no", "total", "grade", "lines",
                                                              "amounts", "balances")}


def summary(run: PayRun) -> tuple[Any, ...]:
    return (run.people, run.total, run.components, run.component_totals, run.notes, run.over_budget,
            run.provisional, run.version)


def test_it_shares_whole_departments_out_in_department_order(world_a: Any, settings: Any) -> None:
    pay_policy(world_a.org)
    settings.PAY_PART_PEOPLE = 7
    period = three_departments(world_a)
    with scope(organization=world_a.org):
        parts = pay_parts.parts_for(Period.objects.get(pk=period.pk))
    assert parts is not None and len(parts) >= 2
    departments = [d for part in parts for d in part.params["departments"]]
    assert departments == sorted(departments) and len(departments) == len(set(departments))


def test_it_pays_in_parts_what_it_pays_in_one_piece(world_a: Any, settings: Any) -> None:
    pay_policy(world_a.org)
    settings.PAY_PART_PEOPLE = 7
    period = three_departments(world_a)
    several = computed(period)
    assert several is not None
    with scope(organization=world_a.org):
        job = Job.objects.filter(kind=Job.Kind.PAY_RUN, subject_id=period.pk).get()
        assert JobChunk.objects.filter(job=job).count() >= 2 and job.state == Job.State.DONE
        assert job.message == "v1" and not StagedSlip.objects.exists()
        # The same period in one piece, in memory: the run and every slip say the same.
        rows, pays, notes = services.pay_people(period, services.applicable_policies(period))
        sums: dict[str, Decimal] = {}
        for pay in pays.values():
            for line in pay.lines:
                if line.paid:
                    sums[line.code] = sums.get(line.code, Decimal("0.00")) + line.amount
        slips = {person_id: (total, lines) for person_id, total, lines in
                 PaySlip.objects.filter(run=several).values_list("person_id", "total", "lines")}
        in_one_piece = services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert (several.people, several.total, several.notes) == (len(pays), sum(p.total for p in pays.values()),
                                                              "\n".join(notes))
    assert several.component_totals == {code: format(sums.get(code, Decimal("0.00")), "f")
                                        for code, _name in several.components}
    assert slips == {person_id: (pay.total, services._lines(pay)) for person_id, pay in pays.items()}
    assert in_one_piece is not None and in_one_piece.pk == several.pk  # the same slips: no new version
    assert len(slips) == 18 and len(rows) == 18


def test_it_writes_no_version_when_the_parts_pay_the_same(world_a: Any, settings: Any) -> None:
    pay_policy(world_a.org)
    settings.PAY_PART_PEOPLE = 7
    period = three_departments(world_a)
    first = computed(period)
    again = computed(period)
    assert first is not None and again is not None and again.pk == first.pk
    with scope(organization=world_a.org):
        assert PayRun.objects.filter(period=period).count() == 1


def test_it_stages_a_part_once_when_it_runs_twice(world_a: Any, settings: Any) -> None:
    pay_policy(world_a.org)
    settings.PAY_PART_PEOPLE = 7
    period = three_departments(world_a)
    with scope(organization=world_a.org):
        job = Job.objects.create(organization=world_a.org, kind=Job.Kind.PAY_RUN, subject=period,
                                 state=Job.State.RUNNING)
        parts = pay_parts.parts_for(Period.objects.get(pk=period.pk))
        assert parts is not None
        held: list[int] = []
        pay_parts.begin(job, parts, send=lambda job, numbers: held.extend(numbers))
        pay_parts.run_part(job, held[0], reason="closed")
        staged = StagedSlip.objects.filter(job=job).count()
        pay_parts.run_part(job, held[0], reason="closed")  # delivered again
        assert StagedSlip.objects.filter(job=job).count() == staged > 0
        assert not PayRun.objects.filter(period=period).exists()  # nothing visible before the last part
        for number in held[1:]:
            pay_parts.run_part(job, number, reason="closed")
        assert PayRun.objects.filter(period=period).count() == 1
        assert PaySlip.objects.filter(run__period=period).count() == 18  # the world's 5 are exempt: not paid


def test_it_keeps_a_policy_with_a_group_component_in_one_piece(world_a: Any, settings: Any) -> None:
    pay_policy(world_a.org, components=[
        {"code": "avg", "name": "平均奖", "kind": "population_average",
         "config": {"source": "base_salary", "among": "score > 0", "coefficient": "1"}}])
    settings.PAY_PART_PEOPLE = 7
    period = three_departments(world_a)
    with scope(organization=world_a.org):
        assert pay_parts.parts_for(Period.objects.get(pk=period.pk)) is None


def test_a_part_that_cannot_pay_fails_the_job_and_stages_nothing(world_a: Any, settings: Any) -> None:
    pay_policy(world_a.org, components=[
        {"code": "ratio", "name": "比例奖", "kind": "formula", "config": {"expression": "100 / (score - 88)"}}])
    settings.PAY_PART_PEOPLE = 7
    period = three_departments(world_a)
    assert computed(period) is None
    with scope(organization=world_a.org):
        job = Job.objects.get(kind=Job.Kind.PAY_RUN, subject_id=period.pk)
        assert job.state == Job.State.FAILED and ("ratio" in job.message or "比例奖" in job.message)
        assert not StagedSlip.objects.exists()


@pytest.fixture(autouse=True)
def _eager(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
