"""A sheet's special status (S1-4): HR marks a subject exempt (免考), on long leave (长期请假) or as
having refused to be assessed (拒不参加), with a reason, or back to normal.

What each status means at close is the grading policy's ``status_grades`` (a set grade, "not
assessed"; refused → 0 points, graded): such a sheet is not ranked on its score, so it no longer
has to be complete for the period to close (appraisal.selectors.incomplete_sheets).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from appraisal.models import Sheet, SpecialStatus
from appraisal.services.common import IllegalTransition, lock_for_entry
from organizations.models import User

REASON_MAX = 200


class StatusRefused(ValueError):
    """The status or its reason is not acceptable; the message says why."""


def set_special_status(*, sheet: Sheet, status: str, reason: str, acting_user: User | None) -> Sheet:
    """Sets the sheet's special status with a reason, kept on the sheet and in its audit trail.
    Only while the period runs (its results are not written yet); nothing is written when neither
    the status nor the reason changes."""
    reason = reason.strip()
    if status not in SpecialStatus.values:
        raise StatusRefused(_("Unknown special status %(status)s.") % {"status": status})
    if not reason:
        raise StatusRefused(_("Give a reason for the special status: it is kept in the audit trail."))
    if len(reason) > REASON_MAX:
        raise StatusRefused(_("The reason is longer than %(max)s characters.") % {"max": REASON_MAX})
    with transaction.atomic():
        lock_for_entry(sheet.pk)
        current = Sheet.objects.select_related("period", "person", "team", "department").get(pk=sheet.pk)
        period = current.period
        if not period.accepts_entries():
            raise IllegalTransition(
                _("Period %(period)s is %(state)s: special statuses can no longer change (its results are "
                  "written at close).") % {"period": period.code, "state": period.get_state_display()}
            )
        if current.special_status == status and current.special_reason == reason:
            return current
        label = SpecialStatus(status).label
        current.special_status, current.special_reason = status, reason
        current._history_user = acting_user  # type: ignore[attr-defined]
        current._change_reason = f"{label}: {reason}"[:100]  # type: ignore[attr-defined]
        current.save(update_fields=["special_status", "special_reason"])
    sheet.special_status, sheet.special_reason = status, reason
    return current


__all__ = ["REASON_MAX", "StatusRefused", "set_special_status"]

