"""Background jobs by their subject: find a period's close, start one export per kind and format,
keep a running job's heartbeat, and find and restart the jobs whose worker died.

A job points at what it works on with a generic reference (``Job.subject``), so this floor can
keep jobs for the floors above it (a period, a pay run) without importing them.

Liveness: a task runs its work inside :func:`running`, which marks the job running and records
``heartbeat_at`` at least every JOB_HEARTBEAT_SECONDS (a thread with its own connection on
PostgreSQL, so a long transaction does not silence it; the progress callbacks beat too, through
:func:`beat`). An unfinished job with no sign of life for JOB_DEAD_AFTER_SECONDS is dead: its worker
was killed or lost its database. :func:`start_job` does not count a dead job as unfinished (it
retires it, failed with a message naming when it fell silent, and starts a new one), and
:func:`restart_job` lets a page or the API start it again. The tasks themselves are safe to run
twice, so a dead job that was only slow, or a message Redis delivers again after its visibility
timeout, never doubles anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from organizations.models import Job, User

ACTIVE = (Job.State.QUEUED, Job.State.RUNNING)
logger = logging.getLogger(__name__)


class NotRestartable(Exception):
    """The job cannot be restarted as it stands (it finished, or it is alive); the message says why."""


def jobs_of(subject: Model, kind: str) -> QuerySet[Job]:
    """Every job of ``kind`` about ``subject``, newest first."""
    return Job.objects.filter(kind=kind, subject_type=ContentType.objects.get_for_model(subject),
                              subject_id=subject.pk)


def jobs_about(model: type[Model], ids: Iterable[int], kind: str) -> QuerySet[Job]:
    """Every job of ``kind`` about any of the ``model`` rows ``ids``: one query for a page of them."""
    return Job.objects.filter(kind=kind, subject_type=ContentType.objects.get_for_model(model),
                              subject_id__in=list(ids))


def latest_by_subject(jobs: QuerySet[Job]) -> dict[int, Job]:
    """The newest job per subject id among ``jobs``."""
    latest: dict[int, Job] = {}
    for job in jobs.order_by("-created_at", "-pk"):
        latest.setdefault(job.subject_id, job)
    return latest


# --- liveness -----------------------------------------------------------------------------------


def dead_jobs(jobs: QuerySet[Job]) -> QuerySet[Job]:
    """The dead among ``jobs``: unfinished, and silent (no heartbeat, or no start or creation when
    they never beat) for longer than JOB_DEAD_AFTER_SECONDS. The same rule as ``Job.dead``, in SQL."""
    limit = timezone.now() - dt.timedelta(seconds=settings.JOB_DEAD_AFTER_SECONDS)
    return jobs.filter(state__in=ACTIVE).alias(
        sign_of_life=Coalesce("heartbeat_at", "started_at", "created_at")).filter(sign_of_life__lt=limit)


def shown_time(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "?"


def retire(job: Job) -> bool:
    """Marks a dead job failed, with a message naming when it fell silent and how far it got. Only
    while it is still dead (one UPDATE with the rule as its condition): False when it beat or
    finished meanwhile."""
    message = _("No sign of life since %(when)s (Beijing time), at %(done)s of %(total)s: the worker running it "
                "stopped. Start it again to continue.") % {"when": shown_time(job.last_sign_of_life),
                                                            "done": job.done, "total": job.total}
    return bool(dead_jobs(Job.objects.filter(pk=job.pk)).update(state=Job.State.FAILED, message=message,
                                                                 finished_at=timezone.now()))


def beat(job_id: int, **fields: Any) -> None:
    """Records a sign of life of an unfinished job, with any other ``fields`` (``done``, say)."""
    Job.objects.filter(pk=job_id, state__in=ACTIVE).update(heartbeat_at=timezone.now(), **fields)


class _Pulse:
    """Beats a job's heartbeat every JOB_HEARTBEAT_SECONDS from a thread with its own database
    connection (opened at the first beat, so a short job opens none), until stopped."""

    def __init__(self, job_id: int) -> None:
        self.interval = settings.JOB_HEARTBEAT_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(job_id,), name=f"job-{job_id}-heartbeat",
                                        daemon=True)
        self._thread.start()

    def _run(self, job_id: int) -> None:
        try:
            with scopes_disabled():  # a new thread starts outside the task's tenant scope; one row by id
                while not self._stop.wait(self.interval):
                    try:
                        beat(job_id)
                    except DatabaseError:  # the next beat tries again; a job that never beats dies
                        logger.warning("job %s: heartbeat not recorded", job_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)


@contextmanager
def running(job: Job, **fields: Any) -> Iterator[None]:
    """Runs a job's work: marks it running (with ``fields``, e.g. its ``total``) and keeps its
    heartbeat while the block runs. On PostgreSQL a thread beats (the work may sit in one long
    transaction); on SQLite, where a second writer would only contend with the work, the progress
    callbacks and the steps' boundaries do. The block records the refusals it expects (failed, with
    the reason); anything else leaves the job unfinished and silent, so it is dead, and restartable,
    JOB_DEAD_AFTER_SECONDS later — as after a kill, whose redelivered task may still finish it."""
    now = timezone.now()  # a job retired meanwhile stays failed: its restart is the one that counts
    Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(state=Job.State.RUNNING, started_at=now,
                                                           heartbeat_at=now, **fields)
    with alive(job):
        yield


@contextmanager
def alive(job: Job) -> Iterator[None]:
    """Keeps the heartbeat of a job already running while the block runs (a part of it on another
    worker: organizations.fanout), as :func:`running` does."""
    beat(job.pk)
    pulse = _Pulse(job.pk) if connection.vendor == "postgresql" else None
    try:
        yield
    finally:
        if pulse is not None:
            pulse.stop()


# --- starting and restarting --------------------------------------------------------------------


def start_job(*, subject: Model, kind: str, acting_user: User | None, send: Callable[[Job], None],
              params: Mapping[str, Any] | None = None, total: int = 0) -> Job:
    """The unfinished job of ``kind`` about ``subject`` with ``params``, or a new one.

    ``send(job)`` runs inside the transaction that creates the job (it should ``enqueue`` the task,
    which then goes out on commit). Two requests at once make one job: the partial unique
    constraint refuses the second insert, and the loser returns the winner's job. A dead job does
    not count: it is retired (failed, saying since when it was silent) and a new one starts.
    """
    wanted = dict(params or {})
    active = jobs_of(subject, kind).filter(params=wanted, state__in=ACTIVE)
    existing = active.first()
    if existing is not None and not (existing.dead and retire(existing)):
        existing.refresh_from_db()
        if not existing.finished:
            return existing  # alive (or it beat again just now)
    try:
        with transaction.atomic():
            job = Job.objects.create(organization_id=subject.organization_id,  # type: ignore[attr-defined]
                                     kind=kind, subject=subject, params=wanted, total=total,
                                     created_by=acting_user)
            send(job)
    except IntegrityError:  # a concurrent request created it first (and it may have finished since)
        winner = active.first() or jobs_of(subject, kind).filter(params=wanted).first()
        assert winner is not None
        return winner
    return job


def restartable(job: Job) -> Job:
    """The job as it stands now, when it may be restarted: dead, or failed. Otherwise NotRestartable
    saying why (it finished; it is alive, with its last sign of life and when it would count as dead)."""
    current = Job.objects.get(pk=job.pk)
    if current.state == Job.State.DONE:
        raise NotRestartable(_("This job finished at %(when)s (Beijing time): there is nothing to restart.")
                             % {"when": shown_time(current.finished_at)})
    if current.state in ACTIVE and not current.dead:
        raise NotRestartable(_("This job is running (last sign of life at %(when)s, Beijing time). It can be restarted "
                               "once it has given no sign of life for %(seconds)s seconds.")
                             % {"when": shown_time(current.last_sign_of_life),
                                "seconds": settings.JOB_DEAD_AFTER_SECONDS})
    return current


def restart_job(*, job: Job, start: Callable[[Job], Job]) -> Job:
    """Restarts a dead or failed job: a dead one is retired first (failed, with when it fell
    silent), then ``start(job)`` — the kind's own start, with its checks — starts it again from
    what is committed and returns the new job. Two restarts at once make one new job (start_job)."""
    current = restartable(job)
    if current.state in ACTIVE and not retire(current):
        restartable(current)  # it beat or finished meanwhile: refused, saying so; or someone else retired it
    return start(current)
