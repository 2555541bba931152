"""The sheet tables sort by subject a kind at a time (appraisal.selectors.subject_sorted_ids): people
by employee number, then teams, then departments by code, on SQLite as on PostgreSQL, and the pages
cut that order wherever they fall, across kinds too."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import period_views, services, views
from appraisal.models import Period, Sheet
from indicators.models import Template
from indicators.services import build_template
from organizations.models import User
from tests.closing import add_people, person_template
from tests.conftest import World, add_member

KIND_ORDER = {"person": 0, "team": 1, "department": 2}


def _template(world: World, kind: str) -> Template:
    with scope(organization=world.org):
        return build_template(organization=world.org, acting_user=None, spec={
            "code": f"T-{kind}", "name": f"{kind}考核", "subject_kind": kind,
            "parts": [{"code": "p", "name": "业绩", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "100"}]}],
        })


@pytest.fixture
def mixed(world_a: World) -> Period:
    """An open period with sheets of people (employee numbers added out of order), the team and
    the departments."""
    add_people(world_a.org, world_a.production, 3, prefix="z")
    add_people(world_a.org, world_a.production, 3, prefix="a")
    templates = [person_template(world_a.org), _template(world_a, "team"), _template(world_a, "department")]
    with scope(organization=world_a.org):
        period = services.create_period(organization=world_a.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=templates)
        services.transition(period=period, to="open", acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
    return period


def _expected(period: Period, *, descending: bool = False) -> list[int]:
    with scope(organization=period.organization):
        sheets = Sheet.objects.filter(period=period).select_related("person", "team", "department")

        def key(sheet: Sheet) -> tuple[int, str, int]:
            unit = sheet.team or sheet.department
            subject = sheet.person.employee_no if sheet.person else unit.code if unit else ""
            return KIND_ORDER[sheet.subject_kind], subject, sheet.pk

        return [sheet.pk for sheet in sorted(sheets, key=key, reverse=descending)]


def _shown(client: Client, url: str, **query: str | int) -> list[int]:
    response = client.get(url, query)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr [^>]*id="sheet-(\d+)"', response.content.decode())]


def _hr(world: World) -> User:
    return add_member(world, "hr-clerk", person=None, hr=True)


def test_it_lists_people_then_teams_then_departments_across_pages(
        client: Client, world_a: World, mixed: Period, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "SHEETS_PER_PAGE", 4)
    expected = _expected(mixed)
    with scope(organization=world_a.org):
        assert set(Sheet.objects.filter(period=mixed).values_list("subject_kind", flat=True)) == set(KIND_ORDER)
    client.force_login(_hr(world_a))
    pages = [_shown(client, reverse("sheets"), period=mixed.pk, page=page)
             for page in range(1, (len(expected) + 3) // 4 + 1)]
    assert [pk for page in pages for pk in page] == expected


def test_it_lists_them_the_other_way_round_sorted_descending(
        client: Client, world_a: World, mixed: Period, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "SHEETS_PER_PAGE", 4)
    expected = _expected(mixed, descending=True)
    client.force_login(_hr(world_a))
    pages = [_shown(client, reverse("sheets"), period=mixed.pk, page=page, sort="-subject")
             for page in range(1, (len(expected) + 3) // 4 + 1)]
    assert [pk for page in pages for pk in page] == expected


def test_it_shows_the_period_pages_sheets_in_the_same_order(
        client: Client, world_a: World, mixed: Period, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(period_views, "SHEETS_PER_PAGE", 5)
    expected = _expected(mixed)
    client.force_login(_hr(world_a))
    assert _shown(client, reverse("period-detail", args=[mixed.pk]), page=2) == expected[5:10]


def test_it_counts_every_sheet_for_the_pager(
        client: Client, world_a: World, mixed: Period, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "SHEETS_PER_PAGE", 4)
    total = len(_expected(mixed))
    client.force_login(_hr(world_a))
    last = (total + 3) // 4
    assert len(_shown(client, reverse("sheets"), period=mixed.pk, page=last)) == total - 4 * (last - 1)
