"""The REST API: tenancy (404 across tenants on every endpoint), the matrix, and the writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from organizations import api_urls
from organizations import services as org_services
from organizations.models import ApiToken, CalendarDay, Department, Membership, Person, ReviewGroup, Team
from organizations.permissions import MATRIX
from organizations.standing import StandingParameter

ROUTES = [(prefix, viewset, basename) for prefix, viewset, basename in api_urls.router.registry]


def _object_of(world, model):
    """Some row of the world's organisation for each model the API exposes."""
    org = world.org
    with scope(organization=org):
        if model.__name__ == "Organization":
            return org
        if model is Membership:
            return Membership.objects.first()
        found = model.objects.filter(organization=org).first()
        if found is None and model in EXTRA_ROWS:  # rows the shared worlds (tests/conftest.py) do not build
            found = EXTRA_ROWS[model](org)
        return found


# The set-up routes' rows (issue #17), made when a test asks for one.
EXTRA_ROWS = {
    ReviewGroup: lambda org: ReviewGroup.objects.create(organization=org, code="API", name="评审小组"),
    CalendarDay: lambda org: CalendarDay.objects.create(organization=org, date=date(2025, 5, 12), kind="holiday"),
    StandingParameter: lambda org: StandingParameter.objects.create(
        organization=org, department=Department.objects.first(), name="business", value=1,
        effective_from=date(2025, 1, 1)),
    ApiToken: lambda org: org_services.create_api_token(
        membership=Membership.objects.filter(is_active=True).order_by("pk")[0], name="api", acting_user=None)[0],
}


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES, ids=[r[2] for r in ROUTES])
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_it_answers_404_for_another_tenants_object_on_every_endpoint(
    prefix, viewset, basename, method, api_for, hr, world_a, world_b, outsider
):
    target = _object_of(world_b, viewset.model)
    assert target is not None, f"fixture has no {viewset.model.__name__} in org B"
    client = api_for(hr)  # HR admin of A: every permission in A, none in B
    response = getattr(client, method)(reverse(f"api:{basename}-detail", args=[target.pk]), {}, format="json")
    # 405 only where the endpoint has no such method at all (it would be 405 for A's own rows too).
    assert response.status_code in (404, 405), response.content
    if response.status_code == 405:
        own = _object_of(world_a, viewset.model)
        own_url = reverse(f"api:{basename}-detail", args=[own.pk])
        assert getattr(client, method)(own_url, {}, format="json").status_code == 405


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES, ids=[r[2] for r in ROUTES])
def test_it_never_lists_another_tenants_rows(prefix, viewset, basename, api_for, hr, world_a, world_b, outsider):
    _object_of(world_a, viewset.model)  # a row of A to list
    foreign = _object_of(world_b, viewset.model)
    response = api_for(hr).get(reverse(f"api:{basename}-list"))
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids and foreign.pk not in ids


ROLE_FIXTURES = ["hr", "head", "employee", "finance", "supervisor"]


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES, ids=[r[2] for r in ROUTES])
@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_it_allows_listing_exactly_as_the_matrix_says(prefix, viewset, basename, role_fixture, request, api_for, db):
    user = request.getfixturevalue(role_fixture)
    with scopes_disabled():
        tenant_roles = _roles_of(Membership.objects.get(user=user))
    allowed = not tenant_roles.isdisjoint(MATRIX[viewset.permission_resource]["view"])
    status = api_for(user).get(reverse(f"api:{basename}-list")).status_code
    assert status == (200 if allowed else 403)


@pytest.mark.parametrize("prefix,viewset,basename", ROUTES, ids=[r[2] for r in ROUTES])
@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_it_allows_changing_exactly_as_the_matrix_says(
    prefix, viewset, basename, role_fixture, request, api_for, world_a
):
    user = request.getfixturevalue(role_fixture)
    with scopes_disabled():
        tenant_roles = _roles_of(Membership.objects.get(user=user))
    allowed = not tenant_roles.isdisjoint(MATRIX[viewset.permission_resource]["change"])
    own = _object_of(world_a, viewset.model)
    status = api_for(user).patch(reverse(f"api:{basename}-detail", args=[own.pk]), {}, format="json").status_code
    if allowed:
        # 405 where the row cannot be changed at all (a token is issued or revoked, never edited).
        assert status == (200 if "partial_update" in dir(viewset) else 405)
    else:
        assert status in (403, 404)  # 404 where the row is not even visible to the role
        assert status == 403 or viewset.permission_resource == "person"


def _roles_of(membership):
    from organizations.context import build_context

    with scope(organization=membership.organization):
        return build_context(membership).roles


def test_it_rejects_an_unknown_token(client, db):
    response = client.get("/api/people/", HTTP_AUTHORIZATION="Token pa_nonsense")
    assert response.status_code == 401


def test_it_rejects_a_revoked_token(api_for, hr):
    client = api_for(hr)
    with scopes_disabled():
        ApiToken.objects.update(revoked_at=timezone.now())
    assert client.get("/api/people/").status_code == 401


def test_it_refuses_anonymous_requests(client, db):
    assert client.get("/api/people/").status_code == 401


def test_it_stores_only_the_digest_of_a_token(api_for, hr):
    api_for(hr)
    with scopes_disabled():
        token = ApiToken.objects.get()
    assert len(token.digest) == 64 and not token.digest.startswith(ApiToken.PREFIX)


def test_it_lists_the_tokens_organisation_only(api_for, hr, world_b):
    rows = api_for(hr).get("/api/organizations/").json()["results"]
    assert [r["slug"] for r in rows] == ["a"]


def test_it_shows_a_head_only_the_people_of_their_departments(api_for, head, world_a):
    numbers = {r["employee_no"] for r in api_for(head).get("/api/people/").json()["results"]}
    # Production and its sub-department (with the shift), plus the head themself; not back office.
    assert numbers == {"a-head", "a-employee"}


def test_it_shows_an_employee_only_themself(api_for, employee):
    numbers = [r["employee_no"] for r in api_for(employee).get("/api/people/").json()["results"]]
    assert numbers == ["a-employee"]


def test_it_hides_a_colleague_from_an_employee_with_404(api_for, employee, world_a):
    colleague = world_a.people["colleague"]
    assert api_for(employee).get(f"/api/people/{colleague.pk}/").status_code == 404


def test_it_creates_a_person_with_exact_base_pay(api_for, hr, world_a):
    response = api_for(hr).post(
        "/api/people/",
        {"employee_no": "A100", "name": "王五", "department": world_a.production.pk, "base_pay": "4321.50"},
        format="json",
    )
    assert response.status_code == 201, response.content
    with scope(organization=world_a.org):
        assert Person.objects.get(employee_no="A100").base_pay == Decimal("4321.50")


def test_it_refuses_another_tenants_department_as_a_foreign_key(api_for, hr, world_a, world_b):
    response = api_for(hr).post(
        "/api/people/",
        {"employee_no": "A101", "name": "赵六", "department": world_b.production.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "department" in response.json()
    with scope(organization=world_a.org):
        assert not Person.objects.filter(employee_no="A101").exists()


def test_it_refuses_a_duplicate_employee_number_with_a_message(api_for, hr, world_a):
    response = api_for(hr).post(
        "/api/people/", {"employee_no": "a-head", "name": "重复", "department": world_a.production.pk}, format="json"
    )
    assert response.status_code == 400


def test_it_allows_the_same_employee_number_in_another_tenant(api_for, hr, world_a, world_b):
    # Unique per organisation, not globally: B already has b-head; A may have its own "b-head".
    response = api_for(hr).post(
        "/api/people/", {"employee_no": "b-head", "name": "同号", "department": world_a.production.pk}, format="json"
    )
    assert response.status_code == 201


def test_it_audits_a_person_change_with_who_and_why(api_for, hr, world_a):
    person = world_a.people["employee"]
    response = api_for(hr).patch(
        f"/api/people/{person.pk}/", {"position": "值长", "reason": "岗位调整"}, format="json"
    )
    assert response.status_code == 200
    with scope(organization=world_a.org):
        latest = Person.history.filter(id=person.pk).order_by("-history_date").first()
        previous = latest.prev_record
        assert latest.history_user == hr
        assert latest.history_change_reason == "岗位调整"
        assert [c.field for c in latest.diff_against(previous).changes] == ["position"]


def test_it_writes_no_audit_row_when_nothing_changes(api_for, hr, world_a):
    person = world_a.people["employee"]
    with scope(organization=world_a.org):
        before = Person.history.filter(id=person.pk).count()
    api_for(hr).patch(f"/api/people/{person.pk}/", {"name": person.name}, format="json")
    with scope(organization=world_a.org):
        assert Person.history.filter(id=person.pk).count() == before


def test_it_refuses_a_department_under_its_own_child(api_for, hr, world_a):
    response = api_for(hr).patch(
        f"/api/departments/{world_a.production.pk}/", {"parent": world_a.shift_dept.pk}, format="json"
    )
    assert response.status_code == 400
    assert "parent" in response.json()


def test_it_answers_409_when_deleting_a_department_in_use(api_for, hr, world_a):
    response = api_for(hr).delete(f"/api/departments/{world_a.production.pk}/")
    assert response.status_code == 409
    with scope(organization=world_a.org):
        assert Department.objects.filter(pk=world_a.production.pk).exists()


def test_it_deletes_an_unused_department(api_for, hr, world_a):
    created = api_for(hr).post("/api/departments/", {"code": "TMP", "name": "临时"}, format="json").json()
    assert api_for(hr).delete(f"/api/departments/{created['id']}/").status_code == 204


def test_it_refuses_a_team_in_another_tenants_department(api_for, hr, world_b):
    response = api_for(hr).post(
        "/api/teams/", {"code": "X1", "name": "外值", "department": world_b.shift_dept.pk, "kind": "shift"},
        format="json",
    )
    assert response.status_code == 400
    with scopes_disabled():
        assert not Team.objects.filter(code="X1").exists()


def test_it_creates_a_membership_with_a_new_user_and_headship(api_for, hr, world_a):
    response = api_for(hr).post(
        "/api/memberships/",
        {"username": "newhead", "password": "a-long-password", "person": world_a.people["colleague"].pk,
         "headed_departments": [world_a.back_office.pk]},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["headed_departments"] == [world_a.back_office.pk]


def test_it_requires_a_password_for_a_new_user(api_for, hr):
    response = api_for(hr).post("/api/memberships/", {"username": "nopass"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_it_changes_headships_of_a_membership(api_for, hr, head, world_a):
    with scopes_disabled():
        membership = Membership.objects.get(user=head)
    response = api_for(hr).patch(
        f"/api/memberships/{membership.pk}/", {"headed_departments": [world_a.back_office.pk]}, format="json"
    )
    assert response.json()["headed_departments"] == [world_a.back_office.pk]


def test_it_serves_a_valid_openapi_schema(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/people/{id}/" in paths and "/api/departments/" in paths


def test_it_serves_browsable_docs(client, db):
    assert client.get("/api/docs/").status_code == 200
