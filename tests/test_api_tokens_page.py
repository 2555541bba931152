"""The API tokens page and its API (issue #17, point 3): HR lists the organisation's tokens, issues
one for a member (the key shown once, on the answer to the POST; only its digest stored; the key
then works for the API) and revokes one (audited, once; the key is refused from the next request);
another organisation's token is 404 on every route; other roles are refused the page.

Elements are found by their ids; texts are compared by names and keys, not wording.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from rest_framework.test import APIClient

from organizations import services
from organizations.models import ApiToken, User
from tests.conftest import World, membership_of

PEOPLE_API = "/api/people/"
KEY = re.compile(r'id="api-token-key" value="(pa_[A-Za-z0-9_\-]+)"')


def _in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    return str(response.content.decode())


def _issue(user: User, world: World, name: str = "payroll-system") -> tuple[ApiToken, str]:
    with scope(organization=world.org):
        return services.create_api_token(membership=membership_of(user, world.org), name=name, acting_user=None)


def _api(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def _issue_in_page(client: Client, hr: User, member: User, world: World, name: str = "工资系统") -> Any:
    return _in(client, hr).post(reverse("api-token-new"),
                                {"name": name, "membership": membership_of(member, world.org).pk})


# --- the list -----------------------------------------------------------------------------------


def test_it_lists_the_organisations_tokens_with_whom_they_act_as(
    client: Client, hr: User, employee: User, outsider: User, world_a: World, world_b: World
) -> None:
    own, _key = _issue(employee, world_a, name="考勤接口")
    _issue(outsider, world_b, name="乙医院的接口")

    response = _in(client, hr).get(reverse("api-tokens"))

    assert response.status_code == 200
    html = _html(response)
    assert f'id="api-token-{own.pk}"' in html and "考勤接口" in html and "employee-a" in html
    assert "乙医院的接口" not in html


def test_it_shows_revoked_tokens_as_revoked_without_a_revoke_button(
    client: Client, hr: User, employee: User, world_a: World
) -> None:
    token, _key = _issue(employee, world_a)
    with scope(organization=world_a.org):
        services.revoke_api_token(token=token, acting_user=hr)

    html = _html(_in(client, hr).get(reverse("api-tokens")))

    row = re.search(rf'id="api-token-{token.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert 'data-state="revoked"' in row.group(0)
    assert reverse("api-token-revoke", args=[token.pk]) not in row.group(0)


def test_it_reads_the_list_in_a_fixed_number_of_queries(
    client: Client, hr: User, employee: User, head: User, world_a: World, django_assert_max_num_queries: Any
) -> None:
    for number in range(30):
        _issue(employee if number % 2 else head, world_a, name=f"token-{number}")
    signed_in = _in(client, hr)
    signed_in.get(reverse("api-tokens"))  # the session and the menu warm up

    with django_assert_max_num_queries(12):
        response = signed_in.get(reverse("api-tokens"))

    assert _html(response).count('class="api-token-state"') == 30


def test_it_puts_the_page_in_hrs_menu_only(client: Client, hr: User, finance: User, world_a: World) -> None:
    link = f'href="{reverse("api-tokens")}"'
    assert link in _html(_in(client, hr).get(reverse("home")))
    assert link not in _html(_in(Client(), finance).get(reverse("home")))


# --- issuing ------------------------------------------------------------------------------------


def test_it_shows_the_key_once_and_stores_only_its_digest(
    client: Client, hr: User, employee: User, world_a: World
) -> None:
    response = _issue_in_page(client, hr, employee, world_a)

    assert response.status_code == 200
    found = KEY.search(_html(response))
    assert found is not None
    key = found.group(1)
    assert "no-store" in response["Cache-Control"]
    with scope(organization=world_a.org):
        token = ApiToken.objects.get(name="工资系统")
        assert token.membership == membership_of(employee, world_a.org)
        assert token.digest == ApiToken.hash_key(key) and key not in token.digest
    # Never again: not on the list, not on the form.
    assert key not in _html(client.get(reverse("api-tokens")))
    assert key not in _html(client.get(reverse("api-token-new")))


def test_it_issues_a_key_that_works_for_the_api_as_that_member(
    client: Client, hr: User, employee: User, world_a: World
) -> None:
    found = KEY.search(_html(_issue_in_page(client, hr, employee, world_a)))
    assert found is not None

    response = _api(found.group(1)).get(PEOPLE_API)

    assert response.status_code == 200
    # The employee's token sees what the employee sees: themself.
    assert [row["employee_no"] for row in response.json()["results"]] == ["a-employee"]


def test_it_records_who_issued_a_token_without_its_digest(
    client: Client, hr: User, employee: User, world_a: World
) -> None:
    _issue_in_page(client, hr, employee, world_a)

    with scope(organization=world_a.org):
        record = ApiToken.objects.get(name="工资系统").history.get()  # type: ignore[attr-defined]
    assert record.history_user == hr and record.history_change_reason == "created"
    assert not hasattr(record, "digest")


def test_it_refuses_a_member_of_another_organisation(
    client: Client, hr: User, outsider: User, world_a: World, world_b: World
) -> None:
    response = _in(client, hr).post(reverse("api-token-new"),
                                    {"name": "x", "membership": membership_of(outsider, world_b.org).pk})

    assert response.status_code == 400
    assert 'id="api-token-key"' not in _html(response)
    with scopes_disabled():
        assert not ApiToken.objects.filter(name="x").exists()


def test_it_refuses_a_token_for_an_inactive_member(hr: User, employee: User, world_a: World) -> None:
    from django.core.exceptions import ValidationError

    membership = membership_of(employee, world_a.org)
    with scope(organization=world_a.org):
        services.update_membership(membership=membership, acting_user=hr, is_active=False)
        with pytest.raises(ValidationError):
            services.create_api_token(membership=membership, name="x", acting_user=hr)


# --- revoking -----------------------------------------------------------------------------------


def test_it_revokes_a_token_and_its_key_stops_working(client: Client, hr: User, employee: User,
                                                      world_a: World) -> None:
    token, key = _issue(employee, world_a)
    assert _api(key).get(PEOPLE_API).status_code == 200

    response = _in(client, hr).post(reverse("api-token-revoke", args=[token.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("api-tokens")
    assert _api(key).get(PEOPLE_API).status_code == 401
    with scope(organization=world_a.org):
        token.refresh_from_db()
        assert token.revoked_at is not None
        record = token.history.first()  # type: ignore[attr-defined]
    assert record.history_user == hr and record.history_change_reason == "revoked"


def test_it_revokes_a_token_only_once(hr: User, employee: User, world_a: World) -> None:
    token, _key = _issue(employee, world_a)
    with scope(organization=world_a.org):
        services.revoke_api_token(token=token, acting_user=hr)
        first = token.revoked_at
        records = token.history.count()  # type: ignore[attr-defined]

        again = services.revoke_api_token(token=ApiToken.objects.get(pk=token.pk), acting_user=hr)

        assert again.revoked_at == first
        assert token.history.count() == records  # type: ignore[attr-defined]


def test_it_revokes_only_by_post(client: Client, hr: User, employee: User, world_a: World) -> None:
    token, _key = _issue(employee, world_a)

    assert _in(client, hr).get(reverse("api-token-revoke", args=[token.pk])).status_code == 405


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["employee", "head", "finance"])
def test_it_refuses_the_pages_to_other_roles(client: Client, role: str, employee: User, head: User, finance: User,
                                             hr: User, world_a: World) -> None:
    user = {"employee": employee, "head": head, "finance": finance}[role]
    token, key = _issue(hr, world_a)
    signed_in = _in(client, user)

    assert signed_in.get(reverse("api-tokens")).status_code == 403
    assert signed_in.get(reverse("api-token-new")).status_code == 403
    assert signed_in.post(reverse("api-token-new"), {"name": "x", "membership": membership_of(
        user, world_a.org).pk}).status_code == 403
    assert signed_in.post(reverse("api-token-revoke", args=[token.pk])).status_code == 403
    assert _api(key).get(PEOPLE_API).status_code == 200  # still in use


def test_it_answers_404_for_another_organisations_token(
    client: Client, hr: User, outsider: User, world_a: World, world_b: World
) -> None:
    theirs, key = _issue(outsider, world_b)

    assert _in(client, hr).post(reverse("api-token-revoke", args=[theirs.pk])).status_code == 404

    assert _api(key).get(PEOPLE_API).status_code == 200
    with scopes_disabled():
        assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


# --- the API ------------------------------------------------------------------------------------


def test_it_issues_a_token_by_the_api_with_its_key_in_that_response_only(
    api_for: Any, hr: User, employee: User, world_a: World
) -> None:
    api = api_for(hr)

    response = api.post("/api/api-tokens/", {"name": "考勤接口", "membership": membership_of(employee, world_a.org).pk},
                        format="json")

    assert response.status_code == 201
    key = response.json()["key"]
    assert _api(key).get(PEOPLE_API).status_code == 200
    shown = api.get(f"/api/api-tokens/{response.json()['id']}/").json()
    assert shown["name"] == "考勤接口" and "key" not in shown
    assert all("key" not in row for row in api.get("/api/api-tokens/").json()["results"])


def test_it_revokes_a_token_by_the_api(api_for: Any, hr: User, employee: User, world_a: World) -> None:
    token, key = _issue(employee, world_a)

    response = api_for(hr).post(f"/api/api-tokens/{token.pk}/revoke/")

    assert response.status_code == 200 and response.json()["revoked_at"]
    assert _api(key).get(PEOPLE_API).status_code == 401


def test_it_answers_404_by_the_api_for_another_organisations_token_and_member(
    api_for: Any, hr: User, outsider: User, world_a: World, world_b: World
) -> None:
    theirs, _key = _issue(outsider, world_b)
    api = api_for(hr)

    assert api.get(f"/api/api-tokens/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/api-tokens/{theirs.pk}/revoke/").status_code == 404
    refused = api.post("/api/api-tokens/", {"name": "x", "membership": membership_of(outsider, world_b.org).pk},
                       format="json")
    assert refused.status_code == 400 and "membership" in refused.json()
    with scopes_disabled():
        assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


def test_it_refuses_the_api_to_an_employee(api_for: Any, employee: User, hr: User, world_a: World) -> None:
    token, _key = _issue(hr, world_a)
    api = api_for(employee)

    assert api.get("/api/api-tokens/").status_code == 403
    assert api.post(f"/api/api-tokens/{token.pk}/revoke/").status_code == 403
