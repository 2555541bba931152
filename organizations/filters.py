"""Filters for the browser lists. Choice lists are built per request, inside the tenant scope."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from organizations import selectors
from organizations.context import descendants
from organizations.models import Department, Person, Team


def _departments(request: HttpRequest | None) -> QuerySet[Department]:
    # A callable, not a module-level queryset: the options must be read inside the request's scope.
    return selectors.departments().filter(is_active=True)


def _teams(request: HttpRequest | None) -> QuerySet[Team]:
    return selectors.teams().filter(is_active=True)


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Name or employee number"), "type": "search", "class": "form-control"}
        ),
    )
    department = django_filters.ModelChoiceFilter(
        label=_("Department"), queryset=_departments, method="filter_department", empty_label=_("All departments"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    team = django_filters.ModelChoiceFilter(
        label=_("Team or shift"), queryset=_teams, empty_label=_("All teams and shifts"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Person.Status.choices, empty_label=_("Any status"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    class Meta:
        model = Person
        fields = ["q", "department", "team", "status"]

    def filter_search(self, queryset: QuerySet[Person], name: str, value: str) -> QuerySet[Person]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(employee_no__icontains=value))

    def filter_department(self, queryset: QuerySet[Person], name: str, value: Department | None) -> QuerySet[Person]:
        # Choosing a department means its whole subtree: a head picking 生产部 expects its shifts' people too.
        if value is None:
            return queryset
        parent_of: dict[int, Any] = dict(Department.objects.values_list("id", "parent_id"))
        return queryset.filter(department_id__in=descendants({value.pk}, parent_of))
