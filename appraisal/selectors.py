"""Reads for periods and score sheets. Every function runs inside a tenant scope and returns a
queryset the caller may refine; which rows a role sees is decided here, once."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from appraisal.models import Period, Rater, Sheet, SheetLine
from organizations.context import TenantContext
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
