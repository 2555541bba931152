"""What members and HR change: reading notifications, channel choices, the group robots, and
sending a failed delivery again. Keyword-only services with ``acting_user``; choices and robots are
audited (their history rows name who and why); each returns early when nothing changes."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.audit import audited_save
from organizations.models import Department, Membership, Organization, User
from organizations.notifications.models import Channel, ChannelChoice, Delivery, Notification, Robot
from organizations.notifications.sending import send_after_commit


def mark_read(*, notifications: QuerySet[Notification], acting_user: User | None) -> int:
    """Marks the unread among ``notifications`` read now; returns how many."""
    del acting_user  # the reader is the recipient; read_at is the record
    return notifications.filter(read_at__isnull=True).update(read_at=timezone.now())


def set_choices(*, organization: Organization, membership: Membership | None, acting_user: User | None,
                wanted: Mapping[tuple[str, str], bool]) -> int:
    """Stores whether each (event kind, channel) is wanted, for the member, or with ``membership``
    None as the organisation's defaults. Returns how many choices changed."""
    current = {(c.kind, c.channel): c for c in ChannelChoice.objects.filter(membership=membership)}
    changed = 0
    with transaction.atomic():
        for (kind, channel), enabled in wanted.items():
            row = current.get((kind, channel))
            if row is not None and row.enabled == enabled:
                continue
            if row is None:
                row = ChannelChoice(organization=organization, membership=membership, kind=kind, channel=channel)
            row.enabled = enabled
            audited_save(row, acting_user=acting_user,
                         reason="notification default" if membership is None else "notification choice")
            changed += 1
    return changed


def add_robot(*, organization: Organization, acting_user: User | None, kind: str, name: str, key: str,
              secret: str = "", department: Department | None = None) -> Robot:
    robot = Robot(organization=organization, kind=kind, name=name.strip(), key=key.strip(), secret=secret.strip(),
                  department=department)
    audited_save(robot, acting_user=acting_user, reason="robot added")
    return robot


def replace_robot_key(*, robot: Robot, acting_user: User | None, key: str, secret: str = "") -> Robot:
    """A new key (and signing secret) for a robot; the old ones are gone."""
    if robot.key == key.strip() and robot.secret == secret.strip():
        return robot
    robot.key, robot.secret = key.strip(), secret.strip()
    audited_save(robot, acting_user=acting_user, reason="robot key replaced")
    return robot


def remove_robot(*, robot: Robot, acting_user: User | None) -> None:
    robot._history_user = acting_user  # type: ignore[attr-defined]
    robot._change_reason = "robot removed"  # type: ignore[attr-defined]
    robot.delete()


def retry_delivery(*, delivery: Delivery, acting_user: User | None) -> bool:
    """Sends a failed delivery again (HR, after fixing the address or the robot): False if it did not fail."""
    del acting_user
    if delivery.state != Delivery.State.FAILED or delivery.channel == Channel.INBOX:
        return False
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.FAILED).update(
            state=Delivery.State.PENDING, attempts=0, next_attempt_at=None)
        if updated:
            send_after_commit(delivery.organization_id, [delivery.pk])
    return bool(updated)
