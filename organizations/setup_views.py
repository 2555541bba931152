"""Set-up pages of the organisation (issue #17): department types, teams and shifts, review and
supervision groups. People, members and the calendar have their own modules (people_views,
calendar_views); all share ``form_page`` below.

House style (organizations.views): the matrix opens a page, a row is fetched with
get_visible_or_404 before the change right is checked (another organisation's id is 404 for
everyone), every write is a service with the acting user, and a refusal re-shows the form with the
message on the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Model, ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_tables2 import RequestConfig

from core.web import acting_user, is_htmx
from organizations import selectors, services, setup_services
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import DepartmentType, ReviewGroup, Team
from organizations.permissions import can, require
from organizations.setup_forms import (
    DepartmentTypeForm,
    ReviewGroupForm,
    TeamForm,
    attach_errors,
    changed_values,
    for_edit,
)
from organizations.setup_tables import DepartmentTypeTable, ReviewGroupTable, TeamFilter, TeamTable
from organizations.views import tenant_page

ROWS_PER_PAGE = 50


def form_page(
    request: HttpRequest, form: Any, *, title: str, back: str, save: Callable[[], Model],
    saved: Callable[[Model], str], after: Callable[[Model], str], extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """GET shows the form; a valid POST calls ``save`` (a service, in one transaction) and goes to
    ``after(row)``; a refusal shows the form again, 400, with the message where it belongs."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    row = save()
            except ValidationError as error:
                attach_errors(form, error)
            else:
                messages.success(request, saved(row))
                return redirect(after(row))
        status = 400
    context = {"form": form, "title": title, "back": back, **(extra or {})}
    return render(request, "organizations/setup_form.html", context, status=status)


def list_page(request: HttpRequest, table: Any, *, title: str, new_url: str | None, filter_: Any = None,
              list_url: str = "", intro: str = "") -> HttpResponse:
    RequestConfig(request, paginate={"per_page": ROWS_PER_PAGE}).configure(table)
    context = {"table": table, "title": title, "new_url": new_url, "filter": filter_, "list_url": list_url,
               "intro": intro}
    template = "organizations/_setup_table.html" if is_htmx(request) else "organizations/setup_list.html"
    return render(request, template, context)


# --- department types ---------------------------------------------------------------------------


@tenant_page("department")
@require_safe
def department_types(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    may_change = can(tenant, "department", "change")
    rows = DepartmentType.objects.annotate(department_count=Count("departments"))
    return list_page(
        request, DepartmentTypeTable(rows, may_change=may_change), title=_("Department types"),
        new_url=reverse("department-type-new") if may_change else None,
        intro=_("Templates and pay policies are chosen by department type."),
    )


@tenant_page("department")
@require_http_methods(["GET", "POST"])
def department_type_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "department")
    form = DepartmentTypeForm(request.POST or None, instance=DepartmentType(organization=tenant.organization))
    return form_page(
        request, form, title=_("New department type"), back=reverse("department-types"),
        save=lambda: setup_services.create_department_type(
            organization=tenant.organization, acting_user=acting_user(request), **form.cleaned_data),
        saved=lambda row: _("Department type %(name)s saved.") % {"name": row},
        after=lambda row: reverse("department-types"),
    )


@tenant_page("department")
@require_http_methods(["GET", "POST"])
def department_type_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    department_type = get_visible_or_404(DepartmentType.objects.all(), pk=pk)
    require(tenant, "department")
    form = DepartmentTypeForm(request.POST or None, instance=for_edit(department_type))
    return form_page(
        request, form, title=_("Change department type %(name)s") % {"name": department_type}, back=reverse(
            "department-types"),
        save=lambda: setup_services.update_department_type(
            department_type=department_type, acting_user=acting_user(request), **changed_values(form)),
        saved=lambda row: _("Department type %(name)s saved.") % {"name": row},
        after=lambda row: reverse("department-types"),
        extra={"delete_url": reverse("department-type-delete", args=[department_type.pk])},
    )


@tenant_page("department")
@require_POST
def department_type_delete(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    department_type = get_visible_or_404(DepartmentType.objects.all(), pk=pk)
    require(tenant, "department")
    name = str(department_type)
    try:
        setup_services.delete_department_type(department_type=department_type, acting_user=acting_user(request))
    except ProtectedError:
        messages.error(request, _("Department type %(name)s is still used by departments, templates or pay "
                                  "policies and cannot be deleted.") % {"name": name})
        return redirect("department-type-edit", pk=pk)
    messages.success(request, _("Department type %(name)s deleted.") % {"name": name})
    return redirect("department-types")


# --- teams and shifts ---------------------------------------------------------------------------


@tenant_page("team")
@require_safe
def teams(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    may_change = can(tenant, "team", "change")
    rows = selectors.teams().annotate(member_count=Count("members"))
    team_filter = TeamFilter(request.GET or None, queryset=rows, request=request)
    shown = team_filter.qs if not team_filter.is_bound or team_filter.is_valid() else rows.none()
    return list_page(
        request, TeamTable(shown, may_change=may_change), title=_("Teams and shifts"),
        new_url=reverse("team-new") if may_change else None, filter_=team_filter, list_url=reverse("teams"),
    )


@tenant_page("team")
@require_http_methods(["GET", "POST"])
def team_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "team")
    form = TeamForm(request.POST or None, instance=Team(organization=tenant.organization))

    def save() -> Team:
        values = dict(form.cleaned_data)
        is_active = values.pop("is_active", True)
        team = services.create_team(organization=tenant.organization, acting_user=acting_user(request), **values)
        return services.update_team(team=team, acting_user=acting_user(request), is_active=is_active)

    return form_page(request, form, title=_("New team or shift"), back=reverse("teams"), save=save,
                     saved=lambda row: _("Team %(name)s saved.") % {"name": row}, after=lambda row: reverse("teams"))


@tenant_page("team")
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    team = get_visible_or_404(selectors.teams(), pk=pk)
    require(tenant, "team")
    form = TeamForm(request.POST or None, instance=for_edit(team))
    return form_page(
        request, form, title=_("Change team %(name)s") % {"name": team}, back=reverse("teams"),
        save=lambda: services.update_team(team=team, acting_user=acting_user(request), **changed_values(form)),
        saved=lambda row: _("Team %(name)s saved.") % {"name": row}, after=lambda row: reverse("teams"),
    )


# --- review and supervision groups --------------------------------------------------------------


@tenant_page("review_group")
@require_safe
def review_groups(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    may_change = can(tenant, "review_group", "change")
    rows = selectors.visible_review_groups(tenant).prefetch_related(
        "members__membership__person", "members__membership__user")
    return list_page(
        request, ReviewGroupTable(rows, may_change=may_change), title=_("Review and supervision groups"),
        new_url=reverse("review-group-new") if may_change else None,
    )


@tenant_page("review_group")
@require_http_methods(["GET", "POST"])
def review_group_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "review_group")
    form = ReviewGroupForm(request.POST or None, instance=ReviewGroup(organization=tenant.organization))
    return form_page(
        request, form, title=_("New group"), back=reverse("review-groups"),
        save=lambda: setup_services.create_review_group(
            organization=tenant.organization, acting_user=acting_user(request), code=form.cleaned_data["code"],
            name=form.cleaned_data["name"], kind=form.cleaned_data["kind"], members=form.seats()),
        saved=lambda row: _("Group %(name)s saved.") % {"name": row}, after=lambda row: reverse("review-groups"),
    )


@tenant_page("review_group")
@require_http_methods(["GET", "POST"])
def review_group_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    group = get_visible_or_404(selectors.visible_review_groups(tenant), pk=pk)
    require(tenant, "review_group")
    form = ReviewGroupForm(request.POST or None, instance=for_edit(group))

    def save() -> ReviewGroup:
        setup_services.update_review_group(group=group, acting_user=acting_user(request), **changed_values(form))
        setup_services.set_group_members(group=group, members=form.seats(), acting_user=acting_user(request))
        return group

    return form_page(request, form, title=_("Change group %(name)s") % {"name": group}, back=reverse("review-groups"),
                     save=save, saved=lambda row: _("Group %(name)s saved.") % {"name": row},
                     after=lambda row: reverse("review-groups"))
