"""Rescoring: scores lines and sheets again from their data, records and ratings, and saves what
changed with history — one line (an entry), a few sheets, or every stale sheet of a period (the
close), streamed in sheet order so that neither the queries nor the memory grow with the head
count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum, TextField
from django.db.models.functions import Cast

from appraisal.models import STALE, DeductionRecord, Period, Rater, Rating, Sheet, SheetLine
from appraisal.services.scoring import (
    LineRow,
    RaterRow,
    RatingRow,
    SheetScore,
    combine_ratings_raw,
    score_line,
    score_sheet,
)
from core.bulk import no_cyclic_gc, update_changes_with_history
from core.translation import cached_translations
from indicators import scoring
from indicators.models import LineSource, Rounding, TemplatePart
from organizations.models import Person, User
from organizations.tenancy import BULK_BATCH_SIZE

# Sheets whose rescoring is written in one transaction (row locks, then lines, then the sheets).
RESCORE_BATCH = 2000


def rescore_line(*, line: SheetLine, acting_user: User | None) -> SheetLine:
    # Rescoring is not an edit: ``version`` counts changes of the line's data, so a page that read
    # the line before a sibling was saved (and the sheet rescored) can still save it.
    score_line(line, ratings=None, occurrences=None)
    line._history_user = acting_user  # type: ignore[attr-defined]
    line._change_reason = "rescored"  # type: ignore[attr-defined]
    line.save()
    return line


def rescore_sheet(*, sheet: Sheet, acting_user: User | None) -> SheetScore:
    """Rescores one sheet (see :func:`rescore_sheets`) and returns its score."""
    results = rescore_sheets(sheet_ids=[sheet.pk], acting_user=acting_user)
    result = results[sheet.pk]
    sheet.score, sheet.explanation = result.score, result.explanation
    return result


@dataclass
class RescoreCount:
    sheets: int = 0
    changed_lines: int = 0
    changed_sheets: int = 0
    # Sheets whose data changed (or that someone else rescored) between the read and the write:
    # nothing of theirs was written, and they stay stale for the next rescoring.
    skipped: int = 0


def rescore_sheets(*, sheet_ids: Iterable[int], acting_user: User | None,
                   reason: str = "rescored") -> dict[int, SheetScore]:
    """Rescores every line of the given sheets from their data, records and ratings, then the
    sheets, and saves what changed (with history). Returns each sheet's score."""
    ids = list(sheet_ids)
    scores: dict[int, SheetScore] = {}
    _rescore(Q(pk__in=ids), acting_user=acting_user, reason=reason,
             seen=lambda sheet_id, score: scores.__setitem__(sheet_id, score))
    return scores


def rescore_period(*, period: Period, acting_user: User | None, reason: str,
                   progress: Callable[[int], object] | None = None,
                   sheets: tuple[int, int] | None = None) -> RescoreCount:
    """Rescores the stale sheets of ``period`` (see :func:`rescore_sheets`): those whose data
    changed since they were last scored (Sheet.data_version, kept by triggers). Each table is read
    once, in sheet order, whatever the number of sheets; what changed is saved in committed batches
    when called outside a transaction (the close), and ``progress`` hears about every 5 % how many
    of the period's sheets are done, so neither the queries nor the memory grow with the head
    count. ``sheets``: only those whose ids are in this range, ends included (a part of a close)."""
    where = Q(period_id=period.pk) if sheets is None else Q(period_id=period.pk, pk__gte=sheets[0],
                                                             pk__lte=sheets[1])
    counts = Sheet.objects.filter(where).aggregate(total=Count("pk"), stale=Count("pk", filter=STALE))
    total, stale = counts["total"], counts["stale"]
    step = max(stale // 20, BULK_BATCH_SIZE)
    done = [0]

    def seen(sheet_id: int, score: SheetScore) -> None:
        done[0] += 1
        if progress is not None and done[0] % step == 0:
            # Sheets that are not stale are done already: the share of the stale ones scales up.
            progress(total - stale + done[0])

    if not stale:
        return RescoreCount()
    return _rescore(where & STALE, acting_user=acting_user, reason=reason, seen=seen)


def _subject_label(person_no: str | None, person_name: str | None, team: str | None, department: str | None) -> str:
    """Sheet.subject_label from the names a query read (str() of a Person, a Team, a Department)."""
    if person_name is not None:
        return Person.label(str(person_no), person_name)
    return team if team is not None else str(department)


def _by_sheet(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, list[Sequence[Any]]]]:
    """Groups rows ordered by their first column (a sheet id): (sheet id, rows)."""
    current: int | None = None
    group: list[Sequence[Any]] = []
    for row in rows:
        if row[0] != current:
            if current is not None:
                yield current, group
            current, group = row[0], []
        group.append(row)
    if current is not None:
        yield current, group


class _Aligned:
    """One grouped stream, read alongside the sheets: the rows of a sheet, or none. Its query runs
    when first asked, so it reads after the sheets (see :func:`_rescore`) and not at all when no
    sheet needs it."""

    def __init__(self, rows: Callable[[], Iterable[Sequence[Any]]]) -> None:
        self._rows = rows
        self._groups: Iterator[tuple[int, list[Sequence[Any]]]] | None = None
        self._next: tuple[int, list[Sequence[Any]]] | None = None

    def of(self, sheet_id: int) -> list[Sequence[Any]]:
        if self._groups is None:
            self._groups = _by_sheet(self._rows())
            self._next = next(self._groups, None)
        while self._next is not None and self._next[0] < sheet_id:
            self._next = next(self._groups, None)
        if self._next is not None and self._next[0] == sheet_id:
            rows = self._next[1]
            self._next = next(self._groups, None)
            return rows
        return []


def _stream(queryset: Any) -> Iterable[Sequence[Any]]:
    # PostgreSQL: a server-side cursor, so memory stays flat at 100,000 sheets (outside a transaction
    # Django declares it WITH HOLD, so the close may commit between batches while it reads).
    # SQLite does not isolate a cursor from writes on the same connection, so it reads first.
    if connection.vendor == "postgresql":
        return queryset.iterator(chunk_size=2000)  # type: ignore[no-any-return]
    return list(queryset)


class _Reading:
    """What one rescoring reads: the sheets matching a condition with their versions, then, aligned
    with them, their lines, records, raters and ratings (one query each, all in sheet order), and
    the template parts. Scores the sheets one at a time as they stream past, with the caches the
    lines of a period share."""

    SHEET_FIELDS = ("pk", "template_id", "template__base_score", "score", "explanation", "person__employee_no",
                    "person__name", "team__name", "department__name", "data_version", "scored_version")

    def __init__(self, where: Q) -> None:
        self.sheets = _stream(Sheet.objects.filter(where).order_by("pk").values_list(*self.SHEET_FIELDS))
        self.lines = _Aligned(lambda: _stream(
            SheetLine.objects.filter(_prefixed(where, "sheet__")).order_by("sheet_id", "sort_order", "pk")
            .annotate(config_text=Cast("config", TextField())).values_list(*LineRow.FIELDS)))
        self.records = _Aligned(lambda: _stream(
            DeductionRecord.objects.filter(_prefixed(where, "line__sheet__"))
            .values("line__sheet_id", "line_id", "item_code").annotate(n=Sum("count")).order_by("line__sheet_id")
            .values_list("line__sheet_id", "line_id", "item_code", "n")))
        self.raters = _Aligned(lambda: _stream(
            Rater.objects.filter(_prefixed(where, "sheet__")).order_by("sheet_id", "pk")
            .values_list("sheet_id", "pk", "role", "weight", "missing_counts_as_zero", "recused")))
        self.ratings = _Aligned(lambda: _stream(
            Rating.objects.filter(_prefixed(where, "line__sheet__")).order_by("line__sheet_id")
            .values_list("line__sheet_id", "line_id", "rater_id", "score")))
        self.parts: dict[int, list[TemplatePart]] = defaultdict(list)
        self.rounding: dict[int, str] = {}  # template id → Template.rounding
        templates = Sheet.objects.filter(where).values("template_id")
        for part in TemplatePart.objects.filter(template_id__in=templates).annotate(
                template_rounding=F("template__rounding")).order_by("sort_order", "pk"):
            self.parts[part.template_id].append(part)
            self.rounding[part.template_id] = part.template_rounding
        self.configs: dict[str, Any] = {}
        self.specs: dict[tuple[str, str, frozenset[str]], Any] = {}  # a parsed config per method, text, input names

    def score(self, sheet_id: int, template_id: int, base: Decimal, subject: str) -> tuple[list[LineRow], SheetScore]:
        """Scores one sheet in memory: returns its lines whose score changed, and its score."""
        occurrences: dict[int, dict[str, int]] = defaultdict(dict)
        for _sheet, line_id, item, n in self.records.of(sheet_id):
            occurrences[line_id][item] = n
        sheet_raters = [RaterRow(*row[1:]) for row in self.raters.of(sheet_id)]
        by_line: dict[int, list[Any]] = defaultdict(list)
        for _sheet, line_id, rater_id, rated in self.ratings.of(sheet_id):
            by_line[line_id].append(RatingRow(rater_id, rated))
        sheet_lines = [LineRow(row, subject, self.configs) for row in self.lines.of(sheet_id)]
        changed = [line for line in sheet_lines
                   if self._rescore_line(line, sheet_raters, by_line[line.pk], occurrences[line.pk])]
        rounding = self.rounding.get(template_id, Rounding.LINE)
        return changed, score_sheet(base, sheet_lines, self.parts[template_id], rounding=rounding)

    def _rescore_line(self, line: LineRow, raters: list[RaterRow], ratings: list[RatingRow],
                      occurrences: dict[str, int]) -> bool:
        """Scores one line in memory; True when its score (rounded or not), money or explanation changed."""
        before = (line.score, line.raw_score, line.money, line.explanation)
        if line.source == LineSource.RATERS:
            line.score, line.raw_score, line.explanation = combine_ratings_raw(raters, ratings)
        else:
            key = (line.method, line.config_text, frozenset(line.inputs or ()))
            spec = self.specs.get(key)
            if spec is None:
                spec = self.specs[key] = scoring.read_spec(line.method, line.config, key[2])
            score_line(line, ratings=None, occurrences=occurrences, spec=spec)
        return (line.score, line.raw_score, line.money, line.explanation) != before


def _rescore(where: Q, *, acting_user: User | None, reason: str,
             seen: Callable[[int, SheetScore], None]) -> RescoreCount:
    """Streams the sheets matching ``where`` with their lines, records, raters and ratings (one
    query each, all in sheet order), scores them in memory and writes what changed.

    The sheets are read first, with their versions; the other streams after, filtered by the same
    condition. Should a sheet's data change in between, or another rescoring make it fresh, its
    version differs when the batch is written, under the sheet's row lock, and nothing of that
    sheet is written (see :func:`_save_rescored`): a score is never saved from rows read at two
    different moments."""
    reading = _Reading(where)
    count = RescoreCount()
    batch = _Batch()
    with cached_translations(), no_cyclic_gc():
        for (sheet_id, template_id, base, score, explanation, person_no, person_name, team, department,
             data_version, scored_version) in reading.sheets:
            subject = _subject_label(person_no, person_name, team, department)
            changed, result = reading.score(sheet_id, template_id, base, subject)
            batch.add(sheet_id, (data_version, scored_version), changed,
                      result if (score, explanation) != (result.score, result.explanation) else None)
            count.sheets += 1
            seen(sheet_id, result)
            if batch.full():
                _save_rescored(batch, count, acting_user=acting_user, reason=reason)
        _save_rescored(batch, count, acting_user=acting_user, reason=reason)
    return count


def _prefixed(where: Q, prefix: str) -> Q:
    """``where`` (a Q on Sheet) as seen from a related model: each lookup behind ``prefix``."""
    def rewrite(node: Any) -> Any:
        if isinstance(node, Q):
            return Q(*[rewrite(child) for child in node.children], _connector=node.connector, _negated=node.negated)
        key, value = node
        if isinstance(value, F):
            value = F(f"{prefix}{value.name}")  # type: ignore[attr-defined]
        return (f"{prefix}{key}", value)
    return rewrite(where)  # type: ignore[no-any-return]


class _Batch:
    """Rescored sheets waiting to be written: the versions each was read with, its changed lines,
    and its new score when that changed."""

    def __init__(self) -> None:
        self.versions: dict[int, tuple[int, int]] = {}
        self.lines: dict[int, list[LineRow]] = {}
        self.sheets: dict[int, SheetScore] = {}
        self._lines = 0

    def add(self, sheet_id: int, versions: tuple[int, int], lines: list[LineRow], score: SheetScore | None) -> None:
        self.versions[sheet_id] = versions
        if lines:
            self.lines[sheet_id] = lines
            self._lines += len(lines)
        if score is not None:
            self.sheets[sheet_id] = score

    def full(self) -> bool:
        return len(self.versions) >= RESCORE_BATCH or self._lines >= RESCORE_BATCH

    def clear(self) -> None:
        self.versions.clear()
        self.lines.clear()
        self.sheets.clear()
        self._lines = 0


def _save_rescored(batch: _Batch, count: RescoreCount, *, acting_user: User | None, reason: str) -> None:
    """Writes a batch in one transaction: locks its sheets, keeps those whose versions are still
    the ones read, saves their changed lines and sheets with history (models are loaded for these
    rows only: most rescoring changes nothing) and marks them scored. Then empties the batch.

    Lock order is sheet, then lines, as in the entry services
    (:func:`appraisal.services.common.lock_sheet`), so a close and an edit of the same sheet wait
    for each other instead of deadlocking."""
    if not batch.versions:
        return
    stale = [pk for pk, (data, scored) in batch.versions.items() if data != scored]
    with transaction.atomic():
        current = Sheet.objects.select_for_update().filter(pk__in=list(batch.versions)).order_by("pk").values_list(
            "pk", "data_version", "scored_version")
        kept = {pk for pk, data, scored in current if batch.versions.get(pk) == (data, scored)}
        count.skipped += len(batch.versions) - len(kept)
        lines = [line for sheet_id, changed in batch.lines.items() if sheet_id in kept for line in changed]
        sheets = {sheet_id: score for sheet_id, score in batch.sheets.items() if sheet_id in kept}
        # Outputs only: the line's version counts data edits, which rescoring never makes. The audit
        # rows copy every field, read back as tuples (no model is loaded).
        update_changes_with_history(
            SheetLine, ["score", "raw_score", "money", "explanation"],
            {line.pk: (line.score, line.raw_score, line.money, line.explanation) for line in lines},
            acting_user=acting_user, reason=reason)
        # Under the lock the versions are the ones read, so the data_version read is the version
        # scored. A sheet whose score changed is marked scored in the same UPDATE: a second one
        # wrote every row again, with its twelve indexes (a sixth of a stale close's SQL).
        update_changes_with_history(
            Sheet, ["score", "explanation", "scored_version"],
            {pk: (result.score, result.explanation, batch.versions[pk][0]) for pk, result in sheets.items()},
            acting_user=acting_user, reason=reason)
        fresh = [pk for pk in stale if pk in kept and pk not in sheets]
        if fresh:
            Sheet.objects.filter(pk__in=fresh).update(scored_version=F("data_version"))
    count.changed_lines += len(lines)
    count.changed_sheets += len(sheets)
    batch.clear()

