"""What every page reads about the signed-in user is read once a request (issue #14, pages under
load), although the sheet table renders a second template with the request and so runs the context
processors again (core.web.once_per_request)."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.models import User


def _reads(queries: CaptureQueriesContext, table: str) -> int:
    return sum(1 for query in queries.captured_queries if query["sql"].startswith("SELECT")
               and f'FROM "{table}"' in query["sql"])


def test_it_reads_the_memberships_once_a_page(client: Client, head: User) -> None:
    client.force_login(head)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("sheets"))
    assert response.status_code == 200 and 'id="sheet-table"' in response.content.decode()
    assert _reads(queries, "organizations_membership") == 1


def test_it_counts_the_unread_notifications_once_a_page(client: Client, head: User) -> None:
    client.force_login(head)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("sheets"))
    counts = [q for q in queries.captured_queries if 'FROM "organizations_notification"' in q["sql"]]
    assert len(counts) == 1


def test_it_still_lists_the_organisations_to_switch_to(client: Client, head: User) -> None:
    client.force_login(head)
    response = client.get(reverse("sheets"))
    assert [m.organization.name for m in response.context["switchable_memberships"]] == ["甲电厂"]
