"""The permission matrix: which role may view or change which resource.

This table is the single source of truth; API permission classes, page views and the navigation
read it, and tests/test_permissions.py walks it. Each app registers its own resources. Which
*rows* a role sees (a head sees the people of their departments, an employee only themself) is
decided by the selectors.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from organizations.context import TenantContext
from organizations.roles import Role

Action = Literal["view", "change"]

HR = Role.HR_ADMIN
HEAD = Role.DEPARTMENT_HEAD
FIN = Role.FINANCE
EMP = Role.EMPLOYEE
GROUP = Role.GROUP_MEMBER
EVERYONE = frozenset(Role)

Rights = dict[Action, frozenset[Role]]

# Filled by each app in its AppConfig.ready() (register_resources), so this floor names only its
# own resources and knows nothing of the apps above it; tests/test_permissions.py restates the
# whole table so that a change of who may do what is always made on purpose.
MATRIX: dict[str, Rights] = {}


def register_resources(resources: dict[str, Rights]) -> None:
    """Adds an app's resources to the matrix. A resource registered twice is a programming error:
    two apps would silently disagree about who may touch it."""
    for resource, rights in resources.items():
        if resource in MATRIX and MATRIX[resource] != rights:
            raise ValueError(f"permission resource {resource!r} is registered twice")
        if set(rights) != {"view", "change"}:
            raise ValueError(f"permission resource {resource!r} needs exactly view and change")
        MATRIX[resource] = rights


RESOURCES: dict[str, Rights] = {
    # Every member sees the organisation's name, its structure and its calendar.
    "organization": {"view": EVERYONE, "change": frozenset({HR})},
    "department": {"view": EVERYONE, "change": frozenset({HR})},
    "team": {"view": EVERYONE, "change": frozenset({HR})},
    "calendar": {"view": EVERYONE, "change": frozenset({HR})},
    # People: HR and finance see all, a head their departments (row filter), an employee themself.
    "person": {"view": frozenset({HR, FIN, HEAD, EMP}), "change": frozenset({HR})},
    # Who may sign in and with which roles is HR's business alone.
    "membership": {"view": frozenset({HR}), "change": frozenset({HR})},
    "review_group": {"view": frozenset({HR, GROUP}), "change": frozenset({HR})},
    "import": {"view": frozenset({HR}), "change": frozenset({HR})},
    # Standing parameters of people and departments (coefficients, factors pay reads): HR keeps
    # them, finance reads what it pays by; like pay, nobody else sees them.
    "standing_parameter": {"view": frozenset({HR, FIN}), "change": frozenset({HR})},
    # Background jobs (a close's or an export's progress): HR sees them all; other roles see the
    # jobs of their own resources through those resources' routes.
    "job": {"view": frozenset({HR}), "change": frozenset({HR})},
}


def can(tenant: TenantContext | None, resource: str, action: Action) -> bool:
    if tenant is None:
        return False
    allowed = MATRIX[resource][action]
    return not tenant.roles.isdisjoint(allowed)


def require(tenant: TenantContext | None, resource: str, action: Action = "change") -> None:
    """For a page: 403 unless the user's roles may do ``action`` on ``resource``."""
    if not can(tenant, resource, action):
        raise PermissionDenied


class HasMatrixPermission(BasePermission):
    """DRF permission: the view names its ``permission_resource``; reads need view, writes change."""

    def has_permission(self, request: Request, view: Any) -> bool:
        resource = getattr(view, "permission_resource", None)
        if resource is None:
            # Views outside the matrix (schema, docs) declare their own permission classes.
            return False
        action: Action = "view" if request.method in SAFE_METHODS else "change"
        return can(getattr(request._request, "tenant", None), resource, action)
