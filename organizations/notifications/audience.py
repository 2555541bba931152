"""Who is who, for the event kinds' recipient functions: members by role, by person, by user.

Every function reads active memberships of the current scope in one query and returns membership
ids, the recipients notifications are addressed to.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from organizations.models import DepartmentHead, Membership, ReviewGroupMember


def _active() -> QuerySet[Membership]:
    return Membership.objects.filter(is_active=True)


def hr() -> list[int]:
    return list(_active().filter(is_hr_admin=True).order_by("pk").values_list("pk", flat=True))


def finance() -> list[int]:
    return list(_active().filter(is_finance=True).order_by("pk").values_list("pk", flat=True))


def of_people(person_ids: Iterable[int | None]) -> dict[int, int]:
    """{person id: membership id} of the people who can sign in."""
    wanted = {pk for pk in person_ids if pk is not None}
    if not wanted:
        return {}
    rows = _active().filter(person_id__in=wanted).values_list("person_id", "pk")
    return {person_id: pk for person_id, pk in rows if person_id is not None}


def of_users(user_ids: Iterable[int | None]) -> list[int]:
    wanted = {pk for pk in user_ids if pk is not None}
    return list(_active().filter(user_id__in=wanted).order_by("pk").values_list("pk", flat=True)) if wanted else []


def heads_of(department_ids: Iterable[int | None]) -> list[int]:
    """The members heading any of the departments (not the ones above them)."""
    wanted = {pk for pk in department_ids if pk is not None}
    if not wanted:
        return []
    return sorted(set(DepartmentHead.objects.filter(department_id__in=wanted, membership__is_active=True)
                      .values_list("membership_id", flat=True)))


def group(group_id: int | None) -> list[int]:
    if group_id is None:
        return []
    return sorted(set(ReviewGroupMember.objects.filter(group_id=group_id, membership__is_active=True)
                      .values_list("membership_id", flat=True)))
