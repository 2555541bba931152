"""Writes for periods and score sheets: create and open a period, generate its sheets, enter
actuals and ratings, record deductions, and score.

Sheet generation is set-based (a fixed number of queries whatever the head count) and idempotent
(unique constraints + ignore_conflicts), so a redelivered task adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.models import (
    STALE,
    TRANSITIONS,
    DeductionRecord,
    GradingPolicy,
    Period,
    PeriodTemplate,
    Rater,
    Rating,
    Sheet,
    SheetLine,
)
from appraisal.periods import months_of, period_bounds, period_code
from core.bulk import analyze, no_cyclic_gc, update_with_history
from core.numbers import quantize
from core.translation import cached_translations
from indicators import scoring
from indicators.models import (
    BaselineSource,
    Benchmark,
    LineSource,
    RaterRole,
    SubjectKind,
    Template,
    TemplateLine,
    TemplateRater,
)
from indicators.services import plain
from organizations.models import Department, DepartmentHead, Organization, Person, ReviewGroupMember, Team, User
from organizations.tenancy import BULK_BATCH_SIZE

ZERO = Decimal("0")


class IllegalTransition(Exception):
    pass


class LineConflict(Exception):
    """Someone else saved the line since the caller read it."""

    def __init__(self, line: SheetLine, who: str, when: dt.datetime | None) -> None:
        self.line, self.who, self.when = line, who, when
        moment = timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") if when else "?"
        super().__init__(
            _("%(who)s changed this line at %(when)s while you were editing it. Reload to see their values, then "
              "enter yours again.") % {"who": who or _("someone"), "when": moment}
        )


# --- periods ------------------------------------------------------------------------------------


@transaction.atomic
def create_period(*, organization: Organization, acting_user: User | None, kind: str, year: int, number: int,
                  templates: Iterable[Template], start_day: int = 1, name: str = "",
                  deadlines: Mapping[str, dt.datetime] | None = None,
                  grading_policy: GradingPolicy | None = None) -> Period:
    start, end = period_bounds(kind, year, number, start_day)
    code = period_code(kind, year, number)
    period = Period(organization=organization, code=code, name=name or code, kind=kind, year=year, number=number,
                    start_day=start_day, start=start, end=end, grading_policy=grading_policy, **(deadlines or {}))
    period.full_clean()
    period._history_user = acting_user  # type: ignore[attr-defined]
    period.save()
    PeriodTemplate.objects.bulk_create(
        PeriodTemplate(organization=organization, period=period, template=t) for t in templates
    )
    return period


def set_grading_policy(*, period: Period, policy: GradingPolicy | None, acting_user: User | None) -> Period:
    """Chooses the grading policy (a version) the period will be closed with. Refused once the
    period is closed: its results were graded with the version it has."""
    current = Period.objects.get(pk=period.pk)
    if current.state in (Period.State.CLOSED, Period.State.PUBLISHED, Period.State.FINAL):
        raise IllegalTransition(
            _("Period %(period)s is %(state)s: its grading policy can no longer change.")
            % {"period": current.code, "state": current.get_state_display()}
        )
    if current.grading_policy_id == (policy.pk if policy else None):
        return current
    current.grading_policy = policy
    current._history_user = acting_user  # type: ignore[attr-defined]
    current._change_reason = "grading policy"  # type: ignore[attr-defined]
    current.save(update_fields=["grading_policy"])
    period.grading_policy = policy
    return current


def transition(*, period: Period, to: str, acting_user: User | None, reason: str = "") -> Period:
    """Moves a period one step along TRANSITIONS, or refuses naming the state it is in.

    The conditional UPDATE is the claim: of two concurrent requests for the same step, one
    changes the row and the other is refused, so a step's side effects happen once.
    """
    current = Period.objects.get(pk=period.pk)
    allowed = TRANSITIONS.get(current.state, frozenset())
    target_label = Period.State(to).label if to in Period.State.values else to
    if to not in allowed:
        raise IllegalTransition(
            _("Period %(period)s cannot go to %(target)s: it is %(state)s.")
            % {"period": current.code, "target": target_label, "state": current.get_state_display()}
        )
    with transaction.atomic():
        previous = current.state
        claimed = Period.objects.filter(pk=period.pk, state=previous).update(state=to)
        if not claimed:
            current.refresh_from_db()
            raise IllegalTransition(
                _("Period %(period)s cannot go to %(target)s: it is %(state)s.")
                % {"period": current.code, "target": target_label, "state": current.get_state_display()}
            )
        current.refresh_from_db()
        current._history_user = acting_user  # type: ignore[attr-defined]
        current._change_reason = reason or f"{previous} → {to}"  # type: ignore[attr-defined]
        current.save(update_fields=["state"])
    period.state = current.state
    return current


def open_period(*, period: Period, acting_user: User | None) -> Period:
    """draft → open, then sheets are generated by a task sent after commit."""
    from appraisal.tasks import generate_sheets_task
    from organizations.tasks import enqueue

    with transaction.atomic():
        opened = transition(period=period, to=Period.State.OPEN, acting_user=acting_user, reason="opened")
        enqueue(generate_sheets_task, organization_id=period.organization_id, period_id=period.pk)
    return opened


def _require_entries(period: Period) -> None:
    if not period.accepts_entries():
        raise IllegalTransition(
            _("Period %(period)s is %(state)s: its figures can no longer be entered.")
            % {"period": period.code, "state": period.get_state_display()}
        )


# --- sheet generation ---------------------------------------------------------------------------


@dataclass
class _Population:
    """Everything sheet generation needs, read once."""

    people: list[Person]
    teams: list[Team]
    departments: list[Department]
    heads: dict[int, list[int]]  # department id → person ids of its heads
    parent_of: dict[int, int | None]
    group_members: dict[int, list[int]]  # group id → person ids


def _population() -> _Population:
    departments = list(Department.objects.filter(is_active=True).select_related("department_type"))
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
        people=list(Person.objects.exclude(status=Person.Status.LEFT).select_related("department__department_type")),
        teams=list(Team.objects.filter(is_active=True).select_related("department__department_type")),
        departments=departments,
        heads=heads,
        parent_of={d.pk: d.parent_id for d in Department.objects.all()},
        group_members=members,
    )


def _subjects(template: Template, population: _Population, period: Period) -> list[Person | Team | Department]:
    type_id = template.department_type_id
    if template.subject_kind == SubjectKind.PERSON:
        return [
            p for p in population.people
            if (type_id is None or p.department.department_type_id == type_id)
            and (not template.position or p.position == template.position)
            and (p.hire_date is None or p.hire_date <= period.end)
            and (p.leave_date is None or p.leave_date >= period.start)
        ]
    if template.subject_kind == SubjectKind.TEAM:
        return [
            t for t in population.teams
            if (type_id is None or t.department.department_type_id == type_id)
            and (not template.team_kind or t.kind == template.team_kind)
        ]
    return [d for d in population.departments if type_id is None or d.department_type_id == type_id]


def generate_sheets(*, period: Period) -> dict[str, int]:
    """Creates every missing sheet, line and rater of an open period. Idempotent and set-based."""
    if period.state == Period.State.DRAFT:
        raise IllegalTransition(_("Period %(period)s is still a draft; open it first.") % {"period": period.code})
    population = _population()
    templates = list(
        Template.objects.filter(pk__in=PeriodTemplate.objects.filter(period=period).values("template_id"))
    )
    template_lines = defaultdict(list)
    for line in TemplateLine.objects.filter(part__template__in=templates).select_related("indicator", "part"):
        template_lines[line.part.template_id].append(line)
    template_raters = defaultdict(list)
    for rater in TemplateRater.objects.filter(template__in=templates):
        template_raters[rater.template_id].append(rater)
    indicator_ids = {line.indicator_id for lines in template_lines.values() for line in lines}
    benchmarks = _benchmarks_by_indicator(indicator_ids, period)
    prior: dict[str, dict[tuple[int, Any], Decimal]] = {
        source: _prior_actuals(period, source, indicator_ids)
        for source in (BaselineSource.LAST_PERIOD, BaselineSource.SAME_PERIOD_LAST_YEAR)
    }

    with transaction.atomic():
        # A subject on two templates of the same period would be ambiguous; the first template wins
        # (the unique constraint), and the count below shows HR how many were created.
        wanted = []
        for template in templates:
            for subject in _subjects(template, population, period):
                wanted.append(Sheet(organization_id=period.organization_id, period=period, template=template,
                                    subject_kind=template.subject_kind, **{template.subject_kind: subject}))
        before = Sheet.objects.filter(period=period).count()
        Sheet.objects.bulk_create(wanted, ignore_conflicts=True)
        sheets = list(Sheet.objects.filter(period=period).select_related("person", "team", "department"))

        lines = []
        for sheet in sheets:
            for tline in template_lines[sheet.template_id]:
                config = tline.effective_config()
                lines.append(SheetLine(
                    organization_id=period.organization_id, sheet=sheet, template_line=tline,
                    indicator=tline.indicator, part_code=tline.part.code, source=tline.source,
                    method=tline.indicator.method, config=config, direction=tline.indicator.direction,
                    baseline_source=tline.indicator.baseline_source, max_points=tline.max_points,
                    target=(
                        prior[tline.indicator.baseline_source].get((tline.indicator_id, _subject_key(sheet)))
                        if tline.indicator.baseline_source in prior
                        else _target_for(benchmarks.get(tline.indicator_id, []), sheet)
                    ),
                    sort_order=tline.part.sort_order * 1000 + tline.sort_order,
                ))
        SheetLine.objects.bulk_create(lines, ignore_conflicts=True)

        raters = []
        peers_by_template = defaultdict(list)
        for sheet in sheets:
            if sheet.subject_kind != SubjectKind.PERSON:
                peers_by_template[sheet.template_id].append(sheet)
        for sheet in sheets:
            for trater in template_raters[sheet.template_id]:
                raters += _raters_for(sheet, trater, population, peers_by_template[sheet.template_id])
        Rater.objects.bulk_create(raters, ignore_conflicts=True)
        created = len(sheets) - before
        Period.objects.filter(pk=period.pk).update(sheets_generated_at=timezone.now())
        if created >= ANALYZE_AFTER:
            analyze(Sheet, SheetLine, Rater)
    return {"sheets": len(sheets), "created": created}


# Sheets generated at once from which the tables' planner statistics are refreshed right away.
ANALYZE_AFTER = 1000


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


# --- entering data ------------------------------------------------------------------------------

LINE_FIELDS = ("target", "actual", "inputs", "rating", "accepted", "acceptance_round")


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
        _lock_sheet(sheet_id)
    line = SheetLine.objects.select_for_update(of=("self",)).select_related("sheet__person", "sheet__period").get(
        pk=line_id
    )
    _require_entries(line.sheet.period)
    if line.version != expected_version:
        latest = line.history.order_by("-history_date").first()
        who = str(latest.history_user) if latest and latest.history_user else ""
        raise LineConflict(line, who, latest.history_date if latest else None)
    if all(getattr(line, name) == value for name, value in changes.items()):
        return line
    for name, value in changes.items():
        setattr(line, name, value)
    _score_line(line, ratings=None, occurrences=None)
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
    _require_entries(line.sheet.period)
    if rater.recused:
        raise IllegalTransition(_("You are recused from this sheet: %(reason)s.") % {"reason": rater.recusal_reason})
    if line.source != LineSource.RATERS:
        raise IllegalTransition(_("This line is scored from data, not by raters."))
    _lock_sheet(line.sheet_id)
    current = Rating.objects.select_for_update().filter(line=line, rater=rater).first()
    if current is not None and expected_version is not None and current.version != expected_version:
        latest = current.history.order_by("-history_date").first()
        raise LineConflict(line, str(latest.history_user) if latest and latest.history_user else "",
                           latest.history_date if latest else None)
    record = current or Rating(organization_id=line.organization_id, line=line, rater=rater)
    if current is not None and (current.rating, current.actual, current.comment) == (rating, actual, comment):
        return current
    record.rating, record.actual, record.comment = rating, actual, comment
    result = scoring.score(line.method, line.config, _line_input(line, rating=rating or None, actual=actual))
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
    _require_entries(line.sheet.period)
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
    _lock_sheet(line.sheet_id)
    record._history_user = acting_user  # type: ignore[attr-defined]
    record.save()
    rescore_line(line=line, acting_user=acting_user)
    rescore_sheets(sheet_ids=[line.sheet_id], acting_user=acting_user)
    return record


# --- scoring ------------------------------------------------------------------------------------


def baseline_from_inputs(line: SheetLine | LineRow) -> tuple[Decimal | None, str]:
    """A baseline entered with the data: the input "baseline" itself, or the mean of the ten-day
    averages tenday_1, tenday_2, … (S1-8). Returns the value and how it was derived."""
    inputs = line.inputs or {}
    if line.baseline_source == BaselineSource.INPUT and "baseline" in inputs:
        return Decimal(str(inputs["baseline"])), ""
    if line.baseline_source == BaselineSource.TEN_DAY_AVERAGE:
        values = [Decimal(str(v)) for k, v in sorted(inputs.items()) if k.startswith("tenday_")]
        if values:
            mean = sum(values, ZERO) / len(values)
            return mean, _("baseline = mean of %(n)s ten-day averages = %(value)s") % {
                "n": len(values), "value": quantize(mean, 4).normalize()}
    return None, ""


def _line_input(line: SheetLine | LineRow, *, rating: str | None = None, actual: Decimal | None = None,
                occurrences: Mapping[str, int] | None = None) -> scoring.LineInput:
    inputs = {k: Decimal(str(v)) for k, v in (line.inputs or {}).items()}
    target = line.target
    if target is None and line.baseline_source:
        target, _how = baseline_from_inputs(line)
    return scoring.LineInput(
        max_points=line.max_points, direction=line.direction, target=target,
        actual=actual if actual is not None else line.actual, inputs=inputs, occurrences=occurrences or {},
        rating=rating if rating is not None else (line.rating or None), accepted=line.accepted,
        acceptance_round=line.acceptance_round,
        subject=_subject_of(line),
    )


def _subject_of(line: SheetLine | LineRow) -> str:
    if isinstance(line, LineRow):
        return line.subject
    return line.sheet.subject_label if "sheet" in line._state.fields_cache else ""


def _score_line(line: SheetLine | LineRow, *, ratings: list[Rating] | None,
                occurrences: Mapping[str, int] | None, spec: Any = None) -> None:
    """Sets line.score / money / explanation in memory. Data lines score from their own data (and
    recorded occurrences); rated lines combine their raters' scores by weight."""
    if line.source == LineSource.RATERS:
        if ratings is None:
            ratings = list(Rating.objects.filter(line_id=line.pk).select_related("rater"))
        raters = list(Rater.objects.filter(sheet_id=line.sheet_id)) if ratings is not None else []
        line.score, line.explanation = combine_ratings(raters, ratings)
        line.money = Decimal("0.00")
        return
    if occurrences is None:
        occurrences = dict(
            DeductionRecord.objects.filter(line_id=line.pk).values("item_code").annotate(n=Sum("count"))
            .values_list("item_code", "n")
        )
    try:
        result = scoring.score(line.method, line.config, _line_input(line, occurrences=occurrences), spec=spec)
    except scoring.ScoringError as error:
        line.score, line.money, line.explanation = None, Decimal("0.00"), str(error)
        return
    line.score, line.money, line.explanation = result.points, result.money, result.explanation
    if line.target is None and line.baseline_source:
        _value, how = baseline_from_inputs(line)
        if how:
            line.explanation = f"{how}; {line.explanation}"


def combine_ratings(raters: Sequence[Rater | RaterRow],
                    ratings: Sequence[Rating | RatingRow]) -> tuple[Decimal | None, str]:
    """Weighted mean of the raters' scores. A role's weight is shared among its raters; recused
    raters do not count; a missing rating counts as 0 where the template says so (S1-9 self-
    assessment), otherwise the remaining weights are scaled up to 1."""
    by_rater = {r.rater_id: r for r in ratings if r.score is not None}
    per_role: dict[str, list[Rater | RaterRow]] = defaultdict(list)
    for rater in raters:
        if not rater.recused:
            per_role[rater.role].append(rater)
    total_weight, weighted, parts = ZERO, ZERO, []
    for role, members in per_role.items():
        share = members[0].weight / len(members)
        for rater in members:
            rating = by_rater.get(rater.pk)
            if rating is None and not rater.missing_counts_as_zero:
                continue
            value = rating.score if rating is not None and rating.score is not None else ZERO
            total_weight += share
            weighted += share * value
            parts.append(f"{RaterRole(role).label} {quantize(share * 100)}% × {value}")
    if total_weight == 0:
        return None, _("No ratings yet.")
    score = quantize(weighted / total_weight)
    return score, "; ".join(parts) + f" → {score}"


def rescore_line(*, line: SheetLine, acting_user: User | None) -> SheetLine:
    _score_line(line, ratings=None, occurrences=None)
    line.version += 1
    line._history_user = acting_user  # type: ignore[attr-defined]
    line._change_reason = "rescored"  # type: ignore[attr-defined]
    line.save()
    return line


@dataclass(frozen=True)
class SheetScore:
    score: Decimal | None
    parts: dict[str, Decimal]
    explanation: str
    missing: list[str]


def score_sheet(base: Decimal, lines: Sequence[SheetLine | LineRow], template_parts: Sequence[Any]) -> SheetScore:
    """final = base score × Σ part weight × (part points / part full marks); a part with
    cap_positive earns at most its full marks but may go below zero (S1-8 security)."""
    by_part: dict[str, Decimal] = defaultdict(lambda: ZERO)
    missing = []
    for line in lines:
        if line.score is None:
            missing.append(_indicator_name(line))
        else:
            by_part[line.part_code] += line.score
    if missing:
        return SheetScore(None, dict(by_part), _("Not scored yet: %(lines)s") % {"lines": ", ".join(missing)}, missing)
    total, pieces = ZERO, []
    for part in template_parts:
        points = by_part[part.code]
        if part.cap_positive and points > part.full_marks:
            points = part.full_marks
        contribution = base * part.weight * points / part.full_marks
        total += contribution
        pieces.append(f"{part.name} {quantize(points)}/{quantize(part.full_marks)} × {plain(part.weight)}")
    score = quantize(total)
    return SheetScore(score, dict(by_part), f"{quantize(base)} × (" + " + ".join(pieces) + f") = {score}", [])


def rescore_sheet(*, sheet: Sheet, acting_user: User | None) -> SheetScore:
    """Rescores one sheet (see :func:`rescore_sheets`) and returns its score."""
    results = rescore_sheets(sheet_ids=[sheet.pk], acting_user=acting_user)
    result = results[sheet.pk]
    sheet.score, sheet.explanation = result.score, result.explanation
    return result


class LineRow:
    """A sheet line as rescoring reads it: the data that scores it and the score stored, as a plain
    object. Rescoring a period reads every line; a model instance each costs more than scoring
    it. Only the lines whose score changes are loaded as models, to be saved with history."""

    __slots__ = ("acceptance_round", "accepted", "actual", "baseline_source", "config", "config_text", "direction",
                 "explanation", "indicator_name", "inputs", "max_points", "method", "money", "part_code", "pk",
                 "rating", "score", "sheet_id", "source", "subject", "target")

    # The sheet first: rows are grouped by it.
    FIELDS = ("sheet_id", "pk", "source", "method", "config_text", "direction", "baseline_source", "max_points",
              "target", "actual", "inputs", "rating", "accepted", "acceptance_round", "part_code", "score", "money",
              "explanation", "indicator__name")

    def __init__(self, row: Sequence[Any], subject: str, configs: dict[str, Any]) -> None:
        (self.sheet_id, self.pk, self.source, self.method, self.config_text, self.direction, self.baseline_source,
         self.max_points, self.target, self.actual, self.inputs, self.rating, self.accepted, self.acceptance_round,
         self.part_code, self.score, self.money, self.explanation, self.indicator_name) = row
        self.subject = subject
        # The config as the database keeps it (text), decoded once per distinct config: the lines
        # of one template line share it.
        config = configs.get(self.config_text)
        if config is None:
            config = configs[self.config_text] = json.loads(self.config_text)
        self.config = config


class RaterRow(NamedTuple):
    pk: int
    role: str
    weight: Decimal
    missing_counts_as_zero: bool
    recused: bool


class RatingRow(NamedTuple):
    rater_id: int
    score: Decimal | None


def _indicator_name(line: SheetLine | LineRow) -> str:
    if isinstance(line, LineRow):
        return str(line.indicator_name)
    return line.indicator.name if "indicator" in line._state.fields_cache else str(line.indicator_id)


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
                   progress: Callable[[int], object] | None = None) -> RescoreCount:
    """Rescores the stale sheets of ``period`` (see :func:`rescore_sheets`): those whose data
    changed since they were last scored (Sheet.data_version, kept by triggers). Each table is read
    once, in sheet order, whatever the number of sheets; what changed is saved in committed batches
    when called outside a transaction (the close), and ``progress`` hears about every 5 % how many
    of the period's sheets are done, so neither the queries nor the memory grow with the head
    count."""
    counts = Sheet.objects.filter(period=period).aggregate(total=Count("pk"), stale=Count("pk", filter=STALE))
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
    return _rescore(Q(period_id=period.pk) & STALE, acting_user=acting_user, reason=reason, seen=seen)


# Sheets whose rescoring is written in one transaction (row locks, then lines, then the sheets).
RESCORE_BATCH = 2000


def _rescore(where: Q, *, acting_user: User | None, reason: str,
             seen: Callable[[int, SheetScore], None]) -> RescoreCount:
    """Streams the sheets matching ``where`` with their lines, records, raters and ratings (one
    query each, all in sheet order), scores them in memory and writes what changed.

    The sheets are read first, with their versions; the other streams after, filtered by the same
    condition. Should a sheet's data change in between, or another rescoring make it fresh, its
    version differs when the batch is written, under the sheet's row lock, and nothing of that
    sheet is written (see :func:`_save_rescored`): a score is never saved from rows read at two
    different moments."""
    from indicators.models import TemplatePart

    sheets = _stream(Sheet.objects.filter(where).order_by("pk").values_list(
        "pk", "template_id", "template__base_score", "score", "explanation", "person__employee_no", "person__name",
        "team__name", "department__name", "data_version", "scored_version"))
    lines = _Aligned(lambda: _stream(
        SheetLine.objects.filter(_prefixed(where, "sheet__")).order_by("sheet_id", "sort_order", "pk")
        .annotate(config_text=Cast("config", TextField())).values_list(*LineRow.FIELDS)))
    records = _Aligned(lambda: _stream(
        DeductionRecord.objects.filter(_prefixed(where, "line__sheet__"))
        .values("line__sheet_id", "line_id", "item_code").annotate(n=Sum("count")).order_by("line__sheet_id")
        .values_list("line__sheet_id", "line_id", "item_code", "n")))
    raters = _Aligned(lambda: _stream(Rater.objects.filter(_prefixed(where, "sheet__")).order_by("sheet_id", "pk")
                                      .values_list("sheet_id", "pk", "role", "weight", "missing_counts_as_zero",
                                                   "recused")))
    ratings = _Aligned(lambda: _stream(Rating.objects.filter(_prefixed(where, "line__sheet__"))
                                       .order_by("line__sheet_id").values_list("line__sheet_id", "line_id",
                                                                               "rater_id", "score")))
    parts: dict[int, list[Any]] = defaultdict(list)
    templates = Sheet.objects.filter(where).values("template_id")
    for part in TemplatePart.objects.filter(template_id__in=templates).order_by("sort_order", "pk"):
        parts[part.template_id].append(part)

    count = RescoreCount()
    configs: dict[str, Any] = {}
    specs: dict[tuple[str, str, frozenset[str]], Any] = {}  # a parsed config per method, text, input names
    batch = _Batch()
    with cached_translations(), no_cyclic_gc():
        for (sheet_id, template_id, base, score, explanation, person_no, person_name, team, department,
             data_version, scored_version) in sheets:
            subject = _subject_label(person_no, person_name, team, department)
            occurrences: dict[int, dict[str, int]] = defaultdict(dict)
            for _sheet, line_id, item, n in records.of(sheet_id):
                occurrences[line_id][item] = n
            sheet_raters = [RaterRow(*row[1:]) for row in raters.of(sheet_id)]
            by_line: dict[int, list[Any]] = defaultdict(list)
            for _sheet, line_id, rater_id, rated in ratings.of(sheet_id):
                by_line[line_id].append(RatingRow(rater_id, rated))
            sheet_lines = [LineRow(row, subject, configs) for row in lines.of(sheet_id)]
            changed: list[LineRow] = []
            for line in sheet_lines:
                before = (line.score, line.money, line.explanation)
                if line.source == LineSource.RATERS:
                    line.score, line.explanation = combine_ratings(sheet_raters, by_line[line.pk])
                else:
                    key = (line.method, line.config_text, frozenset(line.inputs or ()))
                    spec = specs.get(key)
                    if spec is None:
                        spec = specs[key] = scoring.read_spec(line.method, line.config, key[2])
                    _score_line(line, ratings=None, occurrences=occurrences[line.pk], spec=spec)
                if (line.score, line.money, line.explanation) != before:
                    changed.append(line)
            result = score_sheet(base, sheet_lines, parts[template_id])
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

    Lock order is sheet, then lines, as in the entry services (:func:`_lock_sheet`), so a close and
    an edit of the same sheet wait for each other instead of deadlocking."""
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
        if lines:
            # Models for the audit rows, which copy every field.
            models = SheetLine.objects.in_bulk([line.pk for line in lines])
            for line in lines:
                model = models[line.pk]
                model.score, model.money, model.explanation = line.score, line.money, line.explanation
                model.version += 1
            update_with_history(list(models.values()), ["score", "money", "explanation", "version"],
                                acting_user=acting_user, reason=reason)
        if sheets:
            sheet_models = Sheet.objects.in_bulk(list(sheets))
            for sheet_id, result in sheets.items():
                sheet_models[sheet_id].score, sheet_models[sheet_id].explanation = result.score, result.explanation
            update_with_history(list(sheet_models.values()), ["score", "explanation"], acting_user=acting_user,
                                reason=reason)
        # Under the lock the versions are the ones read, so data_version is the version scored.
        fresh = [pk for pk in stale if pk in kept]
        if fresh:
            Sheet.objects.filter(pk__in=fresh).update(scored_version=F("data_version"))
    count.changed_lines += len(lines)
    count.changed_sheets += len(sheets)
    batch.clear()


def _lock_sheet(sheet_id: int) -> None:
    """Locks a sheet's row before its lines, records or ratings are written: the triggers that mark
    the sheet stale update that row, and taking it first keeps one lock order everywhere."""
    list(Sheet.objects.select_for_update().filter(pk=sheet_id).values_list("pk", flat=True))


# --- roll-up ------------------------------------------------------------------------------------


def set_rollup(*, parent: Period, children: Mapping[Period, Decimal], acting_user: User | None) -> None:
    """Declares that ``parent`` is made of weighted ``children`` (annual = quarters, S1-9/S1-4)."""
    from appraisal.models import PeriodRollup

    total = sum(children.values(), ZERO)
    if total != Decimal("1"):
        raise ValueError(_("Roll-up weights add up to %(total)s, not 1.") % {"total": plain(total)})
    with transaction.atomic():
        PeriodRollup.objects.filter(parent=parent).delete()
        PeriodRollup.objects.bulk_create(
            PeriodRollup(organization_id=parent.organization_id, parent=parent, child=child, weight=weight)
            for child, weight in children.items()
        )


@dataclass(frozen=True)
class RolledUp:
    score: Decimal
    explanation: str


def rollup_scores(*, parent: Period) -> dict[tuple[str, int | None], RolledUp]:
    """Each subject's weighted score over the child periods, from one query.

    A subject missing from a child period (joined in the second quarter, a transfer, S1-4) is
    scored over the periods it has, their weights scaled up to 1; the explanation says so.
    """
    from appraisal.models import PeriodRollup

    weights = dict(PeriodRollup.objects.filter(parent=parent).values_list("child_id", "weight"))
    codes = dict(Period.objects.filter(pk__in=weights).values_list("pk", "code"))
    scores: dict[tuple[str, int | None], list[tuple[int, Decimal]]] = defaultdict(list)
    rows = Sheet.objects.filter(period_id__in=weights, score__isnull=False).values_list(
        "period_id", "subject_kind", "person_id", "team_id", "department_id", "score"
    )
    for period_id, kind, person, team, department, score in rows:
        if score is not None:  # filtered in SQL; this tells the type checker
            scores[(kind, person or team or department)].append((period_id, score))
    result = {}
    for subject, entries in scores.items():
        total_weight = sum((weights[p] for p, _s in entries), ZERO)
        value = quantize(sum((weights[p] * s for p, s in entries), ZERO) / total_weight)
        parts = " + ".join(f"{codes[p]} {s} × {plain(weights[p])}" for p, s in sorted(entries))
        note = "" if total_weight == 1 else " " + _("(weights of %(n)s periods scaled up from %(w)s)") % {
            "n": len(entries), "w": plain(total_weight)}
        scale = "" if total_weight == 1 else f" ÷ {plain(total_weight)}"
        result[subject] = RolledUp(value, f"({parts}){scale} = {value}{note}")
    return result
