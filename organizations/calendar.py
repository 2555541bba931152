"""The working calendar: which days are worked, from the HR-editable CalendarDay table.

Weekends are days off and weekdays are worked unless a CalendarDay says otherwise. A year that
has not been seeded is refused: guessing would silently move an appeal deadline.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _

from core.explain import listed
from organizations.models import CalendarDay, CalendarYear, Organization


class CalendarYearMissing(Exception):
    """A step needs working days of a year nobody has entered; ``years`` are the years to enter,
    so a page can link HR straight to them on the calendar page."""

    def __init__(self, message: str, *, years: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.years = years


def add_working_days(organization: Organization, start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (start itself not counted). Set-based: two queries."""
    if days < 0:
        raise ValueError("days must not be negative")
    # Long enough for any real window: three weeks of holidays cannot hide more than this.
    horizon = start + timedelta(days=days * 3 + 30)
    years = set(range(start.year, horizon.year + 1))
    known = set(CalendarYear.objects.filter(organization=organization, year__in=years).values_list("year", flat=True))
    missing = sorted(years - known)
    if missing:
        raise CalendarYearMissing(
            _("The working calendar has no data for %(years)s; HR must seed or enter it first.")
            % {"years": listed(str(y) for y in missing)},
            years=tuple(missing),
        )
    overrides = dict(
        CalendarDay.objects.filter(organization=organization, date__gt=start, date__lte=horizon).values_list(
            "date", "kind"
        )
    )
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if current > horizon:  # only a calendar that is nearly all holidays gets here
            raise CalendarYearMissing(
                _("The working calendar has too few working days after %(start)s.") % {"start": start},
                years=(start.year,),
            )
        if is_working_day(current, overrides.get(current)):
            counted += 1
    return current


def is_working_day(day: date, override: str | None) -> bool:
    if override == CalendarDay.Kind.HOLIDAY:
        return False
    if override == CalendarDay.Kind.WORKDAY:
        return True
    return day.weekday() < 5
