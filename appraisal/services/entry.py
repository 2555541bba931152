"""Entering data on a sheet: a line's figures, a rater's rating, a deduction record, an acceptance
round of a pass/fail line, and a line added to one sheet (an individual work item). Each write
takes its period's share lock and its sheet's row lock first
(:func:`appraisal.services.common.lock_for_entry`), then rescores the line and its sheet in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.models import AcceptanceRound, DeductionRecord, Period, Rater, Rating, Sheet, SheetLine
from appraisal.services.common import IllegalTransition, lock_for_entry, require_entries
from appraisal.services.rescoring import rescore_line, rescore_sheets
from appraisal.services.scoring import line_input, score_line
from appraisal.services.sheets import default_target
from core.explain import listed
from core.numbers import to_decimal
from indicators import scoring
from indicators.models import Indicator, LineSource, TemplatePart
from organizations.models import Department, Membership, Person, User

LINE_FIELDS = ("target", "actual", "inputs", "rating", "accepted", "acceptance_round")
ACCEPTANCE_FIELDS = frozenset({"accepted", "acceptance_round"})
LABEL_MAX = SheetLine._meta.get_field("label").max_length or 200


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
    line = _locked_line(line_id)
    require_entries(line.sheet.period)
    if line.version != expected_version:
        latest = line.history.order_by("-history_date").first()
        who = str(latest.history_user) if latest and latest.history_user else ""
        raise LineConflict(line, who, latest.history_date if latest else None)
    if all(getattr(line, name) == value for name, value in changes.items()):
        return line
    for name, value in changes.items():
        setattr(line, name, value)
    if line.method == scoring.Method.PASS_FAIL and ACCEPTANCE_FIELDS & set(changes) and line.accepted is not None:
        # The acceptance entered on the line is a round too (a correction when the round exists).
        _write_round(line, line.acceptance_round or 1, line.accepted, "", _person_of(acting_user), None,
                     acting_user=acting_user)
    _save_entered(line, acting_user=acting_user, reason=reason or "data entered")
    return line


def _locked_line(line_id: int) -> SheetLine:
    """The line under its period's share lock and its sheet's lock, then its own (the lock order of
    every writer: appraisal.services.common.lock_for_entry)."""
    sheet_id = SheetLine.objects.filter(pk=line_id).values_list("sheet_id", flat=True).first()
    if sheet_id is not None:
        lock_for_entry(sheet_id)
    return SheetLine.objects.select_for_update(of=("self",)).select_related(
        "indicator", "sheet__person", "sheet__period").get(pk=line_id)


def _lock_open_sheet(line: SheetLine) -> Period:
    """The period's share lock and the line's sheet lock (lock_for_entry), then refuses unless the
    period, read afresh under them, takes entries: an entry either commits before the close reads
    it or waits and then finds the period closed, never lands after it."""
    period = lock_for_entry(line.sheet_id)
    require_entries(period)
    return period


def _save_entered(line: SheetLine, *, acting_user: User | None, reason: str) -> None:
    """Scores the line whose data changed, saves it as a new version with history and rescores its sheet."""
    score_line(line, ratings=None, occurrences=None)
    line.version += 1
    line._history_user = acting_user  # type: ignore[attr-defined]
    line._change_reason = reason[:100]  # type: ignore[attr-defined]
    line.save()
    rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user)


def version_conflict(line: SheetLine, current: Rating | None, expected_version: int | None) -> LineConflict | None:
    """The conflict to refuse with when the rating changed since the version the rater read; None
    when it did not (or the rater gave no version)."""
    if current is None or expected_version is None or current.version == expected_version:
        return None
    latest = current.history.order_by("-history_date").first()
    return LineConflict(line, str(latest.history_user) if latest and latest.history_user else "",
                        latest.history_date if latest else None)


@transaction.atomic
def rate_line(*, line: SheetLine, rater: Rater, acting_user: User | None, rating: str = "",
              actual: Decimal | None = None, comment: str = "", expected_version: int | None = None) -> Rating:
    if rater.sheet_id != line.sheet_id:
        raise ValueError("the rater belongs to another sheet")
    _lock_open_sheet(line)
    if rater.recused:
        raise IllegalTransition(_("You are recused from this sheet: %(reason)s.") % {"reason": rater.recusal_reason})
    if line.source != LineSource.RATERS:
        raise IllegalTransition(_("This line is scored from data, not by raters."))
    current = Rating.objects.select_for_update().filter(line=line, rater=rater).first()
    conflict = version_conflict(line, current, expected_version)
    if conflict is not None:
        raise conflict
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
    period = _lock_open_sheet(line)
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
    record._history_user = acting_user  # type: ignore[attr-defined]
    record.save()
    rescore_line(line=line, acting_user=acting_user)
    rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user)
    return record


# --- acceptance rounds (S0-1) ---------------------------------------------------------------------


@transaction.atomic
def record_acceptance(*, line_id: int, passed: bool, acting_user: User | None, reason: str = "",
                      inspected_by: Person | None = None, inspected_on: dt.date | None = None,
                      number: int | None = None) -> AcceptanceRound:
    """Records an acceptance inspection (验收) of a pass/fail line: the next round, or round
    ``number`` to correct one already recorded. A failed round needs the reason (what is sent back
    for remediation); once a round passed there is no next one. The line is scored on its latest
    round (SheetLine.accepted, acceptance_round: accepted at round n earns round_shares[n−1] of its
    full marks, failed earns fail_share) and its sheet rescored. ``inspected_by`` defaults to the
    acting user's person, ``inspected_on`` to today. Refused: ValueError naming why,
    IllegalTransition once the period is closed."""
    line = _locked_line(line_id)
    require_entries(line.sheet.period)
    if line.method != scoring.Method.PASS_FAIL or line.source != LineSource.DATA:
        raise ValueError(_("%(indicator)s is not scored by acceptance.") % {"indicator": line.indicator.name})
    last = AcceptanceRound.objects.filter(line=line).order_by("-number").first()
    following = last.number + 1 if last else 1
    if number is None:
        if last is not None and last.passed:
            raise ValueError(_("%(indicator)s passed acceptance at round %(round)s already.")
                             % {"indicator": line.indicator.name, "round": last.number})
        number = following
    elif not 1 <= number <= following:
        raise ValueError(_("Rounds are recorded in order: the next round is %(round)s.") % {"round": following})
    if not passed and not reason.strip():
        raise ValueError(_("Say why the item failed acceptance: it is what is sent back for remediation."))
    inspector = inspected_by or _person_of(acting_user)
    round_ = _write_round(line, number, passed, reason.strip(), inspector, inspected_on, acting_user=acting_user)
    latest = last is None or number >= last.number  # the latest round decides the line's score
    if latest and (line.accepted, line.acceptance_round) != (passed, number):
        line.accepted, line.acceptance_round = passed, number
        _save_entered(line, acting_user=acting_user,
                      reason=(_("acceptance round %(round)s") % {"round": number}))
    return round_


def _write_round(line: SheetLine, number: int, passed: bool, reason: str, inspected_by: Person | None,
                 inspected_on: dt.date | None, *, acting_user: User | None) -> AcceptanceRound:
    """Creates round ``number`` of the line, or corrects it (with history) when it exists."""
    current = AcceptanceRound.objects.filter(line=line, number=number).first()
    round_ = current or AcceptanceRound(organization_id=line.organization_id, line=line, number=number)
    values = {"passed": passed, "reason": reason or (round_.reason if passed == round_.passed else ""),
              "inspected_by": inspected_by or round_.inspected_by,
              "inspected_on": inspected_on or round_.inspected_on or timezone.localdate()}
    if current is not None and all(getattr(current, k) == v for k, v in values.items()):
        return current
    for name, value in values.items():
        setattr(round_, name, value)
    round_._history_user = acting_user  # type: ignore[attr-defined]
    round_._change_reason = "corrected" if current else "inspected"  # type: ignore[attr-defined]
    round_.save()
    return round_


def _person_of(user: User | None) -> Person | None:
    """The acting user's person in the organisation being worked in, if any."""
    if user is None:
        return None
    membership = Membership.objects.filter(user=user, is_active=True, person__isnull=False).select_related(
        "person").first()
    return membership.person if membership else None


# --- lines added to one sheet (individual work items, S0-1) ---------------------------------------


@transaction.atomic
def add_sheet_line(*, sheet_id: int, indicator: Indicator, max_points: Decimal | str, acting_user: User | None,
                   target: Decimal | None = None, label: str = "", part_code: str = "",
                   reason: str = "") -> SheetLine:
    """Adds a line from the catalogue to one sheet (an individual work item with its own full
    marks and target), in a per-person part of the sheet's template (TemplatePart.per_person;
    ``part_code`` when the template has several). The part keeps its weight: its points are scaled
    to its full marks by the sheet's lines (appraisal.services.scoring.score_sheet). Without a
    target the line starts from the benchmark or baseline a template line would. Audited (the
    line's history: who added it, and why). Refused: ValueError naming why, IllegalTransition once
    the period is closed."""
    require_entries(lock_for_entry(sheet_id))
    sheet = Sheet.objects.select_related("period", "template", "person", "team", "department").get(pk=sheet_id)
    part = _per_person_part(sheet, part_code)
    points = to_decimal(max_points, what=_("full marks"))
    if points <= 0:
        raise ValueError(_("The full marks of a work item must be above 0."))
    if not indicator.is_active:
        raise ValueError(_("Indicator %(code)s is not active.") % {"code": indicator.code})
    label = label.strip()
    if len(label) > LABEL_MAX:
        raise ValueError(_("A work item's name has at most %(max)s characters.") % {"max": LABEL_MAX})
    added = SheetLine.objects.filter(sheet=sheet, template_line__isnull=True, part_code=part.code)
    if added.filter(indicator=indicator, label=label).exists():
        raise ValueError(_("%(item)s is on this sheet already; give the work item another name.")
                         % {"item": label or indicator.name})
    line = SheetLine(
        organization_id=sheet.organization_id, sheet=sheet, template_line=None, indicator=indicator, label=label,
        part_code=part.code, source=LineSource.DATA, method=indicator.method, config=dict(indicator.config),
        direction=indicator.direction, baseline_source=indicator.baseline_source, max_points=points,
        target=target if target is not None else default_target(period=sheet.period, sheet=sheet,
                                                                   indicator=indicator),
        sort_order=part.sort_order * 1000 + 500 + added.count(),
    )
    score_line(line, ratings=None, occurrences={})
    line._history_user = acting_user  # type: ignore[attr-defined]
    line._change_reason = (reason or "work item added")[:100]  # type: ignore[attr-defined]
    line.save()
    rescore_sheets(sheet_ids=[sheet.pk], acting_user=acting_user)
    return line


def _per_person_part(sheet: Sheet, part_code: str) -> TemplatePart:
    parts = list(TemplatePart.objects.filter(template_id=sheet.template_id, per_person=True).order_by("sort_order"))
    if not parts:
        raise ValueError(_("Template %(template)s has no part for work items added per sheet (per_person).")
                         % {"template": sheet.template})
    if part_code:
        chosen = [p for p in parts if p.code == part_code]
        if not chosen:
            raise ValueError(_("%(code)s is not a part for work items added per sheet; use %(codes)s.")
                             % {"code": part_code, "codes": listed(p.code for p in parts)})
        return chosen[0]
    if len(parts) > 1:
        raise ValueError(_("Say which part the work item goes in: %(codes)s.")
                         % {"codes": listed(p.code for p in parts)})
    return parts[0]


@transaction.atomic
def remove_sheet_line(*, line_id: int, acting_user: User | None, reason: str = "") -> None:
    """Takes a line added to one sheet off it again (the template's lines stay), audited, and
    rescores the sheet."""
    line = _locked_line(line_id)
    require_entries(line.sheet.period)
    if not line.is_added:
        raise ValueError(_("Only a work item added to this sheet can be removed; the template's lines stay."))
    sheet_id = line.sheet_id
    line._history_user = acting_user  # type: ignore[attr-defined]
    line._change_reason = (reason or "work item removed")[:100]  # type: ignore[attr-defined]
    line.delete()
    rescore_sheets(sheet_ids=[sheet_id], acting_user=acting_user)
