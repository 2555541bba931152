"""Writes behind the organisation set-up pages and their API (issue #17): department types, review
and supervision groups with their members, new sign-ins with their roles, and the working
calendar's single days.

Same rules as organizations.services: keyword-only ``acting_user``, the model's ``full_clean``,
nothing written when nothing changes, an audit row (django-simple-history) for every change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import apply_changes, audited_save
from organizations import services
from organizations.models import (
    CalendarDay,
    Department,
    DepartmentType,
    Membership,
    Organization,
    Person,
    ReviewGroup,
    ReviewGroupMember,
    User,
)


def _audited_delete(instance: Any, *, acting_user: User | None, reason: str) -> None:
    instance._history_user = acting_user
    instance._change_reason = reason
    instance.delete()


# --- department types ---------------------------------------------------------------------------


def create_department_type(
    *, organization: Organization, acting_user: User | None, code: str, name: str, sort_order: int = 0,
    reason: str = "",
) -> DepartmentType:
    department_type = DepartmentType(organization=organization, code=code, name=name, sort_order=sort_order)
    audited_save(department_type, acting_user=acting_user, reason=reason or "created")
    return department_type


def update_department_type(
    *, department_type: DepartmentType, acting_user: User | None, reason: str = "", **changes: Any
) -> DepartmentType:
    if not apply_changes(department_type, changes):
        return department_type
    audited_save(department_type, acting_user=acting_user, reason=reason or "updated")
    return department_type


def delete_department_type(*, department_type: DepartmentType, acting_user: User | None, reason: str = "") -> None:
    """Deletes an unused type; one that a department, template or pay policy names raises ProtectedError."""
    _audited_delete(department_type, acting_user=acting_user, reason=reason or "deleted")


# --- review and supervision groups --------------------------------------------------------------


def create_review_group(
    *, organization: Organization, acting_user: User | None, code: str, name: str,
    kind: str = ReviewGroup.Kind.REVIEW, members: Mapping[Membership, bool] | None = None, reason: str = "",
) -> ReviewGroup:
    with transaction.atomic():
        group = ReviewGroup(organization=organization, code=code, name=name, kind=kind)
        audited_save(group, acting_user=acting_user, reason=reason or "created")
        if members:
            set_group_members(group=group, members=members, acting_user=acting_user)
    return group


def update_review_group(
    *, group: ReviewGroup, acting_user: User | None, reason: str = "", **changes: Any
) -> ReviewGroup:
    if not apply_changes(group, changes):
        return group
    audited_save(group, acting_user=acting_user, reason=reason or "updated")
    return group


@transaction.atomic
def set_group_members(
    *, group: ReviewGroup, members: Mapping[Membership, bool], acting_user: User | None
) -> None:
    """Makes the group's seats exactly ``members`` (membership → chairs the group): seats no longer
    wanted are removed, new ones added, a changed chair flag updated; the rest is left alone."""
    for membership in members:
        if membership.organization_id != group.organization_id:
            raise ValidationError(_("The member belongs to another organization."))
    wanted = {membership.pk: (membership, chair) for membership, chair in members.items()}
    seats = {seat.membership_id: seat for seat in ReviewGroupMember.objects.filter(group=group)}
    for membership_id, seat in seats.items():
        if membership_id not in wanted:
            _audited_delete(seat, acting_user=acting_user, reason="removed from group")
    for membership_id, (membership, chair) in wanted.items():
        current = seats.get(membership_id)
        if current is None:
            seat = ReviewGroupMember(organization_id=group.organization_id, group=group, membership=membership,
                                     is_chair=chair)
            audited_save(seat, acting_user=acting_user, reason="added to group")
        elif current.is_chair != chair:
            current.is_chair = chair
            audited_save(current, acting_user=acting_user, reason="updated")


# --- sign-ins and roles -------------------------------------------------------------------------


@transaction.atomic
def add_member(
    *, organization: Organization, acting_user: User | None, username: str, display_name: str = "",
    password: str = "", person: Person | None = None, is_hr_admin: bool = False, is_finance: bool = False,
    headed_departments: list[Department] | None = None,
) -> Membership:
    """Gives a sign-in a place in the organisation. An existing sign-in is reused (one person may work
    for two organisations); a new one needs an initial password that passes the password rules."""
    user = User.objects.filter(username=username).first()
    if user is None:
        if not password:
            raise ValidationError({"password": _("A new user needs an initial password.")})
        try:
            validate_password(password)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
        user = User.objects.create_user(username=username, password=password, display_name=display_name)
    elif Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError({"username": _("%(username)s is already a member of this organization.")
                                           % {"username": username}})
    return services.create_membership(
        organization=organization, acting_user=acting_user, user=user, person=person, is_hr_admin=is_hr_admin,
        is_finance=is_finance, headed_departments=headed_departments,
    )


def change_member(
    *, membership: Membership, acting_user: User | None, headed_departments: list[Department] | None = None,
    **changes: Any,
) -> Membership:
    """Changes a member's person record, roles, headships or active flag. Nobody takes away their own
    HR rights or sign-in here: the organisation would be left without the one who can give them back."""
    own = acting_user is not None and membership.user_id == acting_user.pk
    if own and (changes.get("is_active") is False or changes.get("is_hr_admin") is False):
        raise ValidationError(_("You cannot remove your own HR admin rights or deactivate yourself; "
                                "ask another HR admin."))
    with transaction.atomic():
        services.update_membership(membership=membership, acting_user=acting_user, **changes)
        if headed_departments is not None:
            services.set_headed_departments(membership=membership, departments=headed_departments,
                                            acting_user=acting_user)
    return membership


# --- the working calendar -----------------------------------------------------------------------


def set_calendar_day(
    *, organization: Organization, acting_user: User | None, date: dt.date, kind: str, name: str = "",
    reason: str = "",
) -> CalendarDay:
    """Enters or changes one day that differs from the Monday–Friday rule (a local holiday, a
    make-up working day). The same date again changes that day."""
    day = CalendarDay.objects.filter(organization=organization, date=date).first()
    if day is None:
        day = CalendarDay(organization=organization, date=date, kind=kind, name=name)
        audited_save(day, acting_user=acting_user, reason=reason or "created")
        return day
    return update_calendar_day(day=day, acting_user=acting_user, reason=reason, kind=kind, name=name)


def update_calendar_day(*, day: CalendarDay, acting_user: User | None, reason: str = "", **changes: Any
                        ) -> CalendarDay:
    if not apply_changes(day, changes):
        return day
    audited_save(day, acting_user=acting_user, reason=reason or "updated")
    return day


def remove_calendar_day(*, day: CalendarDay, acting_user: User | None, reason: str = "") -> None:
    """The day follows the Monday–Friday rule again."""
    _audited_delete(day, acting_user=acting_user, reason=reason or "deleted")
