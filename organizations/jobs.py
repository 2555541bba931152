"""Background jobs by their subject: find a period's close, start one export per kind and format.

A job points at what it works on with a generic reference (``Job.subject``), so this floor can
keep jobs for the floors above it (a period, a pay run) without importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet

from organizations.models import Job, User

ACTIVE = (Job.State.QUEUED, Job.State.RUNNING)


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


def start_job(*, subject: Model, kind: str, acting_user: User | None, send: Callable[[Job], None],
              params: Mapping[str, Any] | None = None, total: int = 0) -> Job:
    """The unfinished job of ``kind`` about ``subject`` with ``params``, or a new one.

    ``send(job)`` runs inside the transaction that creates the job (it should ``enqueue`` the task,
    which then goes out on commit). Two requests at once make one job: the partial unique
    constraint refuses the second insert, and the loser returns the winner's job.
    """
    wanted = dict(params or {})
    active = jobs_of(subject, kind).filter(params=wanted, state__in=ACTIVE)
    existing = active.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            job = Job.objects.create(organization_id=subject.organization_id,  # type: ignore[attr-defined]
                                     kind=kind, subject=subject, params=wanted, total=total,
                                     created_by=acting_user)
            send(job)
    except IntegrityError:  # a concurrent request created it first
        return active.get()
    return job
