"""Notifications (issue #18): one notification per event and recipient, delivered on the channels
chosen, raised by the appraisal's and the foundation's events, reminders on the working-day calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scope

from appraisal import appeals, notices
from appraisal.models import Period, Result
from appraisal.services import window
from organizations import services as org_services
from organizations.models import Job, Membership, Organization, Person, User
from organizations.notifications import actions, events
from organizations.notifications.models import Channel, Delivery, Notification
from organizations.notifications.service import notify
from organizations.notifications.tasks import notify_task, sweep
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World, membership_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def failed_job(org: Organization, message: str = "磁盘已满") -> Job:
    with scope(organization=org):
        return Job.objects.create(organization=org, kind=Job.Kind.PAY_EXPORT, subject=org_services_dept(org),
                                  state=Job.State.FAILED, message=message, finished_at=timezone.now())


def org_services_dept(org: Organization) -> Any:
    from organizations.models import Department

    return Department.objects.filter(organization=org).first()


def with_email(user: User, address: str) -> None:
    User.objects.filter(pk=user.pk).update(email=address)


def members(org: Organization, people: list[Person]) -> dict[int, Membership]:
    """A sign-in for each person; {person id: membership}."""
    found = {}
    for person in people:
        user = User.objects.create_user(username=f"u-{person.employee_no}", password="x",
                                        email=f"{person.employee_no}@example.com")
        with scope(organization=org):
            found[person.pk] = org_services.create_membership(organization=org, acting_user=None, user=user,
                                                              person=person, is_hr_admin=False, is_finance=False,
                                                              headed_departments=[])
    return found


# --- the mechanism --------------------------------------------------------------------------------------


def test_it_writes_one_notification_per_recipient_with_its_inbox_delivered(world_a: World, hr: User) -> None:
    job = failed_job(world_a.org)
    with scope(organization=world_a.org):
        written = notify(kind=events.JOB_FAILED, subject=job, acting_user=None)
        notification = Notification.objects.get()
        inbox = Delivery.objects.get(notification=notification, channel=Channel.INBOX)
    assert written == 1
    assert notification.recipient == membership_of(hr, world_a.org)
    assert notification.body == "磁盘已满"
    assert inbox.state == Delivery.State.DELIVERED and inbox.delivered_at is not None


def test_it_writes_and_sends_once_when_the_task_runs_twice(world_a: World, hr: User,
                                                           django_capture_on_commit_callbacks: Any) -> None:
    with_email(hr, "hr@example.com")
    job = failed_job(world_a.org)
    from django.contrib.contenttypes.models import ContentType

    kwargs = {"organization_id": world_a.org.pk, "kind": events.JOB_FAILED,
              "subject_type_id": ContentType.objects.get_for_model(Job).pk, "subject_id": job.pk}
    with django_capture_on_commit_callbacks(execute=True):
        first = notify_task.delay(**kwargs).get()
    with django_capture_on_commit_callbacks(execute=True):
        second = notify_task.delay(**kwargs).get()
    with scope(organization=world_a.org):
        assert Notification.objects.count() == 1
        assert Delivery.objects.count() == 2  # inbox and email
    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1


def test_it_sends_the_email_in_plain_text_and_html(world_a: World, hr: User,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    with_email(hr, "hr@example.com")
    job = failed_job(world_a.org)
    with scope(organization=world_a.org), django_capture_on_commit_callbacks(execute=True):
        notify(kind=events.JOB_FAILED, subject=job, acting_user=None)
    message = mail.outbox[0]
    assert message.to == ["hr@example.com"]
    assert "磁盘已满" in message.body
    html, kind = message.alternatives[0]  # type: ignore[attr-defined]  # an EmailMultiAlternatives
    assert kind == "text/html" and "磁盘已满" in str(html)
    with scope(organization=world_a.org):
        assert Delivery.objects.get(channel=Channel.EMAIL).state == Delivery.State.DELIVERED


def test_it_records_a_member_without_an_email_address_as_not_reachable(world_a: World, hr: User) -> None:
    with scope(organization=world_a.org):
        notify(kind=events.JOB_FAILED, subject=failed_job(world_a.org), acting_user=None)
        assert Delivery.objects.get(channel=Channel.EMAIL).state == Delivery.State.SKIPPED


def test_it_follows_hrs_default_when_the_member_did_not_choose(world_a: World, hr: User) -> None:
    with_email(hr, "hr@example.com")
    with scope(organization=world_a.org):
        actions.set_choices(organization=world_a.org, membership=None, acting_user=hr,
                            wanted={(events.JOB_FAILED, Channel.EMAIL): False})
        notify(kind=events.JOB_FAILED, subject=failed_job(world_a.org), acting_user=None)
        assert list(Delivery.objects.values_list("channel", flat=True)) == [Channel.INBOX]


def test_it_follows_the_members_own_choice_over_hrs_default(world_a: World, hr: User) -> None:
    with_email(hr, "hr@example.com")
    with scope(organization=world_a.org):
        actions.set_choices(organization=world_a.org, membership=None, acting_user=hr,
                            wanted={(events.JOB_FAILED, Channel.EMAIL): False})
        actions.set_choices(organization=world_a.org, membership=membership_of(hr, world_a.org), acting_user=hr,
                            wanted={(events.JOB_FAILED, Channel.EMAIL): True})
        notify(kind=events.JOB_FAILED, subject=failed_job(world_a.org), acting_user=None)
        assert sorted(Delivery.objects.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.INBOX]


def test_it_records_a_changed_choice_in_the_audit_trail_and_skips_an_unchanged_one(world_a: World, hr: User) -> None:
    wanted: dict[tuple[str, str], bool] = {(events.JOB_FAILED, Channel.EMAIL): False}
    with scope(organization=world_a.org):
        first = actions.set_choices(organization=world_a.org, membership=None, acting_user=hr, wanted=wanted)
        again = actions.set_choices(organization=world_a.org, membership=None, acting_user=hr, wanted=wanted)
        from organizations.notifications.models import ChannelChoice

        history = list(ChannelChoice.history.values_list("history_user_id", flat=True))
    assert (first, again) == (1, 0)
    assert history == [hr.pk]


# --- the foundation's events ----------------------------------------------------------------------------


def test_the_sweep_tells_hr_of_a_failed_job(world_a: World, hr: User, employee: User) -> None:
    failed_job(world_a.org)
    with scope(organization=world_a.org):
        sweep(world_a.org, timezone.now())
        sweep(world_a.org, timezone.now())
        told = list(Notification.objects.values_list("recipient_id", "kind"))
    assert told == [(membership_of(hr, world_a.org).pk, events.JOB_FAILED)]


def test_the_sweep_tells_hr_of_a_job_gone_silent(world_a: World, hr: User, settings: Any) -> None:
    with scope(organization=world_a.org):
        job = Job.objects.create(organization=world_a.org, kind=Job.Kind.PAY_EXPORT,
                                 subject=org_services_dept(world_a.org), state=Job.State.RUNNING)
        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1),
                                             created_at=timezone.now() - dt.timedelta(hours=1))
        sweep(world_a.org, timezone.now())
        assert list(Notification.objects.values_list("kind", flat=True)) == [events.JOB_DEAD]


# --- reminders on the working-day calendar ------------------------------------------------------------


def test_a_reminder_due_on_a_holiday_goes_out_the_working_day_before(world_a: World) -> None:
    with scope(organization=world_a.org):
        org_services.seed_calendar_year(organization=world_a.org, year=2025, acting_user=None)
        # Due Thu 9 Oct 2025: the day before is 8 Oct, still the National Day holiday (1–8 Oct), so
        # the reminder goes out on Tue 30 Sep, the last working day before it.
        assert events.reminder_day(world_a.org, dt.date(2025, 10, 9)) == dt.date(2025, 9, 30)


def test_a_reminder_goes_out_the_day_before_when_that_day_is_worked(world_a: World) -> None:
    with scope(organization=world_a.org):
        org_services.seed_calendar_year(organization=world_a.org, year=2025, acting_user=None)
        assert events.reminder_day(world_a.org, dt.date(2025, 6, 12)) == dt.date(2025, 6, 11)


# --- the appraisal's events ------------------------------------------------------------------------------


@pytest.fixture
def published(world_a: World, django_capture_on_commit_callbacks: Any) -> tuple[Period, dict[int, Membership]]:
    people = add_people(world_a.org, world_a.production, 3)
    signed_in = members(world_a.org, people)
    period = scored_period(world_a.org, dict(zip(people, ["90", "80", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org), django_capture_on_commit_callbacks(execute=True):
        window.publish(period=Period.objects.get(pk=period.pk), acting_user=None, now=at(2025, 6, 10, 10, 0))
    with scope(organization=world_a.org):
        return Period.objects.get(pk=period.pk), signed_in


def test_it_tells_each_employee_their_grade_score_and_the_windows_end(published: Any) -> None:
    period, signed_in = published
    with scope(organization=period.organization):
        told = {n.recipient_id: n for n in Notification.objects.filter(kind=notices.RESULTS_PUBLISHED)}
        result = Result.objects.get(period=period, person_id=next(iter(signed_in)))
    assert set(told) == {m.pk for m in signed_in.values()}
    notice = told[signed_in[result.person_id].pk]
    assert "2025年6月14日 00:00" in notice.body
    assert str(result.final_score) in notice.body and (result.grade_label or result.grade) in notice.body
    assert notice.link.endswith(f"/results/mine/#result-{result.pk}")


def test_it_records_each_publication_notice_delivered_by_email(published: Any) -> None:
    period, signed_in = published
    with scope(organization=period.organization):
        emails = Delivery.objects.filter(notification__kind=notices.RESULTS_PUBLISHED, channel=Channel.EMAIL)
        assert emails.count() == len(signed_in)
        assert all(d.state == Delivery.State.DELIVERED and d.delivered_at for d in emails)
    assert len(mail.outbox) == len(signed_in)


def test_it_lists_the_people_whose_publication_notice_did_not_reach_them(published: Any) -> None:
    period, signed_in = published
    person_id, member = next(iter(signed_in.items()))
    with scope(organization=period.organization):
        # One notice bounced; the others were delivered by email. The world's other people (exempt,
        # with a result) cannot sign in: nobody told them.
        Delivery.objects.filter(notification__recipient=member, channel=Channel.EMAIL).update(
            state=Delivery.State.FAILED, delivered_at=None)
        without_sign_in = set(Result.objects.filter(period=period).exclude(person_id__in=signed_in)
                              .values_list("person_id", flat=True))
        assert {p.pk for p in notices.untold(period)} == without_sign_in | {person_id}
        # Reading it in the inbox counts as being told.
        Notification.objects.filter(recipient=member).update(read_at=timezone.now())
        assert {p.pk for p in notices.untold(period)} == without_sign_in


def test_it_tells_the_supervisor_and_the_employee_when_an_appeal_is_filed(
        published: Any, head: User, django_capture_on_commit_callbacks: Any) -> None:
    period, signed_in = published
    person_id, member = next(iter(signed_in.items()))
    with scope(organization=period.organization), django_capture_on_commit_callbacks(execute=True):
        result = Result.objects.get(period=period, person_id=person_id)
        appeals.file_appeal(result=result, acting_user=None, filed_by=Person.objects.get(pk=person_id),
                            reason="加班未计入", now=at(2025, 6, 11, 9, 0))
    with scope(organization=period.organization):
        told = set(Notification.objects.filter(kind=notices.APPEAL_FILED).values_list("recipient_id", flat=True))
    assert told == {member.pk, membership_of(head, period.organization).pk}


def test_it_reminds_of_the_window_closing_on_the_last_working_day_before_it(published: Any) -> None:
    period, signed_in = published
    org = period.organization
    with scope(organization=org):
        org_services.seed_calendar_year(organization=org, year=2025, acting_user=None)
        # The window ends 14 Jun 00:00, so its last day is Fri 13 Jun: the reminder goes out Thu 12 Jun.
        sweep(org, at(2025, 6, 11, 10, 0))
        before = Notification.objects.filter(kind=notices.WINDOW_CLOSING).count()
        sweep(org, at(2025, 6, 12, 10, 0))
        sweep(org, at(2025, 6, 12, 11, 0))
        on_the_day = Notification.objects.filter(kind=notices.WINDOW_CLOSING).count()
    assert (before, on_the_day) == (0, len(signed_in))


def test_it_tells_the_raters_when_the_periods_sheets_are_ready(world_a: World, head: User, employee: User) -> None:
    from appraisal import services
    from indicators.services import build_template, create_indicator

    with scope(organization=world_a.org):
        create_indicator(organization=world_a.org, acting_user=None, code="WORK", name="工作表现", method="rating",
                         config={"unit": "points", "scale": [{"label": "优秀", "points": "100"},
                                                             {"label": "差", "points": "0"}]})
        template = build_template(organization=world_a.org, acting_user=None, spec={
            "code": "RATED", "name": "员工考核", "subject_kind": "person",
            "parts": [{"code": "w", "name": "工作表现", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "self", "weight": "0.2"}, {"role": "supervisor", "weight": "0.8"}]})
        period = services.create_period(organization=world_a.org, acting_user=None, kind="monthly", year=2025,
                                        number=9, templates=[template])
        services.transition(period=period, to="open", acting_user=None)
        sweep(world_a.org, timezone.now())
        before = Notification.objects.filter(kind=notices.PERIOD_OPENED).count()
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        sweep(world_a.org, timezone.now())
        told = set(Notification.objects.filter(kind=notices.PERIOD_OPENED).values_list("recipient_id", flat=True))
    assert before == 0
    # The employee assesses themself; the head of production rates the people of their department.
    assert told == {membership_of(employee, world_a.org).pk, membership_of(head, world_a.org).pk}


def test_it_tells_finance_when_a_pay_run_waits_for_confirmation(world_a: World, finance: User, hr: User,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    from payroll import notices as pay_notices
    from payroll.models import PayRun
    from tests.test_pay_runs import closed_period, compute, pay_policy

    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85"], quotas=[])
    with django_capture_on_commit_callbacks(execute=True):
        run = compute(period)
    with scope(organization=world_a.org):
        told = list(Notification.objects.filter(kind=pay_notices.PAY_RUN_WAITING)
                    .values_list("recipient_id", "subject_id", "link"))
    assert told == [(membership_of(finance, world_a.org).pk, run.pk, f"/pay/runs/{run.pk}/")]
    assert isinstance(run, PayRun)


def _rated_period(world: World, number: int, **due: dt.datetime) -> Period:
    from appraisal import services
    from indicators.services import build_template, create_indicator

    with scope(organization=world.org):
        create_indicator(organization=world.org, acting_user=None, code=f"W{number}", name="工作表现", method="rating",
                         config={"unit": "points", "scale": [{"label": "优秀", "points": "100"},
                                                             {"label": "差", "points": "0"}]})
        template = build_template(organization=world.org, acting_user=None, spec={
            "code": f"R{number}", "name": "员工考核", "subject_kind": "person",
            "parts": [{"code": "w", "name": "工作表现", "weight": "1",
                       "lines": [{"indicator": f"W{number}", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "self", "weight": "0.2"}, {"role": "supervisor", "weight": "0.8"}]})
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                        number=number, templates=[template])
        Period.objects.filter(pk=period.pk).update(**due)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        return Period.objects.get(pk=period.pk)


def test_it_reminds_the_raters_of_the_scoring_deadline_and_then_that_it_was_missed(
        world_a: World, head: User, employee: User) -> None:
    period = _rated_period(world_a, 9, scoring_due=at(2025, 10, 9, 18, 0))
    org = world_a.org
    with scope(organization=org):
        org_services.seed_calendar_year(organization=org, year=2025, acting_user=None)
        sweep(org, at(2025, 9, 29, 10, 0))  # a working day, but not yet the reminder's
        early = Notification.objects.filter(kind=notices.DEADLINE_APPROACHING).count()
        sweep(org, at(2025, 9, 30, 10, 0))  # the last working day before 9 Oct (1–8 Oct are holidays)
        approaching = set(Notification.objects.filter(kind=notices.DEADLINE_APPROACHING)
                          .values_list("recipient_id", flat=True))
        sweep(org, at(2025, 10, 10, 9, 0))
        missed = Notification.objects.filter(kind=notices.DEADLINE_MISSED).values_list("occasion", flat=True)
        assert list(missed) == ["scoring:2025-10-09"]
    assert early == 0
    # The supervisor's rating is the head's (the head of production); self-raters are not reminded of scoring.
    assert approaching == {membership_of(head, org).pk}
    assert period.state == Period.State.OPEN


def test_it_tells_hr_and_the_employee_when_an_appeal_is_forwarded_and_the_employee_when_decided(
        published: Any, head: User, hr: User, django_capture_on_commit_callbacks: Any) -> None:
    period, signed_in = published
    person_id, member = next(iter(signed_in.items()))
    org = period.organization
    with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
        result = Result.objects.get(period=period, person_id=person_id)
        appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=Person.objects.get(pk=person_id),
                                     reason="加班未计入", now=at(2025, 6, 11, 9, 0))
        appeal = appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="情况属实")
    with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=False, reason="依据不足")
    with scope(organization=org):
        forwarded = set(Notification.objects.filter(kind=notices.APPEAL_FORWARDED)
                        .values_list("recipient_id", flat=True))
        decided = set(Notification.objects.filter(kind=notices.APPEAL_DECIDED).values_list("recipient_id", flat=True))
    assert forwarded == {membership_of(hr, org).pk, member.pk}
    assert decided == {member.pk, membership_of(head, org).pk}
