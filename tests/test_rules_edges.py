"""appraisal.rules: messages and edges the other rules tests did not pin (found by bin/mutate rules)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from appraisal.rules import ConfigError, validate_rule


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def now(condition: dict[str, Any]) -> dict[str, Any]:
    return {"code": "now", "kind": "streak", "config": {"periods": 1, "condition": condition}, "outcome": "warning"}


def test_it_says_a_fact_conditions_threshold_left_empty_is_required() -> None:
    with pytest.raises(ConfigError) as error:
        validate_rule(now({"fact": "missed_self_assessments", "at_least": None}))
    assert error.value.field == "config.condition.at_least"
    assert error.value.message == "This setting is required."
