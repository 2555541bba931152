"""The departments page (issue #17): the organisation's tree, each department under its parent and
indented by its depth, with its type, whether it inspects others, its teams, heads and people;
and, for HR, a new department and the change of one (its place in the tree included).

House style of organizations.setup_views: the matrix opens the page, a row is fetched with
get_visible_or_404 before the change right is checked (another organisation's id is 404 for
everyone), every write is a service with the acting user, and a refusal (a parent below the
department itself) is shown on the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from core.web import acting_user
from organizations import dashboard, selectors, services
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.department_forms import DepartmentForm
from organizations.models import Department, DepartmentHead
from organizations.permissions import can, require
from organizations.setup_forms import changed_values, for_edit
from organizations.setup_views import form_page
from organizations.views import tenant_page


@dataclass(frozen=True)
class DepartmentRow:
    department: Department
    depth: int
    people: int
    people_in_subtree: int
    heads: list[str]


def _head_name(headship: DepartmentHead) -> str:
    membership = headship.membership
    return membership.person.name if membership.person is not None else str(membership.user)


def department_rows() -> list[DepartmentRow]:
    """The tree in depth-first order. Three queries whatever the number of departments: the
    departments with their type and people counted, their teams, their heads."""
    # Ordered explicitly: Django leaves Meta.ordering out of a query with GROUP BY (the count).
    departments = dashboard.with_people_count(
        selectors.departments().order_by("sort_order", "code").prefetch_related(
            Prefetch("teams", queryset=selectors.teams().order_by("code")),
            Prefetch(
                "headships",
                queryset=DepartmentHead.objects.select_related("membership__user", "membership__person"),
            ),
        )
    )
    tree = selectors.department_tree(departments)
    # Subtree totals from the list itself: walk deepest first and add each department to its parent.
    totals = {dept.pk: dashboard.people_count(dept) for dept in departments}
    for dept, _depth in reversed(tree):
        if dept.parent_id in totals:
            totals[dept.parent_id] += totals[dept.pk]
    return [
        DepartmentRow(dept, depth, dashboard.people_count(dept), totals[dept.pk],
                      [_head_name(h) for h in dept.headships.all()])
        for dept, depth in tree
    ]


@tenant_page("department")
@require_safe
def departments(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    context = {"rows": department_rows(), "may_change": can(tenant, "department", "change")}
    return render(request, "organizations/departments.html", context)


def _saved(row: Model) -> str:
    return _("Department %(name)s saved.") % {"name": row}


@tenant_page("department")
@require_http_methods(["GET", "POST"])
def department_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "department")
    # ?parent=<id> (the tree's "add a sub-department") preselects the parent; the choice list is scoped.
    initial = {"parent": request.GET.get("parent")} if request.GET.get("parent", "").isdigit() else {}
    form = DepartmentForm(request.POST or None, instance=Department(organization=tenant.organization),
                          initial=initial)
    return form_page(
        request, form, title=_("New department"), back=reverse("departments"),
        save=lambda: services.create_department(
            organization=tenant.organization, acting_user=acting_user(request), **form.values()),
        saved=_saved, after=lambda row: reverse("departments"),
    )


@tenant_page("department")
@require_http_methods(["GET", "POST"])
def department_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    department = get_visible_or_404(selectors.departments(), pk=pk)
    require(tenant, "department")
    form = DepartmentForm(request.POST or None, instance=for_edit(department))
    return form_page(
        request, form, title=_("Change department %(name)s") % {"name": department}, back=reverse("departments"),
        save=lambda: services.update_department(
            department=department, acting_user=acting_user(request), **changed_values(form)),
        saved=_saved, after=lambda row: reverse("departments"),
    )
