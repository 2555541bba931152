"""The API of the set-up data (issue #17): department types and review groups (with members) listed,
created, changed, a type in use refused (409), another organisation's rows 404, and the routes in
the schema the way tests/test_api_schema.py expects of every operation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_scopes import scope

from organizations import setup_services
from organizations.models import DepartmentType, ReviewGroup, User
from tests.conftest import World, add_member, membership_of
from tests.test_api_schema import fetch, operations

# --- department types ---------------------------------------------------------------------------


def test_it_lists_the_department_types_so_an_api_user_finds_their_ids(api_for: Any, head: User, world_a: World
                                                                      ) -> None:
    rows = api_for(head).get("/api/department-types/").json()["results"]
    assert {row["code"] for row in rows} == {"production", "logistics", "clinical", "outlet", "back_office"}
    production = next(row for row in rows if row["code"] == "production")
    assert production["id"] == world_a.production.department_type_id


def test_it_creates_and_renames_a_department_type(api_for: Any, hr: User, world_a: World) -> None:
    client = api_for(hr)
    created = client.post("/api/department-types/", {"code": "lab", "name": "检验"}, format="json")
    assert created.status_code == 201
    renamed = client.patch(f"/api/department-types/{created.json()['id']}/", {"name": "检验科"}, format="json")
    assert renamed.json()["name"] == "检验科"
    with scope(organization=world_a.org):
        assert [row.history_user for row in DepartmentType.objects.get(code="lab").history.all()] == [hr, hr]


def test_it_refuses_a_department_type_code_twice(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post("/api/department-types/", {"code": "clinical", "name": "X"}, format="json")
    assert response.status_code == 400


def test_it_refuses_to_delete_a_department_type_in_use_with_409(api_for: Any, hr: User, world_a: World) -> None:
    type_id = world_a.production.department_type_id
    response = api_for(hr).delete(f"/api/department-types/{type_id}/")
    assert response.status_code == 409
    with scope(organization=world_a.org):
        assert DepartmentType.objects.filter(code="production").exists()


def test_it_refuses_an_employee_a_new_department_type(api_for: Any, employee: User) -> None:
    assert api_for(employee).post("/api/department-types/", {"code": "x", "name": "x"},
                                  format="json").status_code == 403


# --- review groups ------------------------------------------------------------------------------


def test_it_creates_a_group_with_its_members(api_for: Any, hr: User, head: User, world_a: World) -> None:
    seat = membership_of(head, world_a.org).pk
    response = api_for(hr).post("/api/review-groups/", {
        "code": "LEAD", "name": "考核领导小组", "kind": "leadership",
        "members": [{"membership": seat, "is_chair": True}]}, format="json")
    assert response.status_code == 201
    assert response.json()["members"] == [{"membership": seat, "is_chair": True}]


def test_it_replaces_a_groups_members(api_for: Any, hr: User, supervisor: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        group = ReviewGroup.objects.get(code="SUP")
    seat = membership_of(hr, world_a.org).pk
    response = api_for(hr).patch(f"/api/review-groups/{group.pk}/", {"members": [{"membership": seat}]},
                                 format="json")
    assert response.status_code == 200
    assert response.json()["members"] == [{"membership": seat, "is_chair": False}]


def test_it_shows_a_group_member_only_their_groups(api_for: Any, supervisor: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        setup_services.create_review_group(organization=world_a.org, acting_user=None, code="OTHER", name="别组")
    rows = api_for(supervisor).get("/api/review-groups/").json()["results"]
    assert [row["code"] for row in rows] == ["SUP"]


def test_it_refuses_a_member_of_another_organization(api_for: Any, hr: User, world_a: World, world_b: World
                                                     ) -> None:
    stranger = membership_of(add_member(world_b, "b-someone", person="colleague"), world_b.org).pk
    response = api_for(hr).post("/api/review-groups/", {"code": "G", "name": "组", "members": [
        {"membership": stranger}]}, format="json")
    assert response.status_code == 400
    with scope(organization=world_a.org):
        assert not ReviewGroup.objects.filter(code="G").exists()


@pytest.mark.parametrize("path", ["department-types", "review-groups"])
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_it_answers_404_for_another_organizations_rows(api_for: Any, hr: User, world_b: World, path: str,
                                                       method: str) -> None:
    with scope(organization=world_b.org):
        pk = (DepartmentType.objects.get(code="outlet").pk if path == "department-types" else
              setup_services.create_review_group(organization=world_b.org, acting_user=None, code="G", name="乙").pk)
    response = getattr(api_for(hr), method)(f"/api/{path}/{pk}/", {"code": "X", "name": "X"}, format="json")
    assert response.status_code in (404, 405)
    if method != "delete" or path == "department-types":
        assert response.status_code == 404
    with scope(organization=world_b.org):
        assert DepartmentType.objects.filter(code="outlet").exists()


# --- the schema ---------------------------------------------------------------------------------


NEW_ROUTES = {"/api/department-types/", "/api/department-types/{id}/", "/api/review-groups/",
              "/api/review-groups/{id}/", "/api/calendar-days/", "/api/calendar-days/{id}/",
              "/api/calendar-days/years/", "/api/calendar-days/fill/"}


def test_it_documents_the_new_routes_with_their_refusals(client: Client, db: None) -> None:
    schema = fetch(client)
    assert NEW_ROUTES <= set(schema["paths"])
    for label, operation in operations(schema):
        if label.split(" ", 1)[1] in NEW_ROUTES:
            assert {"401", "403", "429"} <= set(operation["responses"]), label
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"], label
                assert {"400", "415"} <= set(operation["responses"]), label
    fill = schema["paths"]["/api/calendar-days/fill/"]["post"]
    assert fill["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CalendarFillResult"}
