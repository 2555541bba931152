"""Sending one delivery: a Celery task with the delivery's id, idempotent, retried with backoff.

A delivery is sent under a lock on its row and only while it is pending or due for a retry, so a
task run twice (a redelivered message, a retry racing the sweep) sends once. A channel error leaves
it ``retrying`` with ``next_attempt_at`` set by exponential backoff (NOTIFY_RETRY_SECONDS ×
2^(attempt − 1), at most NOTIFY_MAX_ATTEMPTS attempts, then ``failed``, shown to HR); the beat's
sweep (organizations.notifications.tasks) sends what is due. A robot sends at most
NOTIFY_ROBOT_PER_MINUTE messages a minute: counted from the deliveries it made in the last sixty
seconds, under a lock on the robot's row, so workers share the budget; a message over it waits for
the minute to pass, without counting as an attempt.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from organizations.notifications import channels
from organizations.notifications.models import ROBOT_CHANNELS, Channel, Delivery, Robot
from organizations.tasks import TenantTask

MINUTE = dt.timedelta(seconds=60)
BATCH = 200


def send_after_commit(organization_id: int, delivery_ids: list[int]) -> None:
    """After commit, one task per BATCH deliveries (one SMTP connection for a batch's emails)."""
    for start in range(0, len(delivery_ids), BATCH):
        transaction.on_commit(partial(deliver_batch_task.delay, organization_id=organization_id,
                                      delivery_ids=delivery_ids[start:start + BATCH]))


@shared_task(base=TenantTask, bind=True, name="organizations.deliver_batch")
def deliver_batch_task(self: TenantTask, *, organization_id: int, delivery_ids: list[int]) -> int:
    """Sends each of the deliveries (each under its own lock, so the batch is as safe to run twice as
    one delivery); emails share one connection to the mail server. Returns how many were delivered."""
    with channels.mail_connection() as connection:
        states = [deliver(delivery_id, connection=connection) for delivery_id in delivery_ids]
    return states.count(Delivery.State.DELIVERED)


@shared_task(base=TenantTask, bind=True, name="organizations.deliver")
def deliver_task(self: TenantTask, *, organization_id: int, delivery_id: int) -> str:
    return deliver(delivery_id)


def deliver(delivery_id: int, now: dt.datetime | None = None, connection: Any = None) -> str:
    """Sends one delivery if it is due; returns its state afterwards."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (Delivery.objects.select_for_update(of=("self",)).select_related("notification", "robot")
               .filter(pk=delivery_id).first())
        if row is None:
            return "missing"
        if not _due(row, now):
            return row.state
        if row.channel in ROBOT_CHANNELS and row.robot is not None:
            wait = _robot_wait(row.robot, now)
            if wait is not None:
                _later(row, wait, count=False, error=str(_("The robot's limit of %(count)s messages a minute "
                                                             "was reached; waiting for the next minute.")
                                                           % {"count": settings.NOTIFY_ROBOT_PER_MINUTE}))
                return row.state
        return _send(row, now, connection)


def _due(row: Delivery, now: dt.datetime) -> bool:
    if row.state == Delivery.State.PENDING:
        return True
    return row.state == Delivery.State.RETRYING and (row.next_attempt_at is None or row.next_attempt_at <= now)


def _robot_wait(robot: Robot, now: dt.datetime) -> dt.datetime | None:
    """When the robot may send again, if its minute's budget is spent. Locks the robot's row."""
    Robot.objects.select_for_update().filter(pk=robot.pk).first()
    sent: list[dt.datetime] = [moment for moment in Delivery.objects.filter(robot=robot, delivered_at__gt=now - MINUTE)
                               .order_by("delivered_at").values_list("delivered_at", flat=True)
                               [:settings.NOTIFY_ROBOT_PER_MINUTE] if moment is not None]
    if len(sent) < settings.NOTIFY_ROBOT_PER_MINUTE:
        return None
    return sent[0] + MINUTE


def _send(row: Delivery, now: dt.datetime, connection: Any = None) -> str:
    notification = row.notification
    try:
        with translation.override("zh-hans"):
            if row.channel == Channel.EMAIL:
                channels.send_email(notification, row.address, connection)
            elif row.robot is not None and row.robot.is_active:
                channels.send_robot(row.robot, notification)
            else:
                raise channels.Refused(str(_("The group robot was removed or switched off.")))
    except channels.RateLimited as error:
        _later(row, now + MINUTE, count=False, error=str(error))
    except channels.Refused as error:
        row.attempts += 1
        row.state, row.error, row.next_attempt_at = Delivery.State.FAILED, str(error), None
        row.save(update_fields=["attempts", "state", "error", "next_attempt_at", "updated_at"])
    except channels.ChannelError as error:
        row.attempts += 1
        if row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            row.state, row.error, row.next_attempt_at = Delivery.State.FAILED, str(error), None
            row.save(update_fields=["attempts", "state", "error", "next_attempt_at", "updated_at"])
        else:
            backoff = dt.timedelta(seconds=settings.NOTIFY_RETRY_SECONDS * 2 ** (row.attempts - 1))
            _later(row, now + backoff, count=False, error=str(error))
    else:
        row.attempts += 1
        row.state, row.delivered_at, row.error, row.next_attempt_at = Delivery.State.DELIVERED, now, "", None
        row.save(update_fields=["attempts", "state", "delivered_at", "error", "next_attempt_at", "updated_at"])
    return row.state


def _later(row: Delivery, when: dt.datetime, *, count: bool, error: str) -> None:
    if count:
        row.attempts += 1
    row.state, row.next_attempt_at, row.error = Delivery.State.RETRYING, when, error
    row.save(update_fields=["attempts", "state", "next_attempt_at", "error", "updated_at"])
