"""Tables and filters of the set-up lists (django-tables2, django-filter): department types, teams
and shifts, review groups. Column headers come from the models' verbose names; an "edit" column
only for those who may change the rows."""

from __future__ import annotations

from typing import Any

import django_filters
import django_tables2 as tables
from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from organizations import selectors
from organizations.models import Department, DepartmentType, ReviewGroup, Team

TABLE_ATTRS = {"class": "table table-hover align-middle mb-0"}


class EditableTable(tables.Table):
    """Adds an "edit" link column (to ``edit_url_name``) when the reader may change the rows."""

    edit_url_name = ""
    edit = tables.Column(verbose_name="", empty_values=(), orderable=False,
                         attrs={"td": {"class": "text-end"}})

    def __init__(self, *args: Any, may_change: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_change:
            self.columns.hide("edit")

    def render_edit(self, record: Any) -> SafeString:
        return format_html('<a class="btn btn-sm btn-outline-primary" href="{}">{}</a>',
                           reverse(self.edit_url_name, args=[record.pk]), _("Edit"))


class DepartmentTypeTable(EditableTable):
    edit_url_name = "department-type-edit"
    department_count = tables.Column(verbose_name=_("Departments"), attrs={"td": {"class": "num"}})

    class Meta:
        model = DepartmentType
        fields = ("code", "name", "sort_order", "department_count")
        attrs = TABLE_ATTRS
        empty_text = _("No department types yet.")
        order_by = ("sort_order", "code")


class TeamTable(EditableTable):
    edit_url_name = "team-edit"
    department = tables.Column(order_by=("department__sort_order", "department__code"))
    member_count = tables.Column(verbose_name=_("People"), attrs={"td": {"class": "num"}})
    is_active = tables.BooleanColumn()

    class Meta:
        model = Team
        fields = ("code", "name", "kind", "department", "member_count", "is_active")
        attrs = TABLE_ATTRS
        empty_text = _("No teams or shifts yet.")
        order_by = ("code",)


class ReviewGroupTable(EditableTable):
    edit_url_name = "review-group-edit"
    seats = tables.Column(verbose_name=_("Members"), empty_values=(), orderable=False)

    class Meta:
        model = ReviewGroup
        fields = ("code", "name", "kind", "seats")
        attrs = TABLE_ATTRS
        empty_text = _("No groups yet.")
        order_by = ("code",)

    def render_seats(self, record: ReviewGroup) -> SafeString:
        seats = sorted(record.members.all(), key=lambda seat: (not seat.is_chair, seat.membership_id))
        if not seats:
            return format_html("—")
        chair = str(_("chair"))
        return format_html_join(
            "、", "{}{}",
            ((_seat_name(seat.membership), f"（{chair}）" if seat.is_chair else "") for seat in seats),
        )


def _seat_name(membership: Any) -> str:
    return membership.person.name if membership.person is not None else str(membership.user)


def _departments(request: HttpRequest | None) -> QuerySet[Department]:
    return selectors.departments().filter(is_active=True)


class TeamFilter(django_filters.FilterSet):
    department = django_filters.ModelChoiceFilter(
        label=_("Department"), queryset=_departments, empty_label=_("All departments"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    kind = django_filters.ChoiceFilter(
        label=_("kind"), choices=Team.Kind.choices, empty_label=_("Teams and shifts"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    is_active = django_filters.BooleanFilter(
        label=_("active"), widget=forms.Select(
            attrs={"class": "form-select"},
            choices=[("", _("Active and inactive")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Team
        fields = ["department", "kind", "is_active"]
