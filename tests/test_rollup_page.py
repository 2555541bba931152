"""The roll-up page of a period (/periods/<pk>/rollup/): HR picks the child periods with their
weights and each template's share; weights not adding up to 1 are refused on the field; other
roles are refused, another organisation's period is 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, PeriodRollup, RollupShare
from organizations.models import Organization, User
from tests.closing import person_template

D = Decimal


@pytest.fixture
def year(org_a: Organization) -> tuple[Period, list[Period]]:
    template = person_template(org_a)
    with scope(organization=org_a):
        quarters = [services.create_period(organization=org_a, acting_user=None, kind="quarterly", year=2026,
                                           number=n, templates=[template]) for n in range(1, 5)]
        annual = services.create_period(organization=org_a, acting_user=None, kind="annual", year=2026, number=1,
                                        templates=[template])
    return annual, quarters


def _post(client: Client, user: User, annual: Period, weights: dict[Period, str], share: str) -> object:
    client.force_login(user)
    data = {f"weight_{q.pk}": w for q, w in weights.items()}
    data[f"share_{annual.templates.get().pk}"] = share
    return client.post(reverse("period-rollup", args=[annual.pk]), data)


def test_it_lists_the_quarters_within_the_year_as_candidates(client: Client, hr: User, year) -> None:
    annual, quarters = year
    client.force_login(hr)
    html = client.get(reverse("period-rollup", args=[annual.pk])).content.decode()
    assert all(f'name="weight_{q.pk}"' in html for q in quarters)
    with scope(organization=annual.organization):
        assert f'name="share_{annual.templates.get().pk}"' in html


def test_it_saves_the_quarters_weights_and_the_templates_share(client: Client, hr: User, year) -> None:
    annual, quarters = year
    with scope(organization=annual.organization):
        response = _post(client, hr, annual, {q: "0.25" for q in quarters}, "0.8")
        assert response.status_code == 302  # type: ignore[attr-defined]
        assert sorted(PeriodRollup.objects.filter(parent=annual).values_list("weight", flat=True)) == [D("0.25")] * 4
        assert RollupShare.objects.get(template_code="PT").share == D("0.8")
        assert PeriodRollup.history.count() == 4  # audited


def test_it_refuses_weights_that_do_not_add_up_on_the_first_weight(client: Client, hr: User, year) -> None:
    annual, quarters = year
    with scope(organization=annual.organization):
        response = _post(client, hr, annual, {q: "0.3" for q in quarters}, "0.8")
        assert response.status_code == 400  # type: ignore[attr-defined]
        html = response.content.decode()  # type: ignore[attr-defined]
        start, end = (html.index(f'id="field-weight_{q.pk}"') for q in quarters[:2])
        field = html[start:end]
        assert "field-error" in field and "1.2" in field
        assert not PeriodRollup.objects.filter(parent=annual).exists() and not RollupShare.objects.exists()


def test_it_refuses_a_share_above_one_on_its_field(client: Client, hr: User, year) -> None:
    annual, quarters = year
    with scope(organization=annual.organization):
        response = _post(client, hr, annual, {q: "0.25" for q in quarters}, "1.5")
        share_field = f'id="field-share_{annual.templates.get().pk}"'
    html = response.content.decode()  # type: ignore[attr-defined]
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "field-error" in html[html.index(share_field):]


def test_it_shows_the_roll_up_on_the_period_page(client: Client, hr: User, year) -> None:
    annual, quarters = year
    with scope(organization=annual.organization):
        services.set_rollup(parent=annual, children={q: D("0.25") for q in quarters}, acting_user=None)
    client.force_login(hr)
    html = client.get(reverse("period-detail", args=[annual.pk])).content.decode()
    assert html.count('class="rollup-child"') == 4 and "2026-Q1</a> × 0.25" in html


def test_it_refuses_the_page_to_finance(client: Client, finance: User, year) -> None:
    with scope(organization=year[0].organization):
        Period.objects.filter(pk=year[0].pk).update(state="open")  # drafts are HR's alone (404)
    client.force_login(finance)
    assert client.get(reverse("period-rollup", args=[year[0].pk])).status_code == 403


def test_it_hides_another_organisations_period(client: Client, outsider: User, year) -> None:
    client.force_login(outsider)
    assert client.get(reverse("period-rollup", args=[year[0].pk])).status_code == 404


# --- the API mirror -----------------------------------------------------------------------------


def test_the_api_sets_the_quarters_and_the_share(api_for, hr: User, year) -> None:
    annual, quarters = year
    body = {"children": [{"period": q.pk, "weight": "0.25"} for q in quarters],
            "shares": [{"template_code": "PT", "share": "0.8"}]}
    response = api_for(hr).put(f"/api/periods/{annual.pk}/rollup/", body, format="json")
    assert response.status_code == 200
    assert [c["weight"] for c in response.json()["children"]] == ["0.2500"] * 4
    assert response.json()["shares"] == [{"template_code": "PT", "share": "0.8000"}]


def test_the_api_refuses_weights_that_do_not_add_up_on_children(api_for, hr: User, year) -> None:
    annual, quarters = year
    body = {"children": [{"period": q.pk, "weight": "0.3"} for q in quarters]}
    response = api_for(hr).put(f"/api/periods/{annual.pk}/rollup/", body, format="json")
    assert response.status_code == 400 and "children" in response.json()


def test_the_api_hides_another_organisations_period(api_for, outsider: User, year) -> None:
    assert api_for(outsider).get(f"/api/periods/{year[0].pk}/rollup/").status_code == 404
