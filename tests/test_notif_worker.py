"""Notifications through a real Celery worker (issue #18), in bin/test's services pass: HR publishes
in this process; the event's task and the email deliveries run in a worker process on PostgreSQL
and Redis (its email backend is the console, so what it sent is in its output). Each employee's
notice is delivered once, and sending the batch task again sends nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django_scopes import scope

from appraisal import notices
from appraisal.models import Period
from appraisal.services import window
from config.celery import app as celery_app
from organizations.notifications.models import Channel, Delivery
from organizations.notifications.sending import deliver_batch_task
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World
from tests.test_notifications import members
from tests.test_services import QUEUE, Worker, _services_available, celery_worker  # noqa: F401  (fixtures)

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def to_the_worker() -> Iterator[None]:
    """Tasks this process sends go through the broker to this module's worker, not run here. Set
    before the worker fixture pings it: Celery keeps the default queue it first routes with."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, QUEUE
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous


def _batches(worker: Worker) -> int:
    """How many delivery batch tasks the worker ran to the end."""
    return sum(1 for line in worker.output().splitlines()
               if "Task organizations.deliver_batch[" in line and " succeeded in " in line)


def _wait(what: str, done: Callable[[], bool], worker: Worker, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.2)
    tasks = "\n".join(line for line in worker.output().splitlines() if "Task " in line)
    raise AssertionError(f"{what} within {seconds} s; the worker ran:\n{tasks}")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_each_publication_notice_by_email_once(
        to_the_worker: None, celery_worker: Worker, world_a: World) -> None:  # noqa: F811
    with celery_worker.diagnosed():
        people = add_people(world_a.org, world_a.production, 3)
        signed_in = members(world_a.org, people)
        period = scored_period(world_a.org, dict(zip(people, ["90", "80", "70"], strict=True)),
                               policy=make_policy(world_a.org, quotas=[]))
        close(period)

        def delivered() -> list[Any]:
            with scope(organization=world_a.org):
                return list(Delivery.objects.filter(notification__kind=notices.RESULTS_PUBLISHED,
                                                    channel=Channel.EMAIL, state=Delivery.State.DELIVERED)
                            .values_list("pk", "attempts"))

        with scope(organization=world_a.org):
            window.publish(period=Period.objects.get(pk=period.pk), acting_user=None)
        _wait("every employee's notice delivered", lambda: len(delivered()) == len(signed_in), celery_worker)
        first = sorted(delivered())
        _wait("the first batch's end logged", lambda: _batches(celery_worker) >= 1, celery_worker)
        time.sleep(1)  # and any other batch of the same event
        sent = celery_worker.output().count("Subject: ")
        batches = _batches(celery_worker)

        deliver_batch_task.delay(organization_id=world_a.org.pk, delivery_ids=[pk for pk, _attempts in first])
        _wait("the repeated batch task done", lambda: _batches(celery_worker) == batches + 1, celery_worker)

    assert sent == len(signed_in)  # one email each, by the worker
    assert sorted(delivered()) == first  # the repeat changed nothing
    assert celery_worker.output().count("Subject: ") == sent  # and sent nothing
