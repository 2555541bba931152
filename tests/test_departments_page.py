"""The departments page (issue #17, point 3): the organisation's tree, each department under its
parent and indented by depth, with its type, its functional-check flag, its heads and people, in a
fixed number of queries; HR creates and changes departments (their place in the tree included)
through the audited services; a parent below the department itself is refused on the field;
another organisation's department is 404; other roles may read the tree but not change it.

Rows are found by their ids and data attributes; texts are compared by codes and names.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from organizations import services
from organizations.models import Department, DepartmentType, User
from tests.conftest import World


def _in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    return str(response.content.decode())


def _tree(response: Any) -> list[tuple[str, int]]:
    """(code, depth) of each row of the tree, in the order shown."""
    return [(code, int(depth)) for code, depth in
            re.findall(r'<tr id="department-\d+" data-code="([^"]+)" data-depth="(\d+)"', _html(response))]


def _field_errors(response: Any, field: str) -> str:
    """The messages crispy shows under one field."""
    return " ".join(re.findall(rf'id="error_\d+_id_{field}"[^>]*>(.*?)</', _html(response), re.S))


def _department(world: World, code: str, *, parent: Department | None, **fields: Any) -> Department:
    with scope(organization=world.org):
        return services.create_department(organization=world.org, acting_user=None, code=code, name=code,
                                          parent=parent, **fields)


def _form(department: Department, **changes: Any) -> dict[str, Any]:
    values = {"code": department.code, "name": department.name, "parent": department.parent_id or "",
              "department_type": department.department_type_id or "", "sort_order": department.sort_order,
              "is_active": "on" if department.is_active else "", "inspects_others": ""}
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


# --- the tree -----------------------------------------------------------------------------------


def test_it_shows_each_department_under_its_parent_indented_by_depth(client: Client, hr: User, world_a: World
                                                                      ) -> None:
    _department(world_a, "a-P2", parent=world_a.shift_dept, sort_order=1)
    _department(world_a, "a-P0", parent=world_a.production)  # sort order 0: before a-P1

    response = _in(client, hr).get(reverse("departments"))

    assert response.status_code == 200
    # Siblings by sort order, then code (综合办 a-B before 生产部 a-P), each parent before its children.
    assert _tree(response) == [("a-B", 0), ("a-P", 0), ("a-P0", 1), ("a-P1", 1), ("a-P2", 2)]


def test_it_shows_the_type_the_functional_check_flag_the_heads_and_the_people(
    client: Client, hr: User, head: User, world_a: World
) -> None:
    _department(world_a, "a-Q", parent=None, inspects_others=True)

    html = _html(_in(client, hr).get(reverse("departments")))

    production = re.search(r'data-code="a-P".*?</tr>', html, re.S)
    check = re.search(r'data-code="a-Q".*?</tr>', html, re.S)
    assert production is not None and check is not None
    assert "生产" in production.group(0) and "head-a" in production.group(0)
    # People of 生产部 itself (the head) and with 运行部 below it (the employee).
    assert re.findall(r'class="text-end[^"]*">(\d+)</td>', production.group(0)) == ["1", "2"]
    assert "department-inspects" in check.group(0) and "department-inspects" not in production.group(0)


def test_it_reads_the_tree_in_the_same_number_of_queries_for_any_size(
    client: Client, hr: User, head: User, world_a: World, django_assert_max_num_queries: Any
) -> None:
    signed_in = _in(client, hr)
    signed_in.get(reverse("departments"))
    with CaptureQueriesContext(connection) as small:
        signed_in.get(reverse("departments"))
    parent = world_a.production
    with scope(organization=world_a.org):
        for number in range(30):
            parent = _department(world_a, f"a-D{number}", parent=parent if number % 3 else None)
            services.create_person(organization=world_a.org, acting_user=None, employee_no=f"a-d{number}",
                                   name=f"d{number}", department=parent)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = signed_in.get(reverse("departments"))

    assert len(_tree(response)) == 33


def test_it_offers_hr_the_new_and_edit_links_and_the_others_only_the_tree(
    client: Client, hr: User, employee: User, world_a: World
) -> None:
    edit = reverse("department-edit", args=[world_a.shift_dept.pk])
    assert edit in _html(_in(client, hr).get(reverse("departments")))

    html = _html(_in(Client(), employee).get(reverse("departments")))

    assert 'data-code="a-P1"' in html
    assert edit not in html and reverse("department-new") not in html


# --- creating and changing ----------------------------------------------------------------------


def test_it_creates_a_sub_department_with_an_audit_row(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        clinical = DepartmentType.objects.get(code="clinical")

    response = _in(client, hr).post(reverse("department-new"), {
        "code": "a-P9", "name": "化学分部", "parent": world_a.production.pk, "department_type": clinical.pk,
        "inspects_others": "on", "sort_order": 3})

    assert response.status_code == 302 and response["Location"] == reverse("departments")
    with scope(organization=world_a.org):
        created = Department.objects.get(code="a-P9")
        assert (created.name, created.parent, created.department_type) == ("化学分部", world_a.production, clinical)
        assert created.inspects_others and created.is_active
        assert created.history.get().history_user == hr  # type: ignore[attr-defined]


def test_it_preselects_the_parent_of_a_new_sub_department(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).get(reverse("department-new") + f"?parent={world_a.back_office.pk}")

    assert re.search(rf'<option value="{world_a.back_office.pk}" selected', _html(response))


def test_it_refuses_a_code_in_use(client: Client, hr: User, world_a: World) -> None:
    response = _in(client, hr).post(reverse("department-new"), {"code": "a-B", "name": "重复", "sort_order": 0})

    assert response.status_code == 400
    assert "a-B" in _field_errors(response, "code")


def test_it_changes_a_department_and_moves_it_with_an_audit_row(client: Client, hr: User, world_a: World) -> None:
    department = world_a.shift_dept

    response = _in(client, hr).post(reverse("department-edit", args=[department.pk]), _form(
        department, name="运行部（新）", parent=world_a.back_office.pk, inspects_others="on"))

    assert response.status_code == 302
    with scope(organization=world_a.org):
        department.refresh_from_db()
        assert (department.name, department.parent, department.inspects_others) == (
            "运行部（新）", world_a.back_office, True)
        record = department.history.first()  # type: ignore[attr-defined]
        assert record.history_user == hr and record.history_type == "~"


def test_it_writes_nothing_when_nothing_changed(client: Client, hr: User, world_a: World) -> None:
    department = world_a.shift_dept
    with scope(organization=world_a.org):
        records = department.history.count()  # type: ignore[attr-defined]

    response = _in(client, hr).post(reverse("department-edit", args=[department.pk]), _form(department))

    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert department.history.count() == records  # type: ignore[attr-defined]


@pytest.mark.parametrize("new_parent", ["itself", "child", "grandchild"])
def test_it_refuses_a_parent_below_the_department_itself(client: Client, hr: User, world_a: World,
                                                         new_parent: str) -> None:
    grandchild = _department(world_a, "a-P1x", parent=world_a.shift_dept)
    parent = {"itself": world_a.production, "child": world_a.shift_dept, "grandchild": grandchild}[new_parent]

    response = _in(client, hr).post(reverse("department-edit", args=[world_a.production.pk]),
                                    _form(world_a.production, parent=parent.pk))

    assert response.status_code == 400
    assert "部门不能放在自身或其下级部门之下。" in _field_errors(response, "parent")
    with scope(organization=world_a.org):
        assert Department.objects.get(pk=world_a.production.pk).parent_id is None


def test_the_service_refuses_a_cycle_too(hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        production = Department.objects.get(pk=world_a.production.pk)
        with pytest.raises(ValidationError) as refused:
            services.update_department(department=production, acting_user=hr, parent=world_a.shift_dept)
        assert "parent" in refused.value.message_dict


def test_it_refuses_a_parent_of_another_organisation(client: Client, hr: User, world_a: World, world_b: World
                                                     ) -> None:
    response = _in(client, hr).post(reverse("department-new"), {
        "code": "a-X", "name": "X", "parent": world_b.production.pk, "sort_order": 0})

    assert response.status_code == 400
    assert _field_errors(response, "parent")
    with scopes_disabled():
        assert not Department.objects.filter(code="a-X").exists()


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_404_for_another_organisations_department(client: Client, hr: User, world_a: World,
                                                             world_b: World, method: str) -> None:
    theirs = world_b.shift_dept

    response = getattr(_in(client, hr), method)(reverse("department-edit", args=[theirs.pk]),
                                                {"code": "X", "name": "X", "sort_order": 0})

    assert response.status_code == 404
    with scopes_disabled():
        assert Department.objects.get(pk=theirs.pk).name == "运行部"


@pytest.mark.parametrize("role", ["employee", "head", "finance"])
def test_it_refuses_other_roles_the_forms(client: Client, role: str, employee: User, head: User, finance: User,
                                          world_a: World) -> None:
    user = {"employee": employee, "head": head, "finance": finance}[role]
    signed_in = _in(client, user)

    assert signed_in.get(reverse("department-new")).status_code == 403
    assert signed_in.post(reverse("department-new"), {"code": "a-X", "name": "X", "sort_order": 0}).status_code == 403
    edit = reverse("department-edit", args=[world_a.shift_dept.pk])
    assert signed_in.get(edit).status_code == 403
    assert signed_in.post(edit, _form(world_a.shift_dept, name="X")).status_code == 403
