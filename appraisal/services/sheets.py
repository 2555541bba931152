"""Sheet generation: every sheet, line and rater an open period's templates call for, and the task
that runs it after the period is opened (:func:`appraisal.services.periods.open_period`).

Generation is set-based (a fixed number of queries whatever the head count) and idempotent (it
writes only what is missing, under a lock on the period's row), so a redelivered task adds nothing.
The rows are built as tuples and COPYed in (appraisal.services.sheet_rows).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.models import Period, PeriodTemplate, Rater, Sheet, SheetLine
from appraisal.periods import months_of
from appraisal.services.assignment import assign
from appraisal.services.common import IllegalTransition
from appraisal.services.sheet_rows import (
    LINE_SET,
    RATER_SET,
    Population,
    Templates,
    existing_keys,
    line_key,
    line_rows,
    new_sheets,
    rater_key,
    rater_rows,
    read_sheets,
    subject_key,
    target_for,
    write_rows,
    write_sheets,
)
from core.bulk import analyze, no_cyclic_gc
from indicators.models import BaselineSource, Benchmark, Indicator, Template, TemplateLine, TemplateRater
from organizations.models import Department, DepartmentHead, ReviewGroupMember
from organizations.tasks import TenantTask

# Sheets generated at once from which the tables' planner statistics are refreshed right away.
ANALYZE_AFTER = 1000


def _population() -> Population:
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
    return Population(
        heads=heads,
        parent_of=dict(Department.objects.values_list("pk", "parent_id")),
        group_members=members,
    )


def _templates(period: Period) -> Templates:
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
    return Templates(templates=templates, lines=template_lines, raters=template_raters, benchmarks=benchmarks,
                      prior=prior)


def generate_sheets(*, period: Period) -> dict[str, int]:
    """Creates every missing sheet, line and rater of an open period. Idempotent and set-based.
    Each subject gets the one template appraisal.services.assignment gives it; a tie between
    templates raises AssignmentConflict and creates nothing. Writes no audit rows (nor did the
    ``bulk_create`` it replaced): a generated sheet's history starts at its first edit."""
    if period.state == Period.State.DRAFT:
        raise IllegalTransition(_("Period %(period)s is still a draft; open it first.") % {"period": period.code})
    templates = _templates(period)
    assigned = assign(period=period, templates=templates.templates)
    population = _population()
    org = period.organization_id
    with transaction.atomic(), no_cyclic_gc():
        # Rows are COPYed, which knows no "on conflict": two runs at once (a redelivered task) take
        # turns on the period's row, and the second finds the first one's sheets.
        list(Period.objects.select_for_update().filter(pk=period.pk).values_list("pk"))
        old = read_sheets(period)
        new = new_sheets(period, assigned, {subject_key(s.subject_kind, s.person_id, s.team_id, s.department_id)
                                            for s in old})
        sheets, created = old + new, {sheet.pk for sheet in new}
        old_lines, old_raters = existing_keys(period, bool(old))
        write_rows(SheetLine, LINE_SET, list(line_rows(org, sheets, templates)), created, old_lines, line_key)
        write_rows(Rater, RATER_SET, rater_rows(org, sheets, templates, population), created, old_raters, rater_key)
        write_sheets(period, new)  # last: see appraisal.services.sheet_rows
        Period.objects.filter(pk=period.pk).update(sheets_generated_at=timezone.now())
        if len(new) >= ANALYZE_AFTER:
            analyze(Sheet, SheetLine, Rater)
    return {"sheets": len(sheets), "created": len(new)}


def default_target(*, period: Period, sheet: Sheet, indicator: Indicator) -> Decimal | None:
    """The target a line of ``indicator`` starts from on ``sheet``, as generation gives a template
    line (a baseline from an earlier period, else the most specific benchmark): for a line added
    to one sheet (appraisal.services.entry.add_sheet_line)."""
    source = indicator.baseline_source
    if source in (BaselineSource.LAST_PERIOD, BaselineSource.SAME_PERIOD_LAST_YEAR):
        key = subject_key(sheet.subject_kind, sheet.person_id, sheet.team_id, sheet.department_id)
        return _prior_actuals(period, source, {indicator.pk}).get((indicator.pk, key))
    person, team = sheet.person, sheet.team
    team_id = sheet.team_id or (person.team_id if person else None)
    department_id = sheet.department_id or (
        person.department_id if person else team.department_id if team else None
    )
    return target_for(_benchmarks_by_indicator({indicator.pk}, period).get(indicator.pk, []), sheet.person_id,
                      team_id, department_id)


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


@shared_task(base=TenantTask, bind=True, name="appraisal.generate_sheets", acks_late=True)
def generate_sheets_task(self: TenantTask, *, organization_id: int, period_id: int) -> dict[str, int]:
    return generate_sheets(period=Period.objects.get(pk=period_id))
