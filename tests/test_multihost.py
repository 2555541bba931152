"""Workers on two hosts for real (issue #14): one Celery worker in each of two Linux network
namespaces made by the test (tests/netns.py), both consuming the same queue, each reaching
PostgreSQL and Redis from its own address. One close is shared by both hosts in parts
(appraisal.services.close_parts), one host's worker is killed with SIGKILL in the middle of a part,
and the other finishes the close and the pay run (in parts too: payroll.pay_parts), with results and
slips identical to a one-worker run that paid in one piece. Skipped,
with the reason, where namespaces cannot be made; under REQUIRE_SERVICES=1 the lack of PostgreSQL
or Redis fails, as in the other services tests.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django_scopes import scope

from appraisal.models import Period, Result
from appraisal.services import closing
from organizations.chunks import JobChunk
from organizations.models import Job
from tests.closing import add_people, make_policy, scored_period
from tests.netns import HostWorkers, Network, host_workers, two_hosts  # noqa: F401  (fixtures)
from tests.workers import wait_for

PERIODS = 8
PEOPLE = 10
# 60, 64 … 96 under S1-4 without quotas: C 60/64/68, B 72/76, A 80/84/88, S 92/96.
SCORES = [str(60 + 4 * i) for i in range(PEOPLE)]
GRADES = {"C": 3, "B": 2, "A": 3, "S": 2}


def closed(periods: list[Period]) -> bool:
    with scope(organization=periods[0].organization):
        return Period.objects.filter(pk__in=[p.pk for p in periods], results_at__isnull=False).count() == len(periods)


@contextmanager
def held(periods: list[Period]) -> Iterator[None]:
    """The periods' rows locked FOR UPDATE from a connection of the test's own: a close that
    reaches the period's lock waits there, keeping its database connection open (a Celery worker
    closes its connections after each task, so an idle worker holds none)."""
    other = connection.copy()
    try:
        other.ensure_connection()
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Period._meta.db_table} WHERE id = ANY(%s) FOR UPDATE",
                           [[period.pk for period in periods]])
        yield
    finally:
        other.close()  # the transaction, and its locks, end with the connection


def reaches(network: Network, host: str, port: int) -> bool:
    """Whether a program on ``host`` can open a TCP connection to 127.0.0.1:``port`` (its own loopback)."""
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2).close()"
    return network.hosts[host].run(sys.executable, "-c", code).returncode == 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_it_runs_one_queue_on_workers_on_two_hosts_each_connected_from_its_own_address(
        world_a: Any, two_hosts: Network, host_workers: HostWorkers) -> None:  # noqa: F811
    policy = make_policy(world_a.org, quotas=[])
    people = add_people(world_a.org, world_a.production, PEOPLE)
    periods = [scored_period(world_a.org, dict(zip(people, SCORES, strict=True)), policy=policy, number=n)
               for n in range(1, PERIODS + 1)]
    first = host_workers("first", two_hosts.a)
    second = host_workers("second", two_hosts.b)
    # `ip netns exec` execs the worker: the pid Popen knows is the worker's own, in its namespace.
    for worker, host in ((first, two_hosts.a), (second, two_hosts.b)):
        assert "celery" in Path(f"/proc/{worker.pid}/cmdline").read_text() and host.holds(worker.pid)

    started = time.monotonic()
    with held(periods):
        with scope(organization=world_a.org):
            jobs = [closing.start_close(period=period, acting_user=None) for period in periods]
        # Both hosts at once took a close from the one queue and wait in it, each connected to the
        # database from its own address (through the forwarder: the only way there, below).
        wait_for("a close waiting on each host", lambda: set(two_hosts.database_hosts()) == {"a", "b"}, 60, first)
    wait_for("the closes", lambda: closed(periods), 120, first)
    took = time.monotonic() - started

    # Each ran tasks of the closes, and together they ran each close exactly once (a worker logs a
    # task's success just after its transaction committed: waited for).
    def closes_ran() -> int:
        return first.succeeded("appraisal.close_period") + second.succeeded("appraisal.close_period")

    wait_for("the workers' logs of the closes", lambda: closes_ran() >= PERIODS, 30, second)
    print(f"\n{PERIODS} closes on two hosts in {took:.1f} s: a ran {dict(first.ran())}, b ran {dict(second.ran())}")
    assert first.ran() and second.ran() and closes_ran() == PERIODS
    with scope(organization=world_a.org):
        assert {job.state for job in Job.objects.filter(pk__in=[job.pk for job in jobs])} == {Job.State.DONE}
        for period in periods:
            graded = Result.objects.filter(period=period, person__in=people)  # the world's own people: exempt
            assert Counter(graded.values_list("grade", flat=True)) == GRADES
    # On a host, 127.0.0.1 is the host's own, where neither PostgreSQL nor Redis listens.
    for port in two_hosts.forwarder.ports if two_hosts.forwarder else ():
        assert not reaches(two_hosts, "a", port) and not reaches(two_hosts, "b", port)
    assert connection.vendor == "postgresql"


# The workers of the kill: parts of 1,000 sheets (5 to rescore, 5 to grade for 5,000 people in 50
# departments), a heartbeat every second, and Redis hands a killed worker's message to the other
# host 15 s after it was delivered.
KILL_ENV = {"CLOSE_PART_SHEETS": "1000", "JOB_HEARTBEAT_SECONDS": "1", "JOB_DEAD_AFTER_SECONDS": "4",
            "CELERY_VISIBILITY_TIMEOUT": "15"}


def parts(period: Period) -> list[tuple[str, int, str, str, int]]:
    """The parts of the period's close: (stage, number, state, worker, runs)."""
    with scope(organization=period.organization):
        return list(JobChunk.objects.filter(job__subject_id=period.pk, job__kind=Job.Kind.CLOSE_PERIOD).order_by(
            "stage", "number").values_list("stage", "number", "state", "worker", "runs"))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_close_shared_by_two_hosts_finishes_as_one_worker_would_when_one_host_is_killed(
        two_hosts: Network, host_workers: HostWorkers) -> None:  # noqa: F811
    from tests.test_job_recovery import big_period, closed_and_paid, digest

    alone_org, alone = big_period("netns-alone")
    shared_org, shared = big_period("netns-shared")

    # The one-worker run: every part and the pay run on host a.
    only = host_workers("only", two_hosts.a, env=KILL_ENV)
    with scope(organization=alone_org):
        closing.start_close(period=alone, acting_user=None)
    wait_for("the one-worker close and its pay run", lambda: closed_and_paid(alone), 180, only)
    expected = digest(alone)
    only.stop()
    assert {worker for *_rest, worker, _runs in parts(alone)} == {only.name}

    # The shared run pays in parts too (payroll.pay_parts); the one-worker run paid in one piece.
    shared_env = {**KILL_ENV, "PAY_PART_PEOPLE": "1000"}
    first = host_workers("first", two_hosts.a, env=shared_env)
    second = host_workers("second", two_hosts.b, env=shared_env)
    with scope(organization=shared_org):
        job = closing.start_close(period=shared, acting_user=None)

    def first_in_a_part_second_busy_too() -> bool:
        running = {(stage, number) for stage, number, state, worker, _runs in parts(shared)
                   if state == JobChunk.State.RUNNING and worker == first.name}
        return bool(running) and any(worker == second.name for *_rest, worker, _runs in parts(shared))

    wait_for("a part running on host a while host b works too", first_in_a_part_second_busy_too, 120, first,
             every=0.01)
    first.kill()
    killed_in = [(stage, number) for stage, number, state, worker, _runs in parts(shared)
                 if state == JobChunk.State.RUNNING and worker == first.name]
    killed_at = time.monotonic()
    assert killed_in and len(unacknowledged_of(host_workers)) >= 1  # the killed part's message, never acknowledged

    # No restart: the message comes back to host b after its visibility timeout, and b finishes.
    wait_for("the shared close and its pay run on host b", lambda: closed_and_paid(shared), 180, second)
    recovered_in = time.monotonic() - killed_at
    found = digest(shared)
    after = parts(shared)
    print(f"\nkilled host a in {killed_in}; host b finished the close and its pay run {recovered_in:.1f} s later; "
          f"parts {[(stage, number, worker.split('-')[0], runs) for stage, number, _s, worker, runs in after]}")
    assert found == expected
    assert all(state == JobChunk.State.DONE for _stage, _number, state, _worker, _runs in after)
    for stage, number, _state, worker, runs in after:
        if (stage, number) in killed_in:
            assert (worker, runs) == (second.name, 2)  # taken again by the host left, once
    assert len(after) > len(killed_in)  # host b had parts of its own besides the one it took over
    with scope(organization=shared_org):
        pay = Job.objects.get(kind=Job.Kind.PAY_RUN, subject_id=shared.pk)
        assert pay.state == Job.State.DONE and JobChunk.objects.filter(job=pay).count() == 5  # paid in parts
    with scope(organization=shared_org):
        assert Job.objects.get(pk=job.pk).state == Job.State.DONE  # the same job: nobody restarted it


def unacknowledged_of(workers: HostWorkers) -> list[Any]:
    from tests.workers import unacknowledged

    return unacknowledged(workers.queue)
