"""appraisal.grading: edges the other grading tests did not pin (found by bin/mutate grading)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from appraisal.grading import distribute

S1_3_SCALE: dict[str, Any] = {"bands": [{"grade": "优", "from": "100"}, {"grade": "良", "from": "90"},
                                        {"grade": "中", "from": None}]}


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def test_it_asks_nobody_for_a_range_from_a_min_count_of_zero() -> None:
    # "0–2 people with full marks": nobody at full marks is no shortfall.
    result = distribute([("a", D("95")), ("b", D("91")), ("c", D("80"))], S1_3_SCALE,
                        [{"grade": "优", "min_count": 0, "max_count": 2}])
    bar = result.counts[0]
    assert (bar.op, bar.allowed, bar.required) == ("between", 2, 0)
    assert result.shortfalls == ()
