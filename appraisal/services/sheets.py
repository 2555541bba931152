"""Sheet generation: every sheet, line and rater an open period's templates call for, and the task
that runs it after the period is opened (:func:`appraisal.services.periods.open_period`).

Generation is set-based (a fixed number of queries whatever the head count) and idempotent
(unique constraints + ignore_conflicts), so a redelivered task adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.models import Period, PeriodTemplate, Rater, Sheet, SheetLine
from appraisal.periods import months_of
from appraisal.services.assignment import Subject, assign
from appraisal.services.common import IllegalTransition
from core.bulk import analyze
from indicators.models import (
    BaselineSource,
    Benchmark,
    Indicator,
    RaterRole,
    SubjectKind,
    Template,
    TemplateLine,
    TemplateRater,
)
from organizations.models import Department, DepartmentHead, ReviewGroupMember
from organizations.tasks import TenantTask

# Sheets generated at once from which the tables' planner statistics are refreshed right away.
ANALYZE_AFTER = 1000


@dataclass
class _Population:
    """What rater generation needs, read once (the subjects are appraisal.services.assignment's)."""

    heads: dict[int, list[int]]  # department id → person ids of its heads
    parent_of: dict[int, int | None]
    group_members: dict[int, list[int]]  # group id → person ids


@dataclass
class _Templates:
    """The period's templates with what each puts on a sheet, and the targets lines start from,
    read once."""

    templates: list[Template]
    lines: dict[int, list[TemplateLine]]  # template id → its lines
    raters: dict[int, list[TemplateRater]]  # template id → its rater roles
    benchmarks: dict[int, list[Benchmark]]  # indicator id → the benchmarks valid in the period
    prior: dict[str, dict[tuple[int, Any], Decimal]]  # baseline source → earlier actuals (see _prior_actuals)


def _population() -> _Population:
    heads: dict[int, list[int]] = defaultdict(list)
    for dept_id, person_id in DepartmentHead.objects.filter(membership__person__isnull=False).values_list(
        "department_id", "membership__person_id"
    ):
        heads[dept_id].append(person_id)
    members: dict[int, list[int]] = defaultdict(list)
    for group_id, person_id in ReviewGroupMember.objects.filter(membership__person__isnull=False).values_list(
        "group_id", "membership__person_id"
    ):
        members[group_id].append(person_id)
    return _Population(
        heads=heads,
        parent_of=dict(Department.objects.values_list("pk", "parent_id")),
        group_members=members,
    )


def _templates(period: Period) -> _Templates:
    templates = list(
        Template.objects.filter(pk__in=PeriodTemplate.objects.filter(period=period).values("template_id"))
    )
    template_lines: dict[int, list[TemplateLine]] = defaultdict(list)
    for line in TemplateLine.objects.filter(part__template__in=templates).select_related("indicator", "part"):
        template_lines[line.part.template_id].append(line)
    template_raters: dict[int, list[TemplateRater]] = defaultdict(list)
    for rater in TemplateRater.objects.filter(template__in=templates):
        template_raters[rater.template_id].append(rater)
    indicator_ids = {line.indicator_id for lines in template_lines.values() for line in lines}
    benchmarks = _benchmarks_by_indicator(indicator_ids, period)
    prior: dict[str, dict[tuple[int, Any], Decimal]] = {
        source: _prior_actuals(period, source, indicator_ids)
        for source in (BaselineSource.LAST_PERIOD, BaselineSource.SAME_PERIOD_LAST_YEAR)
    }
    return _Templates(templates=templates, lines=template_lines, raters=template_raters, benchmarks=benchmarks,
                      prior=prior)


def generate_sheets(*, period: Period) -> dict[str, int]:
    """Creates every missing sheet, line and rater of an open period. Idempotent and set-based.
    Each subject gets the one template appraisal.services.assignment gives it; a tie between
    templates raises AssignmentConflict and creates nothing."""
    if period.state == Period.State.DRAFT:
        raise IllegalTransition(_("Period %(period)s is still a draft; open it first.") % {"period": period.code})
    templates = _templates(period)
    assigned = assign(period=period, templates=templates.templates)
    population = _population()
    with transaction.atomic():
        before, sheets = _create_sheets(period, assigned)
        SheetLine.objects.bulk_create(_sheet_lines(period, sheets, templates), ignore_conflicts=True)
        Rater.objects.bulk_create(_sheet_raters(sheets, templates, population), ignore_conflicts=True)
        created = len(sheets) - before
        Period.objects.filter(pk=period.pk).update(sheets_generated_at=timezone.now())
        if created >= ANALYZE_AFTER:
            analyze(Sheet, SheetLine, Rater)
    return {"sheets": len(sheets), "created": created}


def _create_sheets(period: Period, assigned: list[tuple[Template, Subject]]) -> tuple[int, list[Sheet]]:
    """Creates the missing sheets; returns how many the period had before, and all of them now."""
    # A subject has one template (the assignment refuses ties); a sheet made earlier stays as it is.
    wanted = [Sheet(organization_id=period.organization_id, period=period, template=template,
                    subject_kind=template.subject_kind, **{f"{template.subject_kind}_id": subject.pk})
              for template, subject in assigned]
    before = Sheet.objects.filter(period=period).count()
    Sheet.objects.bulk_create(wanted, ignore_conflicts=True)
    return before, list(Sheet.objects.filter(period=period).select_related("person", "team", "department"))


def _sheet_lines(period: Period, sheets: list[Sheet], templates: _Templates) -> list[SheetLine]:
    """A line per template line on every sheet, its target from a baseline or a benchmark."""
    prior = templates.prior
    lines = []
    for sheet in sheets:
        for tline in templates.lines[sheet.template_id]:
            config = tline.effective_config()
            lines.append(SheetLine(
                organization_id=period.organization_id, sheet=sheet, template_line=tline,
                indicator=tline.indicator, part_code=tline.part.code, source=tline.source,
                method=tline.indicator.method, config=config, direction=tline.indicator.direction,
                baseline_source=tline.indicator.baseline_source, max_points=tline.max_points,
                target=(
                    prior[tline.indicator.baseline_source].get((tline.indicator_id, _subject_key(sheet)))
                    if tline.indicator.baseline_source in prior
                    else _target_for(templates.benchmarks.get(tline.indicator_id, []), sheet)
                ),
                sort_order=tline.part.sort_order * 1000 + tline.sort_order,
            ))
    return lines


def _sheet_raters(sheets: list[Sheet], templates: _Templates, population: _Population) -> list[Rater]:
    """The raters every sheet's template roles give it (see :func:`_raters_for`)."""
    raters = []
    peers_by_template = defaultdict(list)
    for sheet in sheets:
        if sheet.subject_kind != SubjectKind.PERSON:
            peers_by_template[sheet.template_id].append(sheet)
    for sheet in sheets:
        for trater in templates.raters[sheet.template_id]:
            raters += _raters_for(sheet, trater, population, peers_by_template[sheet.template_id])
    return raters


def default_target(*, period: Period, sheet: Sheet, indicator: Indicator) -> Decimal | None:
    """The target a line of ``indicator`` starts from on ``sheet``, as generation gives a template
    line (a baseline from an earlier period, else the most specific benchmark): for a line added
    to one sheet (appraisal.services.entry.add_sheet_line)."""
    source = indicator.baseline_source
    if source in (BaselineSource.LAST_PERIOD, BaselineSource.SAME_PERIOD_LAST_YEAR):
        return _prior_actuals(period, source, {indicator.pk}).get((indicator.pk, _subject_key(sheet)))
    return _target_for(_benchmarks_by_indicator({indicator.pk}, period).get(indicator.pk, []), sheet)


def _subject_key(sheet: Sheet) -> tuple[str, int | None]:
    return sheet.subject_kind, sheet.person_id or sheet.team_id or sheet.department_id


def _prior_actuals(period: Period, source: str, indicator_ids: set[int]) -> dict[tuple[int, Any], Decimal]:
    """Actuals of the previous period (or the same period a year earlier) by indicator and subject:
    the baseline for completion lines that compare against themselves. One query."""
    if source == BaselineSource.LAST_PERIOD:
        prior = Period.objects.filter(kind=period.kind, end=period.start - dt.timedelta(days=1)).first()
    else:
        prior = Period.objects.filter(kind=period.kind, year=period.year - 1, number=period.number).first()
    if prior is None:
        return {}
    rows = SheetLine.objects.filter(sheet__period=prior, indicator_id__in=indicator_ids, actual__isnull=False)
    fields = ("indicator_id", "sheet__subject_kind", "sheet__person_id", "sheet__team_id", "sheet__department_id",
              "actual")
    return {
        (indicator_id, (kind, person or team or department)): actual
        for indicator_id, kind, person, team, department, actual in rows.values_list(*fields)
        if actual is not None  # filtered in SQL; this tells the type checker
    }


def _benchmarks_by_indicator(indicator_ids: set[int], period: Period) -> dict[int, list[Benchmark]]:
    months = months_of(period.start, period.end)
    result: dict[int, list[Benchmark]] = defaultdict(list)
    rows = Benchmark.objects.filter(indicator_id__in=indicator_ids).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=period.end),
        Q(valid_to__isnull=True) | Q(valid_to__gte=period.end),
    )
    for benchmark in rows:
        if not benchmark.months or months & set(benchmark.months):
            result[benchmark.indicator_id].append(benchmark)
    return result


def _target_for(candidates: list[Benchmark], sheet: Sheet) -> Decimal | None:
    """The most specific benchmark: the subject's own, then its team's, then its department's, then
    the organisation's; a month-limited one beats an all-year one at the same level."""
    person_id = sheet.person_id
    team_id = sheet.team_id or (sheet.person.team_id if sheet.person else None)
    department_id = sheet.department_id or (
        sheet.person.department_id if sheet.person else sheet.team.department_id if sheet.team else None
    )

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


def _raters_for(sheet: Sheet, trater: TemplateRater, population: _Population, peers: list[Sheet]) -> list[Rater]:
    """The raters a template role gives one sheet. Nobody rates their own sheet except as "self";
    a group member who is the subject stays on record, recused."""
    subject_person = sheet.person_id
    org = sheet.organization_id

    def rater(person_id: int | None, department_id: int | None = None, *, recused: str = "") -> Rater:
        return Rater(organization_id=org, sheet=sheet, role=trater.role, person_id=person_id,
                     department_id=department_id, weight=trater.weight,
                     missing_counts_as_zero=trater.missing_counts_as_zero,
                     recused=bool(recused), recusal_reason=recused)

    if trater.role == RaterRole.SELF:
        return [rater(subject_person)] if subject_person else []
    if trater.role == RaterRole.SUPERVISOR:
        supervisor = _supervisor_of(sheet, population)
        return [rater(supervisor)] if supervisor else []
    if trater.role == RaterRole.SECOND_LINE:
        heads = [h for h in population.heads.get(trater.department_id or 0, []) if h != subject_person]
        return [rater(heads[0], trater.department_id)] if heads else []
    if trater.role == RaterRole.GROUP:
        members = population.group_members.get(trater.group_id or 0, [])
        return [rater(m, recused=_("being assessed") if m == subject_person else "") for m in members]
    if trater.role == RaterRole.PEER_DEPARTMENTS:
        own = sheet.department_id or (sheet.team.department_id if sheet.team else None)
        result = []
        for peer in peers:
            dept = peer.department_id or (peer.team.department_id if peer.team else None)
            if peer.pk == sheet.pk or dept is None or dept == own:
                continue  # a department never scores itself
            heads = population.heads.get(dept, [])
            result.append(rater(heads[0] if heads else None, dept))
        # One rater per peer department, even when two peer sheets share it (shifts of a department).
        unique = {r.department_id: r for r in result}
        return list(unique.values())
    return []


def _supervisor_of(sheet: Sheet, population: _Population) -> int | None:
    """The person's manager, else the head of their department, walking up the tree past themself."""
    if sheet.person is not None:
        if sheet.person.manager_id and sheet.person.manager_id != sheet.person_id:
            return sheet.person.manager_id
        department_id: int | None = sheet.person.department_id
    elif sheet.team is not None:
        department_id = sheet.team.department_id
    else:
        department_id = population.parent_of.get(sheet.department_id or 0)
    while department_id is not None:
        heads = [h for h in population.heads.get(department_id, []) if h != sheet.person_id]
        if heads:
            return heads[0]
        department_id = population.parent_of.get(department_id)
    return None


@shared_task(base=TenantTask, bind=True, name="appraisal.generate_sheets", acks_late=True)
def generate_sheets_task(self: TenantTask, *, organization_id: int, period_id: int) -> dict[str, int]:
    return generate_sheets(period=Period.objects.get(pk=period_id))
