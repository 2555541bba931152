"""The period page under load (issue #14): the distribution charts are paged, with the populations
that need HR first, and drawn from counts the database groups; what does not change after the close
is read once; the people untold are counted, not listed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal import result_views, selectors
from appraisal.models import Period, Result
from appraisal.services import closing, extension
from organizations.models import User
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World


def closed_in_two_departments(world: World) -> Period:
    """Production within its quotas (every score 70–79: all B), the back office over the C quota
    (everyone below 70): the back office needs HR. The world's own people are a third population."""
    production = add_people(world.org, world.production, 4, prefix="p")
    back = add_people(world.org, world.back_office, 4, prefix="b")
    scores = {**{person: str(70 + n) for n, person in enumerate(production)},
              **{person: str(50 + n) for n, person in enumerate(back)}}
    period = scored_period(world.org, scores, policy=make_policy(world.org, population="department"))
    close(period)
    with scope(organization=world.org):
        return Period.objects.select_related("grading_policy").get(pk=period.pk)


@pytest.fixture
def two_departments(world_a: World) -> Period:
    return closed_in_two_departments(world_a)


def _charts(html: str) -> list[str]:
    return re.findall(r'class="card mb-3 distribution" data-population="([^"]+)"', html)


def _population(period: Period, department: Any) -> str:
    with scope(organization=period.organization):
        return Result.objects.filter(period=period, person__department=department).values_list(
            "population", flat=True).first() or ""


def test_it_puts_the_population_over_its_quota_first(two_departments: Period, world_a: World) -> None:
    with scope(organization=world_a.org):
        counts = result_views.grade_counts(Result.objects.filter(period=two_departments))
        charts = result_views.distribution(two_departments, counts)
    keys = [chart.key for chart in charts]
    back, production = _population(two_departments, world_a.back_office), _population(two_departments,
                                                                                       world_a.production)
    assert keys[0] == back and production in keys[1:]
    assert charts[0].needs_attention and not charts[keys.index(production)].needs_attention


def test_it_counts_each_grade_as_the_stored_results_hold_it(two_departments: Period, world_a: World) -> None:
    with scope(organization=world_a.org):
        results = Result.objects.filter(period=two_departments)
        charts = result_views.distribution(two_departments, result_views.grade_counts(results))
        held = {(r.population, r.grade) for r in results}
        for chart in charts:
            for bar in chart.bars:
                expected = results.filter(population=chart.key, grade=bar.grade, rank__isnull=False).count()
                assert bar.actual == expected, (chart.key, bar.grade)
    assert held  # the period has results to count


def test_it_shows_one_page_of_charts_and_links_the_next(client: Client, hr: User, two_departments: Period,
                                                        world_a: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(result_views, "CHARTS_PER_PAGE", 2)
    client.force_login(hr)
    url = reverse("period-detail", args=[two_departments.pk])
    first = client.get(url).content.decode()
    second = client.get(url, {"charts_page": 2, "results_page": 1}).content.decode()
    with scope(organization=world_a.org):
        everyone = set(Result.objects.filter(period=two_departments).values_list("population", flat=True))
    assert len(everyone) == 3  # production, the back office and the world's own people
    assert len(_charts(first)) == 2 and _charts(first)[0] == _population(two_departments, world_a.back_office)
    assert len(_charts(second)) == 1 and set(_charts(first) + _charts(second)) == everyone
    assert 'id="chart-pages"' in first and "charts_page=2" in first
    assert 'id="chart-summary"' in first and "共 3 个排名范围，其中 1 个需要处理" in first
    # The results table's own pager keeps the charts' page.
    assert "charts_page=2" in second and "results_page" in second


def test_it_answers_a_calibration_with_the_chart_page_the_form_was_on(
        client: Client, hr: User, two_departments: Period, world_a: World,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(result_views, "CHARTS_PER_PAGE", 2)
    client.force_login(hr)
    with scope(organization=world_a.org):
        result = Result.objects.filter(period=two_departments, person__department=world_a.production).first()
    assert result is not None
    url = reverse("period-detail", args=[two_departments.pk])
    shown = _charts(client.get(url, {"charts_page": 2}).content.decode())
    html = client.post(reverse("result-calibrate", args=[result.pk]),
                       {"score": "not a number", "reason": "复核", "charts_page": "2"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert _charts(html) == shown and len(shown) == 1


def test_it_reads_the_settled_completeness_once(two_departments: Period, world_a: World,
                                                django_assert_num_queries: Any) -> None:
    cache.clear()
    with scope(organization=world_a.org):
        period = Period.objects.get(pk=two_departments.pk)
        sheets = period.sheets.all()
        first = selectors.period_completeness(period, sheets, everyone=True)
        with django_assert_num_queries(0):
            again = selectors.period_completeness(period, sheets, everyone=True)
        with django_assert_num_queries(1):  # a head sees part of the sheets: counted each time
            selectors.period_completeness(period, sheets, everyone=False)
    assert again == first and first.total == sheets.count()


def test_it_counts_again_once_the_period_is_reopened(two_departments: Period, world_a: World, hr: User) -> None:
    cache.clear()
    with scope(organization=world_a.org):
        period = Period.objects.get(pk=two_departments.pk)
        before = selectors.period_completeness(period, period.sheets.all(), everyone=True)
        closing.reopen_period(period=period, acting_user=hr, reason="补录")
        period.sheets.filter(person__department=world_a.back_office).update(special_status="exempt")
        closing.run_close(job=closing.start_close(period=period, acting_user=hr))
        period = Period.objects.get(pk=period.pk)
        after = selectors.period_completeness(period, period.sheets.all(), everyone=True)
    assert period.state == Period.State.CLOSED
    assert after.special == before.special + 4


def test_it_counts_the_untold_without_loading_them(two_departments: Period, world_a: World,
                                                   django_assert_num_queries: Any) -> None:
    with scope(organization=world_a.org):
        with django_assert_num_queries(1):
            count = extension.untold(two_departments).count()
        people = Result.objects.filter(period=two_departments, person__isnull=False).values("person").distinct()
        assert count == people.count() == 13  # the eight scored and the world's five, all without notice
