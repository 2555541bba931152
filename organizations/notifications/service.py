"""Raising an event: one notification per recipient, once, and its deliveries sent after commit.

``notify`` is what the apps call (through organizations.notifications.tasks.raise_on_commit from
a signal receiver, or from a sweep). The event's identity is its kind, subject, recipient and occasion, held by a unique
constraint: raising the same event again — a task redelivered, a sweep running every minute, two
requests at once — writes no second row and sends nothing twice. Each new notification gets a
delivery per channel its recipient receives it on (the inbox always, delivered at once; email and
the group robots as the member, else HR's defaults, else the event kind chose), and every pending
delivery is sent by a task after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.utils import timezone, translation

from organizations.models import Department, Membership, User
from organizations.notifications import registry
from organizations.notifications.models import ROBOT_CHANNELS, Channel, ChannelChoice, Delivery, Notification, Robot
from organizations.notifications.registry import EventKind, Message
from organizations.notifications.sending import send_after_commit

BATCH = 1000
SENT_CHANNELS = (Channel.EMAIL, Channel.WECOM, Channel.DINGTALK)


def notify(*, kind: str, subject: Model, acting_user: User | None, occasion: str = "") -> int:
    """Raises event ``kind`` about ``subject``: writes the notifications its recipients do not have
    yet and sends their deliveries after commit. Returns how many notifications were written."""
    del acting_user  # notifications are facts about an event, not edits: nothing to audit
    event = registry.event(kind)
    with translation.override("zh-hans"):
        messages = {m.recipient_id: m for m in event.messages(subject, occasion)}
    if not messages:
        return 0
    subject_type = ContentType.objects.get_for_model(subject)
    same_event = Notification.objects.filter(kind=kind, subject_type=subject_type, subject_id=subject.pk,
                                             occasion=occasion)
    known = set(same_event.filter(recipient_id__in=list(messages)).values_list("recipient_id", flat=True))
    organization_id = subject.organization_id  # type: ignore[attr-defined]
    new = [Notification(organization_id=organization_id, recipient_id=m.recipient_id, kind=kind,
                        subject_type=subject_type, subject_id=subject.pk, occasion=occasion, title=m.title[:200],
                        body=m.body, link=m.link[:300])
           for recipient_id, m in messages.items() if recipient_id not in known]
    if not new:
        return 0
    with transaction.atomic():
        Notification.objects.bulk_create(new, batch_size=BATCH, ignore_conflicts=True)
        written = list(same_event.filter(recipient_id__in=[n.recipient_id for n in new], deliveries__isnull=True)
                       .values_list("pk", "recipient_id"))
        pending = _plan_deliveries(event, organization_id, dict(written))
        send_after_commit(organization_id, pending)
    return len(written)


# --- which channels, which address ---------------------------------------------------------------


def chosen_channels(event: EventKind, membership_ids: Iterable[int]) -> dict[int, set[str]]:
    """The channels (besides the inbox) each member receives ``event`` on: their own choice, else
    HR's default for the organisation, else the event kind's. Two queries."""
    ids = list(membership_ids)
    choices = ChannelChoice.objects.filter(kind=event.key).filter(membership_id__in=ids) | \
        ChannelChoice.objects.filter(kind=event.key, membership__isnull=True)
    own: dict[tuple[int | None, str], bool] = {(c.membership_id, c.channel): c.enabled for c in choices}
    result: dict[int, set[str]] = {}
    for member in ids:
        wanted: set[str] = set()
        for channel in SENT_CHANNELS:
            default = own.get((None, channel), channel in event.channels)
            if own.get((member, channel), default):
                wanted.add(channel)
        result[member] = wanted
    return result


def robots_by_department() -> dict[tuple[str, int | None], Robot]:
    return {(robot.kind, robot.department_id): robot for robot in Robot.objects.filter(is_active=True)}


def robot_for(kind: str, department_id: int | None, robots: Mapping[tuple[str, int | None], Robot],
              parent_of: Mapping[int, int | None]) -> Robot | None:
    """The robot of the department, else of the nearest department above it, else the organisation's."""
    seen: set[int] = set()
    current = department_id
    while current is not None and current not in seen:
        if (kind, current) in robots:
            return robots[(kind, current)]
        seen.add(current)
        current = parent_of.get(current)
    return robots.get((kind, None))


def _plan_deliveries(event: EventKind, organization_id: int, recipient_of: Mapping[int, int]) -> list[int]:
    """Writes the deliveries of the new notifications {notification id: membership id}; returns the
    ids of those to send (the inbox is delivered by being written; a channel without an address is
    recorded as such)."""
    members = {m.pk: m for m in Membership.objects.filter(pk__in=set(recipient_of.values()))
               .select_related("user", "person")}
    channels = chosen_channels(event, members)
    robots = robots_by_department()
    parent_of = dict(Department.objects.values_list("pk", "parent_id")) if robots else {}
    now = timezone.now()
    rows: list[Delivery] = []
    for notification_id, member_id in recipient_of.items():
        member = members[member_id]
        rows.append(Delivery(organization_id=organization_id, notification_id=notification_id,
                             channel=Channel.INBOX, state=Delivery.State.DELIVERED, delivered_at=now,
                             address=str(member.user)))
        for channel in sorted(channels.get(member_id, ())):
            rows.append(_delivery(organization_id, notification_id, channel, member, robots, parent_of))
    Delivery.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return list(Delivery.objects.filter(notification_id__in=list(recipient_of), state=Delivery.State.PENDING)
                .values_list("pk", flat=True))


def _delivery(organization_id: int, notification_id: int, channel: str, member: Membership,
              robots: Mapping[tuple[str, int | None], Robot], parent_of: Mapping[int, int | None]) -> Delivery:
    row = Delivery(organization_id=organization_id, notification_id=notification_id, channel=channel)
    if channel == Channel.EMAIL:
        row.address = member.user.email
    elif channel in ROBOT_CHANNELS:
        department_id = member.person.department_id if member.person is not None else None
        robot = robot_for(channel, department_id, robots, parent_of)
        row.robot, row.address = robot, (robot.name if robot is not None else "")
    if not row.address:
        row.state = Delivery.State.SKIPPED
    return row


def messages_for(recipients: Iterable[int], title: str, body: str, link: str = "") -> list[Message]:
    """The same message for each of ``recipients`` (membership ids)."""
    return [Message(recipient_id, title, body, link) for recipient_id in dict.fromkeys(recipients)]
