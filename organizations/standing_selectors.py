"""Reads of standing parameters (organizations.standing). Inside a tenant scope, like every selector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from organizations.models import Person
from organizations.standing import StandingParameter


def in_force_on(day: dt.date) -> QuerySet[StandingParameter]:
    """The values in force on ``day`` (at most one per name of a person or a department)."""
    return StandingParameter.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day),
                                            effective_from__lte=day)


def values_on(day: dt.date, *, person_names: Iterable[str] = (), department_names: Iterable[str] = (),
              ) -> tuple[dict[int, dict[str, Decimal]], dict[int, dict[str, Decimal]]]:
    """Person id → {name: value} and department id → {name: value} in force on ``day``, for the
    names asked for only: one query for everyone (none when no name is asked for)."""
    person_names, department_names = set(person_names), set(department_names)
    people: dict[int, dict[str, Decimal]] = {}
    departments: dict[int, dict[str, Decimal]] = {}
    wanted = Q(person__isnull=False, name__in=person_names) if person_names else Q(pk__in=[])
    if department_names:
        wanted |= Q(department__isnull=False, name__in=department_names)
    if not person_names and not department_names:
        return people, departments
    # Ordered by start, so that should ranges ever overlap the latest start wins.
    for person_id, department_id, name, value in in_force_on(day).filter(wanted).order_by(
            "effective_from").values_list("person_id", "department_id", "name", "value"):
        if person_id is not None:
            people.setdefault(person_id, {})[name] = value
        else:
            departments.setdefault(department_id, {})[name] = value
    return people, departments


def names() -> tuple[set[str], set[str]]:
    """The names the organisation's people's and departments' parameters use (ever): one query."""
    people: set[str] = set()
    departments: set[str] = set()
    for name, of_person in StandingParameter.objects.order_by().annotate(
            of_person=ExpressionWrapper(Q(person__isnull=False), output_field=BooleanField())).values_list(
            "name", "of_person").distinct():
        (people if of_person else departments).add(name)
    return people, departments


def of_person(person: Person) -> QuerySet[StandingParameter]:
    return StandingParameter.objects.filter(person=person).order_by("name", "-effective_from")


def of_departments() -> QuerySet[StandingParameter]:
    return StandingParameter.objects.filter(department__isnull=False).select_related("department").order_by(
        "department__sort_order", "department__code", "name", "-effective_from")
