"""The real services: PostgreSQL, Redis and a Celery worker in its own process.

These run only where CELERY_BROKER_URL is set and the database is PostgreSQL (``bin/test``'s second
pass provides both). Elsewhere they skip — except under REQUIRE_SERVICES=1, where a missing service
is a failure, so the full test command can never pass without having exercised them.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from celery.result import EagerResult
from django.conf import settings
from django.db import connection
from django_scopes import scope
from kombu import Exchange, Queue

from config.celery import app as celery_app
from organizations import services
from organizations.models import CalendarDay, CalendarYear, Organization
from organizations.tasks import seed_calendar_year
from tests.workers import require_services

pytestmark = pytest.mark.services

REPO_ROOT = Path(__file__).resolve().parent.parent
# A queue and node name of this run only: a developer's own worker on the same Redis must not steal
# the test's messages (and run them against the development database), nor a worker left over
# from an interrupted run; and nothing this run sends can land in a real queue.
QUEUE = f"appraisal-test-{os.getpid()}"
WORKER_NAME = f"{QUEUE}@{socket.gethostname()}"

# Checked against chinesecalendar 1.11: National Day is a holiday on a Wednesday, and Sunday
# 28 September 2025 is the make-up working day (调休) for it.
NATIONAL_DAY = dt.date(2025, 10, 1)
MAKE_UP_SUNDAY = dt.date(2025, 9, 28)


@pytest.fixture(scope="module", autouse=True)
def _services_available() -> None:
    require_services()


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    @contextmanager
    def diagnosed(self) -> Iterator[None]:
        """On any failure inside the block, print the worker's log (pytest shows it with the failure)."""
        try:
            yield
        except BaseException:
            print(f"----- celery worker output ({self.log_path}) -----\n{self.output()}")
            raise


def _test_database_url() -> str:
    # During the test session settings_dict describes the *test* database (test_appraisal).
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def _wait_until_ready(worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise AssertionError(f"celery worker exited with {worker.process.returncode}:\n{worker.output()}")
        if celery_app.control.ping(destination=[WORKER_NAME], timeout=1.0):
            return
    raise AssertionError(f"celery worker did not answer a ping within {timeout}s:\n{worker.output()}")


@pytest.fixture(scope="module")
def celery_worker(_services_available: None, django_db_setup: None) -> Iterator[Worker]:
    """One real worker process for the module, connected to the test database and the test broker."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": str(settings.CELERY_BROKER_URL),
        "CELERY_RESULT_BACKEND": str(settings.CELERY_RESULT_BACKEND),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "CELERY_QUEUE": QUEUE,  # what its tasks send (a notice's deliveries) comes back to it
        "CELERY_LOG_LEVEL": "INFO",  # each task's end in its output
    }
    log_file = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1",
         "--pool=solo", "-Q", QUEUE, "-n", WORKER_NAME, "--without-gossip", "--without-mingle"],
        cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    worker = Worker(process, Path(log_file.name))
    try:
        _wait_until_ready(worker)
        yield worker
    finally:
        # The worker holds connections to the test database, which must be gone before
        # pytest-django drops it at the end of the session.
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log_file.close()
        os.unlink(log_file.name)
        # No per-run queue left behind in Redis. Declared first: kombu only deletes the bindings
        # that its own channel knows about.
        with celery_app.connection_for_write() as conn:
            queue = Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE)(conn.default_channel)
            queue.declare()
            queue.delete()


@pytest.fixture
def not_eager() -> Iterator[None]:
    """Tasks really go through the broker, whatever this process's settings said at import."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@pytest.fixture
def organization(transactional_db: None) -> Organization:
    # transactional_db: the row is committed, so the worker's own connection can see it.
    return services.create_organization(name="服务测试电厂", slug="services-test", acting_user=None)


def _seed_via_worker(organization: Organization) -> dict[str, Any]:
    result = seed_calendar_year.apply_async(kwargs={"organization_id": organization.pk, "year": 2025}, queue=QUEUE)
    assert not isinstance(result, EagerResult), "the task ran in the test process, not in the worker"
    outcome = result.get(timeout=60)
    result.forget()
    return outcome


@pytest.mark.django_db
def test_it_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


def test_it_reaches_redis_as_the_broker() -> None:
    assert str(settings.CELERY_BROKER_URL).startswith("redis://")
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)


@pytest.mark.django_db(transaction=True)
def test_it_seeds_a_calendar_year_in_a_real_worker(celery_worker: Worker, not_eager: None,
                                                    organization: Organization) -> None:
    with celery_worker.diagnosed():
        outcome = _seed_via_worker(organization)

        assert outcome["added"] > 0
        with scope(organization=organization):
            assert CalendarYear.objects.filter(organization=organization, year=2025).exists()
            rows = CalendarDay.objects.filter(organization=organization, date__year=2025)
            days = dict(rows.values_list("date", "kind"))
        assert days[NATIONAL_DAY] == CalendarDay.Kind.HOLIDAY
        assert days[MAKE_UP_SUNDAY] == CalendarDay.Kind.WORKDAY


@pytest.mark.django_db(transaction=True)
def test_it_leaves_one_set_of_rows_when_the_task_is_delivered_twice(celery_worker: Worker, not_eager: None,
                                                                     organization: Organization) -> None:
    with celery_worker.diagnosed():
        first = _seed_via_worker(organization)
        with scope(organization=organization):
            count = CalendarDay.objects.filter(organization=organization, date__year=2025).count()

        second = _seed_via_worker(organization)

        with scope(organization=organization):
            assert CalendarDay.objects.filter(organization=organization, date__year=2025).count() == count
            assert CalendarYear.objects.filter(organization=organization, year=2025).count() == 1
        assert second == {"added": 0, "kept": first["added"]}
