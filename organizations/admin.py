"""Django admin for HR configuration, scoped to the active organisation.

The HR site runs inside the request's tenant scope like every page, so its lists, lookups and
foreign-key choices only ever show the active organisation; the organisation FK is set on save
and never shown. Access follows the permission matrix, not Django's is_staff flag.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from organizations.models import (
    CalendarDay,
    CalendarYear,
    Department,
    DepartmentHead,
    DepartmentType,
    Membership,
    Organization,
    Person,
    ReviewGroup,
    ReviewGroupMember,
    Team,
    User,
)
from organizations.permissions import can


class HRAdminSite(admin.AdminSite):
    site_header = _("Performance appraisal: HR configuration")
    site_title = _("HR configuration")
    index_title = _("Configuration")

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and can(getattr(request, "tenant", None), "organization", "change"))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # One sign-in page for the whole product.
        next_url = request.GET.get("next", reverse("admin:index", current_app=self.name))
        return HttpResponseRedirect(reverse("login") + "?" + urlencode({"next": next_url}))


hr_admin_site = HRAdminSite(name="hr_admin")


class TenantAdmin(SimpleHistoryAdmin):
    """Hides the organisation field and fills it from the request; permissions follow the matrix."""

    resource = "organization"
    exclude = ("organization",)

    def _can(self, request: HttpRequest, action: str) -> bool:
        return can(getattr(request, "tenant", None), self.resource, action)  # type: ignore[arg-type]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "view")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._can(request, "view")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._can(request, "change")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, "change")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Django's admin redirects with "perhaps it was deleted" for a missing id; across tenants
        # the product answers 404 everywhere, so an id never reveals whether it exists elsewhere.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.organization = request.tenant.organization  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for instance in formset.save(commit=False):
            if getattr(instance, "organization_id", None) is None:
                instance.organization = request.tenant.organization  # type: ignore[attr-defined]
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class TenantInline(admin.TabularInline):
    exclude = ("organization",)
    extra = 0


@admin.register(DepartmentType, site=hr_admin_site)
class DepartmentTypeAdmin(TenantAdmin):
    resource = "department"
    list_display = ("code", "name", "sort_order")


class TeamInline(TenantInline):
    model = Team


@admin.register(Department, site=hr_admin_site)
class DepartmentAdmin(TenantAdmin):
    resource = "department"
    list_display = ("code", "name", "parent", "department_type", "is_active")
    list_filter = ("department_type", "is_active")
    search_fields = ("code", "name")
    inlines = [TeamInline]


@admin.register(Team, site=hr_admin_site)
class TeamAdmin(TenantAdmin):
    resource = "team"
    list_display = ("code", "name", "department", "kind", "is_active")
    list_filter = ("kind",)


@admin.register(Person, site=hr_admin_site)
class PersonAdmin(TenantAdmin):
    resource = "person"
    list_display = ("employee_no", "name", "department", "team", "position", "level", "status")
    list_filter = ("status", "department")
    search_fields = ("employee_no", "name")
    raw_id_fields = ("manager",)


class DepartmentHeadInline(TenantInline):
    model = DepartmentHead


@admin.register(Membership, site=hr_admin_site)
class MembershipAdmin(TenantAdmin):
    resource = "membership"
    list_display = ("user", "person", "is_hr_admin", "is_finance", "is_active")
    list_filter = ("is_hr_admin", "is_finance", "is_active")
    inlines = [DepartmentHeadInline]


class ReviewGroupMemberInline(TenantInline):
    model = ReviewGroupMember


@admin.register(ReviewGroup, site=hr_admin_site)
class ReviewGroupAdmin(TenantAdmin):
    resource = "review_group"
    list_display = ("code", "name", "kind")
    inlines = [ReviewGroupMemberInline]


@admin.register(CalendarDay, site=hr_admin_site)
class CalendarDayAdmin(TenantAdmin):
    resource = "calendar"
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(CalendarYear, site=hr_admin_site)
class CalendarYearAdmin(TenantAdmin):
    resource = "calendar"
    list_display = ("year", "source", "seeded_at")


# The platform operator's site: tenants and sign-in identities only, never tenant rows.
admin.site.register(Organization)
admin.site.register(User, UserAdmin)
