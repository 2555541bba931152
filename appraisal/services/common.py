"""What the appraisal service modules share: the refusal of a step the period's state does not
allow, the guard every entry of figures passes, the period share lock an entry takes first
(lock_for_entry) and the sheet lock every write of a sheet's data takes next.

It sits below the other service modules (it imports none of them), so each can use it without
importing another job's module.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from appraisal.models import ENTRY_STATES, Period, Sheet

ZERO = Decimal("0")


class IllegalTransition(Exception):
    pass


def require_entries(period: Period) -> None:
    """Refuses (IllegalTransition) when the period no longer accepts figures."""
    if period.closing_since is not None and period.state in ENTRY_STATES:
        raise IllegalTransition(
            _("Period %(period)s is being closed: its figures can no longer be entered.") % {"period": period.code})
    if not period.accepts_entries():
        raise IllegalTransition(
            _("Period %(period)s is %(state)s: its figures can no longer be entered.")
            % {"period": period.code, "state": period.get_state_display()}
        )


def lock_for_entry(sheet_id: int) -> Period:
    """Takes the period's row FOR SHARE, reads the period afresh and, while it takes figures, locks
    the sheet (lock_sheet); returns the period, for the caller's require_entries.

    Why: the close's final write locks the period row (FOR NO KEY UPDATE), which waits for every
    entry holding the share lock and makes every later one wait; after the close commits, the
    later entry reads a closed period and is refused. So a figure either lands before the results
    are read or is refused, never lost after them, at the price of one row lock per entry, not one
    per sheet at the close. Entries share the lock, so they never wait for each other here. The
    sheet is not locked when the period no longer takes figures: a refused entry then never holds a
    sheet that HR's decisions on a closed period (appeals) lock before the period."""
    period_id = Sheet.objects.filter(pk=sheet_id).values_list("period_id", flat=True).get()
    if connection.features.has_select_for_update:  # SQLite serialises whole transactions instead
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT 1 FROM "{Period._meta.db_table}" WHERE id = %s FOR SHARE', [period_id])
    period = Period.objects.get(pk=period_id)
    if period.accepts_entries():
        lock_sheet(sheet_id)
    return period


def lock_sheet(sheet_id: int) -> None:
    """Locks a sheet's row before its lines, records or ratings are written: the triggers that mark
    the sheet stale update that row, and taking it first keeps one lock order everywhere."""
    list(Sheet.objects.select_for_update().filter(pk=sheet_id).values_list("pk", flat=True))
