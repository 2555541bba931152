"""Period arithmetic: where a month, quarter, half-year or year starts and ends.

Organisations that close their books on the 25th run periods from the 26th of the previous month
to the 25th (S0-2); ``start_day`` says so. Day 1 gives calendar periods.
"""

from __future__ import annotations

import calendar
import datetime as dt

MONTHS_PER_PERIOD = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "annual": 12}
PERIODS_PER_YEAR = {kind: 12 // months for kind, months in MONTHS_PER_PERIOD.items()}


def period_bounds(kind: str, year: int, number: int, start_day: int = 1) -> tuple[dt.date, dt.date]:
    """First and last day of period ``number`` (1-based) of ``year``.

    With start_day 26, monthly period 10 of 2025 runs 2025-09-26 → 2025-10-25 and monthly period 1
    of 2025 runs 2024-12-26 → 2025-01-25: a period is named after the month it ends in.
    """
    if kind not in MONTHS_PER_PERIOD:
        raise ValueError(f"unknown period kind {kind!r}")
    if not 1 <= number <= PERIODS_PER_YEAR[kind]:
        raise ValueError(f"a {kind} period number is 1 to {PERIODS_PER_YEAR[kind]}, not {number}")
    if not 1 <= start_day <= 28:
        # Day 29–31 does not exist in every month; 28 is the latest start every month has.
        raise ValueError("the start day must be between 1 and 28")
    months = MONTHS_PER_PERIOD[kind]
    last_month = number * months
    first_month = last_month - months + 1
    if start_day == 1:
        return dt.date(year, first_month, 1), dt.date(year, last_month, calendar.monthrange(year, last_month)[1])
    start_year, start_month = (year, first_month - 1) if first_month > 1 else (year - 1, 12)
    return dt.date(start_year, start_month, start_day), dt.date(year, last_month, start_day - 1)


def period_code(kind: str, year: int, number: int) -> str:
    return {
        "monthly": f"{year}-{number:02d}",
        "quarterly": f"{year}-Q{number}",
        "half_yearly": f"{year}-H{number}",
        "annual": f"{year}",
    }[kind]


def months_of(start: dt.date, end: dt.date) -> set[int]:
    """Calendar months a period touches, for month-limited (seasonal) benchmarks: the month it
    ends in decides when it straddles two (a 26th→25th October period is an October period)."""
    if (end - start).days < 40:
        return {end.month}
    months, year, month = set(), start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.add(month)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
