"""Reads of the notifications: a member's inbox, their effective channel choices, the robots,
failed deliveries, and the record of one event's deliveries (who was told, when, on which channel)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Prefetch, QuerySet

from organizations.context import TenantContext
from organizations.notifications import registry
from organizations.notifications.models import Channel, ChannelChoice, Delivery, Notification, Robot
from organizations.notifications.service import SENT_CHANNELS


def inbox(tenant: TenantContext) -> QuerySet[Notification]:
    """The member's own notifications, newest first: nobody reads another's."""
    return Notification.objects.filter(recipient_id=tenant.membership.pk)


def effective_choices(membership_id: int | None) -> dict[tuple[str, str], bool]:
    """{(event kind, channel): wanted} for the member (their choice, else HR's default, else the
    kind's), or with ``membership_id`` None the organisation's defaults. One query."""
    rows = ChannelChoice.objects.filter(membership__isnull=True)
    if membership_id is not None:
        rows = rows | ChannelChoice.objects.filter(membership_id=membership_id)
    stored = {(c.membership_id, c.kind, c.channel): c.enabled for c in rows}
    result: dict[tuple[str, str], bool] = {}
    for kind in registry.events():
        for channel in SENT_CHANNELS:
            default = stored.get((None, kind.key, channel), channel in kind.channels)
            result[(kind.key, channel)] = stored.get((membership_id, kind.key, channel), default) \
                if membership_id is not None else default
    return result


def robots() -> QuerySet[Robot]:
    return Robot.objects.select_related("department").order_by("kind", "name")


def failed_deliveries() -> QuerySet[Delivery]:
    return (Delivery.objects.filter(state=Delivery.State.FAILED)
            .select_related("notification__recipient__user", "robot").order_by("-updated_at", "-pk"))


@dataclass
class RecordRow:
    """One recipient of a notice: their notification and its deliveries by channel."""

    notification: Notification
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def delivered(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.state == Delivery.State.DELIVERED]

    @property
    def told_outside_the_site(self) -> bool:
        """Delivered on a channel that reaches the person without their opening the site."""
        return any(d.channel != Channel.INBOX for d in self.delivered)

    @property
    def failed(self) -> bool:
        return any(d.state == Delivery.State.FAILED for d in self.deliveries)


def notice_record(kind: str, subject: Model) -> list[RecordRow]:
    """Every notification of ``kind`` about ``subject``, with its deliveries. Two queries."""
    rows = (Notification.objects.filter(kind=kind, subject_type=ContentType.objects.get_for_model(subject),
                                        subject_id=subject.pk)
            .select_related("recipient__user", "recipient__person")
            .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("channel")))
            .order_by("recipient__person__employee_no", "recipient_id"))
    return [RecordRow(n, list(n.deliveries.all())) for n in rows]


def record_summary(rows: list[RecordRow]) -> dict[str, int]:
    return {"told": len(rows), "read": sum(1 for r in rows if r.notification.read_at is not None),
            "outside": sum(1 for r in rows if r.told_outside_the_site), "failed": sum(1 for r in rows if r.failed)}


def recorded_subjects(limit: int = 20) -> list[Model]:
    """The subjects (periods) with publication notices, newest first: the records HR may open."""
    if not registry.RECORD:
        return []
    from django.apps import apps

    model = apps.get_model(registry.RECORD["model"])
    ids = list(Notification.objects.filter(kind=registry.RECORD["kind"],
                                           subject_type=ContentType.objects.get_for_model(model))
               .order_by("-subject_id").values_list("subject_id", flat=True).distinct()[:limit])
    found = model._default_manager.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]
