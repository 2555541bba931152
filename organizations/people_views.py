"""Pages to enter and change people and members (issue #17), so HR needs neither the Django admin
nor an import for one new colleague. A person is never deleted (their results and pay stay):
HR sets the status "left" and a leave date. A member is deactivated, never deleted."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.web import acting_user
from organizations import selectors, services, setup_services
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import Membership, Person
from organizations.permissions import require
from organizations.setup_forms import MemberEditForm, MemberForm, PersonForm, changed_values, for_edit
from organizations.setup_views import form_page
from organizations.views import tenant_page


@tenant_page("person")
@require_http_methods(["GET", "POST"])
def person_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "person")
    form = PersonForm(request.POST or None, instance=Person(organization=tenant.organization))

    def save() -> Person:
        values = dict(form.cleaned_data)
        return services.create_person(
            organization=tenant.organization, acting_user=acting_user(request), employee_no=values.pop(
                "employee_no"), name=values.pop("name"), department=values.pop("department"), **values)

    return form_page(request, form, title=_("New person"), back=reverse("people"), save=save,
                     saved=lambda row: _("%(person)s saved.") % {"person": row},
                     after=lambda row: reverse("person-detail", args=[row.pk]))


@tenant_page("person")
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    person = get_visible_or_404(selectors.visible_people(tenant), pk=pk)
    require(tenant, "person")
    form = PersonForm(request.POST or None, instance=for_edit(person))
    return form_page(
        request, form, title=_("Change %(person)s") % {"person": person},
        back=reverse("person-detail", args=[person.pk]),
        save=lambda: services.update_person(person=person, acting_user=acting_user(request),
                                            **changed_values(form)),
        saved=lambda row: _("%(person)s saved.") % {"person": row},
        after=lambda row: reverse("person-detail", args=[row.pk]),
    )


@tenant_page("membership")
@require_http_methods(["GET", "POST"])
def member_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "membership")
    form = MemberForm(request.POST or None)

    def save() -> Membership:
        values = dict(form.cleaned_data)
        return setup_services.add_member(
            organization=tenant.organization, acting_user=acting_user(request),
            headed_departments=list(values.pop("headed_departments")), **values)

    return form_page(request, form, title=_("New member"), back=reverse("memberships"), save=save,
                     saved=lambda row: _("%(user)s can now sign in to this organization.") % {
                         "user": row.user.username},  # type: ignore[attr-defined]
                     after=lambda row: reverse("memberships"))


@tenant_page("membership")
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    membership = get_visible_or_404(selectors.memberships(), pk=pk)
    require(tenant, "membership")
    form = MemberEditForm(request.POST or None, membership=membership)
    return form_page(
        request, form, title=_("Change the roles of %(user)s") % {"user": _member_name(membership)},
        back=reverse("memberships"),
        save=lambda: setup_services.change_member(
            membership=membership, acting_user=acting_user(request),
            headed_departments=list(form.cleaned_data["headed_departments"]), **form.changes()),
        saved=lambda row: _("The roles of %(user)s saved.") % {"user": _member_name(membership)},
        after=lambda row: reverse("memberships"),
    )


def _member_name(membership: Membership) -> str:
    """The member by the person's name where there is one (a title reads 修改吴敏的角色), else the sign-in."""
    return membership.person.name if membership.person is not None else membership.user.username
