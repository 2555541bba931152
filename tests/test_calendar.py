import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from organizations import services
from organizations.calendar import CalendarYearMissing, add_working_days
from organizations.models import CalendarDay


@pytest.fixture
def seeded(org_a):
    with scope(organization=org_a):
        services.seed_calendar_year(organization=org_a, year=2025, acting_user=None)
    return org_a


def test_it_seeds_national_day_as_holidays(seeded):
    with scope(organization=seeded):
        assert CalendarDay.objects.get(date=dt.date(2025, 10, 3)).kind == CalendarDay.Kind.HOLIDAY


def test_it_seeds_a_make_up_saturday_as_a_working_day(seeded):
    with scope(organization=seeded):
        assert CalendarDay.objects.get(date=dt.date(2025, 10, 11)).kind == CalendarDay.Kind.WORKDAY


def test_it_counts_working_days_across_national_day_and_its_make_up_saturday(seeded):
    with scope(organization=seeded):
        # Tue 30 Sep + 3 working days: Oct 1–8 are off, then Thu 9, Fri 10 and the make-up Sat 11.
        assert add_working_days(seeded, dt.date(2025, 9, 30), 3) == dt.date(2025, 10, 11)


def test_it_counts_a_make_up_sunday(seeded):
    with scope(organization=seeded):
        # Fri 26 Sep + 1 working day: Sat 27 is off, Sun 28 is a make-up working day.
        assert add_working_days(seeded, dt.date(2025, 9, 26), 1) == dt.date(2025, 9, 28)


def test_it_refuses_a_year_with_no_calendar_data(seeded):
    with scope(organization=seeded), pytest.raises(CalendarYearMissing, match="2026"):
        add_working_days(seeded, dt.date(2025, 12, 30), 5)


def test_it_refuses_to_seed_a_year_chinesecalendar_does_not_know(org_a):
    with scope(organization=org_a), pytest.raises(ValidationError, match="2031"):
        services.seed_calendar_year(organization=org_a, year=2031, acting_user=None)


def test_it_keeps_hr_edits_when_seeded_again(seeded):
    with scope(organization=seeded):
        # HR declares the plant works on 3 October.
        CalendarDay.objects.filter(date=dt.date(2025, 10, 3)).update(kind=CalendarDay.Kind.WORKDAY)
        result = services.seed_calendar_year(organization=seeded, year=2025, acting_user=None)
        assert result["added"] == 0
        assert CalendarDay.objects.get(date=dt.date(2025, 10, 3)).kind == CalendarDay.Kind.WORKDAY


def test_it_keeps_each_tenants_calendar_apart(seeded, org_b):
    with scope(organization=org_b):
        assert not CalendarDay.objects.exists()
