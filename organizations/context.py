"""Who is acting, in which organisation, with which roles: resolved once per request or task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from organizations.models import Department, DepartmentHead, Membership, Organization, ReviewGroupMember, roles_of
from organizations.roles import Role


@dataclass(frozen=True)
class TenantContext:
    organization: Organization
    membership: Membership
    roles: frozenset[Role]
    # Departments a head is responsible for, with all their sub-departments.
    headed_department_ids: frozenset[int] = field(default_factory=frozenset)
    group_ids: frozenset[int] = field(default_factory=frozenset)
    # The member's own department when it inspects others (records deductions on their sheets).
    inspecting_department_id: int | None = None

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def person_id(self) -> int | None:
        return self.membership.person_id


def descendants(department_ids: set[int], parent_of: Mapping[int, int | None]) -> set[int]:
    """All departments at or below the given ones, from a {id: parent_id} map of the whole tree."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent_id in parent_of.items():
        children.setdefault(parent_id, []).append(dept_id)
    result: set[int] = set()
    stack = list(department_ids)
    while stack:
        current = stack.pop()
        if current in result:
            continue
        result.add(current)
        stack.extend(children.get(current, ()))
    return result


def build_context(membership: Membership) -> TenantContext:
    """Must run inside the membership's organisation scope. A fixed number of queries."""
    head_ids = set(
        DepartmentHead.objects.filter(membership=membership).values_list("department_id", flat=True)
    )
    group_ids = frozenset(
        ReviewGroupMember.objects.filter(membership=membership).values_list("group_id", flat=True)
    )
    inspecting = None
    if membership.person_id is not None:
        inspecting = (
            Department.objects.filter(people__pk=membership.person_id, inspects_others=True)
            .values_list("pk", flat=True).first()
        )
    headed: set[int] = set()
    if head_ids:
        parent_of = dict(Department.objects.values_list("id", "parent_id"))
        headed = descendants(head_ids, parent_of)
    return TenantContext(
        organization=membership.organization,
        membership=membership,
        roles=roles_of(membership, heads=bool(head_ids), groups=bool(group_ids)),
        headed_department_ids=frozenset(headed),
        group_ids=group_ids,
        inspecting_department_id=inspecting,
    )


def memberships_of(user_id: int) -> list[Membership]:
    """Active memberships of a user across organisations, for the switcher. Crosses tenants on purpose."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        return list(
            Membership.objects.filter(user_id=user_id, is_active=True, organization__is_active=True)
            .select_related("organization", "person")
            .order_by("organization__name")
        )


def organization_of(membership: Membership) -> Organization:
    return membership.organization


__all__ = ["Organization", "TenantContext", "build_context", "descendants", "memberships_of"]
