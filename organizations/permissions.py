"""The permission matrix: which role may view or change which resource.

This table is the single source of truth; API permission classes, page views and the navigation
read it, and tests/test_permissions.py walks it. Which *rows* a role sees (a head sees the
people of their departments, an employee only themself) is decided by the selectors.
"""

from __future__ import annotations

from typing import Any, Literal

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

MATRIX: dict[str, dict[Action, frozenset[Role]]] = {
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
    # The indicator catalogue (with targets and benchmarks), templates and periods: everyone reads, HR keeps.
    "indicator": {"view": EVERYONE, "change": frozenset({HR})},
    "template": {"view": EVERYONE, "change": frozenset({HR})},
    "period": {"view": EVERYONE, "change": frozenset({HR})},
    # Score sheets and their lines: rows filtered by appraisal.selectors.visible_sheets. Who may change
    # what is decided per object: data by HR and the subject's head, ratings by the sheet's own raters.
    "sheet": {"view": frozenset({HR, FIN, HEAD, EMP, GROUP}), "change": frozenset({HR, HEAD, EMP, GROUP})},
    # Grading policies (scale, quotas, rules) are known to everyone they grade; HR keeps them.
    "grading_policy": {"view": EVERYONE, "change": frozenset({HR})},
    # Results of closed periods: rows filtered by appraisal.selectors.visible_results (an employee their
    # own once published, a head their departments'). HR calibrates; an employee acknowledges their own.
    "result": {"view": frozenset({HR, FIN, HEAD, EMP}), "change": frozenset({HR, EMP})},
    # Appeals: rows filtered by appraisal.selectors.visible_appeals. The employee files, the supervisor
    # forwards, HR or the appeal group decides (per object: appraisal.appeals).
    "appeal": {"view": frozenset({HR, HEAD, EMP, GROUP}), "change": frozenset({HR, HEAD, EMP, GROUP})},
    # Background jobs (the close's progress) are HR's.
    "job": {"view": frozenset({HR}), "change": frozenset({HR})},
    # Pay runs, their slips, deltas, exports and pay jobs: HR and finance see them, finance computes,
    # confirms and exports. A head sees nothing of pay (their own slip is "pay_slip").
    "pay": {"view": frozenset({HR, FIN}), "change": frozenset({FIN})},
    # Pay policies (components as data): HR writes them, finance reads what it pays by.
    "pay_policy": {"view": frozenset({HR, FIN}), "change": frozenset({HR})},
    # Per-period pay inputs (penalty points, revenue …): HR and finance enter them.
    "pay_input": {"view": frozenset({HR, FIN}), "change": frozenset({HR, FIN})},
    # Pay slips: rows filtered by payroll.selectors.visible_slips (HR and finance all, anyone else
    # their own of confirmed runs). Nobody edits a slip: a change is a new run.
    "pay_slip": {"view": frozenset({HR, FIN, EMP}), "change": frozenset()},
}


def can(tenant: TenantContext | None, resource: str, action: Action) -> bool:
    if tenant is None:
        return False
    allowed = MATRIX[resource][action]
    return not tenant.roles.isdisjoint(allowed)


class HasMatrixPermission(BasePermission):
    """DRF permission: the view names its ``permission_resource``; reads need view, writes change."""

    def has_permission(self, request: Request, view: Any) -> bool:
        resource = getattr(view, "permission_resource", None)
        if resource is None:
            # Views outside the matrix (schema, docs) declare their own permission classes.
            return False
        action: Action = "view" if request.method in SAFE_METHODS else "change"
        return can(getattr(request._request, "tenant", None), resource, action)
