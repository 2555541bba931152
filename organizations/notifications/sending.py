"""Sending deliveries: Celery tasks with the deliveries' ids, idempotent, retried with backoff.

A delivery is sent under a lock on its row and only while it is pending or due for a retry, so a
task run twice (a redelivered message, a retry racing the sweep) sends once. Emails go set-based
(:func:`deliver_many`): a batch's due email deliveries are claimed with one locking SELECT (rows
another worker holds are skipped), sent over one SMTP connection, and the delivered ones marked
with one UPDATE; only a failed email is written on its own. A channel error leaves
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
from django.db.models import F, Q
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
    """Sends the deliveries (as safe to run twice as one delivery). Returns how many were delivered."""
    return deliver_many(delivery_ids)


def deliver_many(delivery_ids: list[int], now: dt.datetime | None = None) -> int:
    """Sends those of the deliveries that are due: the emails set-based over one connection to the
    mail server, the robots' one by one (their per-minute budget). Returns how many were delivered."""
    now = now or timezone.now()
    emails = set(Delivery.objects.filter(pk__in=delivery_ids, channel=Channel.EMAIL).values_list("pk", flat=True))
    delivered = _deliver_emails(sorted(emails), now) if emails else 0
    others = [delivery_id for delivery_id in delivery_ids if delivery_id not in emails]
    return delivered + [deliver(delivery_id, now) for delivery_id in others].count(Delivery.State.DELIVERED)


def _due_q(now: dt.datetime) -> Q:
    return Q(state=Delivery.State.PENDING) | Q(state=Delivery.State.RETRYING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def _deliver_emails(delivery_ids: list[int], now: dt.datetime) -> int:
    """Claims the due email deliveries in one locking query (skipping rows another worker holds, so
    each is sent once), sends them over one connection, marks the delivered ones in one UPDATE."""
    with transaction.atomic():
        rows = list(Delivery.objects.select_for_update(of=("self",), skip_locked=True).select_related("notification")
                    .filter(_due_q(now), pk__in=delivery_ids))
        if not rows:
            return 0
        sent: list[int] = []
        with channels.mail_connection() as connection, translation.override("zh-hans"):
            for row in rows:
                try:
                    channels.send_email(row.notification, row.address, connection)
                except channels.ChannelError as error:
                    _failed(row, now, error)
                else:
                    sent.append(row.pk)
        Delivery.objects.filter(pk__in=sent).update(
            attempts=F("attempts") + 1, state=Delivery.State.DELIVERED, delivered_at=now, error="",
            next_attempt_at=None, updated_at=now)
    return len(sent)


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
    except channels.ChannelError as error:
        _failed(row, now, error)
    else:
        row.attempts += 1
        row.state, row.delivered_at, row.error, row.next_attempt_at = Delivery.State.DELIVERED, now, "", None
        row.save(update_fields=["attempts", "state", "delivered_at", "error", "next_attempt_at", "updated_at"])
    return row.state


def _failed(row: Delivery, now: dt.datetime, error: channels.ChannelError) -> None:
    """A channel's refusal: wait a minute (rate limit, not an attempt), fail at once (refused for
    good), or retry with exponential backoff up to NOTIFY_MAX_ATTEMPTS attempts."""
    if isinstance(error, channels.RateLimited):
        _later(row, now + MINUTE, count=False, error=str(error))
        return
    row.attempts += 1
    if isinstance(error, channels.Refused) or row.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        row.state, row.error, row.next_attempt_at = Delivery.State.FAILED, str(error), None
        row.save(update_fields=["attempts", "state", "error", "next_attempt_at", "updated_at"])
    else:
        backoff = dt.timedelta(seconds=settings.NOTIFY_RETRY_SECONDS * 2 ** (row.attempts - 1))
        _later(row, now + backoff, count=False, error=str(error))


def _later(row: Delivery, when: dt.datetime, *, count: bool, error: str) -> None:
    if count:
        row.attempts += 1
    row.state, row.next_attempt_at, row.error = Delivery.State.RETRYING, when, error
    row.save(update_fields=["attempts", "state", "next_attempt_at", "error", "updated_at"])
