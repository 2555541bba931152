"""The calibration page of a period: results 50 a page, filters, quota lines and ties, calibration
in place (within the cap, and refused outside it), rater leniency, tenancy and query counts.

Periods are built with tests.closing: the people listed score exactly what a test says, everyone
else in the organisation is exempt (a result, not assessed). Elements are found by their ids and
classes, so the assertions do not depend on the wording of either language.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Rating, Result, Sheet, SheetLine
from organizations.models import Person, User
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World

HTMX = {"HX-Request": "true", "HX-Target": "calibration-results"}


def _html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _rows(html: str) -> int:
    return html.count('class="calibration-row')


def _closed(world: World, scores: dict[Person, str], *, number: int = 10, **policy: Any) -> Period:
    period = scored_period(world.org, scores, policy=make_policy(world.org, code=f"P{number}", **policy),
                           number=number)
    with scope(organization=world.org):
        # The data was written behind the services' back: score it as the services would have.
        services.rescore_period(period=period, acting_user=None, reason="entered")
    close(period)
    with scope(organization=world.org):
        return Period.objects.get(pk=period.pk)


def _page(period: Period, **params: Any) -> str:
    return reverse("period-calibration", args=[period.pk]) + ("?" + "&".join(f"{k}={v}" for k, v in params.items())
                                                             if params else "")


@pytest.fixture
def sixty(world_a: World) -> list[Person]:
    return add_people(world_a.org, world_a.production, 60)


@pytest.fixture
def big_period(world_a: World, sixty: list[Person]) -> Period:
    """60 scored people in 生产部 (the 5 people of the world exempt): 65 results, no quotas."""
    return _closed(world_a, {p: str(60 + i % 40) for i, p in enumerate(sixty)}, quotas=[])


# --- paging and filters ---------------------------------------------------------------------------


def test_it_shows_fifty_results_a_page(client: Client, hr: User, big_period: Period) -> None:
    assert _rows(_html(_signed_in(client, hr).get(_page(big_period)))) == 50


def test_it_shows_the_rest_on_the_next_page(client: Client, hr: User, big_period: Period) -> None:
    html = _html(_signed_in(client, hr).get(_page(big_period, page=2)))
    assert _rows(html) == 15 and "2 / 2" in html


def test_it_filters_by_department_with_its_sub_departments(
    client: Client, hr: User, world_a: World, big_period: Period
) -> None:
    html = _html(_signed_in(client, hr).get(_page(big_period, department=world_a.back_office.pk)))
    # 综合办: hr, finance and colleague, all exempt.
    assert _rows(html) == 3 and "a-colleague" in html and "x001" not in html


def test_it_filters_by_grade(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 4)
    period = _closed(world_a, dict(zip(people, ["95", "85", "75", "65"], strict=True)), quotas=[])
    html = _html(_signed_in(client, hr).get(_page(period, grade="A")))
    assert _rows(html) == 1 and people[1].name in html


def test_it_filters_the_results_needing_calibration(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    # Two at 95 straddle the single S place (5 % of 20): both kept, both wait for calibration.
    period = _closed(world_a, dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True)))
    html = _html(_signed_in(client, hr).get(_page(period, needs="on")))
    assert _rows(html) == 2 and html.count("result-tie") == 2


def test_it_shows_nothing_for_another_organizations_department(
    client: Client, hr: User, world_b: World, big_period: Period
) -> None:
    html = _html(_signed_in(client, hr).get(_page(big_period, department=world_b.production.pk)))
    assert _rows(html) == 0


def test_it_answers_htmx_with_the_results_section_only(client: Client, hr: User, big_period: Period) -> None:
    html = _html(_signed_in(client, hr).get(_page(big_period, grade="B"), headers=HTMX))
    assert html.startswith('<section id="calibration-results"') and "rater-leniency" not in html


# --- quota lines and ties -------------------------------------------------------------------------


def _quota(html: str, grade: str) -> tuple[str, str]:
    match = re.search(rf'class="quota-line[^"]*" data-grade="{grade}">.*?quota-actual">(\d+)<.*?'
                      rf'quota-allowed">([\d—]+)<', html, re.S)
    assert match, grade
    return match.group(1), match.group(2)


def test_it_shows_each_grades_count_against_its_quota(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = _closed(world_a, dict(zip(people, ["95", "91", "85"] + ["75"] * 17, strict=True)))
    html = _html(_signed_in(client, hr).get(_page(period)))
    # S14 on 20 graded: S ≤ 5 % → 1, A ≤ 15 % → 3, B ≥ 70 % → 14, C ≤ 10 % → 2; 91 falls to A.
    assert [_quota(html, g) for g in "SABC"] == [("1", "1"), ("2", "3"), ("17", "14"), ("0", "2")]


def test_it_draws_the_quota_line_where_the_grade_changes(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = _closed(world_a, dict(zip(people, ["95", "91", "85"] + ["75"] * 17, strict=True)))
    html = _html(_signed_in(client, hr).get(_page(period)))
    assert re.findall(r'class="quota-line-row[^"]*" data-grade="(\w)"', html) == ["S", "A"]


# --- calibrating in place -------------------------------------------------------------------------


@pytest.fixture
def four(world_a: World) -> tuple[Period, list[Person]]:
    people = add_people(world_a.org, world_a.production, 4)
    return _closed(world_a, dict(zip(people, ["95", "85", "75", "65"], strict=True)), quotas=[]), people


def _result(period: Period, person: Person) -> Result:
    with scope(organization=period.organization):
        return Result.objects.get(period=period, person=person)


def test_it_shows_the_cap_on_each_row(client: Client, hr: User, four: tuple[Period, list[Person]]) -> None:
    period, people = four
    html = _html(_signed_in(client, hr).get(_page(period)))
    row = html[html.index(f'id="result-{_result(period, people[1]).pk}"'):]
    # 85 ± 5 % = 80.75–89.25
    assert re.search(r'cap-low">80\.75<.*?cap-high">89\.25<', row, re.S)


def test_it_opens_a_row_as_a_form_in_place(client: Client, hr: User, four: tuple[Period, list[Person]]) -> None:
    period, people = four
    result = _result(period, people[1])
    url = reverse("result-calibration", args=[result.pk]) + "?edit=1&q=grade%3DA"
    html = _html(_signed_in(client, hr).get(url, headers={"HX-Request": "true"}))
    assert html.startswith(f'<tr id="result-{result.pk}"') and 'name="score"' in html
    assert 'name="q" value="grade=A"' in html


def test_it_calibrates_a_row_within_the_cap_and_regrades(
    client: Client, hr: User, four: tuple[Period, list[Person]]
) -> None:
    period, people = four
    result = _result(period, people[1])
    response = _signed_in(client, hr).post(reverse("result-calibration", args=[result.pk]),
                                           {"score": "89.00", "reason": "加班未计入", "q": ""}, headers=HTMX)
    html = _html(response)
    assert html.startswith('<section id="calibration-results"') and "calibrate-saved" in html
    updated = _result(period, people[1])
    assert (updated.calibrated_score, updated.final_score, updated.calibration_reason) == (
        Decimal("89.00"), Decimal("89.00"), "加班未计入")


def test_it_refuses_a_calibration_outside_the_cap_on_the_row(
    client: Client, hr: User, four: tuple[Period, list[Person]]
) -> None:
    period, people = four
    result = _result(period, people[1])
    html = _html(_signed_in(client, hr).post(reverse("result-calibration", args=[result.pk]),
                                             {"score": "95", "reason": "x", "q": ""}, headers=HTMX))
    error = re.search(r'class="invalid-feedback[^"]*calibrate-error"[^>]*>(.*?)</div>', html, re.S)
    assert error and "80.75" in error.group(1) and "89.25" in error.group(1)
    assert _result(period, people[1]).calibrated_score is None


def test_it_keeps_the_filter_and_page_after_a_calibration(
    client: Client, hr: User, four: tuple[Period, list[Person]]
) -> None:
    period, people = four
    result = _result(period, people[1])
    html = _html(_signed_in(client, hr).post(reverse("result-calibration", args=[result.pk]),
                                             {"score": "86", "reason": "复核", "q": "grade=A"}, headers=HTMX))
    assert _rows(html) == 1


def test_it_redirects_a_calibration_without_htmx_back_to_the_page(
    client: Client, hr: User, four: tuple[Period, list[Person]]
) -> None:
    period, people = four
    result = _result(period, people[1])
    response = _signed_in(client, hr).post(reverse("result-calibration", args=[result.pk]),
                                           {"score": "86", "reason": "复核", "q": "grade=A"})
    assert response.status_code == 302
    assert response["Location"].startswith(_page(period) + "?grade=A")


def test_it_offers_no_calibration_once_published(client: Client, hr: User, four: tuple[Period, list[Person]]) -> None:
    from appraisal.services import window

    period, _people = four
    with scope(organization=period.organization):
        window.publish(period=period, acting_user=None)
    html = _html(_signed_in(client, hr).get(_page(period)))
    assert "calibrate-edit" not in html and 'id="calibration-read-only"' in html


# --- who may open it ------------------------------------------------------------------------------


def test_it_answers_404_for_another_organizations_period(client: Client, hr: User, world_b: World) -> None:
    people = add_people(world_b.org, world_b.production, 2)
    foreign = _closed(world_b, dict(zip(people, ["90", "80"], strict=True)), quotas=[])
    assert _signed_in(client, hr).get(_page(foreign)).status_code == 404


def test_it_answers_404_for_another_organizations_result(client: Client, hr: User, world_b: World) -> None:
    people = add_people(world_b.org, world_b.production, 2)
    foreign = _closed(world_b, dict(zip(people, ["90", "80"], strict=True)), quotas=[])
    result = _result(foreign, people[0])
    response = _signed_in(client, hr).post(reverse("result-calibration", args=[result.pk]),
                                           {"score": "91", "reason": "x"}, headers=HTMX)
    assert response.status_code == 404
    assert _result(foreign, people[0]).calibrated_score is None


@pytest.mark.parametrize("role", ["head", "finance", "employee"])
def test_it_forbids_the_page_to_anyone_but_hr(
    client: Client, request: Any, role: str, four: tuple[Period, list[Person]]
) -> None:
    period, _people = four
    assert _signed_in(client, request.getfixturevalue(role)).get(_page(period)).status_code == 403


def test_it_forbids_a_head_to_calibrate_a_row(
    client: Client, head: User, four: tuple[Period, list[Person]]
) -> None:
    period, people = four
    result = _result(period, people[1])
    response = _signed_in(client, head).post(reverse("result-calibration", args=[result.pk]),
                                             {"score": "86", "reason": "x"}, headers=HTMX)
    assert response.status_code == 403


# --- query count ----------------------------------------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_renders_the_page_with_the_same_queries_for_ten_or_ninety_people(
    client: Client, hr: User, world_a: World
) -> None:
    small = add_people(world_a.org, world_a.production, 10, prefix="s")
    large = add_people(world_a.org, world_a.back_office, 90, prefix="l")
    few = _closed(world_a, {p: "80" for p in small}, number=10)
    many = _closed(world_a, {p: str(60 + i % 40) for i, p in enumerate(large)}, number=11)
    for period, people in ((few, small), (many, large)):
        _hand_built_ratings(period, people[:6], [[90.0], [80.0], [70.0]])
    signed = _signed_in(client, hr)
    signed.get(_page(few))  # the first request also settles the session
    assert _queries(signed, _page(few)) == _queries(signed, _page(many))


def test_it_renders_the_page_in_a_bounded_number_of_queries(
    client: Client, hr: User, world_a: World, big_period: Period, django_assert_max_num_queries: Any
) -> None:
    signed = _signed_in(client, hr)
    signed.get(_page(big_period))
    with django_assert_max_num_queries(25):
        signed.get(_page(big_period, department=world_a.production.pk, grade="B", needs="on"))


# --- rater leniency -------------------------------------------------------------------------------


def _hand_built_ratings(period: Period, raters: list[Person], given: list[list[float]], *,
                        role: str = "supervisor") -> None:
    """Rater i rates a sheet of the period per score in ``given[i]`` (lines have 100 full marks,
    so a score is its share of full marks), a different sheet each time."""
    with scope(organization=period.organization):
        lines = iter(SheetLine.objects.filter(sheet__period=period).order_by("pk"))
        for person, scores in zip(raters, given, strict=False):
            for score in scores:
                line = next(lines)
                rater = Rater.objects.create(organization=period.organization, sheet_id=line.sheet_id, role=role,
                                             person=person, weight=Decimal("1"))
                Rating.objects.create(organization=period.organization, line=line, rater=rater,
                                      score=Decimal(str(score)))


@pytest.fixture
def rated(world_a: World) -> tuple[Period, list[Person]]:
    """Five raters, three ratings each: 95 (lenient), 60 (severe), 80, 78, 82. Mean 79, sd 11.21:
    lenient from 90.21, severe up to 67.79."""
    people = add_people(world_a.org, world_a.production, 16)
    period = _closed(world_a, {p: "80" for p in people}, quotas=[])
    raters = add_people(world_a.org, world_a.back_office, 5, prefix="r")
    _hand_built_ratings(period, raters, [[95.0] * 3, [60.0] * 3, [80.0] * 3, [78.0] * 3, [82.0] * 3])
    return period, raters


def _flags(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr class="rater-row" id="rater-(\d+)" data-flag="(\w*)"', html))


def test_it_flags_a_lenient_and_a_severe_rater(client: Client, hr: User, rated: tuple[Period, list[Person]]) -> None:
    period, raters = rated
    flags = _flags(_html(_signed_in(client, hr).get(_page(period))))
    assert flags == {str(raters[0].pk): "lenient", str(raters[1].pk): "severe", str(raters[2].pk): "",
                     str(raters[3].pk): "", str(raters[4].pk): ""}


def test_it_lists_the_furthest_rater_from_the_mean_first(
    client: Client, hr: User, rated: tuple[Period, list[Person]]
) -> None:
    period, raters = rated
    html = _html(_signed_in(client, hr).get(_page(period)))
    assert list(_flags(html))[:2] == [str(raters[1].pk), str(raters[0].pk)]  # 60 is 19 away, 95 is 16


def test_it_shows_each_raters_mean_and_count(client: Client, hr: User, rated: tuple[Period, list[Person]]) -> None:
    period, raters = rated
    html = _html(_signed_in(client, hr).get(_page(period)))
    row = html[html.index(f'id="rater-{raters[0].pk}"'):]
    assert re.search(r'rater-count">3<.*?rater-mean">95\.00<.*?rater-difference">\+16\.00<', row, re.S)


def test_it_leaves_self_assessments_and_recused_raters_out(
    client: Client, hr: User, rated: tuple[Period, list[Person]]
) -> None:
    period, raters = rated
    with scope(organization=period.organization):
        sheet = Sheet.objects.filter(period=period).order_by("-pk").first()
        assert sheet is not None
        line = SheetLine.objects.get(sheet=sheet)
        own = Rater.objects.create(organization=period.organization, sheet=sheet, role="self",
                                   person=raters[2], weight=Decimal("1"))
        Rating.objects.create(organization=period.organization, line=line, rater=own, score=Decimal("100"))
        recused = Rater.objects.create(organization=period.organization, sheet=sheet, role="peer_departments",
                                       person=raters[3], weight=Decimal("1"), recused=True)
        Rating.objects.create(organization=period.organization, line=line, rater=recused, score=Decimal("0"))
    html = _html(_signed_in(client, hr).get(_page(period)))
    for person in raters[2:4]:
        assert re.search(r'rater-count">3<', html[html.index(f'id="rater-{person.pk}"'):])


def test_it_counts_the_flagged_raters_of_the_whole_period(
    client: Client, hr: User, rated: tuple[Period, list[Person]]
) -> None:
    period, _raters = rated
    html = _html(_signed_in(client, hr).get(_page(period)))
    summary = re.search(r'id="leniency-summary">(.*?)</span>', html, re.S)
    assert summary and re.findall(r"\d+", summary.group(1)) == ["1", "1"]


def test_it_says_what_will_appear_before_any_rating(client: Client, hr: User, big_period: Period) -> None:
    assert 'id="no-raters"' in _html(_signed_in(client, hr).get(_page(big_period)))
