"""Quotas as head counts at the close, in a grading policy, on the calibration page and on the period
page (issue #12, item 10): S1-3's "1–2 people with full marks" as well as shares.

S1-3 (供电营业窗口) on a 100-point score: 优 (excellent) from 95, 良 from 85, 中 below. Five people:
99, 97, 96, 90, 80. Under "优 1–2 people" the 96 falls to 良.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal.models import GradingPolicy, Period
from appraisal.policies import PolicyRejected
from organizations.models import Person, User
from tests.closing import add_people, close, grades, make_policy, scored_period
from tests.conftest import World

S1_3_SCALE = {"bands": [{"grade": "优", "label": "优秀", "from": "95", "coefficient": "1.2"},
                        {"grade": "良", "label": "良好", "from": "85", "coefficient": "1.0"},
                        {"grade": "中", "label": "一般", "from": None, "coefficient": "0.8"}]}
ONE_OR_TWO = [{"grade": "优", "min_count": 1, "max_count": 2}]


@pytest.fixture
def five(world_a: World) -> list[Person]:
    return add_people(world_a.org, world_a.production, 5, prefix="w")


def closed(world: World, people: list[Person], scores: list[str], quotas: list[dict[str, Any]]) -> Period:
    policy = make_policy(world.org, code="S13", scale=S1_3_SCALE, quotas=quotas)
    period = scored_period(world.org, dict(zip(people, scores, strict=True)), policy=policy)
    close(period)
    with scope(organization=world.org):
        return Period.objects.get(pk=period.pk)


def test_it_saves_a_policy_with_count_quotas_normalised(world_a: World) -> None:
    policy = make_policy(world_a.org, code="S13", scale=S1_3_SCALE,
                         quotas=[{"grade": "优", "min_count": "1", "max_count": "2"},
                                 {"grade": "中", "max_count": 1}])
    assert policy.quotas == [{"grade": "优", "min_count": 1, "max_count": 2}, {"grade": "中", "op": "<=", "count": 1}]


def test_it_refuses_a_quota_with_a_share_and_a_count(world_a: World) -> None:
    with pytest.raises(PolicyRejected) as refused:
        make_policy(world_a.org, code="S13", scale=S1_3_SCALE,
                    quotas=[{"grade": "优", "op": "<=", "share": "0.1", "count": 2}])
    assert refused.value.problems["quotas"][0].startswith("quotas.quotas[0].count:")


def test_it_caps_full_marks_at_two_people_at_the_close(world_a: World, hr: User, five: list[Person]) -> None:
    period = closed(world_a, five, ["99", "97", "96", "90", "80"], ONE_OR_TWO)
    assert [grades(period)[p.name] for p in five] == ["优", "优", "良", "良", "中"]


def test_it_reports_nobody_with_full_marks_as_a_shortfall_without_blocking(world_a: World, hr: User,
                                                                            five: list[Person]) -> None:
    from appraisal.services import window

    period = closed(world_a, five, ["94", "93", "90", "88", "80"], ONE_OR_TWO)
    assert [grades(period)[p.name] for p in five] == ["良", "良", "良", "良", "中"]
    with scope(organization=world_a.org):
        assert window.publish(period=period, acting_user=None).state == Period.State.PUBLISHED


def quota_line(html: str, grade: str) -> str:
    match = re.search(rf'<span class="quota-line[^"]*" data-grade="{grade}">(.*?)</span>\s*(?=<span class="quota-line|'
                      r"</div>)", html, re.S)
    assert match is not None, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_it_shows_the_count_on_the_calibration_pages_quota_line(client: Client, world_a: World, hr: User,
                                                                five: list[Person]) -> None:
    period = closed(world_a, five, ["99", "97", "96", "90", "80"], ONE_OR_TWO)
    client.force_login(hr)
    html = client.get(reverse("period-calibration", args=[period.pk])).content.decode()
    assert quota_line(html, "优") == "优 优秀 2 / 2 （1–2 人）"
    assert "text-danger" not in html.split('data-grade="优"')[0][-60:]


def test_it_marks_a_count_minimum_short_on_the_calibration_page(client: Client, world_a: World, hr: User,
                                                                five: list[Person]) -> None:
    period = closed(world_a, five, ["94", "93", "90", "88", "80"], ONE_OR_TWO)
    client.force_login(hr)
    html = client.get(reverse("period-calibration", args=[period.pk])).content.decode()
    assert quota_line(html, "优") == "优 优秀 0 / 2 （1–2 人） 未达最低比例"


def test_it_shows_the_count_on_the_period_pages_chart(client: Client, world_a: World, hr: User,
                                                      five: list[Person]) -> None:
    period = closed(world_a, five, ["99", "97", "96", "90", "80"], ONE_OR_TWO)
    client.force_login(hr)
    html = client.get(reverse("period-detail", args=[period.pk])).content.decode()
    assert "1–2 人" in html


def test_it_takes_count_quotas_through_the_api(api_for: Any, hr: User, world_a: World) -> None:
    url = reverse("api-appraisal:grading-policy-list")
    created = api_for(hr).post(url, {"code": "S13", "name": "营业窗口", "scale": S1_3_SCALE,
                                     "quotas": [{"grade": "优", "min_count": 1, "max_count": 2}]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["quotas"] == [{"grade": "优", "min_count": 1, "max_count": 2}]
    refused = api_for(hr).post(url, {"code": "S13", "name": "营业窗口", "scale": S1_3_SCALE,
                                     "quotas": [{"grade": "优", "op": "<=", "min_count": 1}]}, format="json")
    assert refused.status_code == 400 and "quotas[0].op" in refused.json()["quotas"][0]
    with scope(organization=world_a.org):
        assert GradingPolicy.objects.filter(code="S13").count() == 1
