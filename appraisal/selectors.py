"""Reads for periods and score sheets. Every function runs inside a tenant scope and returns a
queryset the caller may refine; which rows a role sees is decided here, once."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from appraisal.models import Appeal, GradingPolicy, Period, Rater, Result, Sheet, SheetLine
from organizations.context import TenantContext
from organizations.permissions import can
from organizations.roles import Role


def visible_sheets(tenant: TenantContext) -> QuerySet[Sheet]:
    """HR and finance see every sheet. Everyone else sees the sheets they rate; a head also the
    sheets of their departments' people, teams and departments (sub-departments included); an
    employee also their own. One query, whatever the roles."""
    sheets = Sheet.objects.all()
    if tenant.has(Role.HR_ADMIN, Role.FINANCE) or tenant.inspecting_department_id is not None:
        # An inspecting department checks everyone (S0-2), so it sees every sheet it may record on.
        return sheets
    conditions: list[Q] = []
    person_id = tenant.person_id
    if person_id is not None:
        # Every rater is a person; a group member, a head or an employee sees what they rate.
        conditions.append(Q(Exists(Rater.objects.filter(sheet=OuterRef("pk"), person_id=person_id))))
        conditions.append(Q(person_id=person_id))
    if tenant.has(Role.DEPARTMENT_HEAD) and tenant.headed_department_ids:
        headed = tenant.headed_department_ids
        conditions.append(
            Q(person__department_id__in=headed) | Q(team__department_id__in=headed) | Q(department_id__in=headed)
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
