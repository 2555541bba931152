"""Writes to organisations, departments, people, memberships and the calendar.

Every function takes keyword-only arguments with ``acting_user``, validates with the model's
``full_clean``, returns early when nothing changes, and leaves an audit row (django-simple-history
records who, when, the old and new values, and the reason).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from core.audit import apply_changes, audited_save
from organizations.models import (
    ApiToken,
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

# The default department types a new organisation starts with; HR renames or adds to them.
DEFAULT_DEPARTMENT_TYPES = [
    ("production", "生产"),
    ("logistics", "后勤"),
    ("clinical", "临床"),
    ("outlet", "网点"),
    ("back_office", "职能"),
]


@transaction.atomic
def create_organization(*, name: str, slug: str, acting_user: User | None) -> Organization:
    organization = Organization(name=name, slug=slug)
    audited_save(organization, acting_user=acting_user, reason="created")
    bulk_create_with_history(
        [DepartmentType(organization=organization, code=code, name=label, sort_order=i)
         for i, (code, label) in enumerate(DEFAULT_DEPARTMENT_TYPES)],
        DepartmentType, default_user=acting_user, default_change_reason="created",
    )
    return organization


def update_organization(
    *, organization: Organization, acting_user: User | None, reason: str = "", **changes: Any
) -> Organization:
    if not apply_changes(organization, changes):
        return organization
    audited_save(organization, acting_user=acting_user, reason=reason or "updated")
    return organization


def create_department(
    *,
    organization: Organization,
    acting_user: User | None,
    code: str,
    name: str,
    parent: Department | None = None,
    department_type: DepartmentType | None = None,
    sort_order: int = 0,
    inspects_others: bool = False,
    reason: str = "",
) -> Department:
    department = Department(
        organization=organization,
        code=code,
        name=name,
        parent=parent,
        department_type=department_type,
        sort_order=sort_order,
        inspects_others=inspects_others,
    )
    audited_save(department, acting_user=acting_user, reason=reason or "created")
    return department


def update_department(
    *, department: Department, acting_user: User | None, reason: str = "", **changes: Any
) -> Department:
    if not apply_changes(department, changes):
        return department
    audited_save(department, acting_user=acting_user, reason=reason or "updated")
    return department


def delete_department(*, department: Department, acting_user: User | None, reason: str = "") -> None:
    """Deletes an unused department; one with people, teams or sub-departments raises ProtectedError."""
    department._history_user = acting_user  # type: ignore[attr-defined]
    department._change_reason = reason or "deleted"  # type: ignore[attr-defined]
    department.delete()


def create_team(
    *,
    organization: Organization,
    acting_user: User | None,
    department: Department,
    code: str,
    name: str,
    kind: str = Team.Kind.TEAM,
    reason: str = "",
) -> Team:
    team = Team(organization=organization, department=department, code=code, name=name, kind=kind)
    audited_save(team, acting_user=acting_user, reason=reason or "created")
    return team


def update_team(*, team: Team, acting_user: User | None, reason: str = "", **changes: Any) -> Team:
    if not apply_changes(team, changes):
        return team
    audited_save(team, acting_user=acting_user, reason=reason or "updated")
    return team


def create_person(
    *,
    organization: Organization,
    acting_user: User | None,
    employee_no: str,
    name: str,
    department: Department,
    reason: str = "",
    **fields: Any,
) -> Person:
    person = Person(organization=organization, employee_no=employee_no, name=name, department=department, **fields)
    audited_save(person, acting_user=acting_user, reason=reason or "created")
    return person


def update_person(*, person: Person, acting_user: User | None, reason: str = "", **changes: Any) -> Person:
    if not apply_changes(person, changes):
        return person
    audited_save(person, acting_user=acting_user, reason=reason or "updated")
    return person


@transaction.atomic
def create_membership(
    *,
    organization: Organization,
    acting_user: User | None,
    user: User,
    person: Person | None = None,
    is_hr_admin: bool = False,
    is_finance: bool = False,
    headed_departments: list[Department] | None = None,
    reason: str = "",
) -> Membership:
    membership = Membership(
        organization=organization, user=user, person=person, is_hr_admin=is_hr_admin, is_finance=is_finance
    )
    audited_save(membership, acting_user=acting_user, reason=reason or "created")
    for department in headed_departments or []:
        set_department_head(membership=membership, department=department, is_head=True, acting_user=acting_user)
    return membership


def update_membership(
    *, membership: Membership, acting_user: User | None, reason: str = "", **changes: Any
) -> Membership:
    if not apply_changes(membership, changes):
        return membership
    audited_save(membership, acting_user=acting_user, reason=reason or "updated")
    return membership


def set_department_head(
    *, membership: Membership, department: Department, is_head: bool, acting_user: User | None, reason: str = ""
) -> None:
    if department.organization_id != membership.organization_id:
        raise ValidationError(_("The department belongs to another organization."))
    existing = DepartmentHead.objects.filter(membership=membership, department=department).first()
    if is_head and existing is None:
        head = DepartmentHead(organization_id=membership.organization_id, membership=membership, department=department)
        audited_save(head, acting_user=acting_user, reason=reason or "appointed head")
    elif not is_head and existing is not None:
        existing._history_user = acting_user  # type: ignore[attr-defined]
        existing._change_reason = reason or "removed as head"  # type: ignore[attr-defined]
        existing.delete()


@transaction.atomic
def set_headed_departments(*, membership: Membership, departments: list[Department], acting_user: User | None) -> None:
    wanted = {d.pk: d for d in departments}
    current = set(DepartmentHead.objects.filter(membership=membership).values_list("department_id", flat=True))
    for dept_id in current - wanted.keys():
        set_department_head(
            membership=membership, department=Department.objects.get(pk=dept_id), is_head=False, acting_user=acting_user
        )
    for dept_id in wanted.keys() - current:
        set_department_head(membership=membership, department=wanted[dept_id], is_head=True, acting_user=acting_user)


def add_group_member(
    *, group: ReviewGroup, membership: Membership, acting_user: User | None, is_chair: bool = False, reason: str = ""
) -> ReviewGroupMember:
    seat, created = ReviewGroupMember.objects.get_or_create(
        organization_id=group.organization_id, group=group, membership=membership, defaults={"is_chair": is_chair}
    )
    if not created and seat.is_chair != is_chair:
        seat.is_chair = is_chair
        audited_save(seat, acting_user=acting_user, reason=reason or "updated")
    return seat


def create_api_token(*, membership: Membership, name: str, acting_user: User | None) -> tuple[ApiToken, str]:
    """Returns the token and its key; the key is shown once and only its digest is kept."""
    if not membership.is_active:
        raise ValidationError({"membership": _("Only an active member of this organization can hold an API token.")})
    key = ApiToken.new_key()
    token = ApiToken(
        organization_id=membership.organization_id, membership=membership, name=name, digest=ApiToken.hash_key(key)
    )
    audited_save(token, acting_user=acting_user, reason="created")
    return token, key


def revoke_api_token(*, token: ApiToken, acting_user: User | None, reason: str = "") -> ApiToken:
    """Ends the token for good: the very next request with its key is refused (the middleware reads
    ``revoked_at``). A token already revoked keeps its first revocation; nothing is written."""
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    audited_save(token, acting_user=acting_user, reason=reason or "revoked")
    return token


def _holiday_names() -> dict[str, str]:
    """chinesecalendar's holiday names (English) → their Chinese names, which the package carries too."""
    import chinese_calendar

    return {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


@transaction.atomic
def seed_calendar_year(*, organization: Organization, year: int, acting_user: User | None) -> dict[str, int]:
    """Fills a year's holidays and make-up working days from chinesecalendar.

    Idempotent, and it never overwrites a day HR has already entered or edited: only days not in
    the table are added. A year chinesecalendar does not know is refused, never guessed.
    """
    import chinese_calendar

    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    try:
        chinese_calendar.is_workday(start)
        chinese_calendar.is_workday(end)
    except NotImplementedError:
        raise ValidationError(
            _("No official holiday data for %(year)s yet; enter that year's holidays by hand.") % {"year": year}
        ) from None
    days: list[CalendarDay] = []
    names = _holiday_names()
    current = start
    while current <= end:
        is_holiday, english = chinese_calendar.get_holiday_detail(current)
        name = names.get(str(english or ""), str(english or ""))
        weekend = current.weekday() >= 5
        if is_holiday and not weekend:
            days.append(
                CalendarDay(
                    organization=organization, date=current, kind=CalendarDay.Kind.HOLIDAY, name=name
                )
            )
        elif not is_holiday and weekend:
            days.append(
                CalendarDay(
                    organization=organization, date=current, kind=CalendarDay.Kind.WORKDAY, name=name
                )
            )
        current += dt.timedelta(days=1)
    existing = set(
        CalendarDay.objects.filter(organization=organization, date__year=year).values_list("date", flat=True)
    )
    new_days = [d for d in days if d.date not in existing]
    result = {"added": len(new_days), "kept": len(days) - len(new_days)}
    known = CalendarYear.objects.filter(organization=organization, year=year).exists()
    if known and not new_days:
        return result  # filled before and nothing new: nothing written
    # Each added day leaves its audit row, naming who filled the year.
    bulk_create_with_history(new_days, CalendarDay, default_user=acting_user, default_change_reason="chinesecalendar")
    if not known:
        CalendarYear.objects.create(organization=organization, year=year, source="chinesecalendar")
    return result
