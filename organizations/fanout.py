"""A job split into chunks that any worker may run (the close: appraisal.services.close_parts).

A job's work goes in stages; a stage is planned as chunks (organizations.chunks.JobChunk), each
sent as a message of its own, so as many workers as there are share it. A chunk is done once: the
caller writes what it computed and marks it done in one transaction, holding the chunk's row
(:func:`finish`), so a chunk delivered twice, or taken again after its worker was killed, writes
once. Whoever finishes the last chunk of a stage goes on to the next (:func:`stage_done`), and
whoever plans a stage sends its chunks; with one worker (or none: the embedded demo) the same
steps run one after the other in one process.

Progress is the sum of the chunks': each chunk's ``done`` moves as it works, and the job's
``done`` is their sum (:func:`progress`); the job's heartbeat is kept by whichever worker runs a
chunk (organizations.jobs.alive), so a job whose every worker died is dead as any other.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_scopes import scopes_disabled

from organizations.chunks import JobChunk
from organizations.jobs import ACTIVE, alive
from organizations.models import Job


@dataclass(frozen=True)
class Part:
    """A chunk to plan: what it covers (JSON) and how many things it has to do."""

    params: Mapping[str, Any] = field(default_factory=dict)
    total: int = 0


def plan(job: Job, stage: str, parts: Sequence[Part]) -> list[int]:
    """Records the chunks of ``stage`` (numbered from 0), unless the stage has some already (it was
    planned by a delivery before this one); returns the numbers of the chunks this call planned, to
    send (none when the stage was planned already). Call inside the transaction that decides it."""
    if JobChunk.objects.filter(job=job, stage=stage).exists():
        return []
    JobChunk.objects.bulk_create(
        [JobChunk(organization_id=job.organization_id, job=job, stage=stage, number=number, params=dict(part.params),
                  total=part.total) for number, part in enumerate(parts)], ignore_conflicts=True)
    return list(range(len(parts)))


def worker_name() -> str:
    """The Celery worker running this (its node name), else this host and process."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    hostname = getattr(request, "hostname", None) if request is not None else None
    return str(hostname) if hostname else f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def taking(job: Job, stage: str, number: int) -> Iterator[JobChunk | None]:
    """Takes a chunk to work on: None when it is done already or its job finished (a message
    delivered again), else the chunk, marked running by this worker while the job beats."""
    chunk = JobChunk.objects.filter(job=job, stage=stage, number=number).first()
    if chunk is None or chunk.state == JobChunk.State.DONE or not Job.objects.filter(pk=job.pk,
                                                                                      state__in=ACTIVE).exists():
        yield None
        return
    JobChunk.objects.filter(pk=chunk.pk).update(state=JobChunk.State.RUNNING, worker=worker_name()[:200],
                                                runs=F("runs") + 1, started_at=timezone.now())
    with alive(job):
        yield chunk


def finish(chunk: JobChunk, **params: Any) -> bool:
    """Marks the chunk done, with ``params`` added to its own, inside the caller's transaction (the
    one that writes what the chunk computed). Locks the chunk's row first: False when another
    delivery finished it meanwhile, and the caller must then write nothing."""
    current = JobChunk.objects.select_for_update().get(pk=chunk.pk)
    if current.state == JobChunk.State.DONE:
        return False
    JobChunk.objects.filter(pk=chunk.pk).update(state=JobChunk.State.DONE, done=current.total,
                                                params={**current.params, **params}, finished_at=timezone.now())
    progress(chunk.job_id)
    return True


def progress(job_id: int, chunk: JobChunk | None = None, done: int | None = None) -> None:
    """Records a chunk's progress (``done`` of its total), and the job's: the sum of its chunks'.
    By ids: it may run after the commit of a chunk, outside the tenant's scope."""
    with scopes_disabled():
        if chunk is not None and done is not None:
            JobChunk.objects.filter(pk=chunk.pk).exclude(state=JobChunk.State.DONE).update(
                done=min(done, chunk.total))
        summed = JobChunk.objects.filter(job_id=job_id).values("job_id").annotate(sum=Sum("done")).values("sum")
        Job.objects.filter(pk=job_id, state__in=ACTIVE).update(done=Coalesce(Subquery(summed), 0),
                                                               heartbeat_at=timezone.now())


def stage_done(job: Job, stage: str) -> bool:
    """Every chunk of ``stage`` is done (and the stage was planned)."""
    chunks = JobChunk.objects.filter(job=job, stage=stage)
    return chunks.exists() and not chunks.exclude(state=JobChunk.State.DONE).exists()


def pending(job: Job, stage: str) -> list[int]:
    """The numbers of the chunks of ``stage`` not done yet."""
    return list(JobChunk.objects.filter(job=job, stage=stage).exclude(state=JobChunk.State.DONE)
                .order_by("number").values_list("number", flat=True))


def chunk_params(job: Job, stage: str) -> list[dict[str, Any]]:
    """The params of the chunks of ``stage``, in order (what they covered and what they added when done)."""
    return [dict(p) for p in JobChunk.objects.filter(job=job, stage=stage).order_by("number")
            .values_list("params", flat=True)]
