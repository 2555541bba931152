"""What a close computes before anything is written: the refusals (incomplete sheets, open child
periods, sheets without a score), a draft result per sheet with its population and its score at
close, and the rows that become results (appraisal.services.closing and close_parts).

Every function takes the sheets it works on (a part of a close graded on one worker: the sheets of
some departments), or the whole period; the queries do not grow with the head count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal import selectors
from appraisal.models import GradingPolicy, Period, Result, Sheet, SheetLine, SpecialStatus, StagedResult
from appraisal.services import rollup, unit_share
from appraisal.services.populations import INCOMPLETE_FLAG
from appraisal.services.populations import Draft as _Draft
from appraisal.services.scoring import SheetScore, score_sheet
from core.bulk import HISTORY_COLUMNS, insert_rows
from core.explain import listed
from indicators.models import SubjectKind, TemplatePart
from organizations.models import Department, DepartmentType, Organization, User

ZERO = Decimal("0.00")
NAMED = 5  # sheets a refusal names before "…"
REASON_MAX = 300


class ClosureRefused(Exception):
    """The period cannot be closed (or published, finalised) as it stands; the message says why."""


class IncompleteSheets(ClosureRefused):
    """The close is refused because sheets are incomplete (appraisal.selectors.incomplete_sheets):
    ``count`` of them, the first few named in the message; ``sheet_ids`` the first ones, in order."""

    def __init__(self, period: Period, count: int, sheet_ids: list[int], names: list[str]) -> None:
        shown = listed(names) + (" …" if count > len(names) else "")
        super().__init__(
            _("Period %(period)s cannot be closed: %(count)s sheet(s) are incomplete (a rater has not rated, or a "
              "line has no data): %(names)s. Complete them, set a special status on them, or close anyway with a "
              "reason.") % {"period": period.code, "count": count, "names": shown}
        )
        self.count, self.sheet_ids = count, sheet_ids


def refuse_incomplete(period: Period) -> list[int]:
    """Raises IncompleteSheets when the period has incomplete sheets; else returns []."""
    incomplete = selectors.incomplete_sheets(Sheet.objects.filter(period=period))
    count = incomplete.count()
    if not count:
        return []
    first = list(incomplete.select_related("person", "team", "department").order_by("pk")[:NAMED])
    raise IncompleteSheets(period, count, [s.pk for s in first], [s.subject_label for s in first])


def population_drafts(period: Period, policy: GradingPolicy,
                      sheets: QuerySet[Sheet] | None = None) -> tuple[list[_Draft], list[int]]:
    """A draft result per sheet (of ``sheets``, else of the period), with its population key and
    label (quotas apply within one subject kind and, as the policy says, the whole organisation,
    one department or one department type), and the ids of the sheets that should have a score and have none. Reads
    tuples: three queries whatever the number of sheets."""
    departments, department_names = {}, {}
    for pk, type_id, name in Department.objects.values_list("pk", "department_type_id", "name"):
        departments[pk], department_names[pk] = type_id, name
    type_names = {pk: str(t) for pk, t in ((t.pk, t) for t in DepartmentType.objects.all())}
    kind_labels = dict(SubjectKind.choices)
    organization_name = Organization.objects.get(pk=period.organization_id).name
    chosen = Sheet.objects.filter(period=period) if sheets is None else sheets
    rows = chosen.order_by("pk").values_list(
        "pk", "subject_kind", "person_id", "team_id", "department_id", "person__department_id",
        "team__department_id", "special_status", "score")
    by_department = policy.population == GradingPolicy.Population.DEPARTMENT
    by_type = policy.population == GradingPolicy.Population.DEPARTMENT_TYPE
    drafts, unscored = [], []
    labels: dict[tuple[str, str], str] = {}
    for sheet_id, kind, person_id, team_id, department_id, person_dept, team_dept, status, score in rows:
        if person_id is not None:
            where_id = person_dept
        elif team_id is not None:
            where_id = team_dept
        else:
            where_id = department_id
        if by_department and where_id is not None:
            key, where = f"{kind}:d{where_id}", department_names[where_id]
        elif by_type and where_id is not None and departments.get(where_id) is not None:
            type_id = departments[where_id]
            key, where = f"{kind}:t{type_id}", type_names[type_id]
        else:
            key, where = kind, organization_name
        label = labels.get((key, where))
        if label is None:
            label = labels[(key, where)] = f"{where} · {kind_labels.get(kind, kind)}"
        if status == SpecialStatus.NORMAL and score is None:
            unscored.append(sheet_id)
        drafts.append(_Draft(sheet_id=sheet_id, subject_kind=kind, subject_id=person_id or team_id or department_id,
                             person_id=person_id, population=key, population_label=label, status=status,
                             raw_score=ZERO if status == SpecialStatus.REFUSED else score))
    return drafts, unscored


def scores_at_close(period: Period, policy: GradingPolicy, *, anyway: bool, part: Q | None = None) -> list[_Draft]:
    """The drafts with their scores at close: the sheets' scores (a missing one counting 0 when HR
    closes anyway), combined with the unit's result where the template says so
    (appraisal.services.unit_share) and with the child periods' results where the period rolls them up
    (appraisal.services.rollup). Refuses when a normal sheet is left without a score. ``part``: the
    sheets of the period to draft (close_parts.part_filter), else all."""
    sheets = Sheet.objects.filter(period=period)
    mine: set[int] | None = None
    part = part or None  # Q(): every sheet (and Q() | x would be x alone)
    if part is not None and period.templates.filter(unit_share__gt=0).exists():
        # A person's unit may be graded in another part: its draft comes along and is dropped after.
        mine = set(sheets.filter(part).values_list("pk", flat=True))
        sheets = sheets.filter(part | ~Q(subject_kind=SubjectKind.PERSON))
    elif part is not None:
        sheets = sheets.filter(part)
    drafts, unscored = population_drafts(period, policy, sheets)
    if unscored and anyway:
        _count_missing_as_zero(sheets, drafts)
    unit_share.combine(period, drafts)  # the unit's result first: a roll-up then combines the blended score
    if mine is not None:
        drafts = [draft for draft in drafts if draft.sheet_id in mine]
        unscored = [pk for pk in unscored if pk in mine]
    rollup.combine(period, drafts)
    if unscored and not anyway:
        missing = set(unscored)
        unscored = [d.sheet_id for d in drafts if d.sheet_id in missing and d.raw_score is None]
    if unscored and not anyway:
        names = [s.subject_label for s in Sheet.objects.filter(pk__in=unscored[:10]).select_related(
            "person", "team", "department").order_by("pk")]
        shown = listed(names) + (" …" if len(unscored) > 10 else "")
        raise ClosureRefused(
            _("Period %(period)s cannot be closed: %(count)s sheet(s) have no score yet: %(names)s.")
            % {"period": period.code, "count": len(unscored), "names": shown}
        )
    return drafts


def refuse_open_children(period: Period) -> None:
    """A period that rolls up child periods closes after them: refused naming those without results."""
    waiting = rollup.open_children(period)
    if waiting:
        raise ClosureRefused(
            _("Period %(period)s cannot be closed before its child periods: %(children)s have no results yet. "
              "Close them first.") % {"period": period.code, "children": listed(waiting)})


def flag_incomplete(drafts: Sequence[_Draft], incomplete: set[int], reason: str) -> None:
    for draft in drafts:
        if draft.sheet_id in incomplete:
            draft.flags = [{"rule": INCOMPLETE_FLAG, "outcome": "closed_anyway",
                            "message": _("Incomplete at close; missing ratings and data counted as 0. Closed anyway: "
                                         "%(reason)s") % {"reason": reason}}]


def _count_missing_as_zero(sheets: QuerySet[Sheet], drafts: Sequence[_Draft]) -> None:
    """The score at close of the normal sheets without a total (a line without data) when HR closes
    anyway: their lines without a score count 0 points (scoring.score_sheet). Three queries."""
    missing = sheets.filter(special_status=SpecialStatus.NORMAL, score__isnull=True)
    lines: dict[int, list[SheetLine]] = defaultdict(list)
    for line in SheetLine.objects.filter(sheet__in=missing).select_related("indicator").order_by("sort_order", "pk"):
        lines[line.sheet_id].append(line)
    found = list(missing.values_list("pk", "template_id", "template__base_score", "template__rounding"))
    parts: dict[int, list[TemplatePart]] = defaultdict(list)
    for part in TemplatePart.objects.filter(template_id__in={t for _pk, t, _base, _r in found}).order_by(
            "sort_order", "pk"):
        parts[part.template_id].append(part)
    scores: dict[int, SheetScore] = {
        pk: score_sheet(base, lines[pk], parts[template], missing_as_zero=True, rounding=rounding)
        for pk, template, base, rounding in found}
    for draft in drafts:
        if draft.sheet_id in scores:
            draft.raw_score = scores[draft.sheet_id].score


RESULT_COLUMNS = ["organization_id", "period_id", "sheet_id", "subject_kind", "person_id", "population",
                  "population_label", "status", "raw_score", "calibrated_score", "calibration_reason",
                  "appeal_score", "final_score", "rank", "band_grade", "grade", "grade_label", "coefficient",
                  "needs_calibration", "explanation", "flags", "confirmed_at", "acknowledged_at", "rollup"]




def result_values(draft: _Draft) -> tuple[Any, ...]:
    """A result's columns after its organisation, period and sheet (RESULT_COLUMNS[3:]), from its draft."""
    return (draft.subject_kind, draft.person_id, draft.population, draft.population_label, draft.status,
            draft.raw_score, None, "", None, draft.final_score, draft.rank, draft.band_grade, draft.grade,
            draft.grade_label, draft.coefficient, draft.needs_calibration, draft.explanation, draft.flags, None,
            None, draft.rollup)


def insert_results(period: Period, rows: Iterable[tuple[int, Sequence[Any]]], *, acting_user: User | None) -> list[int]:
    """Writes the results, (sheet id, result_values) each, then their audit rows ("+", closed, by
    whoever closed): one COPY each on PostgreSQL, and one query for the new ids in between. Returns
    the ids in the order of ``rows``."""
    kept = list(rows)
    insert_rows(Result, RESULT_COLUMNS, ((period.organization_id, period.pk, sheet_id, *values)
                                         for sheet_id, values in kept))
    ids = dict(Result.objects.filter(period=period).values_list("sheet_id", "pk"))
    audit = (timezone.now(), "closed", "+", acting_user.pk if acting_user else None)
    insert_rows(Result.history.model, ["id", *RESULT_COLUMNS, *HISTORY_COLUMNS],
                ((ids[sheet_id], period.organization_id, period.pk, sheet_id, *values, *audit)
                 for sheet_id, values in kept))
    return [ids[sheet_id] for sheet_id, _values in kept]


def publish_staged(period: Period, job_id: int, *, acting_user: User | None) -> list[int]:
    """Writes the results a close's parts staged (appraisal.StagedResult), in sheet order, with their
    audit rows, as insert_results does; returns their ids. On PostgreSQL in two INSERT … SELECT,
    each column cast from the staged JSON, so the rows never pass through Python (this step runs
    alone after every part, so it is what parts cannot share out)."""
    staged = StagedResult.objects.filter(job_id=job_id)
    if connection.vendor != "postgresql":
        return insert_results(period, staged.order_by("sheet_id").values_list("sheet_id", "values"),
                              acting_user=acting_user)
    quote = connection.ops.quote_name
    fields = {field.attname: field for field in Result._meta.concrete_fields}
    columns = ", ".join(quote(str(fields[name].column)) for name in RESULT_COLUMNS)
    picks = []
    for index, name in enumerate(RESULT_COLUMNS[3:]):
        kind = fields[name].db_type(connection)
        picks.append(f"NULLIF(v -> {index}, 'null'::jsonb)" if kind == "jsonb" else f"(v ->> {index})::{kind}")
    history = Result.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Result._meta.db_table)} ({columns}) SELECT organization_id, period_id, sheet_id, "
            f"{', '.join(picks)} FROM (SELECT organization_id, period_id, sheet_id, {quote('values')} AS v "
            f"FROM {quote(StagedResult._meta.db_table)} WHERE job_id = %s ORDER BY sheet_id) AS staged", [job_id])
        cursor.execute(
            f"INSERT INTO {quote(history)} (id, {columns}, {', '.join(HISTORY_COLUMNS)}) SELECT id, {columns}, "
            f"%s, %s, '+', %s FROM {quote(Result._meta.db_table)} WHERE period_id = %s",
            [timezone.now(), "closed", acting_user.pk if acting_user else None, period.pk])
    return list(Result.objects.filter(period=period).order_by("sheet_id").values_list("pk", flat=True))

