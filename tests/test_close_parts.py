"""The close in parts (issue #14, appraisal.services.close_parts): populations shared out whole,
results staged out of sight until the last step writes them all, a part run twice writing once,
figures refused while the parts grade, progress the sum of the parts', and the same results
however many parts a close is cut into. The parts run in this process here (and through eager
messages); tests/test_multihost.py runs them on two hosts with a worker killed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appraisal import grading, services
from appraisal.models import Period, Result, Sheet, SheetLine, StagedResult
from appraisal.services import close_parts, closing, populations
from organizations.chunks import JobChunk
from organizations.models import Job, Person
from tests.closing import add_people, make_policy, scored_period

SCORES = ["95", "91", "88", "84", "83", "79", "77", "75", "72", "69", "66", "61"]


def spread_period(world: Any, *, number: int = 10, population: str = "department") -> tuple[Period, list[Person]]:
    """Twelve people in each of the world's three departments, the same scores in each."""
    people: list[Person] = []
    for index, department in enumerate([world.production, world.shift_dept, world.back_office]):
        people += add_people(world.org, department, len(SCORES), prefix=f"p{number}{index}-")
    scores = dict(zip(people, SCORES * 3, strict=True))
    policy = make_policy(world.org, code=f"D{number}", population=population)
    period = scored_period(world.org, scores, policy=policy, number=number)
    with scope(organization=world.org):
        closing.rescore_period(period=period, acting_user=None, reason="data entered")  # scored as entered
    return period, people


def by_person(period: Period) -> list[tuple[str, str, str, int | None, str]]:
    """The period's own people's results (the others are exempt), by name without the period's prefix."""
    own = f"p{period.number}"
    with scope(organization=period.organization):
        return sorted((r.person.name[len(own):], str(r.final_score), r.grade, r.rank, r.population_label)
                      for r in Result.objects.filter(period=period, person__isnull=False).select_related("person")
                      if r.person is not None and r.person.name.startswith(own))


def started(period: Period) -> Job:
    with scope(organization=period.organization):
        return closing.start_close(period=period, acting_user=None)


class Held:
    """A ``send`` that keeps the parts it is given, to run them one by one."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, int]] = []

    def __call__(self, job: Job, stage: str, numbers: list[int]) -> None:
        self.parts += [(stage, n) for n in numbers]


def run(job: Job, held: Held, stage: str, number: int) -> int | None:
    return close_parts.run_part(job, stage, number, acting_user=None, send=held)


def begun(world: Any, settings: Any) -> tuple[Period, list[Person], Job, Held]:
    """A period of the three departments whose close has begun in parts of 15 sheets (nothing
    stale: grading parts, held back to be run one by one)."""
    settings.CLOSE_PART_SHEETS = 15
    period, people = spread_period(world)
    job, held = started(period), Held()
    with scope(organization=world.org):
        close_parts.begin(job, acting_user=None, send=held)
    return period, people, job, held


def test_it_shares_departments_out_whole_and_balanced(world_a: Any, settings: Any) -> None:
    settings.CLOSE_PART_SHEETS = 15
    period, _people = spread_period(world_a)
    with scope(organization=world_a.org):
        period = Period.objects.select_related("grading_policy").get(pk=period.pk)
        assert period.grading_policy is not None
        parts = close_parts.grading_parts(period, period.grading_policy)
        sheets = Sheet.objects.filter(period=period)
        covered = [set(sheets.filter(close_parts.part_filter(dict(p.params))).values_list("pk", flat=True))
                   for p in parts]
    everyone = set().union(*covered)
    assert len(parts) >= 2 and sum(len(c) for c in covered) == len(everyone) == sheets.count()  # each sheet once
    assert [p.total for p in parts] == [len(c) for c in covered]
    departments = [set(p.params["departments"]) for p in parts]
    assert all(a.isdisjoint(b) for i, a in enumerate(departments) for b in departments[i + 1:])  # none split


def test_it_keeps_a_policy_over_the_whole_organisation_in_one_part(world_a: Any, settings: Any) -> None:
    settings.CLOSE_PART_SHEETS = 5
    period, _people = spread_period(world_a, population="organization")
    with scope(organization=world_a.org):
        period = Period.objects.select_related("grading_policy").get(pk=period.pk)
        assert period.grading_policy is not None
        parts = close_parts.grading_parts(period, period.grading_policy)
    assert [dict(p.params) for p in parts] == [{"all": True}]


def test_it_closes_in_parts_to_the_results_of_a_close_in_one(world_a: Any, settings: Any) -> None:
    settings.CLOSE_PART_SHEETS = 100000
    whole, _ = spread_period(world_a, number=10)
    with scope(organization=world_a.org):
        closing.run_close(job=started(whole))
    settings.CLOSE_PART_SHEETS = 7
    parted, _ = spread_period(world_a, number=11)
    job = started(parted)
    with scope(organization=world_a.org):
        assert closing.run_close(job=job)["results"] == Sheet.objects.filter(period=parted).count()
        assert JobChunk.objects.filter(job=job, stage=close_parts.GRADE).count() >= 3
    assert by_person(parted) == by_person(whole) and len(by_person(whole)) == 36


def test_it_shows_no_result_until_the_last_part_is_graded(world_a: Any, settings: Any) -> None:
    period, _people, job, held = begun(world_a, settings)
    with scope(organization=world_a.org):
        assert [stage for stage, _n in held.parts] == [close_parts.GRADE] * len(held.parts)  # nothing stale
        *first, last = held.parts
        for stage, number in first:
            run(job, held, stage, number)
        assert not Result.objects.filter(period=period).exists()
        assert StagedResult.objects.filter(period=period).exists()
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION
        assert run(job, held, *last) == Sheet.objects.filter(period=period).count()
        assert not StagedResult.objects.filter(period=period).exists()
        closed = Period.objects.get(pk=period.pk)
        assert (closed.state, closed.closing_since) == (Period.State.CLOSED, None)
        assert Job.objects.get(pk=job.pk).state == Job.State.DONE


def test_it_writes_once_when_a_part_and_the_last_step_run_twice(world_a: Any, settings: Any) -> None:
    period, _people, job, held = begun(world_a, settings)
    with scope(organization=world_a.org):
        stage, number = held.parts[0]
        run(job, held, stage, number)
        staged = StagedResult.objects.filter(job=job).count()
        run(job, held, stage, number)  # delivered again
        assert StagedResult.objects.filter(job=job).count() == staged
        assert JobChunk.objects.get(job=job, stage=stage, number=number).runs == 1
        for again in held.parts[1:]:
            run(job, held, *again)
        assert close_parts.finish(job, acting_user=None) == 0  # the last step again: the results are there
        sheets = Sheet.objects.filter(period=period).count()
        assert Result.objects.filter(period=period).count() == sheets
        assert Result.history.filter(period_id=period.pk, history_type="+").count() == sheets


def test_it_refuses_figures_while_the_parts_grade(world_a: Any, hr: Any, settings: Any) -> None:
    period, people, _job, _held = begun(world_a, settings)
    with scope(organization=world_a.org):
        line = SheetLine.objects.get(sheet__period=period, sheet__person=people[0])
        assert Period.objects.get(pk=period.pk).closing_since is not None
        with pytest.raises(services.IllegalTransition, match=r"正在汇总定级|being closed"):
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("99"))
        assert SheetLine.objects.get(pk=line.pk).actual == Decimal(SCORES[0])


def test_a_part_that_cannot_grade_fails_the_close_and_the_period_takes_figures_again(
        world_a: Any, hr: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    period, people, job, held = begun(world_a, settings)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise grading.GradingError("配额无法满足")

    with scope(organization=world_a.org):
        monkeypatch.setattr(populations, "grade", refuse)
        run(job, held, *held.parts[0])
        failed = Job.objects.get(pk=job.pk)
        assert (failed.state, failed.message) == (Job.State.FAILED, "配额无法满足")
        assert Period.objects.get(pk=period.pk).closing_since is None
        assert not StagedResult.objects.filter(period=period).exists()
        line = SheetLine.objects.get(sheet__period=period, sheet__person=people[0])
        saved = services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr,
                                     actual=Decimal("99"))
    assert saved.actual == Decimal("99")


def test_its_progress_is_the_sum_of_its_parts(world_a: Any, settings: Any) -> None:
    period, _people, job, held = begun(world_a, settings)
    with scope(organization=world_a.org):
        run(job, held, *held.parts[0])
        current = Job.objects.get(pk=job.pk)
        parts = list(JobChunk.objects.filter(job=job).values_list("done", "total"))
        assert current.done == sum(done for done, _total in parts) and 0 < current.done < current.total
        assert current.total == sum(total for _done, total in parts) == Sheet.objects.filter(period=period).count()


def test_it_sends_each_part_as_a_message_and_one_worker_runs_them_all(
        world_a: Any, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    settings.CLOSE_PART_SHEETS = 15
    period, _people = spread_period(world_a)
    with scope(organization=world_a.org):
        SheetLine.objects.filter(sheet__period=period, actual__isnull=False).update(actual=Decimal("80"))  # stale
        job = started(period)
        with django_capture_on_commit_callbacks(execute=True) as sent:
            closing.run_close(job=job, fan_out=True)
        parts = list(JobChunk.objects.filter(job=job).values_list("stage", "state", "runs"))
        sheets = Sheet.objects.filter(period=period).count()
        assert Result.objects.filter(period=period).count() == sheets
    assert {stage for stage, _state, _runs in parts} == {close_parts.RESCORE, close_parts.GRADE}
    assert all(state == JobChunk.State.DONE and runs == 1 for _stage, state, runs in parts)
    assert len(sent) >= len(parts)  # each part went out as a message of its own


def test_it_writes_every_column_as_the_parts_staged_it(world_a: Any, settings: Any) -> None:
    period, _people, job, held = begun(world_a, settings)
    with scope(organization=world_a.org):
        for part in held.parts[:-1]:
            run(job, held, *part)
        stage, number = held.parts[-1]
        original = close_parts.finish
        staged: dict[int, list[Any]] = {}

        def snapshot(job: Job, **kwargs: Any) -> int:
            staged.update(StagedResult.objects.filter(job=job).values_list("sheet_id", "values"))
            return original(job, **kwargs)

        close_parts.finish = snapshot  # type: ignore[assignment]
        try:
            run(job, held, stage, number)
        finally:
            close_parts.finish = original  # type: ignore[assignment]
        written = {sheet_id: list(values) for sheet_id, *values in Result.objects.filter(period=period).values_list(
            "sheet_id", *closing.RESULT_COLUMNS[3:])}
    assert staged and set(written) == set(staged)

    def same(kept: Any, stored: Any) -> bool:
        return Decimal(kept) == stored if isinstance(stored, Decimal) else kept == stored

    for sheet_id, values in written.items():
        assert all(same(kept, stored) for kept, stored in zip(staged[sheet_id], values, strict=True)), sheet_id


def test_a_close_run_here_finishes_what_another_runner_of_it_took_over(
        world_a: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CLOSE_PART_SHEETS = 15
    period, _people = spread_period(world_a)
    with scope(organization=world_a.org):
        SheetLine.objects.filter(sheet__period=period, actual__isnull=False).update(actual=Decimal("80"))  # stale
    job, other = started(period), Held()
    original = close_parts.start_grading

    def the_other_runner_first(job: Job, **kwargs: Any) -> Any:
        original(job, acting_user=None, send=other)  # its message, delivered meanwhile, plans and holds them
        return original(job, **kwargs)  # which finds the grading planned

    monkeypatch.setattr(close_parts, "start_grading", the_other_runner_first)
    with scope(organization=world_a.org):
        written = closing.run_close(job=job)["results"]
        sheets = Sheet.objects.filter(period=period).count()
        assert (written, Result.objects.filter(period=period).count()) == (sheets, sheets)
        assert Job.objects.get(pk=job.pk).state == Job.State.DONE
    assert other.parts  # which the other runner never ran


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["appraisal.StagedResult", "payroll.StagedSlip"])
def test_it_stages_rows_without_foreign_key_checks_or_extra_indexes(model: str) -> None:
    # Staged rows are scratch: COPYed by a part, read and removed by the last step. Four foreign-key
    # checks a row (at each part's commit) and six indexes were a third of a part's writing.
    from django.apps import apps
    from django.db import connection

    table = apps.get_model(model)._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    assert [name for name, c in constraints.items() if c["foreign_key"]] == []
    indexed = {tuple(c["columns"]) for c in constraints.values()
               if (c["index"] or c["unique"]) and not c["primary_key"]}
    key = "sheet_id" if model == "appraisal.StagedResult" else "person_id"
    assert indexed == {("job_id", "chunk"), ("organization_id", "job_id", key)}
