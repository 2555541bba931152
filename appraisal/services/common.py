"""What the appraisal service modules share: the refusal of a step the period's state does not
allow, the guard every entry of figures passes, and the sheet lock every write of a sheet's data
takes first.

It sits below the other service modules (it imports none of them), so each can use it without
importing another job's module.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from appraisal.models import Period, Sheet

ZERO = Decimal("0")


class IllegalTransition(Exception):
    pass


def require_entries(period: Period) -> None:
    """Refuses (IllegalTransition) when the period no longer accepts figures."""
    if not period.accepts_entries():
        raise IllegalTransition(
            _("Period %(period)s is %(state)s: its figures can no longer be entered.")
            % {"period": period.code, "state": period.get_state_display()}
        )


def lock_sheet(sheet_id: int) -> None:
    """Locks a sheet's row before its lines, records or ratings are written: the triggers that mark
    the sheet stale update that row, and taking it first keeps one lock order everywhere."""
    list(Sheet.objects.select_for_update().filter(pk=sheet_id).values_list("pk", flat=True))
