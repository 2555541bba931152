"""A close killed mid-run recovers (issue #13): a job beats while it works, a silent one is dead —
shown as stopped, no longer in the way of starting again, restartable from the page and the API —
and neither a restart nor a message Redis delivers again ever doubles a result or a slip.

The first tests run on any database with eager tasks. The proof at the end is marked ``services``
(PostgreSQL, Redis and real Celery workers): a close of 5,000 sheets is killed with SIGKILL while it
rescores, another worker starts, and the close finishes with the results and slips of a clean run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appraisal.models import STALE, Period, Result, Sheet, SheetLine
from appraisal.services import closing, rescoring
from core.bulk import update_rows
from organizations import jobs
from organizations import services as org_services
from organizations.chunks import JobChunk
from organizations.models import Job, Organization, User
from payroll import exports
from payroll.models import PayRun, PaySlip
from payroll.tasks import compute_pay_run_task
from tests.closing import add_people, make_policy, scored_period
from tests.test_pay_runs import closed_period, compute, pay_policy
from tests.workers import StartWorker, require_services, unacknowledged, wait_for, worker_pool

DEAD_AFTER = 120


@pytest.fixture(autouse=True)
def _dead_after(settings: Any) -> None:
    settings.JOB_DEAD_AFTER_SECONDS = DEAD_AFTER


def silence(job: Job, seconds: float) -> Job:
    """The job's last sign of life ``seconds`` ago, as if its worker had stopped then."""
    then = timezone.now() - dt.timedelta(seconds=seconds)
    with scopes_disabled():
        Job.objects.filter(pk=job.pk).update(heartbeat_at=then, started_at=then)
        return Job.objects.get(pk=job.pk)


def fresh(job: Job) -> Job:
    with scopes_disabled():
        return Job.objects.get(pk=job.pk)


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def recorded(sent: list[int]) -> Callable[[Job], None]:
    return lambda job: sent.append(job.pk)


# --- dead or alive ---------------------------------------------------------------------------------


def test_a_job_is_dead_once_silent_for_longer_than_the_setting(world_a: Any) -> None:
    with scope(organization=world_a.org):
        job = jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None, send=recorded([]))
        dead = jobs.dead_jobs(Job.objects.filter(pk=job.pk))
        assert not job.dead and not dead.exists()  # queued just now: its creation is its sign of life
        for seconds, expected in [(5, False), (DEAD_AFTER - 2, False), (DEAD_AFTER + 2, True)]:
            job = silence(job, seconds)
            assert job.dead is expected and dead.exists() is expected, seconds
        Job.objects.filter(pk=job.pk).update(state=Job.State.DONE)
        assert not fresh(job).dead and not dead.exists()  # a finished job is never dead


def test_a_queued_job_nobody_picked_up_is_dead_after_the_same_silence(world_a: Any) -> None:
    with scope(organization=world_a.org):
        job = jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None, send=recorded([]))
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(seconds=DEAD_AFTER + 1))
        job = fresh(job)
        assert job.state == Job.State.QUEUED and job.heartbeat_at is None and job.dead


def test_running_marks_the_job_running_and_beats(world_a: Any) -> None:
    with scope(organization=world_a.org):
        job = jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None, send=recorded([]))
        job = silence(job, DEAD_AFTER + 5)
        with jobs.running(job, total=7):
            inside = fresh(job)
            jobs.beat(job.pk, done=3)
        after = fresh(job)
    assert (inside.state, inside.total, inside.dead) == (Job.State.RUNNING, 7, False)
    assert after.done == 3 and after.heartbeat_at is not None and inside.heartbeat_at is not None
    assert after.heartbeat_at >= inside.heartbeat_at


def test_starting_again_returns_a_live_job_and_replaces_a_dead_one(world_a: Any) -> None:
    sent: list[int] = []
    with scope(organization=world_a.org):
        first = jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None,
                               send=recorded(sent), total=10)
        Job.objects.filter(pk=first.pk).update(state=Job.State.RUNNING, done=4)
        silence(first, 30)
        assert jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None,
                              send=recorded(sent)).pk == first.pk
        stopped_at = silence(first, DEAD_AFTER + 30).heartbeat_at
        second = jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None,
                                send=recorded(sent))
        dead = fresh(first)
    assert second.pk != first.pk and sent == [first.pk, second.pk]
    assert dead.state == Job.State.FAILED and dead.finished_at is not None
    assert timezone.localtime(stopped_at).strftime("%Y-%m-%d %H:%M:%S") in dead.message
    assert "4 / 10" in dead.message  # how far it got, in the language of whoever found it dead


def test_a_live_or_finished_job_is_not_restarted_and_the_refusal_says_why(world_a: Any) -> None:
    with scope(organization=world_a.org):
        job = jobs.start_job(subject=world_a.production, kind=Job.Kind.PAY_EXPORT, acting_user=None, send=recorded([]))
        silence(job, 10)
        with pytest.raises(jobs.NotRestartable, match=str(DEAD_AFTER)):
            jobs.restart_job(job=job, start=lambda dead: dead)
        Job.objects.filter(pk=job.pk).update(state=Job.State.DONE, finished_at=timezone.now())
        with pytest.raises(jobs.NotRestartable):
            jobs.restart_job(job=job, start=lambda dead: dead)


# --- the close ------------------------------------------------------------------------------------


class Killed(BaseException):
    """What SIGKILL does to a worker, as near as a test process gets: nothing of the task's own
    error handling runs (``except Exception`` does not catch it)."""


def stale_period(world: Any, people: int = 12) -> Period:
    scores = dict(zip(add_people(world.org, world.production, people), [str(70 + i) for i in range(people)],
                      strict=True))
    period = scored_period(world.org, scores, policy=make_policy(world.org, quotas=[]))
    with scope(organization=world.org):
        closing.rescore_period(period=period, acting_user=None, reason="data entered")
        # Late changes behind the services' back (as a bulk SQL write would): the close rescores them.
        lines = list(SheetLine.objects.filter(sheet__period=period, actual__isnull=False).values_list("pk", "actual"))
        update_rows(SheetLine, ["actual"], [(pk, (actual or 0) + Decimal("0.5")) for pk, actual in lines])
        assert Sheet.objects.filter(period=period).filter(STALE).count() == people
    return period


def kill_after_first_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 5 sheets, and the worker dies as soon as the first one is committed."""
    monkeypatch.setattr(rescoring, "RESCORE_BATCH", 5)
    original = rescoring._save_rescored

    def save_then_die(batch: Any, count: Any, **kwargs: Any) -> None:
        original(batch, count, **kwargs)
        raise Killed

    monkeypatch.setattr(rescoring, "_save_rescored", save_then_die)


def rescored_at_close(period: Period) -> dict[int, int]:
    """How many times each sheet of the period was rescored by a close (its audit trail)."""
    with scope(organization=period.organization):
        rows = Sheet.history.filter(period_id=period.pk, history_change_reason="rescored at close")
        return dict(rows.values_list("id").annotate(n=Count("history_id")).values_list("id", "n"))


def test_a_killed_close_restarts_from_its_committed_batches_and_rescores_no_sheet_twice(
        world_a: Any, hr: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> None:
    period = stale_period(world_a)
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
    kill_after_first_batch(monkeypatch)
    with scope(organization=world_a.org), pytest.raises(Killed):
        closing.run_close(job=job)
    monkeypatch.undo()
    with scope(organization=world_a.org):
        assert Sheet.objects.filter(period=period).filter(STALE).count() == 12 - 5  # the first batch is committed
        assert fresh(job).state == Job.State.RUNNING and not Result.objects.filter(period=period).exists()
        assert closing.start_close(period=period, acting_user=hr).pk == job.pk  # still alive: the same job
        silence(job, DEAD_AFTER + 1)
        with django_capture_on_commit_callbacks(execute=True):
            restarted = closing.restart_close(job=job, acting_user=hr)
        assert restarted.pk != job.pk and fresh(restarted).state == Job.State.DONE
        assert fresh(job).state == Job.State.FAILED
        sheets = Sheet.objects.filter(period=period).count()
        assert Result.objects.filter(period=period).count() == sheets
        assert Result.history.filter(period_id=period.pk, history_type="+").count() == sheets
    assert sorted(rescored_at_close(period).values()) == [1] * 12  # each stale sheet once, across both runs
    # Progress is the sum of the parts': the 7 sheets still stale rescored, then every sheet graded.
    assert (fresh(restarted).done, fresh(restarted).total) == (7 + sheets, 7 + sheets)


def test_a_task_delivered_again_after_its_job_was_retired_does_nothing(world_a: Any, hr: User) -> None:
    period = stale_period(world_a, people=3)
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
        silence(job, DEAD_AFTER + 1)
        assert jobs.retire(fresh(job))
        assert closing.run_close(job=job) == {"results": 0}
        assert not Result.objects.filter(period=period).exists()
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION


def test_hr_sees_a_dead_close_and_restarts_it_from_the_period_page(world_a: Any, hr: User, client: Client,
                                                                  django_capture_on_commit_callbacks: Any) -> None:
    period = stale_period(world_a, people=3)
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
        Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, total=8, done=2)
    silence(job, DEAD_AFTER + 1)
    page = signed_in(client, hr).get(reverse("period-detail", args=[period.pk])).content.decode()
    progress = client.get(reverse("period-close-progress", args=[period.pk])).content.decode()
    restart = reverse("period-close-restart", args=[period.pk])
    for html in (page, progress):
        assert 'data-dead="true"' in html and "已停止响应" in html and "2 / 8" in html
        assert f'action="{restart}"' in html and "重新开始" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(restart)
    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert Period.objects.get(pk=period.pk).state == Period.State.CLOSED
        assert Result.objects.filter(period=period).count() == Sheet.objects.filter(period=period).count()
        newest = closing.close_job(period)
    assert newest is not None and newest.pk != job.pk and newest.state == Job.State.DONE
    assert fresh(job).state == Job.State.FAILED


def test_the_api_restarts_a_dead_close_and_refuses_a_live_one(world_a: Any, hr: User, api_for: Any,
                                                             django_capture_on_commit_callbacks: Any) -> None:
    period = stale_period(world_a, people=3)
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
    api = api_for(hr)
    url = f"/api/jobs/{job.pk}/restart/"
    alive = api.post(url)
    assert alive.status_code == 409 and str(DEAD_AFTER) in alive.json()["detail"]
    silence(job, DEAD_AFTER + 1)
    with django_capture_on_commit_callbacks(execute=True):
        restarted = api.post(url)
    assert restarted.status_code == 202, restarted.content
    body = restarted.json()
    assert body["id"] != job.pk and body["kind"] == "close_period"
    assert fresh(Job(pk=body["id"])).state == Job.State.DONE
    again = api.post(url)  # the dead job is failed now, and the period closed: nothing to restart
    assert again.status_code == 409


def test_a_close_that_died_after_writing_its_results_is_finished_by_a_restart(world_a: Any, hr: User) -> None:
    period = stale_period(world_a, people=3)
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=hr)
        closing.run_close(job=job)
        Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING, finished_at=None)  # killed before saying so
        silence(job, DEAD_AFTER + 1)
        before = sorted(Result.objects.filter(period=period).values_list("pk", flat=True))
        finished = closing.restart_close(job=job, acting_user=hr)
        assert finished.pk == job.pk and finished.state == Job.State.DONE
        assert sorted(Result.objects.filter(period=period).values_list("pk", flat=True)) == before


# --- pay ------------------------------------------------------------------------------------------


def closed_with_pay(world: Any) -> Period:
    pay_policy(world.org)
    period, _people = closed_period(world, ["95", "85", "75"], quotas=[])
    return period


def test_finance_restarts_a_dead_pay_computation_from_the_pay_page(world_a: Any, hr: User, finance: User,
                                                                  client: Client,
                                                                  django_capture_on_commit_callbacks: Any) -> None:
    period = closed_with_pay(world_a)
    with scope(organization=world_a.org):
        job = Job.objects.create(organization=world_a.org, kind=Job.Kind.PAY_RUN, subject=period,
                                 state=Job.State.RUNNING)
    silence(job, DEAD_AFTER + 1)
    url = reverse("period-pay-runs", args=[period.pk])
    restart = reverse("pay-job-restart", args=[job.pk])
    seen_by_hr = signed_in(client, hr).get(url).content.decode()
    assert 'id="pay-run-dead"' in seen_by_hr and restart not in seen_by_hr  # HR sees it, finance restarts
    overview = client.get(reverse("pay-runs")).content.decode()
    assert 'data-dead="true"' in overview and "已停止响应" in overview
    seen_by_finance = signed_in(client, finance).get(url).content.decode()
    assert f'action="{restart}"' in seen_by_finance and "重新开始" in seen_by_finance
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(restart).status_code == 302
    with scope(organization=world_a.org):
        assert PayRun.objects.filter(period=period).count() == 1
        newest = Job.objects.filter(kind=Job.Kind.PAY_RUN).order_by("-pk").first()
    assert newest is not None and newest.pk != job.pk and newest.state == Job.State.DONE
    assert fresh(job).state == Job.State.FAILED


def test_a_pay_computation_replaces_a_dead_job_of_the_period(world_a: Any) -> None:
    period = closed_with_pay(world_a)
    with scope(organization=world_a.org):
        dead = Job.objects.create(organization=world_a.org, kind=Job.Kind.PAY_RUN, subject=period,
                                  state=Job.State.RUNNING)
    silence(dead, DEAD_AFTER + 1)
    compute_pay_run_task.apply(kwargs={"organization_id": world_a.org.pk, "period_id": period.pk,
                                       "reason": "closed"})
    with scope(organization=world_a.org):
        states = dict(Job.objects.filter(kind=Job.Kind.PAY_RUN).values_list("pk", "state"))
    assert states.pop(dead.pk) == Job.State.FAILED and list(states.values()) == [Job.State.DONE]


def test_finance_restarts_a_dead_export_through_the_api(world_a: Any, finance: User, api_for: Any,
                                                        django_capture_on_commit_callbacks: Any) -> None:
    period = closed_with_pay(world_a)
    run = compute(period)
    with scope(organization=world_a.org):
        job = exports.start_export(run=run, kind="pay_sheet", fmt="csv", acting_user=finance)
    silence(job, DEAD_AFTER + 1)
    api = api_for(finance)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/pay-jobs/{job.pk}/restart/")
    assert response.status_code == 202, response.content
    restarted = fresh(Job(pk=response.json()["id"]))
    assert restarted.pk != job.pk and restarted.state == Job.State.DONE and restarted.file
    assert fresh(job).state == Job.State.FAILED
    assert api.post(f"/api/pay-jobs/{restarted.pk}/restart/").status_code == 409  # done: nothing to restart


def test_hr_restarts_closes_only_and_is_pointed_to_the_pay_route_for_pay_jobs(world_a: Any, hr: User,
                                                                              api_for: Any) -> None:
    period = closed_with_pay(world_a)
    with scope(organization=world_a.org):
        job = Job.objects.create(organization=world_a.org, kind=Job.Kind.PAY_RUN, subject=period,
                                 state=Job.State.RUNNING)
    silence(job, DEAD_AFTER + 1)
    response = api_for(hr).post(f"/api/jobs/{job.pk}/restart/")
    assert response.status_code == 409 and f"/api/pay-jobs/{job.pk}/restart/" in response.json()["detail"]


# --- the proof: a real worker killed mid-close --------------------------------------------------------

QUEUE = f"appraisal-recovery-{os.getpid()}"
EMPLOYEES = 5000
DEPARTMENTS = 50
# The workers of the proof: a heartbeat every second, dead after 4 s of silence, and Redis hands an
# unacknowledged message to another worker 15 s after it was delivered.
WORKER_ENV = {"JOB_HEARTBEAT_SECONDS": "1", "JOB_DEAD_AFTER_SECONDS": "4", "CELERY_VISIBILITY_TIMEOUT": "15",
              "CELERY_QUEUE": QUEUE, "CELERY_LOG_LEVEL": "INFO"}


@pytest.fixture
def workers(transactional_db: None) -> Iterator[StartWorker]:
    """Starts workers on a queue of this test's own (tests/workers.py); tasks this process sends go
    to it too. At the end: the workers stopped, the queue and any unacknowledged message gone."""
    require_services()
    with worker_pool(QUEUE, WORKER_ENV) as start:
        yield start


def big_period(slug: str) -> tuple[Organization, Period]:
    """An organisation of EMPLOYEES people built set-based (as bench_close does) and a period in
    calibration whose every sheet is stale, with data that depends only on the employee number, so
    two organisations built alike must close to the same results and slips."""
    from payroll.management.commands.bench_close import Command

    org = org_services.create_organization(name=f"恢复测试 {slug}", slug=f"recovery-{slug}", acting_user=None)
    with scope(organization=org):
        Command._people(org, EMPLOYEES, DEPARTMENTS)
        period = Command()._period(org)  # the month's data by employee number, scored
        Command._late_changes(period, Decimal(1))  # then every line changed behind the services' back
        assert Sheet.objects.filter(period=period).filter(STALE).count() > EMPLOYEES * 9 // 10
    return org, period


def hr_of(org: Organization) -> User:
    user = User.objects.create_user(username=f"hr-{org.slug}", password="pw")
    with scope(organization=org):
        org_services.create_membership(organization=org, acting_user=None, user=user, person=None, is_hr_admin=True)
    return user


def closed_and_paid(period: Period) -> bool:
    with scope(organization=period.organization):
        return (Period.objects.filter(pk=period.pk, results_at__isnull=False).exists()
                and Job.objects.filter(kind=Job.Kind.PAY_RUN, state=Job.State.DONE).exists())


def digest(period: Period) -> dict[str, Any]:
    """What the close and the pay run produced, by employee number (ids differ between
    organisations): a digest of (subject, final score, grade, coefficient), one of the slips'
    amounts, and the counts that would show anything written twice."""
    with scope(organization=period.organization):
        results = sorted(Result.objects.filter(period=period).values_list(
            "person__employee_no", "final_score", "grade", "coefficient"))
        slips = sorted((number, str(total), json.dumps(amounts, sort_keys=True)) for number, total, amounts in
                       PaySlip.objects.filter(run__period=period).values_list("person__employee_no", "total",
                                                                             "amounts"))
        return {
            "results": hashlib.sha256(repr([tuple(map(str, r)) for r in results]).encode()).hexdigest(),
            "slips": hashlib.sha256(repr(slips).encode()).hexdigest(),
            "result_count": len(results),
            "result_history": Result.history.filter(period_id=period.pk, history_type="+").count(),
            "pay_runs": PayRun.objects.filter(period=period).count(),
            "slip_count": len(slips),
            "rescored_sheets": len(rescored_at_close(period)),
            "rescored_twice": sum(1 for n in rescored_at_close(period).values() if n > 1),
        }


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_close_killed_mid_run_finishes_after_a_restart_as_a_clean_run_would(
        workers: StartWorker, settings: Any, api_for: Any) -> None:
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_DEAD_AFTER_SECONDS = 1, 4  # as the workers see it
    clean_org, clean = big_period("clean")
    killed_org, killed = big_period("killed")
    hr = hr_of(killed_org)
    first = workers("first")

    # The clean run, through the worker: close, then the pay run the close's signal asks for.
    with scope(organization=clean_org):
        closing.start_close(period=clean, acting_user=None)
    wait_for("the clean close and its pay run", lambda: closed_and_paid(clean), 120, first)
    expected = digest(clean)
    assert expected["result_count"] == EMPLOYEES and expected["slip_count"] == EMPLOYEES

    # The same close in the other organisation, killed while it rescores, after a batch committed.
    with scope(organization=killed_org):
        job = closing.start_close(period=killed, acting_user=hr)
        sheets = Sheet.objects.filter(period=killed)
        seen: dict[str, int] = {}

        def in_the_middle() -> bool:
            current = fresh(job)
            scored = sheets.exclude(STALE).count()
            seen.update(done=current.done, scored=scored)
            assert not current.finished and current.state != Job.State.DONE, f"finished before the kill: {seen}"
            return rescoring.RESCORE_BATCH <= scored < EMPLOYEES and 0.1 <= current.done / EMPLOYEES <= 0.9

        wait_for("the close half-way through its rescoring", in_the_middle, 120, first, every=0.01)
        first.kill()
        killed_at = time.monotonic()
        scored_at_kill = sheets.exclude(STALE).count()
    stuck = fresh(job)
    assert stuck.state == Job.State.RUNNING and 0 < stuck.done < EMPLOYEES, seen
    assert len(unacknowledged(QUEUE)) == 1  # the rescoring part's message, taken and never acknowledged

    second = workers("second")
    # Nothing beats any more: the job is dead within JOB_DEAD_AFTER_SECONDS, and HR restarts it.
    wait_for("the killed job to count as dead", lambda: fresh(job).dead, 30, second)
    response = api_for(hr).post(f"/api/jobs/{job.pk}/restart/")
    assert response.status_code == 202, response.content
    restarted = fresh(Job(pk=response.json()["id"]))
    wait_for("the restarted close and its pay run", lambda: closed_and_paid(killed), 120, second)
    recovered_in = time.monotonic() - killed_at

    # The original message, never acknowledged, comes back once its visibility timeout passes: it
    # finds its job retired and does nothing.
    with scope(organization=killed_org):
        new_parts = JobChunk.objects.filter(job_id=restarted.pk).count()
    wait_for("the original message delivered again",
             lambda: second.succeeded("appraisal.close_part") == new_parts + 1, 90,
             second)
    assert unacknowledged(QUEUE) == []
    found = digest(killed)
    print(f"\nkilled with {scored_at_kill} of {EMPLOYEES} sheets rescored and committed (job at {stuck.done}); "
          f"closed and paid {recovered_in:.1f} s after the kill; digests {found['results'][:12]} "
          f"{found['slips'][:12]}")
    assert fresh(job).state == Job.State.FAILED and f"{stuck.done} / {stuck.total}" in fresh(job).message
    assert fresh(restarted).state == Job.State.DONE
    assert found == expected
    assert recovered_in < 120
    with scope(organization=killed_org):
        assert not Sheet.objects.filter(period=killed).filter(STALE).exists()
    assert connection.vendor == "postgresql"
