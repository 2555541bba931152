"""Celery tasks: ids in, scope entered by the base class, a service called."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django_scopes import scope

from organizations.models import Organization


class TenantTask(Task):  # type: ignore[misc]
    """Base class for every tenant task: re-enters the organisation's scope from ``organization_id``.

    Tasks are sent with ids only (never model instances), so a redelivered or retried message
    reads the current state of the database rather than a stale pickled copy.
    """

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        organization_id = kwargs.get("organization_id")
        if organization_id is None:
            raise TypeError(f"{self.name} must be called with organization_id=… as a keyword argument")
        organization = Organization.objects.get(pk=organization_id)
        with scope(organization=organization):
            return super().__call__(*args, **kwargs)


def enqueue(task: Task, **kwargs: Any) -> None:
    """Sends a task once the surrounding transaction commits, so a worker never reads rows that a
    rollback will take back, nor misses rows that are not committed yet."""
    transaction.on_commit(partial(task.delay, **kwargs))


@shared_task(base=TenantTask, bind=True, name="organizations.seed_calendar_year")
def seed_calendar_year(self: TenantTask, *, organization_id: int, year: int) -> dict[str, int]:
    from organizations.services import seed_calendar_year as seed

    organization = Organization.objects.get(pk=organization_id)
    return seed(organization=organization, year=year, acting_user=None)
