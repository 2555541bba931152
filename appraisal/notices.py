"""The appraisal's events for organizations.notifications: who is told what, and when.

* a period opened (once its sheets exist): everyone with a sheet to fill or rate;
* a step's deadline approaching (the last working day before it) and missed (the day after, while
  the step is not done): self-assessment → the people assessing themselves, scoring → the other
  raters, review → HR;
* results published: each employee, with their grade, score and the review window's end (Beijing
  time), linking to their results where they may appeal; the window closing in one working day:
  those who have neither acknowledged nor appealed;
* an appeal filed (its supervisors), forwarded (HR and the appeal group) and decided (the employee
  and the supervisor who forwarded it); the employee hears of each step.

State changes are picked up from the models' saves (post_save, after commit); what no single write
marks (sheets generated, a day arriving) by the sweep the notifications' beat runs every minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisal.appeals import supervisor_user_ids
from appraisal.models import ENTRY_STATES, Appeal, Period, Rater, Result
from appraisal.services import extension
from appraisal.services.window import show_time
from indicators.models import RaterRole
from organizations.calendar import CalendarYearMissing
from organizations.models import Organization, Person
from organizations.notifications import audience, registry
from organizations.notifications.events import beijing_date, reminder_day
from organizations.notifications.models import Channel
from organizations.notifications.registry import EventKind, Message
from organizations.notifications.service import messages_for, notify
from organizations.notifications.tasks import raise_on_commit

logger = logging.getLogger(__name__)

PERIOD_OPENED = "period_opened"
DEADLINE_APPROACHING = "deadline_approaching"
DEADLINE_MISSED = "deadline_missed"
RESULTS_PUBLISHED = extension.RESULTS_PUBLISHED
WINDOW_CLOSING = "window_closing"
APPEAL_FILED = "appeal_filed"
APPEAL_FORWARDED = "appeal_forwarded"
APPEAL_DECIDED = "appeal_decided"

SELF_PENDING = frozenset({Period.State.OPEN, Period.State.SELF_ASSESSMENT})
SCORING_PENDING = SELF_PENDING | {Period.State.SCORING}
STEPS = {"self": (gettext_lazy("self-assessment"), SELF_PENDING),
         "scoring": (gettext_lazy("scoring"), SCORING_PENDING),
         "review": (gettext_lazy("review"), ENTRY_STATES)}
EMAIL = frozenset({Channel.EMAIL.value})
ROBOTS = [Channel.WECOM, Channel.DINGTALK]


# --- who rates -------------------------------------------------------------------------------------


def raters_of(period: Period, *, self_only: bool | None = None) -> list[int]:
    """Membership ids of everyone with a sheet of ``period`` to fill (self) or rate (the others);
    ``self_only`` True / False keeps one side. A rating department counts as its heads."""
    rows = Rater.objects.filter(sheet__period=period, recused=False).values_list(
        "role", "person_id", "department_id", "sheet__person_id", "sheet__person__department_id")
    people: set[int] = set()
    departments: set[int] = set()
    for role, person_id, department_id, subject_id, subject_department in rows:
        is_self = role == RaterRole.SELF
        if self_only is not None and is_self != self_only:
            continue
        if person_id is not None or is_self:
            people.add(person_id or subject_id)
        else:
            departments.add(department_id or subject_department)
    members = audience.of_people(people)
    return sorted(set(members.values()) | set(audience.heads_of(departments)))


def _period_link(period: Period) -> str:
    return reverse("sheets") + f"?period={period.pk}"


def period_opened(period: Period, occasion: str) -> Iterable[Message]:
    return messages_for(raters_of(period), _("Period %(period)s has opened") % {"period": period.name},
                        _("Your score sheets for %(period)s are ready to fill and rate.") % {"period": period.name},
                        _period_link(period))


def _deadline(period: Period, occasion: str, missed: bool) -> Iterable[Message]:
    step, _sep, day = occasion.partition(":")
    label = STEPS[step][0]
    due = {"self": period.self_due, "scoring": period.scoring_due, "review": period.review_due}[step]
    recipients = (raters_of(period, self_only=True) if step == "self"
                  else raters_of(period, self_only=False) if step == "scoring" else audience.hr())
    words = {"period": period.name, "step": label, "due": show_time(due) if due else day}
    if missed:
        title = _("Deadline missed: %(step)s of %(period)s") % words
        body = _("The %(step)s of %(period)s was due by %(due)s (Beijing time) and is not finished.") % words
    else:
        title = _("Deadline approaching: %(step)s of %(period)s") % words
        body = _("The %(step)s of %(period)s is due by %(due)s (Beijing time).") % words
    return messages_for(recipients, title, body, _period_link(period))


def deadline_approaching(period: Period, occasion: str) -> Iterable[Message]:
    return _deadline(period, occasion, missed=False)


def deadline_missed(period: Period, occasion: str) -> Iterable[Message]:
    return _deadline(period, occasion, missed=True)


# --- results and the window ------------------------------------------------------------------------


def _results(period: Period) -> list[tuple[int, Result]]:
    results = list(Result.objects.filter(period=period, person__isnull=False).select_related("person"))
    members = audience.of_people(r.person_id for r in results)
    return [(members[r.person_id], r) for r in results if r.person_id in members]


def results_published(period: Period, occasion: str) -> Iterable[Message]:
    end = show_time(period.window_ends_at) if period.window_ends_at else "—"
    link = reverse("my-results")
    messages = []
    for member, result in _results(period):
        words = {"period": period.name, "grade": result.grade_label or result.grade or _("not assessed"),
                 "score": result.final_score if result.final_score is not None else "—", "end": end}
        messages.append(Message(
            member, _("Results published: %(period)s") % words,
            _("Your grade: %(grade)s; final score: %(score)s. You may object until %(end)s (Beijing time) on your "
              "results page; without an objection by then, the result counts as confirmed.") % words,
            f"{link}#result-{result.pk}"))
    return messages


def window_closing(period: Period, occasion: str) -> Iterable[Message]:
    end = show_time(period.window_ends_at) if period.window_ends_at else "—"
    appealed = set(Appeal.objects.filter(result__period=period).values_list("result_id", flat=True))
    link = reverse("my-results")
    return [Message(member, _("The review window of %(period)s closes soon") % {"period": period.name},
                    _("You may object to your result until %(end)s (Beijing time).") % {"end": end},
                    f"{link}#result-{result.pk}")
            for member, result in _results(period)
            if result.acknowledged_at is None and result.confirmed_at is None and result.pk not in appealed]


def untold(period: Period) -> QuerySet[Person]:
    """The people with a result of ``period`` whose publication notice did not demonstrably reach
    them: no sign-in (so no notice at all), or a notice neither delivered by email or robot nor read
    in the inbox. What the finalise step lists before silence is taken for consent
    (appraisal.services.extension)."""
    return extension.untold(period)


# --- appeals ---------------------------------------------------------------------------------------


def _filer(appeal: Appeal) -> list[int]:
    return list(audience.of_people([appeal.filed_by_id]).values())


def _appeal_words(appeal: Appeal) -> dict[str, Any]:
    person: Person = appeal.filed_by
    return {"person": person.name, "period": appeal.result.period.name, "state": appeal.get_state_display()}


def appeal_filed(appeal: Appeal, occasion: str) -> Iterable[Message]:
    words = _appeal_words(appeal)
    told = audience.of_users(supervisor_user_ids(appeal)) + _filer(appeal)
    return messages_for(told, _("Appeal filed: %(person)s, %(period)s") % words,
                        _("%(person)s objects to their result of %(period)s: %(state)s.") % words, reverse("appeals"))


def appeal_forwarded(appeal: Appeal, occasion: str) -> Iterable[Message]:
    words = _appeal_words(appeal)
    policy = appeal.result.period.grading_policy
    filer = _filer(appeal)
    deciders = [m for m in audience.hr() + audience.group(policy.appeal_group_id if policy else None)
                if m not in filer]
    return messages_for(deciders + filer, _("Appeal forwarded: %(person)s, %(period)s") % words,
                        _("The supervisor gave an opinion on the appeal of %(person)s: %(state)s.") % words,
                        reverse("appeals"))


def appeal_decided(appeal: Appeal, occasion: str) -> Iterable[Message]:
    words = _appeal_words(appeal)
    told = _filer(appeal) + audience.of_users([appeal.forwarded_by_id])
    return messages_for(told, _("Appeal decided: %(person)s, %(period)s") % words,
                        _("The appeal of %(person)s against %(period)s was decided: %(state)s.") % words,
                        reverse("my-results"))


# --- raising them ----------------------------------------------------------------------------------


def on_period_saved(sender: Any, instance: Period, created: bool, **kwargs: Any) -> None:
    if instance.state == Period.State.PUBLISHED:
        raise_on_commit(kind=RESULTS_PUBLISHED, subject=instance)


def on_appeal_saved(sender: Any, instance: Appeal, created: bool, **kwargs: Any) -> None:
    kind = {Appeal.State.FILED: APPEAL_FILED, Appeal.State.FORWARDED: APPEAL_FORWARDED}.get(
        instance.state, APPEAL_DECIDED)  # type: ignore[call-overload]
    raise_on_commit(kind=kind, subject=instance)


def sweep(organization: Organization, now: dt.datetime) -> None:
    """Opened periods whose sheets exist, deadlines tomorrow (on the working-day calendar) and
    past, and windows closing in one working day. Raising an event twice writes nothing."""
    today = beijing_date(now)
    for period in Period.objects.filter(state__in=ENTRY_STATES, sheets_generated_at__isnull=False):
        notify(kind=PERIOD_OPENED, subject=period, acting_user=None)
    for period in Period.objects.filter(state__in=ENTRY_STATES):
        for step, (_label, pending) in STEPS.items():
            due = getattr(period, f"{step}_due")
            if due is None or period.state not in pending:
                continue
            _remind(organization, period, step, beijing_date(due), today)
    for period in Period.objects.filter(state=Period.State.PUBLISHED, window_ends_at__gt=now):
        assert period.window_ends_at is not None
        end = beijing_date(period.window_ends_at - dt.timedelta(microseconds=1))  # 24:00 is the day's end
        if _reminds_today(organization, end, today):
            notify(kind=WINDOW_CLOSING, subject=period, acting_user=None, occasion=f"window:{end}")


def _reminds_today(organization: Organization, due: dt.date, today: dt.date) -> bool:
    try:
        return reminder_day(organization, due) <= today <= due
    except CalendarYearMissing:
        logger.warning("organisation %s: no working calendar for %s, no reminder", organization.pk, due)
        return False


def _remind(organization: Organization, period: Period, step: str, due: dt.date, today: dt.date) -> None:
    if today > due:
        notify(kind=DEADLINE_MISSED, subject=period, acting_user=None, occasion=f"{step}:{due}")
    elif _reminds_today(organization, due, today):
        notify(kind=DEADLINE_APPROACHING, subject=period, acting_user=None, occasion=f"{step}:{due}")


EVENTS = (
    EventKind(PERIOD_OPENED, gettext_lazy("A period opened"), period_opened, EMAIL, position=10),
    EventKind(DEADLINE_APPROACHING, gettext_lazy("A deadline is approaching"), deadline_approaching, EMAIL,
              position=20),
    EventKind(DEADLINE_MISSED, gettext_lazy("A deadline was missed"), deadline_missed, EMAIL, position=21),
    EventKind(RESULTS_PUBLISHED, gettext_lazy("Results published"), results_published, EMAIL, position=30),
    EventKind(WINDOW_CLOSING, gettext_lazy("The review window closes in one working day"), window_closing, EMAIL,
              position=31),
    EventKind(APPEAL_FILED, gettext_lazy("An appeal was filed"), appeal_filed, EMAIL, position=40),
    EventKind(APPEAL_FORWARDED, gettext_lazy("An appeal was forwarded"), appeal_forwarded, EMAIL, position=41),
    EventKind(APPEAL_DECIDED, gettext_lazy("An appeal was decided"), appeal_decided, EMAIL, position=42),
)


def register() -> None:
    registry.register_event(*EVENTS)
    registry.register_sweep("appraisal", sweep)
    registry.register_record(RESULTS_PUBLISHED, "appraisal.Period")
    post_save.connect(on_period_saved, sender=Period, dispatch_uid="appraisal.notices.period")
    post_save.connect(on_appeal_saved, sender=Appeal, dispatch_uid="appraisal.notices.appeal")
