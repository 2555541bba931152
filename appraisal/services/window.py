"""Publication and the review window: a closed period is published (its results become visible and
the window for appeals opens), then finalised once the window has ended and every appeal is
answered. A periodic tick (celery beat, ``appraisal.tick``) sends both steps when they fall due.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_scopes import scopes_disabled

from appraisal.models import Appeal, Period, Result
from appraisal.services import extension
from appraisal.services.closing import ClosureRefused
from appraisal.services.common import IllegalTransition
from appraisal.services.periods import transition
from core.explain import listed
from organizations.calendar import add_working_days
from organizations.models import Organization, Person, User
from organizations.tasks import TenantTask


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def show_time(moment: dt.datetime) -> str:
    """A moment as the pages and messages say it in a sentence: local time, to the minute, in the
    reader's language (2026年10月11日 00:00; GLOSSARY.md). Tables write 2026-10-11 00:00."""
    return date_format(timezone.localtime(moment, local_tz()),
                       pgettext("time in a sentence (Django date format)", "F j, Y H:i"))


def window_end(organization: Organization, published_at: dt.datetime) -> dt.datetime:
    """The moment the review window closes: the end (24:00, Asia/Shanghai) of the Nth calendar or
    working day after the day of publication. Working days follow the HR-editable calendar,
    holidays and make-up working days (调休) included; a year without data is refused."""
    day = timezone.localtime(published_at, local_tz()).date()
    length = organization.review_window_length
    if organization.review_window_unit == Organization.WindowUnit.WORKING_DAYS:
        last = add_working_days(organization, day, length)
    else:
        last = day + dt.timedelta(days=length)
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0), tzinfo=local_tz())


def publish(*, period: Period, acting_user: User | None, now: dt.datetime | None = None) -> Period:
    """closed → published: the results become visible to the people they concern and the review
    window opens. Refused while a tie or an unenforceable cap waits for calibration: publishing
    would break it silently."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Period.objects.select_for_update(of=("self",)).get(pk=period.pk)
        if current.state == Period.State.CLOSED and current.results_at is None:
            raise ClosureRefused(_("Period %(period)s is still closing.") % {"period": current.code})
        if current.state == Period.State.CLOSED:
            waiting = list(Result.objects.filter(period=current, needs_calibration=True)
                           .values_list("sheet__person__name", flat=True)[:10])
            if waiting:
                raise ClosureRefused(
                    _("Period %(period)s cannot be published: calibrate first (%(names)s are tied at a quota line "
                      "or over the lowest grade's cap).") % {"period": current.code,
                                                             "names": listed(n or "?" for n in waiting)}
                )
        organization = Organization.objects.get(pk=current.organization_id)
        ends = window_end(organization, now)
        published = transition(period=current, to=Period.State.PUBLISHED, acting_user=acting_user,
                               reason="published")
        Period.objects.filter(pk=current.pk).update(published_at=now, window_ends_at=ends)
    published.published_at, published.window_ends_at = now, ends
    period.state, period.published_at, period.window_ends_at = published.state, now, ends
    return published


def finalise(*, period: Period, acting_user: User | None, now: dt.datetime | None = None) -> Period:
    """published → final once the window has ended and every appeal is answered. Results nobody
    appealed are confirmed by silence (S1-4), with the window's end as the moment."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Period.objects.select_for_update(of=("self",)).get(pk=period.pk)
        if current.state != Period.State.PUBLISHED:
            raise IllegalTransition(
                _("Period %(period)s cannot be finalised: it is %(state)s.")
                % {"period": current.code, "state": current.get_state_display()}
            )
        assert current.window_ends_at is not None
        if now < current.window_ends_at:
            raise ClosureRefused(
                _("Period %(period)s cannot be finalised before its review window ends at %(end)s.")
                % {"period": current.code, "end": show_time(current.window_ends_at)}
            )
        extended_people, extended_end = _refuse_while_extended(current, now)
        open_appeals = Appeal.objects.filter(result__period=current,
                                             state__in=[Appeal.State.FILED, Appeal.State.FORWARDED]).count()
        if open_appeals:
            raise ClosureRefused(
                _("Period %(period)s cannot be finalised: %(count)s appeal(s) are still open.")
                % {"period": current.code, "count": open_appeals}
            )
        if extended_end is not None:  # silence confirms their results at the end of their longer window
            Result.objects.filter(period=current, confirmed_at__isnull=True,
                                  person__in=extended_people).update(confirmed_at=extended_end)
        Result.objects.filter(period=current, confirmed_at__isnull=True).update(confirmed_at=current.window_ends_at)
        final = transition(period=current, to=Period.State.FINAL, acting_user=acting_user, reason="finalised")
        Period.objects.filter(pk=current.pk).update(finalised_at=now)
    period.state = final.state
    return final


def _refuse_while_extended(period: Period, now: dt.datetime) -> tuple[QuerySet[Person], dt.datetime | None]:
    """Refuses while the extended window of the people whose notice failed is open (the policy's
    untold_extension_days), naming them and until when; else returns them and that end."""
    people, end = extension.extended(period)
    if end is not None and now < end:
        names = extension.first_names(people)
        raise ClosureRefused(
            _("Period %(period)s cannot be finalised before %(end)s (Beijing time): the review window of "
              "%(names)s, whose publication notice did not reach them, is extended until then.")
            % {"period": period.code, "end": show_time(end), "names": names}
        )
    return people, end


def due_for_tick(now: dt.datetime) -> list[tuple[int, int, str]]:
    """(organization id, period id, step) of every period the periodic tick should move, across
    tenants: closed periods past their publication date, published ones past their window.
    The caller sends one task per period, so one organisation's work never waits on another's."""
    with scopes_disabled():
        publish_due = Period.objects.filter(state=Period.State.CLOSED, results_at__isnull=False,
                                            publish_due__isnull=False, publish_due__lte=now)
        finalise_due = Period.objects.filter(state=Period.State.PUBLISHED, window_ends_at__lte=now)
        return ([(p.organization_id, p.pk, "publish") for p in publish_due]
                + [(p.organization_id, p.pk, "finalise") for p in finalise_due])


@shared_task(base=TenantTask, bind=True, name="appraisal.publish_period", acks_late=True)
def publish_period_task(self: TenantTask, *, organization_id: int, period_id: int) -> str:
    """Publishes a closed period whose publication date has come (sent by the tick)."""
    period = Period.objects.get(pk=period_id)
    if period.state != Period.State.CLOSED:
        return period.state  # published already: a redelivery or a second tick
    try:
        return publish(period=period, acting_user=None).state
    except (ClosureRefused, IllegalTransition) as error:
        return str(error)  # waits for calibration; the next tick tries again


@shared_task(base=TenantTask, bind=True, name="appraisal.finalise_period", acks_late=True)
def finalise_period_task(self: TenantTask, *, organization_id: int, period_id: int) -> str:
    """Finalises a published period whose review window has ended (sent by the tick)."""
    period = Period.objects.get(pk=period_id)
    if period.state != Period.State.PUBLISHED:
        return period.state
    try:
        return finalise(period=period, acting_user=None).state
    except (ClosureRefused, IllegalTransition) as error:
        return str(error)  # an appeal is still open; the next tick tries again


@shared_task(name="appraisal.tick")
def tick() -> int:
    """Periodic (celery beat): sends one task per period that is due to be published or finalised."""
    due = due_for_tick(timezone.now())
    for organization_id, period_id, step in due:
        task = publish_period_task if step == "publish" else finalise_period_task
        task.delay(organization_id=organization_id, period_id=period_id)
    return len(due)
