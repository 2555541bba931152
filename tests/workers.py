"""Real Celery workers for the ``services`` tests that start, kill and restart them: each one a
process of its own on a queue of the test's own, with the solo pool (the task runs in the worker
process itself, so SIGKILL kills the task), optionally behind a command prefix (``ip netns exec …``,
tests/netns.py) and with environment overrides (database and broker addresses as seen from there).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
from django.conf import settings
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent


def missing_services() -> str | None:
    """What the services tests lack here (tasks run eagerly: no broker; not PostgreSQL), or None."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "CELERY_BROKER_URL is not set (tasks run eagerly)"
    if connection.vendor != "postgresql":
        return f"the database is {connection.vendor}, not PostgreSQL (DATABASE_URL=postgres://…)"
    return None


def require_services() -> None:
    """Skips the test without PostgreSQL and Redis; under REQUIRE_SERVICES=1 fails it instead."""
    missing = missing_services()
    if missing is None:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {missing}", pytrace=False)
    pytest.skip(f"needs PostgreSQL and Redis: {missing}")


class Worker:
    """A Celery worker in its own process on ``queue``, connected to the test database and broker.

    ``prefix`` goes before the command (it must exec the command, so that the process's pid stays
    the worker's and ``kill()`` kills the worker itself); ``env`` overrides the environment last."""

    def __init__(self, name: str, *, queue: str, env: Mapping[str, str] | None = None,
                 prefix: Sequence[str] = (), ready_timeout: float = 60) -> None:
        from tests.test_services import _test_database_url

        self.name = f"{name}-{queue}@{socket.gethostname()}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"celery-{name}-", suffix=".log", delete=False)
        full_env = {**os.environ, "DATABASE_URL": _test_database_url(),
                    "CELERY_BROKER_URL": str(settings.CELERY_BROKER_URL),
                    "CELERY_RESULT_BACKEND": str(settings.CELERY_RESULT_BACKEND),
                    "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1",
                    "CELERY_QUEUE": queue, "CELERY_LOG_LEVEL": "INFO", **(env or {})}  # INFO: each task's end
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=1",
             "--pool=solo", "-Q", queue, "-n", self.name, "--without-gossip", "--without-mingle"],
            cwd=REPO_ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_ready(ready_timeout)
        except BaseException:
            self.stop()  # the failure carries the log
            raise

    def _wait_until_ready(self, timeout: float) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.output()}")
            if app.control.ping(destination=[self.name], timeout=1.0):
                return
        raise AssertionError(f"worker did not answer a ping within {timeout}s:\n{self.output()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def succeeded(self, task: str) -> int:
        """How many ``task`` messages this worker has run to the end."""
        return self.ran()[task]

    def ran(self) -> Counter[str]:
        """How many messages of each task this worker has run to the end (from its INFO log)."""
        return Counter(match[1] for match in re.finditer(r"Task ([\w.]+)\[[^\]]*\] succeeded in ", self.output()))

    def kill(self) -> None:
        """SIGKILL: no task error handling, no acknowledgement, no goodbye to the broker."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL after 30 s; the log file goes."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        if os.path.exists(self.log.name):
            os.unlink(self.log.name)


class StartWorker(Protocol):
    def __call__(self, name: str, *, prefix: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Worker:
        ...


@contextmanager
def worker_pool(queue: str, env: Mapping[str, str] | None = None) -> Iterator[StartWorker]:
    """Yields ``start(name, prefix=…, env=…)`` for workers on ``queue``; tasks this process sends go
    to that queue too, through the broker. At the end: the workers stopped, the queue and any message
    a killed worker left unacknowledged gone, and this process's Celery settings as they were."""
    from config.celery import app

    started: list[Worker] = []
    base_env = dict(env or {})
    previous = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue

    def start(name: str, *, prefix: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Worker:
        started.append(Worker(name, queue=queue, env={**base_env, **(env or {})}, prefix=prefix))
        return started[-1]

    try:
        yield start
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        for worker in started:
            worker.stop()
        forget_queue(queue)


def unacknowledged(queue: str) -> list[Any]:
    """The delivery tags of ``queue``'s messages a worker took and never acknowledged."""
    import redis

    client = redis.Redis.from_url(str(settings.CELERY_BROKER_URL))
    return [tag for tag, raw in client.hgetall("unacked").items() if json.loads(raw)[2] == queue]


def forget_queue(queue: str) -> None:
    import redis

    client = redis.Redis.from_url(str(settings.CELERY_BROKER_URL))
    for tag in unacknowledged(queue):
        client.hdel("unacked", tag)
        client.zrem("unacked_index", tag)
    for pattern in (f"{queue}*", f"_kombu.binding.{queue}*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


def wait_for(what: str, check: Callable[[], bool], timeout: float, worker: Worker | None = None,
             every: float = 0.2) -> float:
    """Waits until ``check()``; returns the seconds it took. A timeout fails, with the worker's log."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout}s" + (f"\n{worker.output()}" if worker else ""))
        time.sleep(every)
    return time.monotonic() - started
