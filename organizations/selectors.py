"""Reads. Every function runs inside a tenant scope and returns a queryset the caller may refine."""

from __future__ import annotations

from django.db.models import QuerySet

from organizations.context import TenantContext
from organizations.models import Department, Membership, Person, ReviewGroup, Team
from organizations.roles import Role


def visible_people(tenant: TenantContext) -> QuerySet[Person]:
    """HR and finance see everyone; a head sees their departments' people and themself; an employee themself."""
    people = Person.objects.select_related("department", "team", "manager")
    if tenant.has(Role.HR_ADMIN, Role.FINANCE):
        return people.all()
    own = [tenant.person_id] if tenant.person_id else []
    if tenant.has(Role.DEPARTMENT_HEAD):
        from django.db.models import Q

        return people.filter(Q(department_id__in=tenant.headed_department_ids) | Q(pk__in=own))
    return people.filter(pk__in=own)


def departments() -> QuerySet[Department]:
    return Department.objects.select_related("parent", "department_type")


def teams() -> QuerySet[Team]:
    return Team.objects.select_related("department")


def memberships() -> QuerySet[Membership]:
    return Membership.objects.select_related("user", "person").prefetch_related("headships__department")


def visible_review_groups(tenant: TenantContext) -> QuerySet[ReviewGroup]:
    groups = ReviewGroup.objects.all()
    if tenant.has(Role.HR_ADMIN):
        return groups
    return groups.filter(pk__in=tenant.group_ids)


def department_tree(rows: list[Department]) -> list[tuple[Department, int]]:
    """Departments in depth-first order with their depth, from one list (no query per level)."""
    children: dict[int | None, list[Department]] = {}
    for dept in rows:
        children.setdefault(dept.parent_id, []).append(dept)
    ordered: list[tuple[Department, int]] = []
    ids = {d.pk for d in rows}

    def walk(parent_id: int | None, depth: int) -> None:
        for dept in children.get(parent_id, []):
            ordered.append((dept, depth))
            walk(dept.pk, depth + 1)

    walk(None, 0)
    # Departments whose parent is not in the list (filtered out) still show, at the top level.
    for dept in rows:
        if dept.parent_id is not None and dept.parent_id not in ids:
            ordered.append((dept, 0))
            walk(dept.pk, 1)
    return ordered
