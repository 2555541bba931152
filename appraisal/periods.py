"""Period arithmetic: where a month, quarter, half-year or year starts and ends.

Organisations that close their books on the 25th run periods from the 26th of the previous month
to the 25th (S0-2); ``start_day`` says so. Day 1 gives calendar periods.

A year may start in any month (``start_month``): 9 for a school year (S1-7), 4 or 7 for a fiscal
year. Periods are then counted from that month: with start_month 9, annual period 1 of 2026 is
the school year 2026-09-01 → 2027-08-31 (a year is named after the calendar year it starts in),
quarter 1 of 2026 is September to November 2026, quarter 2 December 2026 to February 2027, and
monthly period 5 of 2026 is January 2027. Both combine: start_month 9 and start_day 26 run the
year 2026-08-26 → 2027-08-25.
"""

from __future__ import annotations

import calendar
import datetime as dt

MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "annual": 12}
PERIODS_PER_YEAR = {kind: 12 // months for kind, months in MONTHS_PER_PERIOD.items()}


def _month(year: int, month: int, offset: int) -> tuple[int, int]:
    """(year, month) ``offset`` months after ``month`` of ``year`` (before it when negative)."""
    index = year * 12 + (month - 1) + offset
    return index // 12, index % 12 + 1


def period_bounds(kind: str, year: int, number: int, start_day: int = 1,
                  start_month: int = 1) -> tuple[dt.date, dt.date]:
    """First and last day of period ``number`` (1-based) of ``year``.

    With start_day 26, monthly period 10 of 2025 runs 2025-09-26 → 2025-10-25 and monthly period 1
    of 2025 runs 2024-12-26 → 2025-01-25: a period is named after the month it ends in. With
    start_month 9, annual period 1 of 2026 runs 2026-09-01 → 2027-08-31 and quarterly period 2 of
    2026 runs 2026-12-01 → 2027-02-28: periods count from the month the year starts in.
    """
    if kind not in MONTHS_PER_PERIOD:
        raise ValueError(f"unknown period kind {kind!r}")
    if not 1 <= number <= PERIODS_PER_YEAR[kind]:
        raise ValueError(f"a {kind} period number is 1 to {PERIODS_PER_YEAR[kind]}, not {number}")
    if not 1 <= start_day <= 28:
        # Day 29–31 does not exist in every month; 28 is the latest start every month has.
        raise ValueError("the start day must be between 1 and 28")
    if not 1 <= start_month <= 12:
        raise ValueError("the start month must be between 1 and 12")
    months = MONTHS_PER_PERIOD[kind]
    first_year, first_month = _month(year, start_month, (number - 1) * months)
    last_year, last_month = _month(first_year, first_month, months - 1)
    if start_day == 1:
        last_day = calendar.monthrange(last_year, last_month)[1]
        return dt.date(first_year, first_month, 1), dt.date(last_year, last_month, last_day)
    start_year, start_in = _month(first_year, first_month, -1)
    return dt.date(start_year, start_in, start_day), dt.date(last_year, last_month, start_day - 1)


def period_code(kind: str, year: int, number: int, start_month: int = 1) -> str:
    """2025-03, 2025-Q4, 2025-H2, 2025 for years that start in January. A year starting in another
    month carries it: FY2026-09 (the school year from September 2026), FY2026-09-Q2, FY2026-09-H1;
    a month is named by the calendar month it ends in either way (2027-01), so the same month
    never gets two codes."""
    if kind == "monthly":
        calendar_year, month = _month(year, start_month, number - 1)
        return f"{calendar_year}-{month:02d}"
    prefix = f"{year}" if start_month == 1 else f"FY{year}-{start_month:02d}"
    return {
        "quarterly": f"{prefix}-Q{number}",
        "half_yearly": f"{prefix}-H{number}",
        "annual": prefix,
    }[kind]


def months_of(start: dt.date, end: dt.date) -> set[int]:
    """Calendar months a period covers, for month-limited (seasonal) benchmarks. A month's slot
    starts on the period's start day and is named after the month it ends in, as periods are: a
    26th→25th October period is an October period, and a 26th→25th first quarter (26 December →
    25 March) covers January to March, not December. Works for a year starting in any month."""
    if (end - start).days < 40:
        return {end.month}
    months: set[int] = set()
    slot_start = start
    while slot_start <= end:
        year, month = _month(slot_start.year, slot_start.month, 1)
        next_start = dt.date(year, month, min(slot_start.day, calendar.monthrange(year, month)[1]))
        months.add(min(next_start - dt.timedelta(days=1), end).month)
        slot_start = next_start
    return months
