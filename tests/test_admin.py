"""The HR configuration admin runs inside the tenant scope like every page."""

import pytest
from django_scopes import scope

from organizations.models import Department, Person


def test_it_lists_only_the_active_organisations_people(client, hr, world_a, world_b):
    client.force_login(hr)
    body = client.get("/admin/organizations/person/").content.decode()
    assert "a-employee" in body and "b-employee" not in body


@pytest.mark.parametrize("suffix", ["change/", "delete/", "history/"])
def test_it_answers_404_for_another_tenants_object(client, hr, world_b, suffix):
    client.force_login(hr)
    person = world_b.people["employee"]
    assert client.get(f"/admin/organizations/person/{person.pk}/{suffix}").status_code == 404


def test_it_fills_in_the_organisation_when_hr_adds_a_department(client, hr, world_a):
    client.force_login(hr)
    response = client.post(
        "/admin/organizations/department/add/",
        {"code": "NEW", "name": "新部门", "sort_order": 0, "is_active": "on",
         "teams-TOTAL_FORMS": 0, "teams-INITIAL_FORMS": 0},
    )
    assert response.status_code == 302, response.content[:2000]
    with scope(organization=world_a.org):
        assert Department.objects.get(code="NEW").organization == world_a.org


def test_it_offers_only_the_organisations_departments_as_choices(client, hr, world_a, world_b):
    client.force_login(hr)
    body = client.get("/admin/organizations/person/add/").content.decode()
    assert f'value="{world_a.production.pk}"' in body
    assert f'value="{world_b.production.pk}"' not in body


def test_it_keeps_employees_out(client, employee):
    client.force_login(employee)
    response = client.get("/admin/organizations/person/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_records_the_admin_user_in_the_audit_trail(client, hr, world_a):
    client.force_login(hr)
    person = world_a.people["colleague"]
    with scope(organization=world_a.org):
        data = {f.name: getattr(person, f.attname) or "" for f in Person._meta.concrete_fields
                if f.name not in ("id", "organization")}
    data.update(department=person.department_id, team="", manager="", name="新名字", status="active")
    response = client.post(f"/admin/organizations/person/{person.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    with scope(organization=world_a.org):
        assert Person.history.filter(id=person.pk).latest("history_date").history_user == hr
