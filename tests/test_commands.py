import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient


def test_it_issues_a_token_that_opens_the_members_organisation(hr, org_a, capsys):
    call_command("create_api_token", "a", "hr", "--name", "payroll-system")
    key = capsys.readouterr().out.strip()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert [o["slug"] for o in client.get("/api/organizations/").json()["results"]] == ["a"]


def test_it_refuses_a_token_for_someone_who_is_not_a_member(outsider, org_a):
    with pytest.raises(CommandError, match="not an active member"):
        call_command("create_api_token", "a", "outsider")


def test_it_generates_an_openapi_schema_without_warnings(db):
    # --fail-on-warn turns any unresolvable view, serializer or path parameter into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_it_benchmarks_the_set_based_paths_and_leaves_nothing_behind(db, capsys):
    from organizations.models import Organization

    call_command("benchmark", "--people", "30", "--departments", "3")
    out = capsys.readouterr().out
    assert "30 sheets, 60 lines" in out and "30 lines changed" in out
    assert not Organization.objects.filter(slug="benchmark-run").exists()
