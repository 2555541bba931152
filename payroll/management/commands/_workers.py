"""bench_close --workers N: the close and the pay run on N real Celery workers (their own
processes, a queue of the benchmark's own), timed from HR's request to the pay run being done,
with each worker's peak memory and a digest of the results and slips to compare runs by."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from appraisal.models import Period, Result
from organizations.models import Job
from payroll.management.commands import _cpu
from payroll.models import PaySlip

REPO_ROOT = Path(__file__).resolve().parents[3]


def require_services() -> None:
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    if connection.vendor != "postgresql" or not broker.startswith("redis"):
        raise CommandError("--workers needs PostgreSQL and Redis (DATABASE_URL=postgres://…, "
                           "CELERY_BROKER_URL=redis://…): the workers read what this process commits.")


class Workers:
    """N Celery workers (solo pool) on a queue of their own; tasks this process sends go there."""

    def __init__(self, count: int, part_sheets: int | None) -> None:
        from celery import current_app as app  # config.celery's, set as the current one when Django starts

        self.queue = f"bench-close-{os.getpid()}"
        self.app = app
        self.previous = app.conf.task_default_queue, app.conf.task_always_eager
        app.conf.task_default_queue, app.conf.task_always_eager = self.queue, False
        env = {**os.environ, "CELERY_QUEUE": self.queue, "DJANGO_SETTINGS_MODULE": "config.settings",
               "PYTHONUNBUFFERED": "1", "DATABASE_URL": _database_url()}
        if part_sheets:
            env["CLOSE_PART_SHEETS"] = env["PAY_PART_PEOPLE"] = str(part_sheets)
        self.names = [f"bench{n}-{os.getpid()}@localhost" for n in range(count)]
        self.logs = [tempfile.NamedTemporaryFile(prefix=f"bench-worker{n}-", suffix=".log", delete=False)
                     for n in range(count)]
        self.processes = [subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
             "--loglevel=WARNING", "-Q", self.queue, "-n", name, "--without-gossip", "--without-mingle"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for name, log in zip(self.names, self.logs,
                                                                                                strict=True)]
        deadline = time.monotonic() + 60
        waiting = set(self.names)
        while waiting and time.monotonic() < deadline:
            for reply in app.control.ping(destination=list(waiting), timeout=1.0) or []:
                waiting -= set(reply)
        if waiting:
            self.stop()
            raise CommandError(f"workers did not answer: {', '.join(sorted(waiting))}")

    def peak_mib(self) -> list[float]:
        """Each worker's peak resident memory (VmHWM), MiB."""
        peaks = []
        for process in self.processes:
            text = Path(f"/proc/{process.pid}/status").read_text()
            line = next(line for line in text.splitlines() if line.startswith("VmHWM:"))
            peaks.append(int(line.split()[1]) / 1024)
        return peaks

    def cpu_seconds(self) -> list[float | None]:
        return [_cpu.process_seconds(process.pid) for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()
            os.unlink(log.name)
        self.app.conf.task_default_queue, self.app.conf.task_always_eager = self.previous


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for_job(period: Period, kind: str, timeout: float = 1800) -> Job:
    """Polls until the period's newest job of ``kind`` has finished; a failure stops the benchmark."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.filter(kind=kind, subject_id=period.pk).order_by("-pk").first()
        if job is not None and job.finished:
            if job.state != Job.State.DONE:
                raise CommandError(f"{kind} failed: {job.message}")
            return job
        # Every 50 ms: at 20 ms this process and its queries took about a tenth of a core from the
        # workers and PostgreSQL it times (1.2 CPU-s of a 16 s close and pay run on two cores).
        time.sleep(0.05)
    raise CommandError(f"{kind} not done within {timeout} s")


def digest(period: Period) -> str:
    """One hash of every result (employee number, final score, grade, coefficient) and every slip
    (employee number, total, amounts): equal between two runs exactly when they paid alike."""
    results = sorted(tuple(map(str, row)) for row in Result.objects.filter(period=period).values_list(
        "person__employee_no", "final_score", "grade", "coefficient"))
    slips = sorted((number, str(total), json.dumps(amounts, sort_keys=True)) for number, total, amounts in
                   PaySlip.objects.filter(run__period=period).values_list("person__employee_no", "total", "amounts"))
    return hashlib.sha256(repr((results, slips)).encode()).hexdigest()[:16]


def on_workers(count: int, part_sheets: int | None, period: Period) -> dict[str, Any]:
    """Closes ``period`` (committed, in calibration) on ``count`` workers, through the pay run the
    close's signal sends. Returns the seconds of each, the workers' peaks and the digest."""
    from appraisal.services import closing

    workers = Workers(count, part_sheets)
    try:
        started, busy = time.perf_counter(), _cpu.machine_seconds()
        own, theirs = time.process_time(), workers.cpu_seconds()
        closing.start_close(period=period, acting_user=None)  # autocommit: the task goes out at once
        asked = time.perf_counter()
        wait_for_job(period, Job.Kind.CLOSE_PERIOD)
        closed, close_cpu = time.perf_counter(), _cpu.since(busy)
        wait_for_job(period, Job.Kind.PAY_RUN)
        paid, all_cpu = time.perf_counter(), _cpu.since(busy)
        own, theirs = time.process_time() - own, _spent(theirs, workers.cpu_seconds())
        peaks = workers.peak_mib()
    finally:
        workers.stop()
    pay_cpu = None if close_cpu is None or all_cpu is None else all_cpu - close_cpu
    return {"close": closed - started, "pay": paid - closed, "close_cpu": close_cpu, "pay_cpu": pay_cpu,
            "peaks": peaks, "digest": digest(period), "cpu": _shares(all_cpu, own, theirs),
            "timeline": [f"  HR's request to close returned after {asked - started:.2f} s",
                         *timeline(period, Job.Kind.CLOSE_PERIOD, started),
                         *timeline(period, Job.Kind.PAY_RUN, started)]}


def _spent(before: list[float | None], after: list[float | None]) -> list[float | None]:
    return [None if a is None or b is None else b - a for a, b in zip(before, after, strict=True)]


def _shares(machine: float | None, own: float, workers: list[float | None]) -> str:
    """Who spent the machine's CPU seconds from HR's request to the pay run's end: what is not this
    process's or the workers' is PostgreSQL's, Redis's and the system's."""
    if machine is None or None in workers:
        return "CPU by process: not measured (no /proc)"
    spent = [w or 0.0 for w in workers]
    each = ", ".join(f"{w:.2f}" for w in spent)
    return (f"CPU from HR's request to the pay run's end: {machine:.2f} s; the workers {each} s, this process "
            f"{own:.2f} s, the rest (PostgreSQL, Redis, the system) {machine - own - sum(spent):.2f} s")


def timeline(period: Period, kind: str, started: float) -> list[str]:
    """When each part of the period's newest job of ``kind`` ran, in seconds from HR's request to
    close (``started``, on this process's clock), and on which worker."""
    from organizations.chunks import JobChunk

    job = Job.objects.filter(kind=kind, subject_id=period.pk).order_by("-pk").first()
    if job is None or job.started_at is None or job.finished_at is None:
        return []
    # The job's times are the database's: line them up with this process's clock through "now".
    zero = timezone.now() - dt.timedelta(seconds=time.perf_counter() - started)
    lines = [f"  {kind} started at {(job.started_at - zero).total_seconds():6.2f} s"]
    lines += [f"  {stage:<8}{number:>3}  {(start - zero).total_seconds():6.2f} → {(end - zero).total_seconds():6.2f} s"
              f"  {worker.split('@')[0]}"
              for stage, number, start, end, worker in JobChunk.objects.filter(job=job).order_by("started_at")
              .values_list("stage", "number", "started_at", "finished_at", "worker") if start and end]
    return [*lines, f"  done at {(job.finished_at - zero).total_seconds():6.2f} s"]
