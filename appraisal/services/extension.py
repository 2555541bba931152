"""The people whose publication notice did not reach them, and their longer review window.

``untold`` names the people with a result of a period whose publication notice did not
demonstrably reach them (no notice, or one neither delivered by email or robot nor read in the
inbox). The grading policy's ``untold_extension_days`` (N working days, 0 = none) extends the review
window of those untold when the normal window ended: each may still appeal until the end (24:00,
Asia/Shanghai) of the Nth working day after the window's last day, and the period is not finalised
before the last such end. A notice read after the normal window ended does not take the extension
back: the set is fixed at the window's end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils import timezone

from appraisal.models import GradingPolicy, Period, Result
from organizations.calendar import add_working_days
from organizations.models import Organization, Person
from organizations.notifications.models import ROBOT_CHANNELS, Channel, Delivery, Notification

RESULTS_PUBLISHED = "results_published"  # appraisal.notices.RESULTS_PUBLISHED (imported from here)


def _reached(period: Period, by: dt.datetime | None) -> QuerySet[Notification, Any]:
    """The ids of the people whose publication notice of ``period`` reached them (by ``by``)."""
    notices = Notification.objects.filter(kind=RESULTS_PUBLISHED, subject_id=period.pk,
                                          subject_type=ContentType.objects.get_for_model(Period))
    read = Q(read_at__isnull=False)
    sent = Q(deliveries__state=Delivery.State.DELIVERED, deliveries__channel__in=[Channel.EMAIL, *ROBOT_CHANNELS])
    if by is not None:
        read &= Q(read_at__lt=by)
        sent &= Q(deliveries__delivered_at__lt=by)
    # Hashed subqueries of ids (the period page counts them on every request); a person id in
    # NOT IN must never be NULL, or nobody would be untold.
    return notices.filter(read | sent, recipient__person_id__isnull=False).values("recipient__person_id")


def untold(period: Period, by: dt.datetime | None = None) -> QuerySet[Person]:
    """The people with a result of ``period`` whose publication notice did not demonstrably reach
    them (by the moment ``by``, when given), by employee number: the finalise step lists them. A
    query, not a list: at a big period everyone is untold until the notices go out, and the period
    page only counts them and names the first few."""
    return (Person.objects.filter(pk__in=Result.objects.filter(period=period).values("person_id"))
            .exclude(pk__in=_reached(period, by)).order_by("employee_no"))


def untold_count(period: Period) -> int:
    """How many untold(period) there are, counted on the period's results alone: a person has one
    result a period (one sheet), and the results are fewer rows to read than the organisation's
    people joined to them (5.5 -> 2.5 ms at 10,000 on the period page, on every request)."""
    return (Result.objects.filter(period=period, person_id__isnull=False)
            .exclude(person_id__in=_reached(period, None)).count())


def first_names(people: QuerySet[Person], shown: int = 10, *, count: int | None = None) -> str:
    """The first ``shown`` names joined with 、, and an ellipsis when there are more (``count``,
    when the caller counted them already): how the finalise step and its refusal name the untold."""
    first = [person.name for person in people[:shown + 1]]
    more = len(first) > shown if count is None else count > shown
    return "、".join(first[:shown]) + ("…" if more else "")


def extension_days(period: Period) -> int:
    if period.grading_policy_id is None:
        return 0
    days = GradingPolicy.objects.filter(pk=period.grading_policy_id).values_list("untold_extension_days", flat=True)
    return next(iter(days), 0)


def extended_end(period: Period) -> dt.datetime | None:
    """The end of an untold person's review window, or None when the policy extends nothing."""
    days = extension_days(period)
    if not days or period.window_ends_at is None:
        return None
    local = ZoneInfo(settings.TIME_ZONE)
    last_day = timezone.localtime(period.window_ends_at - dt.timedelta(microseconds=1), local).date()
    last = add_working_days(Organization.objects.get(pk=period.organization_id), last_day, days)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0), tzinfo=local)


def extended(period: Period) -> tuple[QuerySet[Person], dt.datetime | None]:
    """The people whose window is extended (untold at the normal window's end) and until when."""
    end = extended_end(period)
    if end is None:
        return Person.objects.none(), None
    people = untold(period, by=period.window_ends_at)
    return people, (end if people.exists() else None)


def appeal_open_for(period: Period, person_id: int, now: dt.datetime) -> bool:
    """Whether ``person_id`` may still appeal after the normal window ended: they were untold."""
    people, end = extended(period)
    return end is not None and now < end and people.filter(pk=person_id).exists()


def own_window_end(period: Period, person_id: int | None) -> dt.datetime | None:
    """The end of the review window for ``person_id``: extended if they were untold, else the period's."""
    people, end = extended(period) if period.state == Period.State.PUBLISHED else (Person.objects.none(), None)
    if end is not None and person_id is not None and people.filter(pk=person_id).exists():
        return end
    return period.window_ends_at
