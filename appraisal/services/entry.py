"""Entering data on a sheet: a line's figures, a rater's rating, a deduction record. Each write
takes the sheet's row lock first (:func:`appraisal.services.common.lock_sheet`), then rescores the
line and its sheet in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.models import DeductionRecord, Rater, Rating, SheetLine
from appraisal.services.common import IllegalTransition, lock_sheet, require_entries
from appraisal.services.rescoring import rescore_line, rescore_sheets
from appraisal.services.scoring import line_input, score_line
from indicators import scoring
from indicators.models import LineSource
from organizations.models import Department, Person, User

LINE_FIELDS = ("target", "actual", "inputs", "rating", "accepted", "acceptance_round")


class LineConflict(Exception):
    """Someone else saved the line since the caller read it."""

    def __init__(self, line: SheetLine, who: str, when: dt.datetime | None) -> None:
        self.line, self.who, self.when = line, who, when
        moment = timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") if when else "?"
        super().__init__(
            _("%(who)s changed this line at %(when)s while you were editing it. Reload to see their values, then "
              "enter yours again.") % {"who": who or _("someone"), "when": moment}
        )


@transaction.atomic
def update_line(*, line_id: int, expected_version: int, acting_user: User | None, reason: str = "",
                **changes: Any) -> SheetLine:
    """Saves data on a line and rescores it and its sheet; refuses with LineConflict if the line
    changed since the caller read ``expected_version``."""
    unknown = set(changes) - set(LINE_FIELDS)
    if unknown:
        raise ValueError(f"not line data: {sorted(unknown)}")
    sheet_id = SheetLine.objects.filter(pk=line_id).values_list("sheet_id", flat=True).first()
    if sheet_id is not None:
        lock_sheet(sheet_id)
    line = SheetLine.objects.select_for_update(of=("self",)).select_related("sheet__person", "sheet__period").get(
        pk=line_id
    )
    require_entries(line.sheet.period)
    if line.version != expected_version:
        latest = line.history.order_by("-history_date").first()
        who = str(latest.history_user) if latest and latest.history_user else ""
        raise LineConflict(line, who, latest.history_date if latest else None)
    if all(getattr(line, name) == value for name, value in changes.items()):
        return line
    for name, value in changes.items():
        setattr(line, name, value)
    score_line(line, ratings=None, occurrences=None)
    line.version += 1
    line._history_user = acting_user  # type: ignore[attr-defined]
    line._change_reason = reason or "data entered"  # type: ignore[attr-defined]
    line.save()
    rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user)
    return line


@transaction.atomic
def rate_line(*, line: SheetLine, rater: Rater, acting_user: User | None, rating: str = "",
              actual: Decimal | None = None, comment: str = "", expected_version: int | None = None) -> Rating:
    if rater.sheet_id != line.sheet_id:
        raise ValueError("the rater belongs to another sheet")
    require_entries(line.sheet.period)
    if rater.recused:
        raise IllegalTransition(_("You are recused from this sheet: %(reason)s.") % {"reason": rater.recusal_reason})
    if line.source != LineSource.RATERS:
        raise IllegalTransition(_("This line is scored from data, not by raters."))
    lock_sheet(line.sheet_id)
    current = Rating.objects.select_for_update().filter(line=line, rater=rater).first()
    if current is not None and expected_version is not None and current.version != expected_version:
        latest = current.history.order_by("-history_date").first()
        raise LineConflict(line, str(latest.history_user) if latest and latest.history_user else "",
                           latest.history_date if latest else None)
    record = current or Rating(organization_id=line.organization_id, line=line, rater=rater)
    if current is not None and (current.rating, current.actual, current.comment) == (rating, actual, comment):
        return current
    record.rating, record.actual, record.comment = rating, actual, comment
    result = scoring.score(line.method, line.config, line_input(line, rating=rating or None, actual=actual))
    record.score = result.points
    record.version = (current.version + 1) if current else 1
    record._history_user = acting_user  # type: ignore[attr-defined]
    record.save()
    rescore_line(line=line, acting_user=acting_user)
    rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user)
    return record


@transaction.atomic
def record_deduction(*, line: SheetLine, acting_user: User | None, item_code: str, count: int,
                     occurred_on: dt.date, evidence: str = "", recorded_by: Person | None = None,
                     recorder_department: Department | None = None) -> DeductionRecord:
    period = line.sheet.period
    require_entries(period)
    if not period.start <= occurred_on <= period.end:
        raise ValueError(_("The date %(date)s is outside the period %(start)s to %(end)s.")
                         % {"date": occurred_on.isoformat(), "start": period.start.isoformat(),
                            "end": period.end.isoformat()})
    items = {item["code"] for item in line.config.get("items", [])}
    if item_code not in items:
        raise ValueError(_("Unknown item %(code)s for %(indicator)s.") % {"code": item_code,
                                                                          "indicator": line.indicator.name})
    if line.indicator.evidence_required and not evidence.strip():
        raise ValueError(_("%(indicator)s requires evidence for every record.") % {"indicator": line.indicator.name})
    record = DeductionRecord(organization_id=line.organization_id, line=line, item_code=item_code, count=count,
                             occurred_on=occurred_on, evidence=evidence, recorded_by=recorded_by,
                             recorder_department=recorder_department)
    record.full_clean(exclude=["organization", "line"])
    lock_sheet(line.sheet_id)
    record._history_user = acting_user  # type: ignore[attr-defined]
    record.save()
    rescore_line(line=line, acting_user=acting_user)
    rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user)
    return record
