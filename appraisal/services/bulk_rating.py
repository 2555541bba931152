"""Rating many lines at once: one rater's grid (the sheets they rate in a period × the lines they
rate) saved in one transaction, all or nothing.

It checks each entry as :func:`appraisal.services.entry.rate_line` does (the rater is the person's
own, not recused; the line is scored by raters; the rating is on the scale, the value scores; the
version read is still the rating's), but every entry before any write: one bad entry refuses them
all (:class:`RatingsRefused`, one :class:`EntryProblem` per bad entry, naming the subject and the
line). Then the new ratings are inserted and the changed ones updated in bulk, each with its audit
row, and the affected sheets rescored in one set-based pass
(:func:`appraisal.services.rescoring.rescore_sheets`), so the number of queries does not grow with
the number of sheets. The scores are those of the same ratings entered one by one.

Locks, in the order every writer takes them (appraisal.services.common.lock_for_entry): the
period's row FOR SHARE, then the sheets' rows in id order (the close locks them in that order too).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from appraisal.models import Period, Rater, Rating, Sheet, SheetLine
from appraisal.services.common import require_entries
from appraisal.services.entry import version_conflict
from appraisal.services.rescoring import rescore_sheets
from appraisal.services.scoring import SheetScore, line_input
from core.bulk import update_with_history
from core.configs import ConfigError
from indicators import scoring
from indicators.models import LineSource
from organizations.models import Person, User

REASON = "rated in a grid"
UPDATED_FIELDS = ["rating", "actual", "comment", "score", "version", "updated_at"]


@dataclass(frozen=True)
class RatingEntry:
    """One rating to give: a label (``rating``) or a value (``actual``) on a line. ``comment`` None
    keeps the comment already given; ``rater_id`` (or ``role``) is needed only when the person
    rates the sheet in several roles; ``sheet_id``, when given, must be the line's sheet; ``expected_version`` is
    the version of the rating as read (a newer one refuses the entry)."""

    line_id: int
    rating: str = ""
    actual: Decimal | None = None
    comment: str | None = None
    expected_version: int | None = None
    rater_id: int | None = None
    role: str = ""
    sheet_id: int | None = None


@dataclass(frozen=True)
class EntryProblem:
    """Why one entry was refused. ``field`` is what it is about (line, rater, rating, actual,
    version); ``message`` names the subject and the line."""

    index: int
    line_id: int
    rater_id: int | None
    field: str
    message: str


class RatingsRefused(Exception):
    """At least one entry was refused; nothing was written."""

    def __init__(self, problems: list[EntryProblem]) -> None:
        self.problems = problems
        super().__init__(" ".join(problem.message for problem in problems))


@dataclass(frozen=True)
class BulkRated:
    written: int  # ratings created or changed
    unchanged: int  # entries equal to the rating already given
    scores: dict[int, SheetScore]  # every rescored sheet's score, by sheet id


class _Refused(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message


@dataclass
class _Plan:
    """What one valid entry writes: the rating (new or existing) with its new values."""

    record: Rating
    is_new: bool


@transaction.atomic
def rate_many(*, rater_person: Person, period: Period, entries: Sequence[RatingEntry],
              acting_user: User | None, dry_run: bool = False) -> BulkRated:
    """Gives ``rater_person``'s ratings on lines of ``period``'s sheets, all or nothing (see the
    module). Refused: IllegalTransition when the period no longer takes figures, RatingsRefused
    naming each bad entry. ``dry_run`` checks every entry and writes nothing (a page that found
    bad cells itself still shows the service's problems with the other cells at once)."""
    if not entries:
        return BulkRated(0, 0, {})
    lines = _lines(period, entries)
    sheet_ids = sorted({line.sheet_id for line in lines.values()})
    _lock(period, sheet_ids)
    raters: dict[int, list[Rater]] = defaultdict(list)
    for own in Rater.objects.filter(sheet_id__in=sheet_ids, person=rater_person).order_by("recused", "pk"):
        raters[own.sheet_id].append(own)
    current = {(r.line_id, r.rater_id): r for r in Rating.objects.select_for_update().filter(
        line_id__in=list(lines), rater_id__in=[r.pk for rs in raters.values() for r in rs])}
    plans: list[_Plan] = []
    problems: list[EntryProblem] = []
    seen: Counter[tuple[int, int]] = Counter()
    for index, entry in enumerate(entries):
        line = lines.get(entry.line_id)
        rater: Rater | None = None
        try:
            if line is None:
                raise _Refused("line", _("Line %(line)s is not on a sheet of period %(period)s.")
                               % {"line": entry.line_id, "period": period.code})
            rater = _rater_for(entry, line, raters[line.sheet_id])
            seen[(line.pk, rater.pk)] += 1
            if seen[(line.pk, rater.pk)] > 1:
                raise _Refused("line", _("This line is given twice."))
            plan = _plan(entry, line, rater, current.get((line.pk, rater.pk)))
        except _Refused as refused:
            message = refused.message if line is None else about(line, refused.message)
            problems.append(EntryProblem(index, entry.line_id, rater.pk if rater else entry.rater_id, refused.field,
                                         message))
            continue
        if plan is not None:
            plans.append(plan)
    if problems:
        raise RatingsRefused(problems)
    if dry_run:
        return BulkRated(written=len(plans), unchanged=len(entries) - len(plans), scores={})
    _write(plans, acting_user=acting_user)
    affected = sorted({plan.record.line.sheet_id for plan in plans})
    scores = rescore_sheets(sheet_ids=affected, acting_user=acting_user) if affected else {}
    return BulkRated(written=len(plans), unchanged=len(entries) - len(plans), scores=scores)


def _lines(period: Period, entries: Sequence[RatingEntry]) -> dict[int, SheetLine]:
    """The entries' lines that belong to the period's sheets, with what the messages and scoring
    read (the subject, the indicator). One query."""
    ids = {entry.line_id for entry in entries}
    found = SheetLine.objects.filter(pk__in=ids, sheet__period=period).select_related(
        "indicator", "sheet__person", "sheet__team", "sheet__department")
    return {line.pk: line for line in found}


def _lock(period: Period, sheet_ids: list[int]) -> None:
    """The period's row FOR SHARE, the period read afresh and refused unless it takes figures,
    then the sheets' rows in id order: lock_for_entry's order for many sheets at once, so an entry
    either commits before the close reads it or finds the period closed."""
    if connection.features.has_select_for_update:  # SQLite serialises whole transactions instead
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT 1 FROM "{Period._meta.db_table}" WHERE id = %s FOR SHARE', [period.pk])
    require_entries(Period.objects.get(pk=period.pk))
    list(Sheet.objects.select_for_update().filter(pk__in=sheet_ids).order_by("pk").values_list("pk", flat=True))


def about(line: SheetLine, message: str) -> str:
    """A problem naming the subject and the line: 王芳 · 工作业绩：…"""
    return _("%(subject)s · %(line)s: %(problem)s") % {
        "subject": line.sheet.subject_label, "line": line.label or line.indicator.name, "problem": message}


def _rater_for(entry: RatingEntry, line: SheetLine, mine: list[Rater]) -> Rater:
    """The person's rater on the line's sheet the entry is for (rate_line's rules)."""
    if entry.sheet_id is not None and entry.sheet_id != line.sheet_id:
        raise _Refused("sheet", _("The line is not on sheet %(sheet)s.") % {"sheet": entry.sheet_id})
    if entry.rater_id is not None:
        mine = [rater for rater in mine if rater.pk == entry.rater_id]
    if entry.role:
        mine = [rater for rater in mine if rater.role == entry.role]
    if not mine:
        raise _Refused("rater", _("You do not rate this sheet."))
    if len({rater.role for rater in mine}) > 1:
        raise _Refused("rater", _("You rate this sheet in several roles; say which one."))
    rater = mine[0]
    if rater.recused:
        raise _Refused("rater", _("You are recused from this sheet: %(reason)s.") % {"reason": rater.recusal_reason})
    if line.source != LineSource.RATERS:
        raise _Refused("line", _("This line is scored from data, not by raters."))
    return rater


def _plan(entry: RatingEntry, line: SheetLine, rater: Rater, current: Rating | None) -> _Plan | None:
    """The rating the entry writes, scored; None when it is the rating already given."""
    rating = entry.rating.strip()
    field = "rating" if line.method == scoring.Method.RATING else "actual"
    if not rating and entry.actual is None:
        raise _Refused(field, _("Give a rating or a value."))
    conflict = version_conflict(line, current, entry.expected_version)
    if conflict is not None:
        raise _Refused("version", str(conflict))
    comment = entry.comment if entry.comment is not None else (current.comment if current else "")
    if current is not None and (current.rating, current.actual, current.comment) == (rating, entry.actual, comment):
        return None
    # The subject is named once, by about(), not again inside the scoring message.
    given = dataclasses.replace(line_input(line, rating=rating or None, actual=entry.actual), subject="")
    try:
        result = scoring.score(line.method, line.config, given)
    except (scoring.ScoringError, ConfigError) as error:
        raise _Refused(field, str(error)) from None
    record = current or Rating(organization_id=line.organization_id, line=line, rater=rater)
    record.line = line
    record.rating, record.actual, record.comment, record.score = rating, entry.actual, comment, result.points
    record.version = (current.version + 1) if current else 1
    return _Plan(record, current is None)


def _write(plans: list[_Plan], *, acting_user: User | None) -> None:
    """The new ratings and the changed ones, each with its audit row: a few statements for any number."""
    new = [plan.record for plan in plans if plan.is_new]
    changed = [plan.record for plan in plans if not plan.is_new]
    if new:
        bulk_create_with_history(new, Rating, default_user=acting_user, default_change_reason=REASON)
    if changed:
        now = timezone.now()  # a bulk update does not touch auto_now fields itself
        for record in changed:
            record.updated_at = now
        update_with_history(changed, UPDATED_FIELDS, acting_user=acting_user, reason=REASON)
