"""Publication, the review window (calendar or working days, Asia/Shanghai), appeals at its edge,
finalisation when it ends (silence = consent) and the periodic tick."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django_scopes import scope

from appraisal import appeals, services
from appraisal.models import Appeal, Period, Result
from appraisal.services import closing, window
from appraisal.tasks import tick
from organizations import services as org_services
from organizations.calendar import CalendarYearMissing
from organizations.models import Organization
from tests.closing import add_people, close, make_policy, scored_period

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def closed(world_a):
    people = add_people(world_a.org, world_a.production, 3)
    period = scored_period(world_a.org, dict(zip(people, ["90", "80", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        period = Period.objects.get(pk=period.pk)
    return period, people


def use_working_days(org: Organization, days: int = 3) -> None:
    Organization.objects.filter(pk=org.pk).update(review_window_length=days, review_window_unit="working")
    with scope(organization=org):
        org_services.seed_calendar_year(organization=org, year=2025, acting_user=None)


def test_it_ends_a_three_calendar_day_window_at_midnight_beijing_time(closed):
    period, _people = closed
    with scope(organization=period.organization):
        published = window.publish(period=period, acting_user=None, now=at(2025, 6, 10, 10, 0))
    assert published.window_ends_at == at(2025, 6, 14, 0, 0)


def test_it_counts_the_window_from_the_beijing_date_not_the_utc_date(closed):
    period, _people = closed
    # 2025-06-10 17:30 UTC is already 11 June 01:30 in Beijing.
    with scope(organization=period.organization):
        published = window.publish(period=period, acting_user=None,
                                    now=dt.datetime(2025, 6, 10, 17, 30, tzinfo=dt.UTC))
    assert published.window_ends_at == at(2025, 6, 15, 0, 0)


def test_it_counts_working_days_across_national_day_and_the_make_up_saturday(closed):
    period, _people = closed
    use_working_days(period.organization)
    # Published Tue 30 Sep 2025: 1–8 Oct are holidays, Thu 9 and Fri 10 are working days, and Sat
    # 11 Oct is a make-up working day (调休): the third working day, so the window ends 12 Oct 00:00.
    with scope(organization=period.organization):
        published = window.publish(period=period, acting_user=None, now=at(2025, 9, 30, 15, 0))
    assert published.window_ends_at == at(2025, 10, 12, 0, 0)


def test_it_refuses_to_publish_into_a_year_without_calendar_data(closed):
    period, _people = closed
    use_working_days(period.organization)
    with scope(organization=period.organization), pytest.raises(CalendarYearMissing, match="2026"):
        window.publish(period=period, acting_user=None, now=at(2025, 12, 30, 9, 0))
    with scope(organization=period.organization):
        assert Period.objects.get(pk=period.pk).state == Period.State.CLOSED


def test_it_refuses_to_publish_a_period_still_calibrating(world_a):
    people = add_people(world_a.org, world_a.production, 1)
    period = scored_period(world_a.org, {people[0]: "80"}, policy=make_policy(world_a.org))
    with scope(organization=world_a.org), pytest.raises(services.IllegalTransition,
                                                        match=str(Period.State.CALIBRATION.label)):
        window.publish(period=period, acting_user=None)


def published(closed: tuple[Period, list]) -> tuple[Period, list, Result]:
    period, people = closed
    with scope(organization=period.organization):
        window.publish(period=period, acting_user=None, now=at(2025, 6, 10, 10, 0))
        result = Result.objects.get(period=period, person=people[2])
        return Period.objects.get(pk=period.pk), people, result


def test_it_accepts_an_appeal_one_minute_before_the_window_ends(closed):
    period, people, result = published(closed)
    with scope(organization=period.organization):
        appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=people[2], reason="加班未计入",
                                     now=at(2025, 6, 13, 23, 59))
    assert appeal.state == Appeal.State.FILED


def test_it_refuses_an_appeal_one_minute_after_the_window_naming_its_end(closed):
    period, people, result = published(closed)
    with scope(organization=period.organization), pytest.raises(appeals.AppealRefused, match="2025年6月14日 00:00"):
        appeals.file_appeal(result=result, acting_user=None, filed_by=people[2], reason="加班未计入",
                            now=at(2025, 6, 14, 0, 1))
    with scope(organization=period.organization):
        assert not Appeal.objects.exists()


def test_it_says_the_window_ended_in_english_too(closed):
    period, people, result = published(closed)
    with scope(organization=period.organization), translation.override("en"):
        with pytest.raises(appeals.AppealRefused, match="ended at June 14, 2025 00:00"):
            appeals.file_appeal(result=result, acting_user=None, filed_by=people[2], reason="x",
                                now=at(2025, 6, 14, 0, 1))


def test_it_refuses_to_finalise_before_the_window_ends(closed):
    period, _people, _result = published(closed)
    with scope(organization=period.organization), pytest.raises(closing.ClosureRefused, match="2025年6月14日 00:00"):
        window.finalise(period=period, acting_user=None, now=at(2025, 6, 13, 23, 59))


def test_it_confirms_unappealed_results_by_silence_when_the_window_ends(closed):
    period, _people, _result = published(closed)
    with scope(organization=period.organization):
        window.finalise(period=period, acting_user=None, now=at(2025, 6, 14, 0, 5))
        confirmed = set(Result.objects.filter(period=period).values_list("confirmed_at", flat=True))
        assert Period.objects.get(pk=period.pk).state == Period.State.FINAL
    assert confirmed == {at(2025, 6, 14, 0, 0)}


def test_it_waits_for_open_appeals_before_finalising(closed):
    period, people, result = published(closed)
    with scope(organization=period.organization):
        appeals.file_appeal(result=result, acting_user=None, filed_by=people[2], reason="x",
                            now=at(2025, 6, 11, 9, 0))
        with pytest.raises(closing.ClosureRefused):
            window.finalise(period=period, acting_user=None, now=at(2025, 6, 15, 0, 0))
        assert Period.objects.get(pk=period.pk).state == Period.State.PUBLISHED


def test_it_finalises_ended_windows_from_the_periodic_tick(closed, monkeypatch):
    period, _people, _result = published(closed)
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(2025, 6, 14, 0, 5))
    assert tick.apply().get() == 1
    with scope(organization=period.organization):
        assert Period.objects.get(pk=period.pk).state == Period.State.FINAL
    assert tick.apply().get() == 0  # nothing left to do: a second tick changes nothing


def test_it_publishes_a_closed_period_when_its_publication_date_comes(closed, monkeypatch):
    period, _people = closed
    with scope(organization=period.organization):
        Period.objects.filter(pk=period.pk).update(publish_due=at(2025, 6, 10, 9, 0))
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(2025, 6, 10, 9, 5))
    tick.apply()
    with scope(organization=period.organization):
        found = Period.objects.get(pk=period.pk)
    assert (found.state, found.window_ends_at) == (Period.State.PUBLISHED, at(2025, 6, 14, 0, 0))


def test_it_lets_the_employee_acknowledge_their_result_once(closed):
    period, people, result = published(closed)
    with scope(organization=period.organization):
        first = appeals.acknowledge(result=result, acting_user=None, person=people[2], now=at(2025, 6, 11, 8, 0))
        again = appeals.acknowledge(result=result, acting_user=None, person=people[2], now=at(2025, 6, 12, 8, 0))
    assert first.acknowledged_at == again.acknowledged_at == at(2025, 6, 11, 8, 0)


def test_it_refuses_an_acknowledgement_by_someone_else(closed):
    period, people, result = published(closed)
    with scope(organization=period.organization), pytest.raises(appeals.AppealRefused):
        appeals.acknowledge(result=result, acting_user=None, person=people[0])


def test_it_keeps_the_calibrated_score_decimal_through_publication(closed, hr):
    period, people = closed
    with scope(organization=period.organization):
        result = Result.objects.get(period=period, person=people[1])
        closing.calibrate(result=result, score=Decimal("83.50"), reason="复核", acting_user=hr)
        window.publish(period=period, acting_user=hr)
        assert Result.objects.get(pk=result.pk).final_score == Decimal("83.50")
