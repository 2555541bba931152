"""The distribution chart's allowed and required counts without grading anyone (#14, pages under
load): grading.quota_counts gives what distribute gives for any population, since what a quota
allows depends on the head count, never on the scores; the period page draws its chart from it
instead of grading the whole population again on every request (~750 ms at 10,000 people)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from appraisal import grading
from organizations.models import User
from tests.closing import S14_QUOTAS, S14_SCALE, add_people, close, make_policy, scored_period
from tests.conftest import World

QUOTA_SETS: list[list[dict[str, Any]]] = [
    [],
    S14_QUOTAS,
    [{"grade": "S", "op": "<=", "share": "0.2"}, {"grade": "C", "op": ">=", "share": "0.1"}],
    [{"grade": "S", "min_count": 1, "max_count": 2}, {"grade": "C", "op": "<=", "count": 1}],
    [{"grade": "A", "op": "=", "share": "0.3"}],
]
FIELDS = ("grade", "label", "op", "share", "exact", "allowed", "required", "quota")


def _fields(counts: Any) -> list[tuple[Any, ...]]:
    return [tuple(getattr(count, name) for name in FIELDS) for count in counts]


@settings(max_examples=60, deadline=None)
@given(scores=st.lists(st.integers(min_value=40, max_value=120), max_size=40),
       quotas=st.sampled_from(QUOTA_SETS), rounding=st.sampled_from(sorted(grading.ROUNDINGS)))
def test_it_gives_what_distribute_gives_for_any_population(scores: list[int], quotas: list[dict[str, Any]],
                                                            rounding: str) -> None:
    keyed = [(n, Decimal(score)) for n, score in enumerate(scores)]
    graded = grading.distribute(keyed, S14_SCALE, quotas, rounding=rounding)
    assert _fields(grading.quota_counts(len(scores), S14_SCALE, quotas, rounding=rounding)) == _fields(graded.counts)


def test_it_counts_nobody_in_the_bars() -> None:
    counts = grading.quota_counts(20, S14_SCALE, S14_QUOTAS)
    assert [(c.grade, c.allowed, c.band_count, c.actual) for c in counts] == [
        ("S", 1, 0, 0), ("A", 3, 0, 0), ("B", 14, 0, 0), ("C", 2, 0, 0)]


@pytest.mark.django_db
def test_it_draws_the_period_pages_chart_without_grading_again(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 5)
    period = scored_period(world_a.org, dict(zip(people, ["95", "92", "85", "75", "60"], strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    client.force_login(hr)
    with mock.patch.object(grading, "distribute", side_effect=AssertionError("graded again")):
        response = client.get(reverse("period-detail", args=[period.pk]))
    assert response.status_code == 200
    # Five graded people under S1-4's quotas: S ≤ 5 % → 0 allowed (rounded half up), A ≤ 15 % → 1.
    bars = re.findall(r'grade-bar[^"]*" data-grade="(\w)".*?<span class="bar-allowed">([^<]*)</span>',
                      response.content.decode(), re.S)
    assert bars == [("S", "0"), ("A", "1"), ("B", "4"), ("C", "1")]
