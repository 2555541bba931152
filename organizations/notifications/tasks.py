"""Celery tasks of the notifications: raise an event (after the commit of the write that caused
it), and the beat's sweep (the registered sweeps, then the deliveries due for a retry). Sending one
delivery is organizations.notifications.sending. Tasks take ids and re-enter the tenant scope."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django_scopes import scopes_disabled

from organizations.models import Organization
from organizations.notifications import registry
from organizations.notifications.models import Delivery
from organizations.notifications.sending import deliver_many
from organizations.notifications.service import notify
from organizations.tasks import TenantTask, enqueue

logger = logging.getLogger(__name__)


@shared_task(base=TenantTask, bind=True, name="organizations.notify")
def notify_task(self: TenantTask, *, organization_id: int, kind: str, subject_type_id: int, subject_id: int,
                occasion: str = "") -> int:
    model = ContentType.objects.get_for_id(subject_type_id).model_class()
    assert model is not None
    subject = model._default_manager.filter(pk=subject_id).first()
    if subject is None:  # deleted meanwhile: nothing left to tell about
        return 0
    return notify(kind=kind, subject=subject, acting_user=None, occasion=occasion)


def raise_on_commit(*, kind: str, subject: Model, occasion: str = "") -> None:
    """For a signal receiver inside a service's transaction: raises the event by a task sent once
    the transaction commits (so a rollback tells nobody, and the service's request does not wait)."""
    subject_type = ContentType.objects.get_for_model(subject)
    enqueue(notify_task, organization_id=subject.organization_id,  # type: ignore[attr-defined]
            kind=kind, subject_type_id=subject_type.pk, subject_id=subject.pk, occasion=occasion)


# --- the beat -----------------------------------------------------------------------------------


@shared_task(name="organizations.notifications_tick")
def tick() -> int:
    """Across tenants: one sweep task per active organisation."""
    with scopes_disabled():
        ids = list(Organization.objects.filter(is_active=True).values_list("pk", flat=True))
    with transaction.atomic():
        for organization_id in ids:
            enqueue(sweep_task, organization_id=organization_id)
    return len(ids)


@shared_task(base=TenantTask, bind=True, name="organizations.notifications_sweep")
def sweep_task(self: TenantTask, *, organization_id: int) -> int:
    return sweep(Organization.objects.get(pk=organization_id), timezone.now())


def sweep(organization: Organization, now: dt.datetime) -> int:
    """Runs every registered sweep (each on its own: one failing does not stop the others), then
    sends the deliveries due for a retry. Returns how many deliveries it sent again."""
    for name, run in registry.SWEEPS.items():
        try:
            with transaction.atomic():
                run(organization, now)
        except Exception:  # a sweep's bug must not stop the reminders of the others
            logger.exception("notification sweep %s failed for organisation %s", name, organization.pk)
    due = list(Delivery.objects.filter(state=Delivery.State.RETRYING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:settings.NOTIFY_SWEEP_BATCH])
    deliver_many(due, now)
    return len(due)
