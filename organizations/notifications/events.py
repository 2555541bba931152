"""The foundation's own events (a background job failed or went silent: HR is told) and the
working-day rule every reminder follows.

Reminders: a reminder meant for a day that is not worked (a weekend, a public holiday in the
organisation's calendar) goes out on the last working day before it; "one working day before a
deadline" is the last working day before the deadline's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from organizations import dashboard, jobs
from organizations.calendar import CalendarYearMissing, is_working_day
from organizations.models import CalendarDay, CalendarYear, Job, Organization
from organizations.notifications import audience
from organizations.notifications.models import Channel
from organizations.notifications.registry import EventKind, Message, register_event, register_sweep
from organizations.notifications.service import messages_for, notify

JOB_FAILED = "job_failed"
JOB_DEAD = "job_dead"
LOOKBACK = 14  # days of calendar a reminder may step back over (a long holiday)


def working_day_on_or_before(organization: Organization, day: dt.date) -> dt.date:
    """``day`` if it is worked, else the last working day before it. Refuses a year without a calendar."""
    first = day - dt.timedelta(days=LOOKBACK)
    years = set(range(first.year, day.year + 1))
    known = set(CalendarYear.objects.filter(organization=organization, year__in=years)
                .values_list("year", flat=True))
    if day.year not in known:
        raise CalendarYearMissing(_("The working calendar has no data for %(years)s; HR must seed or enter it first.")
                                  % {"years": day.year}, years=(day.year,))
    overrides = dict(CalendarDay.objects.filter(organization=organization, date__gte=first, date__lte=day)
                     .values_list("date", "kind"))
    current = day
    while current >= first:
        if is_working_day(current, overrides.get(current)):
            return current
        current -= dt.timedelta(days=1)
    return first


def reminder_day(organization: Organization, due: dt.date) -> dt.date:
    """The day to remind of something due on ``due``: the last working day before it."""
    return working_day_on_or_before(organization, due - dt.timedelta(days=1))


def beijing_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


# --- jobs -------------------------------------------------------------------------------------------


def _job_messages(job: Job, occasion: str) -> Iterable[Message]:
    what = job.get_kind_display()
    if occasion == JOB_DEAD:
        title = _("A background job stopped: %(what)s") % {"what": what}
        body = _("No sign of life since %(when)s (Beijing time). Start it again from its page.") % {
            "when": jobs.shown_time(job.last_sign_of_life)}
    else:
        title = _("A background job failed: %(what)s") % {"what": what}
        body = job.message or _("The job failed.")
    link = dashboard.JOB_LINKS[job.kind](job) if job.kind in dashboard.JOB_LINKS else ""
    return messages_for(audience.hr(), title, body, link)


def failed_job_messages(job: Job, occasion: str) -> Iterable[Message]:
    return _job_messages(job, JOB_FAILED)


def dead_job_messages(job: Job, occasion: str) -> Iterable[Message]:
    return _job_messages(job, JOB_DEAD)


def sweep_jobs(organization: Organization, now: dt.datetime) -> None:
    """HR hears of each job that failed (in the last week) and of each that went silent."""
    since = now - dt.timedelta(days=7)
    for job in Job.objects.filter(state=Job.State.FAILED, finished_at__gte=since):
        notify(kind=JOB_FAILED, subject=job, acting_user=None)
    for job in jobs.dead_jobs(Job.objects.all()):
        notify(kind=JOB_DEAD, subject=job, acting_user=None)


OWN_EVENTS = (
    EventKind(JOB_FAILED, gettext_lazy("A background job failed"), failed_job_messages,
              frozenset({Channel.EMAIL.value}), position=90),
    EventKind(JOB_DEAD, gettext_lazy("A background job stopped"), dead_job_messages,
              frozenset({Channel.EMAIL.value}), position=91),
)


def register() -> None:
    from organizations.notifications import tasks  # noqa: F401  (a worker learns the tasks here)

    register_event(*OWN_EVENTS)
    register_sweep("jobs", sweep_jobs)
