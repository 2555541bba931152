"""An API token stops working the moment its access ends: revoked, its user deactivated, its
membership ended or removed, its organisation deactivated. Each test first uses the token (200),
then ends the access, then expects the very next request to be refused with 401 — nothing is
cached between the two.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from organizations import services
from organizations.models import ApiToken, Membership, User
from tests.conftest import World, membership_of

PEOPLE = "/api/people/"


@pytest.fixture
def token_client(world_a: World, hr: User) -> tuple[APIClient, ApiToken]:
    membership = membership_of(hr, world_a.org)
    with scopes_disabled():
        token, key = services.create_api_token(membership=membership, name="integration", acting_user=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(PEOPLE).status_code == 200
    return client, token


def _refused(client: APIClient) -> None:
    response = client.get(PEOPLE)
    assert response.status_code == 401
    assert response.json()["detail"]


def _revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


def _deactivate_user(token: ApiToken) -> None:
    User.objects.filter(pk=token.membership.user_id).update(is_active=False)


def _end_membership(token: ApiToken) -> None:
    Membership.objects.filter(pk=token.membership_id).update(is_active=False)


def _remove_membership(token: ApiToken) -> None:
    Membership.objects.filter(pk=token.membership_id).delete()


def _deactivate_organization(token: ApiToken) -> None:
    token.organization.__class__.objects.filter(pk=token.organization_id).update(is_active=False)


@pytest.mark.parametrize("end_access", [_revoke, _deactivate_user, _end_membership, _remove_membership,
                                        _deactivate_organization], ids=lambda function: function.__name__.strip("_"))
def test_it_refuses_a_token_at_once_when_its_access_ends(
    token_client: tuple[APIClient, ApiToken], end_access: Callable[[ApiToken], None]
) -> None:
    client, token = token_client

    with scopes_disabled():
        end_access(token)

    _refused(client)


def test_it_refuses_a_token_nobody_issued(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token pa_not-a-real-key")

    _refused(client)


def test_it_refuses_a_deactivated_users_token_on_the_pages_too(token_client: tuple[APIClient, ApiToken]) -> None:
    # A token in the Authorization header also opens the HTML pages (the middleware takes it).
    client, token = token_client
    assert client.get("/people/").status_code == 200
    with scopes_disabled():
        _deactivate_user(token)
    assert client.get("/people/").status_code == 401
