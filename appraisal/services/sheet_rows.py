"""The rows sheet generation writes (appraisal.services.sheets.generate_sheets), as plain tuples.

Opening a period of 100,000 people must take seconds: a Django model instance per sheet, line and
rater, and ``bulk_create`` preparing every value through its field, took most of a minute. Here
sheets, lines and raters are tuples (a sheet as :class:`SheetRow`, with the ids of its subject's
team, department and manager), and the rows of sheets made in this run are COPYed in
(core.bulk.insert_rows): nobody else can have written rows for a sheet this transaction has not
committed. A sheet that existed before gets only what it misses, through
``bulk_create(ignore_conflicts=True)`` as before.

New sheets get their ids first and go in last, after their lines and raters (the foreign keys are
checked at commit): the triggers that mark a sheet stale when its lines or raters are written
(migration 0006) then find no sheet to update, where they rewrote 100,000 just-made sheets, and
all their indexes, for a third of the time. A new sheet is stale anyway (data version 1, scored 0).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Model, Q
from django.utils.translation import gettext as _

from appraisal.models import Period, Rater, Sheet, SheetLine
from core.bulk import insert_rows
from indicators.models import Benchmark, RaterRole, SubjectKind, Template, TemplateLine, TemplateRater
from organizations.models import Person, Team

SubjectKey = tuple[str, int | None]

# New sheets up to which their subjects are read by id rather than all at once.
FEW_SUBJECTS = 1000


@dataclass
class Population:
    """What rater generation needs, read once (the subjects are appraisal.services.assignment's)."""

    heads: dict[int, list[int]]  # department id → person ids of its heads
    parent_of: dict[int, int | None]
    group_members: dict[int, list[int]]  # group id → person ids


@dataclass
class Templates:
    """The period's templates with what each puts on a sheet, and the targets lines start from,
    read once."""

    templates: list[Template]
    lines: dict[int, list[TemplateLine]]  # template id → its lines
    raters: dict[int, list[TemplateRater]]  # template id → its rater roles
    benchmarks: dict[int, list[Benchmark]]  # indicator id → the benchmarks valid in the period
    prior: dict[str, dict[tuple[int, Any], Decimal]]  # baseline source → earlier actuals by (indicator, subject)


class SheetRow(NamedTuple):
    """A sheet as generation reads it back: its ids, and those of its subject's team, department
    and manager (what targets and raters are chosen by)."""

    pk: int
    template_id: int
    subject_kind: str
    person_id: int | None
    team_id: int | None
    department_id: int | None
    person_manager_id: int | None
    person_team_id: int | None
    person_department_id: int | None
    team_department_id: int | None

    @property
    def unit_team_id(self) -> int | None:  # the sheet's team, or the person's
        return self.team_id or self.person_team_id

    @property
    def unit_department_id(self) -> int | None:  # the sheet's department, or its person's or team's
        return self.department_id or self.person_department_id or self.team_department_id


SHEET_READ = ("pk", "template_id", "subject_kind", "person_id", "team_id", "department_id", "person__manager_id",
              "person__team_id", "person__department_id", "team__department_id")
SHEET_SET = ("organization_id", "period_id", "template_id", "subject_kind", "person_id", "team_id", "department_id")
LINE_SET = ("organization_id", "sheet_id", "template_line_id", "indicator_id", "part_code", "source", "method",
            "config", "direction", "baseline_source", "max_points", "sort_order", "target")
RATER_SET = ("organization_id", "sheet_id", "role", "person_id", "department_id", "weight",
             "missing_counts_as_zero", "recused", "recusal_reason")


def with_defaults(model: type[Model], named: Sequence[str]) -> tuple[list[str], Any]:
    """The columns to write (``named`` then every other column but the key) and a function that
    completes a row of ``named`` values with the others' defaults, as ``bulk_create`` writes them.
    The defaults are made once: rows share them (an empty dict of ``inputs``), read-only."""
    rest = [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in named]
    names = [*named, *(f.attname for f in rest)]
    defaults = tuple(f.get_default() for f in rest)

    def complete(values: Sequence[Any]) -> tuple[Any, ...]:
        return (*values, *defaults)

    return names, complete


def subject_key(kind: str, person_id: int | None, team_id: int | None, department_id: int | None) -> SubjectKey:
    return kind, person_id or team_id or department_id


def read_sheets(period: Period) -> list[SheetRow]:
    """The period's sheets, in the order they were made. One query."""
    return [SheetRow(*row) for row in Sheet.objects.filter(period=period).order_by("pk").values_list(*SHEET_READ)]


def new_sheets(period: Period, assigned: Iterable[tuple[Template, Any]], existing: set[SubjectKey]) -> list[SheetRow]:
    """A sheet, with an id reserved for it, for every assigned subject that has none yet (a sheet
    made earlier stays as it is, whatever its template). Up to three queries."""
    wanted: list[tuple[Template, str, int]] = []
    for template, subject in assigned:
        key: SubjectKey = (template.subject_kind, subject.pk)
        if key not in existing:
            existing.add(key)  # a subject twice in the list gets one sheet, as the unique constraint has it
            wanted.append((template, template.subject_kind, subject.pk))
    if not wanted:
        return []
    kinds = {kind for _template, kind, _pk in wanted}
    # A few new subjects (a re-run after hiring) are read by id; many, with everyone.
    few = Q(pk__in=[pk for _template, _kind, pk in wanted]) if len(wanted) <= FEW_SUBJECTS else Q()
    people = ({pk: rest for pk, *rest in Person.objects.filter(few).values_list(
        "pk", "manager_id", "team_id", "department_id")} if SubjectKind.PERSON in kinds else {})
    teams = dict(Team.objects.filter(few).values_list("pk", "department_id")) if SubjectKind.TEAM in kinds else {}
    rows = []
    for pk, (template, kind, subject) in zip(reserve_ids(Sheet, len(wanted)), wanted, strict=True):
        person = subject if kind == SubjectKind.PERSON else None
        team = subject if kind == SubjectKind.TEAM else None
        manager, person_team, person_department = people.get(person, (None, None, None)) if person else (None,) * 3
        rows.append(SheetRow(pk, template.pk, kind, person, team, subject if kind == SubjectKind.DEPARTMENT else None,
                             manager, person_team, person_department, teams.get(team) if team else None))
    return rows


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` primary keys for rows about to be inserted with them: from the table's sequence on
    PostgreSQL (safe beside other writers); after the highest ever given elsewhere (SQLite)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, count])
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute("SELECT MAX(seq) FROM (SELECT MAX(id) AS seq FROM " + connection.ops.quote_name(table)
                       + " UNION ALL SELECT seq FROM sqlite_sequence WHERE name = %s)", [table])
        (last,) = cursor.fetchone() or (None,)
        return list(range((last or 0) + 1, (last or 0) + 1 + count))


def write_sheets(period: Period, sheets: list[SheetRow]) -> None:
    """COPYs the new sheets with their reserved ids."""
    if not sheets:
        return
    names, complete = with_defaults(Sheet, ("id", *SHEET_SET))
    insert_rows(Sheet, names, (complete((s.pk, period.organization_id, period.pk, s.template_id, s.subject_kind,
                                         s.person_id, s.team_id, s.department_id)) for s in sheets))


def write_rows(model: type[Model], named: Sequence[str], rows: list[tuple[Any, ...]], new: set[int],
               existing: set[tuple[Any, ...]], key: Any) -> None:
    """Writes the rows of sheets made in this run with COPY, and the rows an earlier sheet misses
    (``key(row)`` not in ``existing``) with ``bulk_create(ignore_conflicts=True)``. Within the
    rows the first of two with the same key wins, as it does in one INSERT … ON CONFLICT DO NOTHING.
    ``named`` starts with organization_id, sheet_id."""
    names, complete = with_defaults(model, named)
    fresh: list[tuple[Any, ...]] = []
    missing: list[tuple[Any, ...]] = []
    for row in rows:
        k = key(row)
        if k in existing:
            continue
        existing.add(k)
        (fresh if row[1] in new else missing).append(complete(row))
    if missing:
        model._default_manager.bulk_create([model(**dict(zip(names, row, strict=True))) for row in missing],
                                           ignore_conflicts=True)
    if fresh:
        insert_rows(model, names, fresh)


def line_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row[1], row[2]  # sheet, template line


def rater_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The unique constraints: one rater per sheet, role and person, or per department without a person.
    return (row[1], row[2], row[3]) if row[3] is not None else (row[1], row[2], None, row[4])


def line_rows(organization_id: int, sheets: Iterable[SheetRow], templates: Templates) -> Iterator[tuple[Any, ...]]:
    """A line per template line on every sheet (in LINE_SET's order), its target from a baseline
    or a benchmark."""
    prior = templates.prior
    snapshots: dict[int, list[tuple[TemplateLine, tuple[Any, ...]]]] = {
        template_id: [(t, (t.pk, t.indicator_id, t.part.code, t.source, t.indicator.method, t.effective_config(),
                           t.indicator.direction, t.indicator.baseline_source, t.max_points,
                           t.part.sort_order * 1000 + t.sort_order)) for t in tlines]
        for template_id, tlines in templates.lines.items()
    }
    for sheet in sheets:
        for tline, snapshot in snapshots.get(sheet.template_id, ()):
            source = tline.indicator.baseline_source
            if source in prior:
                key = subject_key(sheet.subject_kind, sheet.person_id, sheet.team_id, sheet.department_id)
                target = prior[source].get((tline.indicator_id, key))
            else:
                candidates = templates.benchmarks.get(tline.indicator_id)
                target = target_for(candidates, sheet.person_id, sheet.unit_team_id,
                                    sheet.unit_department_id) if candidates else None
            yield (organization_id, sheet.pk, *snapshot, target)


def target_for(candidates: list[Benchmark], person_id: int | None, team_id: int | None,
               department_id: int | None) -> Decimal | None:
    """The most specific benchmark: the subject's own, then its team's, then its department's, then
    the organisation's; a month-limited one beats an all-year one at the same level."""

    def rank(b: Benchmark) -> tuple[int, int] | None:
        if b.person_id is not None:
            level = 4 if b.person_id == person_id else None
        elif b.team_id is not None:
            level = 3 if b.team_id == team_id else None
        elif b.department_id is not None:
            level = 2 if b.department_id == department_id else None
        else:
            level = 1
        return None if level is None else (level, 1 if b.months else 0)

    ranked = [(r, b) for b in candidates if (r := rank(b)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1].value if ranked else None


def rater_rows(organization_id: int, sheets: list[SheetRow], templates: Templates,
               population: Population) -> list[tuple[Any, ...]]:
    """The raters every sheet's template roles give it (in RATER_SET's order; see :func:`_raters_for`)."""
    rows: list[tuple[Any, ...]] = []
    peers_by_template: dict[int, list[SheetRow]] = defaultdict(list)
    for sheet in sheets:
        if sheet.subject_kind != SubjectKind.PERSON:
            peers_by_template[sheet.template_id].append(sheet)
    being_assessed = _("being assessed")
    for sheet in sheets:
        for trater in templates.raters.get(sheet.template_id, ()):
            for person_id, department_id, recused in _raters_for(sheet, trater, population,
                                                                 peers_by_template[sheet.template_id]):
                reason = being_assessed if recused else ""
                rows.append((organization_id, sheet.pk, trater.role, person_id, department_id, trater.weight,
                             trater.missing_counts_as_zero, recused, reason))
    return rows


def _raters_for(sheet: SheetRow, trater: TemplateRater, population: Population,
                peers: list[SheetRow]) -> list[tuple[int | None, int | None, bool]]:
    """The raters a template role gives one sheet, as (person, department, recused). Nobody rates
    their own sheet except as "self"; a group member who is the subject stays on record, recused."""
    subject_person = sheet.person_id
    if trater.role == RaterRole.SELF:
        return [(subject_person, None, False)] if subject_person else []
    if trater.role == RaterRole.SUPERVISOR:
        supervisor = _supervisor_of(sheet, population)
        return [(supervisor, None, False)] if supervisor else []
    if trater.role == RaterRole.SECOND_LINE:
        heads = [h for h in population.heads.get(trater.department_id or 0, []) if h != subject_person]
        return [(heads[0], trater.department_id, False)] if heads else []
    if trater.role == RaterRole.GROUP:
        return [(m, None, m == subject_person) for m in population.group_members.get(trater.group_id or 0, [])]
    if trater.role == RaterRole.PEER_DEPARTMENTS:
        own = sheet.department_id or sheet.team_department_id
        # One rater per peer department, even when two peer sheets share it (shifts of a department).
        unique: dict[int, tuple[int | None, int | None, bool]] = {}
        for peer in peers:
            dept = peer.department_id or peer.team_department_id
            if peer.pk == sheet.pk or dept is None or dept == own:
                continue  # a department never scores itself
            heads = population.heads.get(dept, [])
            unique[dept] = (heads[0] if heads else None, dept, False)
        return list(unique.values())
    return []


def _supervisor_of(sheet: SheetRow, population: Population) -> int | None:
    """The person's manager, else the head of their department, walking up the tree past themself."""
    if sheet.person_id is not None:
        if sheet.person_manager_id and sheet.person_manager_id != sheet.person_id:
            return sheet.person_manager_id
        department_id: int | None = sheet.person_department_id
    elif sheet.team_id is not None:
        department_id = sheet.team_department_id
    else:
        department_id = population.parent_of.get(sheet.department_id or 0)
    while department_id is not None:
        heads = [h for h in population.heads.get(department_id, []) if h != sheet.person_id]
        if heads:
            return heads[0]
        department_id = population.parent_of.get(department_id)
    return None


def existing_keys(period: Period, any_old: bool) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The keys (line_key, rater_key) of the lines and raters of the sheets made before this run.
    Two queries, none when every sheet is new."""
    if not any_old:
        return set(), set()
    lines = set(SheetLine.objects.filter(sheet__period=period, template_line__isnull=False)
                .values_list("sheet_id", "template_line_id"))
    raters = {(sheet, role, person) if person is not None else (sheet, role, None, department)
              for sheet, role, person, department in Rater.objects.filter(sheet__period=period)
              .values_list("sheet_id", "role", "person_id", "department_id")}
    return lines, raters
