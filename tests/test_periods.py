import datetime as dt

import pytest

from appraisal.periods import months_of, period_bounds, period_code


def test_it_runs_a_26th_to_25th_month():
    assert period_bounds("monthly", 2025, 10, start_day=26) == (dt.date(2025, 9, 26), dt.date(2025, 10, 25))


def test_it_starts_january_in_the_previous_december_on_the_26th():
    assert period_bounds("monthly", 2025, 1, start_day=26) == (dt.date(2024, 12, 26), dt.date(2025, 1, 25))


def test_it_ends_a_calendar_february_on_the_leap_day():
    assert period_bounds("monthly", 2024, 2) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))


def test_it_spans_three_months_for_a_26th_quarter():
    assert period_bounds("quarterly", 2025, 4, start_day=26) == (dt.date(2025, 9, 26), dt.date(2025, 12, 25))


def test_it_covers_the_second_half_year():
    assert period_bounds("half_yearly", 2025, 2) == (dt.date(2025, 7, 1), dt.date(2025, 12, 31))


def test_it_covers_a_26th_year():
    assert period_bounds("annual", 2025, 1, start_day=26) == (dt.date(2024, 12, 26), dt.date(2025, 12, 25))


@pytest.mark.parametrize("kind,number", [("monthly", 13), ("quarterly", 5), ("half_yearly", 0), ("annual", 2)])
def test_it_refuses_a_number_outside_the_year(kind, number):
    with pytest.raises(ValueError):
        period_bounds(kind, 2025, number)


def test_it_refuses_a_start_day_not_every_month_has():
    with pytest.raises(ValueError, match="28"):
        period_bounds("monthly", 2025, 3, start_day=30)


def test_it_names_periods_by_kind():
    assert [period_code("monthly", 2025, 3), period_code("quarterly", 2025, 4), period_code("annual", 2025, 1)] == [
        "2025-03", "2025-Q4", "2025"]


def test_it_treats_a_26th_month_as_the_month_it_ends_in():
    assert months_of(dt.date(2025, 9, 26), dt.date(2025, 10, 25)) == {10}


def test_it_lists_every_month_of_a_quarter():
    assert months_of(dt.date(2025, 10, 1), dt.date(2025, 12, 31)) == {10, 11, 12}
