"""The organisation set-up pages (issue #17): department types, teams and shifts, review groups with
their members, people and members with their roles, listed, created, changed (and, where safe,
deleted or deactivated) in the browser through the audited services; another organisation's row
is 404 on every page with an id; the menu shows them to HR only.

Elements are found by their ids and names; texts are compared by codes and names, not wording.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from organizations import services, setup_services
from organizations.models import (
    DepartmentHead,
    DepartmentType,
    Membership,
    Person,
    ReviewGroup,
    ReviewGroupMember,
    Team,
    User,
)
from tests.conftest import World, add_member, membership_of


def _in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    return str(response.content.decode())


def _nav(response: Any) -> str:
    match = re.search(r'<nav id="main-nav".*?</nav>', _html(response), re.S)
    return match.group(0) if match else ""


def _errors(response: Any) -> str:
    """The form's error messages (crispy's invalid-feedback blocks and the non-field alert)."""
    return " ".join(re.findall(r'(?:invalid-feedback|alert-danger|alert-block)[^>]*>(.*?)</', _html(response),
                               re.S))


# --- department types ---------------------------------------------------------------------------


def test_it_lists_the_department_types_with_their_departments(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).get(reverse("department-types"))
    assert response.status_code == 200
    assert "back_office" in _html(response) and 'id="setup-new"' in _html(response)


def test_it_creates_a_department_type_with_an_audit_row(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("department-type-new"), {"code": "lab", "name": "检验", "sort_order": 9})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        created = DepartmentType.objects.get(code="lab")
        assert created.name == "检验"
        assert created.history.get().history_user == hr  # type: ignore[attr-defined]


def test_it_refuses_a_department_type_code_in_use_and_writes_nothing(client: Client, hr: User, world_a: World
                                                                     ) -> None:
    response = _in(client, hr).post(reverse("department-type-new"), {"code": "clinical", "name": "另一个",
                                                                      "sort_order": 0})
    assert response.status_code == 400
    assert "clinical" in _errors(response)
    with scope(organization=world_a.org):
        assert DepartmentType.objects.filter(code="clinical").count() == 1


def test_it_renames_a_department_type(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        clinical = DepartmentType.objects.get(code="clinical")
    response = _in(client, hr).post(reverse("department-type-edit", args=[clinical.pk]),
                                    {"code": "clinical", "name": "临床科室", "sort_order": 2})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        clinical.refresh_from_db()
        assert clinical.name == "临床科室"
        assert clinical.history.latest().history_user == hr  # type: ignore[attr-defined]


def test_it_keeps_a_department_type_in_use(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        production = DepartmentType.objects.get(code="production")
    response = _in(client, hr).post(reverse("department-type-delete", args=[production.pk]))
    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert DepartmentType.objects.filter(pk=production.pk).exists()


def test_it_deletes_an_unused_department_type(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        outlet = DepartmentType.objects.get(code="outlet")
    _in(client, hr).post(reverse("department-type-delete", args=[outlet.pk]))
    with scope(organization=world_a.org):
        assert not DepartmentType.objects.filter(pk=outlet.pk).exists()


def test_it_refuses_an_employee_the_new_department_type_page(client: Client, employee: User) -> None:
    assert _in(client, employee).get(reverse("department-type-new")).status_code == 403


# --- another organisation's rows: 404 on every page with an id ------------------------------------


def _rows_of_b(world_b: World) -> dict[str, int]:
    with scope(organization=world_b.org):
        user = add_member(world_b, "b-member", person="colleague")
        group = setup_services.create_review_group(organization=world_b.org, acting_user=None, code="G",
                                                   name="乙组", members={membership_of(user, world_b.org): True})
        day = setup_services.set_calendar_day(organization=world_b.org, acting_user=None,
                                              date=__import__("datetime").date(2025, 3, 8), kind="holiday")
        return {
            "department-type-edit": DepartmentType.objects.get(code="clinical").pk,
            "department-type-delete": DepartmentType.objects.get(code="outlet").pk,
            "team-edit": world_b.shift.pk,
            "review-group-edit": group.pk,
            "person-edit": world_b.people["colleague"].pk,
            "membership-edit": membership_of(user, world_b.org).pk,
            "calendar-day-edit": day.pk,
            "calendar-day-delete": day.pk,
        }


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_for_another_organizations_rows(client: Client, hr: User, world_b: World,
                                                       method: str) -> None:
    rows = _rows_of_b(world_b)
    before = _digest(world_b)
    signed_in = _in(client, hr)
    for name, pk in rows.items():
        if method == "get" and name.endswith("-delete"):
            continue
        response = getattr(signed_in, method)(reverse(name, args=[pk]), {"code": "X", "name": "X"})
        assert response.status_code == 404, name
    assert _digest(world_b) == before


def _digest(world: World) -> list[Any]:
    with scopes_disabled():
        return [
            sorted(DepartmentType.objects.filter(organization=world.org).values_list("code", "name")),
            sorted(Team.objects.filter(organization=world.org).values_list("code", "name", "is_active")),
            sorted(ReviewGroupMember.objects.filter(organization=world.org).values_list("membership_id", "is_chair")),
            sorted(Person.objects.filter(organization=world.org).values_list("employee_no", "name", "status")),
        ]


# --- teams and shifts ---------------------------------------------------------------------------


def test_it_creates_an_inactive_team(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("team-new"), {"department": world_a.back_office.pk, "code": "a-T9",
                                                         "name": "后勤班", "kind": "team"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        team = Team.objects.get(code="a-T9")
        assert (team.department, team.is_active) == (world_a.back_office, False)


def test_it_deactivates_a_shift(client: Client, hr: User, world_a: World) -> None:
    shift = world_a.shift
    response = _in(client, hr).post(reverse("team-edit", args=[shift.pk]), {
        "department": shift.department_id, "code": shift.code, "name": shift.name, "kind": "shift"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        shift.refresh_from_db()
        assert shift.is_active is False
        assert shift.history.latest().history_user == hr  # type: ignore[attr-defined]


def test_it_filters_the_teams_by_kind(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        services.create_team(organization=world_a.org, acting_user=None, department=world_a.production,
                             code="a-T2", name="检修班", kind="team")
    html = _html(_in(client, hr).get(reverse("teams"), {"kind": "team"}))
    assert "a-T2" in html and "a-S1" not in html


# --- review groups ------------------------------------------------------------------------------


def test_it_creates_a_group_with_members_and_a_chair(client: Client, hr: User, head: User, world_a: World
                                                     ) -> None:
    hr_seat, head_seat = membership_of(hr, world_a.org), membership_of(head, world_a.org)
    response = _in(client, hr).post(reverse("review-group-new"), {
        "code": "LEAD", "name": "考核领导小组", "kind": "leadership", "members": [hr_seat.pk, head_seat.pk],
        "chairs": [head_seat.pk]})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        group = ReviewGroup.objects.get(code="LEAD")
        assert dict(group.members.values_list("membership_id", "is_chair")) == {hr_seat.pk: False,
                                                                                 head_seat.pk: True}


def test_it_removes_a_member_from_a_group(client: Client, hr: User, supervisor: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        group = ReviewGroup.objects.get(code="SUP")
    response = _in(client, hr).post(reverse("review-group-edit", args=[group.pk]), {
        "code": "SUP", "name": "监督小组", "kind": "supervision", "members": [membership_of(hr, world_a.org).pk]})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert list(group.members.values_list("membership__user__username", flat=True)) == ["hr"]


def test_it_refuses_a_chair_who_is_not_a_member(client: Client, hr: User, head: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("review-group-new"), {
        "code": "LEAD", "name": "领导小组", "kind": "leadership", "members": [membership_of(hr, world_a.org).pk],
        "chairs": [membership_of(head, world_a.org).pk]})
    assert response.status_code == 400
    with scope(organization=world_a.org):
        assert not ReviewGroup.objects.filter(code="LEAD").exists()


def test_it_lists_only_their_own_groups_to_a_group_member(client: Client, hr: User, supervisor: User,
                                                          world_a: World) -> None:
    with scope(organization=world_a.org):
        setup_services.create_review_group(organization=world_a.org, acting_user=None, code="OTHER", name="别的组")
    html = _html(_in(client, supervisor).get(reverse("review-groups")))
    assert "SUP" in html and "OTHER" not in html and 'id="setup-new"' not in html


# --- people -------------------------------------------------------------------------------------


def test_it_enters_a_new_person(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("person-new"), {
        "employee_no": "a-new", "name": "新同事", "department": world_a.production.pk, "status": "active",
        "base_pay": "4200.00", "hire_date": "2025-03-01"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        person = Person.objects.get(employee_no="a-new")
        assert response["Location"] == reverse("person-detail", args=[person.pk])
        assert str(person.base_pay) == "4200.00" and person.history.get().history_user == hr  # type: ignore[attr-defined]


def test_it_records_a_leaver_with_the_old_and_new_values(client: Client, hr: User, world_a: World) -> None:
    person = world_a.people["colleague"]
    response = _in(client, hr).post(reverse("person-edit", args=[person.pk]), {
        "employee_no": person.employee_no, "name": person.name, "department": person.department_id,
        "base_pay": "3000.00", "status": "left", "hire_date": "", "leave_date": "2025-06-30"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        latest = person.history.latest()  # type: ignore[attr-defined]
        changed = {change.field for change in latest.diff_against(latest.prev_record).changes}
    assert changed == {"status", "leave_date"} and latest.history_user == hr


def test_it_refuses_a_used_employee_number(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("person-new"), {
        "employee_no": "a-head", "name": "重号", "department": world_a.production.pk, "status": "active"})
    assert response.status_code == 400
    assert "a-head" in _errors(response)


def test_it_refuses_a_team_of_another_department(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("person-new"), {
        "employee_no": "a-x", "name": "错班", "department": world_a.back_office.pk, "team": world_a.shift.pk,
        "status": "active"})
    assert response.status_code == 400
    with scope(organization=world_a.org):
        assert not Person.objects.filter(employee_no="a-x").exists()


def test_it_shows_the_new_and_edit_buttons_to_hr_only(client: Client, hr: User, head: User, world_a: World
                                                      ) -> None:
    person = world_a.people["employee"]
    assert 'id="person-new"' in _html(_in(client, hr).get(reverse("people")))
    assert 'id="person-edit"' in _html(client.get(reverse("person-detail", args=[person.pk])))
    assert 'id="person-new"' not in _html(_in(client, head).get(reverse("people")))
    assert _in(client, head).get(reverse("person-edit", args=[person.pk])).status_code == 403


# --- members and roles --------------------------------------------------------------------------


def test_it_adds_a_new_sign_in_with_roles(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("membership-new"), {
        "username": "zhang", "display_name": "张会计", "password": "Lx-9q7w!pass", "is_finance": "on",
        "person": world_a.people["colleague"].pk, "headed_departments": [world_a.back_office.pk]})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        membership = Membership.objects.get(user__username="zhang")
        assert membership.is_finance and membership.person == world_a.people["colleague"]
        assert list(DepartmentHead.objects.filter(membership=membership).values_list("department", flat=True)) == [
            world_a.back_office.pk]
    assert Client().login(username="zhang", password="Lx-9q7w!pass")


def test_it_asks_a_new_sign_in_for_a_password(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("membership-new"), {"username": "li"})
    assert response.status_code == 400
    assert 'name="password"' in _html(response) and _errors(response)
    assert not User.objects.filter(username="li").exists()


def test_it_refuses_to_add_a_member_twice(client: Client, hr: User, head: User) -> None:
    response = _in(client, hr).post(reverse("membership-new"), {"username": "head"})
    assert response.status_code == 400
    assert "head" in _errors(response)


def test_it_changes_a_members_roles(client: Client, hr: User, employee: User, world_a: World) -> None:
    membership = membership_of(employee, world_a.org)
    response = _in(client, hr).post(reverse("membership-edit", args=[membership.pk]), {
        "person": world_a.people["employee"].pk, "is_hr_admin": "on", "is_active": "on",
        "headed_departments": [world_a.shift_dept.pk]})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        membership.refresh_from_db()
        assert membership.is_hr_admin
        assert membership.headships.get().department == world_a.shift_dept


def test_it_deactivates_a_member(client: Client, hr: User, employee: User, world_a: World) -> None:
    membership = membership_of(employee, world_a.org)
    _in(client, hr).post(reverse("membership-edit", args=[membership.pk]),
                         {"person": world_a.people["employee"].pk})
    with scope(organization=world_a.org):
        membership.refresh_from_db()
        assert membership.is_active is False
        assert membership.history.latest().history_user == hr  # type: ignore[attr-defined]


def test_it_keeps_hr_from_removing_their_own_rights(client: Client, hr: User, world_a: World) -> None:
    membership = membership_of(hr, world_a.org)
    response = _in(client, hr).post(reverse("membership-edit", args=[membership.pk]),
                                    {"person": world_a.people["hr"].pk, "is_active": "on"})
    assert response.status_code == 400
    with scope(organization=world_a.org):
        membership.refresh_from_db()
        assert membership.is_hr_admin and membership.is_active


# --- navigation ---------------------------------------------------------------------------------


def test_it_puts_the_set_up_pages_in_hrs_menu(client: Client, hr: User) -> None:
    nav = _nav(_in(client, hr).get(reverse("home")))
    for name in ("department-types", "teams", "review-groups", "calendar"):
        assert f'href="{reverse(name)}"' in nav


def test_it_leaves_the_set_up_pages_out_of_an_employees_menu(client: Client, employee: User) -> None:
    nav = _nav(_in(client, employee).get(reverse("home")))
    for name in ("department-types", "teams", "review-groups", "calendar"):
        assert f'href="{reverse(name)}"' not in nav
