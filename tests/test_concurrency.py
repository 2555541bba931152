"""Concurrent actions never double or lose anything (issue #13), on PostgreSQL with real row locks:
each actor is a thread with its own database connection, and what it commits is what the others see.

* Two closes started at once make one job; two runs of one close at once (a message delivered
  again while the first still runs), or a dead close and its restart running together, write one
  result set, announce it once and make one pay run.
* Two people saving the same line at once (or one person in two tabs): one save wins, the other is
  refused with LineConflict naming who changed the line; nothing is lost.
* A line saved while the close runs: during the rescoring it is kept (the close skips the sheet and
  reads the save); while the close locks the period to start grading it waits and is refused (the
  period is closing by then); one already being saved when that starts is waited for and read.

(An appeal decided twice at once: tests/test_line_appeals.py.) Marked ``services``: they run in the
PostgreSQL pass of bin/test; on SQLite they skip (a failure under REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Result, Sheet, SheetLine
from appraisal.services import close_parts, closing, entry, rescoring
from appraisal.signals import results_changed
from organizations.models import Job, Organization, Person, User
from payroll.models import PayRun
from tests.closing import add_people, make_policy, scored_period
from tests.line_appeals import _enter, line_template
from tests.test_pay_runs import pay_policy

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres_eager() -> Iterator[None]:
    """PostgreSQL (else a skip, or a failure under REQUIRE_SERVICES=1), tasks run eagerly: what a
    commit sends (payroll's computation) stays in the thread that committed."""
    if connection.vendor != "postgresql":
        missing = f"the database is {connection.vendor}, not PostgreSQL (DATABASE_URL=postgres://…)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {missing}", pytrace=False)
        pytest.skip(f"needs PostgreSQL: {missing}")
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The close tasks start_close sends, held back: each test runs the close itself, in its threads."""
    held: list[int] = []
    monkeypatch.setattr(closing, "enqueue", lambda task, **kwargs: held.append(kwargs["job_id"]))
    return held


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def at_once(org: Organization, *calls: Callable[[], Any], timeout: float = 60) -> list[Outcome]:
    """Runs each call in its own thread (its own connection, in the organisation's scope), all
    released together; returns what each returned or raised, and how long it took."""
    start = threading.Barrier(len(calls))
    outcomes = [Outcome() for _call in calls]

    def run(call: Callable[[], Any], outcome: Outcome) -> None:
        try:
            with scope(organization=org):
                start.wait()
                began = time.monotonic()
                try:
                    outcome.value = call()
                finally:
                    outcome.seconds = time.monotonic() - began
        except BaseException as error:
            outcome.error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call, outcome)) for call, outcome in zip(calls, outcomes,
                                                                                            strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread did not finish: a deadlock?"
    return outcomes


def later(org: Organization, call: Callable[[], Any], name: str = "") -> tuple[threading.Thread, Outcome]:
    """Starts ``call`` in a thread of its own (its own connection) and returns at once."""
    outcome = Outcome()

    def run() -> None:
        try:
            with scope(organization=org):
                began = time.monotonic()
                try:
                    outcome.value = call()
                finally:
                    outcome.seconds = time.monotonic() - began
        except BaseException as error:
            outcome.error = error
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name or None)
    thread.start()
    return thread, outcome


def ok(outcome: Outcome) -> Any:
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


def fresh(org: Organization, model: Any, pk: int) -> Any:
    with scope(organization=org):
        return model.objects.get(pk=pk)


def closable(world: Any, count: int = 20) -> tuple[Period, list[Person]]:
    """A period in calibration whose ``count`` people score 70, 71, …: every sheet is stale (its data
    was written behind the services' back), so the close rescores them all."""
    people = add_people(world.org, world.production, count)
    period = scored_period(world.org, {p: str(70 + i) for i, p in enumerate(people)},
                           policy=make_policy(world.org, quotas=[]))
    return period, people


def one_result_set(period: Period) -> None:
    with scope(organization=period.organization):
        sheets = Sheet.objects.filter(period=period).count()
        assert Result.objects.filter(period=period).count() == sheets
        assert Result.history.filter(period_id=period.pk, history_type="+").count() == sheets
        assert Period.objects.get(pk=period.pk).state == Period.State.CLOSED


@pytest.fixture
def announcements() -> Iterator[list[str]]:
    """The results_changed signals sent (payroll computes a pay run for each)."""
    heard: list[str] = []

    def listen(sender: Any, *, reason: str, **kwargs: Any) -> None:
        heard.append(reason)

    results_changed.connect(listen, dispatch_uid="test_concurrency")
    try:
        yield heard
    finally:
        results_changed.disconnect(dispatch_uid="test_concurrency")


def slowed(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, seconds: float) -> None:
    """``module.name`` holds its locks ``seconds`` longer: the other actor arrives while it works."""
    original = getattr(module, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        value = original(*args, **kwargs)
        time.sleep(seconds)
        return value

    monkeypatch.setattr(module, name, slow)


# --- the close ------------------------------------------------------------------------------------


def test_two_closes_started_at_once_make_one_job(world_a: Any, hr: User, sent: list[int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    period, _people = closable(world_a)
    slowed(monkeypatch, closing, "refuse_incomplete", 0.3)  # both are past the "is one running?" check
    first, second = at_once(world_a.org, lambda: closing.start_close(period=period, acting_user=hr),
                            lambda: closing.start_close(period=period, acting_user=hr))
    assert ok(first).pk == ok(second).pk
    with scope(organization=world_a.org):
        assert Job.objects.filter(kind=Job.Kind.CLOSE_PERIOD).count() == 1
    assert sent == [ok(first).pk]  # one task sent


def test_one_close_run_twice_at_once_writes_one_result_set(world_a: Any, hr: User, announcements: list[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pay_policy(world_a.org)
    period, people = closable(world_a)
    with scope(organization=world_a.org):
        Person.objects.filter(pk__in=[p.pk for p in people]).update(base_pay=Decimal("3000"))
        job = closing.start_close(period=period, acting_user=hr)
    slowed(monkeypatch, close_parts, "_publish_staged", 0.5)  # the second waits on the period lock meanwhile
    runs = at_once(world_a.org, lambda: closing.run_close(job=job), lambda: closing.run_close(job=job))
    written = sorted(ok(run)["results"] for run in runs)
    with scope(organization=world_a.org):
        sheets = Sheet.objects.filter(period=period).count()
        assert written == [0, sheets]  # one wrote them all, the other found them written
        assert PayRun.objects.filter(period=period).count() == 1
    one_result_set(period)
    assert announcements == ["closed"]
    assert fresh(world_a.org, Job, job.pk).state == Job.State.DONE


def test_a_dead_close_and_its_restart_running_together_write_one_result_set(
        world_a: Any, hr: User, announcements: list[str], monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_DEAD_AFTER_SECONDS = 30, 60
    period, _people = closable(world_a)
    with scope(organization=world_a.org):
        old = closing.start_close(period=period, acting_user=hr)
    read, go = threading.Event(), threading.Event()
    original = rescoring._save_rescored

    def stall(batch: Any, count: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "old" and not read.is_set():
            read.set()  # it has read every sheet and freezes before writing: its worker seems dead
            assert go.wait(30)
        original(batch, count, **kwargs)

    monkeypatch.setattr(rescoring, "_save_rescored", stall)
    old_run, old_outcome = later(world_a.org, lambda: closing.run_close(job=old), name="old")
    assert read.wait(30)
    with scope(organization=world_a.org):
        then = timezone.now() - dt.timedelta(seconds=120)
        Job.objects.filter(pk=old.pk).update(heartbeat_at=then)
        new = closing.restart_close(job=old, acting_user=hr)
    assert new.pk != old.pk and fresh(world_a.org, Job, old.pk).state == Job.State.FAILED
    slowed(monkeypatch, close_parts, "_publish_staged", 0.5)
    new_run, new_outcome = later(world_a.org, lambda: closing.run_close(job=new), name="new")
    time.sleep(0.2)
    go.set()  # the old run wakes up while the new one works
    old_run.join(60)
    new_run.join(60)
    with scope(organization=world_a.org):
        sheets = Sheet.objects.filter(period=period).count()
    assert sorted([ok(old_outcome)["results"], ok(new_outcome)["results"]]) == [0, sheets]
    one_result_set(period)
    assert announcements == ["closed"]
    assert fresh(world_a.org, Job, new.pk).state == Job.State.DONE


# --- the same line saved twice at once ----------------------------------------------------------


def data_line(period: Period, person: Person) -> SheetLine:
    with scope(organization=period.organization):
        return SheetLine.objects.get(sheet__period=period, sheet__person=person)


def test_two_people_saving_the_same_line_at_once_lose_nothing(world_a: Any, hr: User, head: User, api_for: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    period, people = closable(world_a, count=2)
    line = data_line(period, people[0])
    slowed(monkeypatch, entry, "rescore_sheets", 0.3)  # the winner holds the line while the other arrives
    clients = {hr: api_for(hr), head: api_for(head)}
    values = {hr: "95", head: "88"}

    def save(user: User) -> Callable[[], Any]:
        return lambda: clients[user].patch(f"/api/lines/{line.pk}/", {"version": line.version,
                                                                      "actual": values[user]}, format="json")

    answers = dict(zip([hr, head], at_once(world_a.org, save(hr), save(head)), strict=True))
    codes = {user: ok(outcome).status_code for user, outcome in answers.items()}
    assert sorted(codes.values()) == [200, 409], {u.username: ok(o).content for u, o in answers.items()}
    winner = next(user for user, code in codes.items() if code == 200)
    loser = head if winner == hr else hr
    refusal = ok(answers[loser]).json()["detail"]
    assert str(winner) in refusal  # who changed the line (and when)
    saved = fresh(world_a.org, SheetLine, line.pk)
    assert saved.actual == Decimal(values[winner]) and saved.version == line.version + 1
    with scope(organization=world_a.org):
        assert line.history.model.objects.filter(id=line.pk, version=line.version + 1).count() == 1
        sheet = Sheet.objects.get(pk=line.sheet_id)
    assert sheet.score == Decimal(values[winner]) and not sheet.is_stale


def test_one_person_saving_a_line_from_two_tabs_is_told_the_other_tab_won(world_a: Any, hr: User,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    period, people = closable(world_a, count=2)
    line = data_line(period, people[0])
    slowed(monkeypatch, entry, "rescore_sheets", 0.3)

    def tab(actual: str) -> Callable[[], Any]:
        return lambda: services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr,
                                            actual=Decimal(actual))

    outcomes = at_once(world_a.org, tab("91"), tab("92"))
    refused = [o.error for o in outcomes if o.error is not None]
    assert len(refused) == 1 and isinstance(refused[0], services.LineConflict), refused
    assert str(hr) in str(refused[0])
    won = next(o.value for o in outcomes if o.error is None)
    assert fresh(world_a.org, SheetLine, line.pk).actual == won.actual


# --- a line saved while the close runs -------------------------------------------------------------


def test_a_line_saved_while_the_close_rescores_is_kept_and_closed_with(world_a: Any, hr: User,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    period, people = closable(world_a)
    line = data_line(period, people[0])
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
    read, go = threading.Event(), threading.Event()
    original = rescoring._save_rescored

    def pause_before_the_first_batch(batch: Any, count: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "close" and not read.is_set():
            read.set()  # the close has read every sheet, and writes nothing yet
            assert go.wait(30)
        original(batch, count, **kwargs)

    monkeypatch.setattr(rescoring, "_save_rescored", pause_before_the_first_batch)
    closer, closed = later(world_a.org, lambda: closing.run_close(job=job), name="close")
    assert read.wait(30)
    with scope(organization=world_a.org):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("99"))
    go.set()
    closer.join(60)
    assert ok(closed)["results"] > 0
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[0])
        saved = SheetLine.objects.get(pk=line.pk)
        history = list(SheetLine.history.filter(id=line.pk).order_by("-history_date")
                       .values_list("history_change_reason", "actual")[:1])
    assert fresh(world_a.org, Job, job.pk).state == Job.State.DONE
    assert saved.actual == Decimal("99") and result.raw_score == Decimal("99.00")
    assert history == [("data entered", Decimal("99"))]  # the close's rescoring wrote nothing over it


def test_a_line_saved_during_the_final_write_waits_and_is_refused(world_a: Any, hr: User,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    period, people = closable(world_a)
    line = data_line(period, people[0])
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
        closing.rescore_period(period=period, acting_user=hr, reason="scored")  # the final write comes at once
    locked = threading.Event()
    original = close_parts.grading_parts

    def hold(period: Period, policy: Any) -> Any:
        locked.set()  # the period is locked, before it is marked closing
        time.sleep(1.0)
        return original(period, policy)

    monkeypatch.setattr(close_parts, "grading_parts", hold)
    closer, _outcome = later(world_a.org, lambda: closing.run_close(job=job))
    assert locked.wait(30)
    began = time.monotonic()
    with scope(organization=world_a.org), pytest.raises(services.IllegalTransition):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("99"))
    waited = time.monotonic() - began
    closer.join(60)
    assert waited > 0.5  # it waited for the close rather than slipping in beside it
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[0])
        saved = SheetLine.objects.get(pk=line.pk)
        sheet = Sheet.objects.get(pk=line.sheet_id)
    assert saved.version == line.version and saved.actual == Decimal("70")  # refused, so nothing changed
    assert result.raw_score == sheet.score == Decimal("70.00")


def test_a_line_being_saved_when_the_final_write_starts_is_waited_for_and_closed_with(
        world_a: Any, hr: User, monkeypatch: pytest.MonkeyPatch) -> None:
    period, people = closable(world_a)
    line = data_line(period, people[0])
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
        closing.rescore_period(period=period, acting_user=hr, reason="scored")
    written, go = threading.Event(), threading.Event()
    original = entry.rescore_sheets

    def hold(**kwargs: Any) -> Any:
        value = original(**kwargs)
        written.set()  # saved and rescored, not committed: the sheet is locked
        assert go.wait(30)
        return value

    monkeypatch.setattr(entry, "rescore_sheets", hold)
    saver, saving = later(world_a.org, lambda: services.update_line(
        line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("99")))
    assert written.wait(30)
    closer, closed = later(world_a.org, lambda: closing.run_close(job=job))
    time.sleep(1.0)
    assert closer.is_alive()  # the close waits for the save
    go.set()
    saver.join(60)
    closer.join(60)
    ok(saving)
    assert ok(closed)["results"] > 0
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=people[0])
    assert result.raw_score == Decimal("99.00")  # the save is in the results


def test_a_rating_given_during_the_final_write_is_refused_or_closed_with(world_a: Any, head: User,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    template = line_template(world_a)
    employee = world_a.people["employee"]
    with scope(organization=world_a.org):
        Person.objects.filter(pk=employee.pk).update(manager=world_a.people["head"])
        period = services.create_period(organization=world_a.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=[template])
        Period.objects.filter(pk=period.pk).update(grading_policy=make_policy(world_a.org, quotas=[]))
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        Sheet.objects.filter(period=period).exclude(person=employee).update(special_status="exempt",
                                                                            special_reason="not in this test")
        services.transition(period=period, to="scoring", acting_user=None)
        sheet = Sheet.objects.get(period=period, person=employee)
        _enter(sheet, "70", 0, "合格")
        services.transition(period=period, to="calibration", acting_user=None)
        job = closing.start_close(period=period, acting_user=None)
        attitude = SheetLine.objects.select_related("sheet__period").get(sheet=sheet, indicator__code="ATT")
        rater = Rater.objects.get(sheet=sheet, role="supervisor")
    locked = threading.Event()
    original = close_parts.grading_parts

    def hold(period: Period, policy: Any) -> Any:
        locked.set()
        time.sleep(1.0)
        return original(period, policy)

    monkeypatch.setattr(close_parts, "grading_parts", hold)
    closer, _outcome = later(world_a.org, lambda: closing.run_close(job=job))
    assert locked.wait(30)
    refused = False
    with scope(organization=world_a.org):
        try:
            services.rate_line(line=attitude, rater=rater, acting_user=head, rating="优秀")
        except services.IllegalTransition:
            refused = True
    closer.join(60)
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=employee)
        scored = Sheet.objects.get(pk=sheet.pk)
    assert refused or (result.raw_score == scored.score and not scored.is_stale)
