"""No input makes the API answer 5xx: id filters (``?person=``, ``?period=`` …) take a whole number
from 1 to the database's bigint maximum and answer 400 naming the parameter for anything else;
``?page=`` that is not a page answers DRF's documented 404 "Invalid page".

The routes are found by walking the four API routers and their viewsets' filtersets, so a route or
an id filter added later is checked without anyone listing it here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.routers import BaseRouter

from appraisal import api_urls as appraisal_urls
from indicators import api_urls as indicators_urls
from organizations import api_urls as organizations_urls
from organizations.api import MAX_ID, IdFilter
from organizations.models import User
from payroll import api_urls as payroll_urls

ROUTERS: list[tuple[str, BaseRouter]] = [
    ("api", organizations_urls.router),
    ("api-indicators", indicators_urls.router),
    ("api-appraisal", appraisal_urls.router),
    ("api-payroll", payroll_urls.router),
]


def list_routes() -> list[tuple[str, Any]]:
    """(URL name, viewset) of every route with a list."""
    return [
        (f"{namespace}:{basename}-list", viewset)
        for namespace, router in ROUTERS
        for _prefix, viewset, basename in router.registry
        if hasattr(viewset, "list")
    ]


def id_filters() -> list[tuple[str, str]]:
    """(URL name, query parameter) of every id filter of every list route."""
    return [
        (route, name)
        for route, viewset in list_routes()
        for name, declared in getattr(getattr(viewset, "filterset_class", None), "base_filters", {}).items()
        if isinstance(declared, IdFilter)
    ]


ID_FILTERS = id_filters()
LIST_ROUTES = [route for route, _viewset in list_routes()]
NOT_IDS = ["abc", "-1", "0", "1.5", "1e3", str(MAX_ID + 1), str(2**64), "9" * 40, "１ ２"]
# Not a page of a list this short (one page at most): DRF's pagination answers 404 "Invalid page".
NOT_PAGES = ["abc", "0", "-1", "2", "1.5", str(2**64), "9" * 400]


def test_it_finds_the_routes_and_filters_it_checks() -> None:
    # Guards the walk: if it broke, every parametrised test below would pass by checking nothing.
    assert {("api:person-list", "department"), ("api-appraisal:sheet-list", "period"),
            ("api-indicators:benchmark-list", "indicator"), ("api-payroll:pay-slip-list", "person")} <= set(ID_FILTERS)
    assert len(LIST_ROUTES) >= 15


@pytest.mark.parametrize(("route", "parameter"), ID_FILTERS)
def test_it_answers_400_naming_the_parameter_for_anything_but_an_id(
    api_for: Any, hr: User, route: str, parameter: str
) -> None:
    client = api_for(hr)

    responses = {value: client.get(reverse(route), {parameter: value}) for value in NOT_IDS}

    assert {value: response.status_code for value, response in responses.items()} == dict.fromkeys(NOT_IDS, 400)
    assert all(list(response.json()) == [parameter] for response in responses.values())


@pytest.mark.parametrize(("route", "parameter"), ID_FILTERS)
def test_it_takes_any_id_up_to_the_bigint_maximum(api_for: Any, hr: User, route: str, parameter: str) -> None:
    client = api_for(hr)

    statuses = {value: client.get(reverse(route), {parameter: value}).status_code for value in ("1", str(MAX_ID))}

    assert statuses == {"1": 200, str(MAX_ID): 200}


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_it_answers_404_invalid_page_for_a_page_that_is_not_there(api_for: Any, hr: User, route: str) -> None:
    client = api_for(hr)

    responses = {page: client.get(reverse(route), {"page": page}) for page in NOT_PAGES}

    assert {page: response.status_code for page, response in responses.items()} == dict.fromkeys(NOT_PAGES, 404)
    assert all("detail" in response.json() for response in responses.values())
