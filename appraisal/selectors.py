"""Reads for periods and score sheets. Every function runs inside a tenant scope and returns a
queryset the caller may refine; which rows a role sees is decided here, once."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from appraisal.models import (
    Appeal,
    GradingPolicy,
    Period,
    Rater,
    Rating,
    Result,
    Sheet,
    SheetLine,
    SpecialStatus,
)
from indicators import scoring
from indicators.models import LineSource, SubjectKind
from organizations.context import TenantContext
from organizations.models import Person, Team
from organizations.permissions import can
from organizations.roles import Role


def sees_every_sheet(tenant: TenantContext) -> bool:
    # An inspecting department checks everyone (S0-2), so it sees every sheet it may record on.
    return tenant.has(Role.HR_ADMIN, Role.FINANCE) or tenant.inspecting_department_id is not None


def visible_sheets(tenant: TenantContext) -> QuerySet[Sheet]:
    """HR and finance see every sheet. Everyone else sees the sheets they rate; a head also the
    sheets of their departments' people, teams and departments (sub-departments included); an
    employee also their own. One query, whatever the roles."""
    sheets = Sheet.objects.all()
    if sees_every_sheet(tenant):
        return sheets
    conditions: list[Q] = []
    person_id = tenant.person_id
    if person_id is not None:
        # Every rater is a person; a group member, a head or an employee sees what they rate.
        # The sheets' ids as one hashed subquery: EXISTS per sheet was a probe of the raters for
        # each of the period's 10,000 sheets.
        conditions.append(Q(pk__in=Rater.objects.filter(person_id=person_id).values("sheet_id")))
        conditions.append(Q(person_id=person_id))
    if tenant.has(Role.DEPARTMENT_HEAD) and tenant.headed_department_ids:
        headed = tenant.headed_department_ids
        # Subqueries of ids, not joins: an OR across joined tables makes PostgreSQL join and filter
        # every sheet of the organisation; ids in a hashed subplan filter them before any join.
        conditions.append(
            Q(person_id__in=Person.objects.filter(department_id__in=headed).values("pk"))
            | Q(team_id__in=Team.objects.filter(department_id__in=headed).values("pk"))
            | Q(department_id__in=headed)
        )
    if not conditions:
        return sheets.none()
    condition = conditions[0]
    for more in conditions[1:]:
        condition |= more
    return sheets.filter(condition)


def sheets_with_lines(tenant: TenantContext) -> QuerySet[Sheet]:
    """Visible sheets with their subject, lines (and each line's indicator) and raters, for display."""
    return (
        visible_sheets(tenant)
        .select_related("person", "team", "department", "period")
        .prefetch_related(
            Prefetch("lines", queryset=SheetLine.objects.select_related("indicator")),
            Prefetch("raters", queryset=Rater.objects.order_by("role", "pk")),
        )
        .order_by("period_id", "subject_kind", "pk")
    )


def visible_lines(tenant: TenantContext) -> QuerySet[SheetLine]:
    """Lines of the sheets the caller may see."""
    return SheetLine.objects.filter(sheet__in=visible_sheets(tenant).values("pk")).select_related(
        "indicator", "sheet__person", "sheet__team", "sheet__department"
    )


def may_enter_data(tenant: TenantContext, sheet: Sheet) -> bool:
    """Who may enter a sheet's data (actuals, targets, recorded deductions): HR on any sheet; a
    head on the sheets of their departments' subjects, but never on their own sheet. Employees
    and raters as such may not: they rate rated lines through ``rate``."""
    if tenant.has(Role.HR_ADMIN):
        return True
    if not tenant.has(Role.DEPARTMENT_HEAD):
        return False
    if sheet.person_id is not None and sheet.person_id == tenant.person_id:
        return False
    return subject_department_id(sheet) in tenant.headed_department_ids


def may_record(tenant: TenantContext, sheet: Sheet) -> bool:
    """Who may record a deduction or bonus occurrence: whoever may enter the sheet's data, and the
    members of an inspecting department on any other department's sheets (never their own)."""
    if may_enter_data(tenant, sheet):
        return True
    inspecting = tenant.inspecting_department_id
    return inspecting is not None and subject_department_id(sheet) != inspecting


def subject_department_id(sheet: Sheet) -> int | None:
    """The department a sheet's subject belongs to (the department itself for a department sheet)."""
    if sheet.person is not None:
        return sheet.person.department_id
    if sheet.team is not None:
        return sheet.team.department_id
    return sheet.department_id


def periods() -> QuerySet[Period]:
    return Period.objects.prefetch_related("templates")


def visible_periods(tenant: TenantContext) -> QuerySet[Period]:
    """Every period for HR; the others do not see drafts, which are HR's work in progress."""
    periods = Period.objects.all()
    return periods if can(tenant, "period", "change") else periods.exclude(state=Period.State.DRAFT)


# Results reach the people they concern only once published (and stay visible when final).
PUBLISHED_STATES = (Period.State.PUBLISHED, Period.State.FINAL)


def _any(conditions: list[Q]) -> Q | None:
    if not conditions:
        return None
    condition = conditions[0]
    for more in conditions[1:]:
        condition |= more
    return condition


def visible_results(tenant: TenantContext) -> QuerySet[Result]:
    """HR and finance see every result. A head sees the results of their departments' people,
    teams and departments (sub-departments included), but their own only as an employee does:
    an employee sees their own results once the period is published. One query."""
    results = Result.objects.all()
    if tenant.has(Role.HR_ADMIN, Role.FINANCE):
        return results
    person_id = tenant.person_id
    conditions: list[Q] = []
    if person_id is not None:
        conditions.append(Q(person_id=person_id, period__state__in=PUBLISHED_STATES))
    if tenant.has(Role.DEPARTMENT_HEAD) and tenant.headed_department_ids:
        headed = tenant.headed_department_ids
        theirs = (Q(sheet__person__department_id__in=headed) | Q(sheet__team__department_id__in=headed)
                  | Q(sheet__department_id__in=headed))
        if person_id is not None:
            theirs &= ~Q(person_id=person_id)
        conditions.append(theirs)
    condition = _any(conditions)
    return results.none() if condition is None else results.filter(condition)


def results_for_display(tenant: TenantContext) -> QuerySet[Result]:
    return visible_results(tenant).select_related("person", "period", "sheet__team", "sheet__department",
                                                  "sheet__person")


def visible_appeals(tenant: TenantContext) -> QuerySet[Appeal]:
    """HR sees every appeal. Everyone else: the appeals they filed; a manager those of their direct
    reports; a head those of their departments' people (never their own as a head); a member of a
    group that decides appeals (the policy's appeal group) those of the periods graded by it."""
    appeals = Appeal.objects.all()
    if tenant.has(Role.HR_ADMIN):
        return appeals
    person_id = tenant.person_id
    conditions: list[Q] = []
    if person_id is not None:
        conditions.append(Q(filed_by_id=person_id))
        conditions.append(Q(result__person__manager_id=person_id))
    if tenant.has(Role.DEPARTMENT_HEAD) and tenant.headed_department_ids:
        conditions.append(Q(result__person__department_id__in=tenant.headed_department_ids))
    if tenant.group_ids:
        conditions.append(Q(result__period__grading_policy__appeal_group_id__in=tenant.group_ids))
    condition = _any(conditions)
    return appeals.none() if condition is None else appeals.filter(condition)


def appeals_for_display(tenant: TenantContext) -> QuerySet[Appeal]:
    return visible_appeals(tenant).select_related(
        "result__person", "result__period__grading_policy", "result__sheet", "line__indicator", "filed_by")


def grading_policies() -> QuerySet[GradingPolicy]:
    return GradingPolicy.objects.select_related("appeal_group")


# --- completeness: one definition for the close, the period page, the sheet lists and the sheet ----


def _missing_rating(*, blocking: bool) -> Exists:
    """Whether a line (the outer SheetLine) has a rater on its sheet, not recused, who has not rated
    it; with ``blocking`` only the raters whose missing rating does not count as 0 at close."""
    rated = Rating.objects.filter(line_id=OuterRef(OuterRef("pk")), rater_id=OuterRef("pk"), score__isnull=False)
    raters = Rater.objects.filter(sheet_id=OuterRef("sheet_id"), recused=False).filter(~Exists(rated))
    if blocking:
        raters = raters.filter(missing_counts_as_zero=False)
    return Exists(raters)


def line_done() -> Q:
    """A line is done when all it needs is in: a data line has its data (a score), a rated line a
    rating from each of its raters (recused ones aside). Until then its score is provisional (暂计):
    a missing rating counts 0 (appraisal.services.scoring.combine_ratings)."""
    return Q(score__isnull=False) & (Q(source=LineSource.DATA) | ~Q(_missing_rating(blocking=False)))


RECORDED = (scoring.Method.DEDUCTION, scoring.Method.BONUS)  # scored from records: none is no deduction


def line_without_score() -> Q:
    """A line that has no score to close with: no data (or data it cannot be scored from), or a
    rated line nobody may rate. A stale sheet (never scored yet, or data written outside the
    services) has not been scored from its data: until the close rescores it, its data line counts
    as without a score only when nothing at all is entered on it."""
    fresh = Q(sheet__scored_version__gte=F("sheet__data_version"))
    nothing_entered = (Q(source=LineSource.DATA, actual__isnull=True, inputs={}, rating="", accepted__isnull=True)
                       & ~Q(method__in=RECORDED))
    return Q(score__isnull=True) & (fresh | nothing_entered)


def line_blocking() -> Q:
    """A line keeps its sheet from being closed when it has no score (line_without_score) or when
    a rater whose missing rating does not count as 0 has not rated it. A missing rating that
    counts as 0 (missing_counts_as_zero) does not block."""
    return line_without_score() | (Q(source=LineSource.RATERS) & Q(_missing_rating(blocking=True)))


def lines_with_completeness(lines: QuerySet[SheetLine]) -> QuerySet[SheetLine]:
    """Lines annotated with ``is_done`` and ``is_blocking`` (see line_done, line_blocking)."""
    return lines.annotate(
        is_done=Case(When(line_done(), then=Value(True)), default=Value(False), output_field=BooleanField()),
        is_blocking=Case(When(line_blocking(), then=Value(True)), default=Value(False), output_field=BooleanField()),
    )


def _line_count(condition: Q | None = None) -> Coalesce:
    lines = SheetLine.objects.filter(sheet_id=OuterRef("pk"))
    if condition is not None:
        lines = lines.filter(condition)
    counted = lines.order_by().values("sheet_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_progress(sheets: QuerySet[Sheet]) -> QuerySet[Sheet]:
    """Sheets with their subject, period and template, and counted in the same query: their lines
    (``line_total``), the lines done (``line_done``: what is really entered and rated) and the lines
    that block the close (``line_blocking``)."""
    return sheets.select_related("person", "team", "department", "period", "template").annotate(
        line_total=_line_count(), line_done=_line_count(line_done()), line_blocking=_line_count(line_blocking()),
    )


def page_with_progress(ids: list[int]) -> list[Sheet]:
    """The sheets ``ids`` (one page of a list, in that order) with_progress: their lines are counted
    for these sheets alone, never for the whole list the page was cut from. One query."""
    found = {sheet.pk: sheet for sheet in with_progress(Sheet.objects.filter(pk__in=ids))}
    return [found[pk] for pk in ids if pk in found]


# The sheet tables' subject column sorts by these (tables.SheetTable): people by employee number,
# then teams, then departments by code.
_SUBJECT_KEYS = ((SubjectKind.PERSON, "person__employee_no"), (SubjectKind.TEAM, "team__code"),
                 (SubjectKind.DEPARTMENT, "department__code"))
SUBJECT_ORDER = tuple(key for _kind, key in _SUBJECT_KEYS)


def subject_counts(sheets: QuerySet[Sheet]) -> dict[str, int]:
    """How many of ``sheets`` there are of each subject kind: one query."""
    return dict(sheets.order_by().values("subject_kind").annotate(n=Count("pk")).values_list("subject_kind", "n"))


def subject_sorted_ids(sheets: QuerySet[Sheet], counts: dict[str, int], start: int, stop: int, *,
                       descending: bool = False) -> list[int]:
    """The ids of ``sheets[start:stop]`` sorted by subject: people by employee number, then teams,
    then departments by code, each by id within (the other way round when ``descending``), on
    every database. One ORDER BY across the three subjects' LEFT JOINs made PostgreSQL sort all of
    a period's 10,000 sheets to show 20 (10 ms); a kind at a time, joined to its subject within the
    organisation, it reads them in the order of the subject's unique (organisation, number) index
    and stops at the page's end. ``counts`` are subject_counts(sheets); one query per kind on the page."""
    sign = "-" if descending else ""
    ids: list[int] = []
    offset = 0
    for kind, key in reversed(_SUBJECT_KEYS) if descending else _SUBJECT_KEYS:
        first, last = max(start - offset, 0), min(stop - offset, counts.get(kind, 0))
        if first < last:
            # The subject's organisation equal to the sheet's lets PostgreSQL bind it to the
            # organisation's id and walk the subject's index in order.
            subject = key.split("__")[0]
            of_kind = sheets.filter(subject_kind=kind, **{f"{subject}__organization_id": F("organization_id")})
            ids += of_kind.order_by(sign + key, sign + "pk").values_list("pk", flat=True)[first:last]
        offset += counts.get(kind, 0)
    return ids


@dataclass(frozen=True)
class Progress:
    """One sheet's lines: how many, how many done, how many block the close."""

    total: int
    done: int
    blocking: int

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def sheet_progress(sheet: Sheet) -> Progress:
    """with_progress for one sheet: one query, over its lines alone (the sheet is at hand; reading
    it again with its subject, period and template was most of the cost of a line save's total)."""
    counts = SheetLine.objects.filter(sheet_id=sheet.pk).aggregate(
        total=Count("pk"), done=Count("pk", filter=line_done()), blocking=Count("pk", filter=line_blocking()))
    return Progress(counts["total"], counts["done"], counts["blocking"])


def _blocking_lines() -> Exists:
    return Exists(SheetLine.objects.filter(sheet_id=OuterRef("pk")).filter(line_blocking()))


INCOMPLETE = "incomplete"
UNRATED = "unrated"
NO_DATA = "no_data"
PROVISIONAL = "provisional"
COMPLETENESS = (INCOMPLETE, UNRATED, NO_DATA, PROVISIONAL)


def completeness_filter(kind: str) -> Q:
    """Sheets of a kind: ``incomplete`` (they block the close: a normal sheet with a blocking
    line), ``unrated`` (a rater whose missing rating does not count as 0 has not rated),
    ``no_data`` (a line without a score), ``provisional`` (anything not entered or rated yet)."""
    normal = Q(special_status=SpecialStatus.NORMAL)
    lines = SheetLine.objects.filter(sheet_id=OuterRef("pk"))
    if kind == UNRATED:
        return normal & Q(Exists(lines.filter(source=LineSource.RATERS).filter(_missing_rating(blocking=True))))
    if kind == NO_DATA:
        return normal & Q(Exists(lines.filter(line_without_score())))
    if kind == PROVISIONAL:
        return normal & Q(Exists(lines.exclude(line_done())))
    return normal & Q(_blocking_lines())


def incomplete_sheets(sheets: QuerySet[Sheet]) -> QuerySet[Sheet]:
    """The sheets that keep a period from being closed: no special status, and a line without a
    score or with a missing rating that does not count as 0."""
    return sheets.filter(completeness_filter(INCOMPLETE))


@dataclass(frozen=True)
class Completeness:
    """How far a period's sheets are: all of them, those with a special status, those that block
    the close (as unrated and no-data: a sheet may be both), and those still provisional."""

    total: int
    special: int
    incomplete: int
    unrated: int
    no_data: int
    provisional: int

    @property
    def complete(self) -> int:
        return self.total - self.special - self.provisional


SETTLED_STATES = frozenset({Period.State.CLOSED, Period.State.PUBLISHED, Period.State.FINAL})
SETTLED_SECONDS = 600


def period_completeness(period: Period, sheets: QuerySet[Sheet], *, everyone: bool) -> Completeness:
    """``completeness`` of a period's ``sheets``; kept in the cache for a while once the period is
    past its close and the user sees all of them. Nothing can be entered or marked special then, so
    the counts stay what they were at the close, and counting 10,000 sheets' lines was a third of
    the period page. The key carries the close's moment: a reopened period closes at another."""
    if not everyone or period.state not in SETTLED_STATES or period.results_at is None:
        return completeness(sheets)
    key = f"completeness:{period.organization_id}:{period.pk}:{period.state}:{period.results_at.timestamp()}"
    found: Completeness | None = cache.get(key)
    if found is None:
        found = completeness(sheets)
        cache.set(key, found, SETTLED_SECONDS)
    return found


def completeness(sheets: QuerySet[Sheet]) -> Completeness:
    """One query for any number of sheets."""
    counts = sheets.aggregate(
        total=Count("pk"),
        special=Count("pk", filter=~Q(special_status=SpecialStatus.NORMAL)),
        **{kind: Count("pk", filter=completeness_filter(kind)) for kind in COMPLETENESS},
    )
    return Completeness(**counts)
