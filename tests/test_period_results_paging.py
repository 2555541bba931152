"""The period page never renders a whole population (issue #14, pages under load): its results table
is paged, while the distribution chart and the 'waiting for calibration' count still cover everyone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import result_views
from appraisal.models import Period, Result
from organizations.models import User
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World

RESULTS_PER_PAGE = 4  # the pages of a small period, so that three pages need only eleven people
PEOPLE = RESULTS_PER_PAGE * 2 + 3


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(result_views, "RESULTS_PER_PAGE", RESULTS_PER_PAGE)


@pytest.fixture
def big(world_a: World) -> Period:
    people = add_people(world_a.org, world_a.production, PEOPLE)
    scores = {person: str(60 + (n % 40)) for n, person in enumerate(people)}
    period = scored_period(world_a.org, scores, policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        return Period.objects.get(pk=period.pk)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="result-(\d+)"', html)


def test_it_shows_one_page_of_results_and_the_chart_of_everyone(client: Client, hr: User, big: Period) -> None:
    client.force_login(hr)
    html = client.get(reverse("period-detail", args=[big.pk])).content.decode()
    assert len(_rows(html)) == RESULTS_PER_PAGE
    actual = sum(int(n) for n in re.findall(r'<span class="bar-actual">(\d+)</span>', html))
    assert actual == PEOPLE
    assert 'id="result-pages"' in html and "results_page=2" in html


def test_it_shows_the_last_page_with_the_rest(client: Client, hr: User, big: Period) -> None:
    client.force_login(hr)
    html = client.get(reverse("period-detail", args=[big.pk]), {"results_page": 3}).content.decode()
    with scope(organization=big.organization):
        last = list(Result.objects.filter(period=big).order_by("population", "rank", "pk")
                    .values_list("pk", flat=True))[2 * RESULTS_PER_PAGE:3 * RESULTS_PER_PAGE]
    assert _rows(html) == [str(pk) for pk in last]


def test_it_answers_a_calibration_with_the_page_the_form_was_on(client: Client, hr: User, big: Period) -> None:
    with scope(organization=big.organization):
        result = Result.objects.filter(period=big).order_by("population", "rank", "pk")[RESULTS_PER_PAGE + 3]
    assert result.final_score is not None
    client.force_login(hr)
    response = client.post(reverse("result-calibrate", args=[result.pk]),
                           {"score": str(result.final_score + 1), "reason": "复核", "results_page": "2"},
                           HTTP_HX_REQUEST="true")
    assert f'id="result-{result.pk}"' in response.content.decode()
    assert 'name="results_page" value="2"' in response.content.decode()


def test_it_reads_the_period_page_in_a_bounded_number_of_queries(client: Client, hr: User, big: Period,
                                                                django_assert_max_num_queries: Any) -> None:
    client.force_login(hr)
    client.get(reverse("period-detail", args=[big.pk]))  # warm the session and caches
    with django_assert_max_num_queries(45):
        client.get(reverse("period-detail", args=[big.pk]))
