"""API rate limits (organizations.authentication): per API token, per signed-in user, per address
for anonymous requests; past the rate, 429 with a JSON ``detail`` and Retry-After. The rates come
from the environment (API_THROTTLE_RATE, API_ANON_THROTTLE_RATE) and are read per request, so
tests set them with the ``settings`` fixture. The default (1,200 a minute per token) is far above
what any test sends, and every test's token is new, so the rest of the suite is never throttled.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from organizations.models import User
from tests.test_settings_env import loaded, refused

PEOPLE = "/api/people/"


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    # Counters live in the process's cache across tests, and a user's id may come back in another
    # test's database: each test here starts from none.
    cache.clear()


def test_it_answers_429_with_a_json_detail_past_the_rate_of_a_token(api_for: Any, hr: User, settings: Any) -> None:
    settings.API_THROTTLE_RATE = "3/min"
    client = api_for(hr)
    assert [client.get(PEOPLE).status_code for _ in range(3)] == [200, 200, 200]

    response = client.get(PEOPLE)

    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_it_counts_each_token_on_its_own(api_for: Any, hr: User, settings: Any) -> None:
    settings.API_THROTTLE_RATE = "2/min"
    first = api_for(hr)
    for _ in range(3):
        first.get(PEOPLE)

    assert api_for(hr).get(PEOPLE).status_code == 200  # a second token of the same membership


def test_it_counts_a_signed_in_browser_per_user(client: Client, hr: User, settings: Any) -> None:
    settings.API_THROTTLE_RATE = "2/min"
    client.force_login(hr)

    assert [client.get(PEOPLE).status_code for _ in range(3)] == [200, 200, 429]


def test_it_throttles_anonymous_requests_per_address(client: Client, settings: Any) -> None:
    settings.API_ANON_THROTTLE_RATE = "1/min"
    # Its own address, so its own counter whatever other tests asked anonymously.
    address: dict[str, Any] = {"REMOTE_ADDR": "203.0.113.9", "HTTP_ACCEPT": "application/json"}
    assert client.get("/api/schema/", **address).status_code == 200

    response = client.get("/api/schema/", **address)

    assert response.status_code == 429
    assert response.json()["detail"]


def test_it_reads_the_rates_from_the_environment() -> None:
    assert loaded("settings.API_THROTTLE_RATE, settings.API_ANON_THROTTLE_RATE",
                  API_THROTTLE_RATE="600/minute", API_ANON_THROTTLE_RATE=" 10/h ") == "600/minute 10/h"


def test_it_refuses_a_rate_it_cannot_read() -> None:
    assert "API_THROTTLE_RATE" in refused(API_THROTTLE_RATE="lots")
