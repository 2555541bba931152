"""The live preview: a draft config scored on a real sheet line, nothing saved.

Sheet lines belong to the appraisal app, a floor above; it registers where sample lines come from
(:func:`register_sample_lines`, from its AppConfig.ready()), as apps register their permissions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from indicators import scoring
from indicators.models import Indicator


@dataclass(frozen=True)
class SampleLine:
    """A real sheet line to score a draft on: its inputs, and what it scores today."""

    pk: int
    label: str
    line: scoring.LineInput
    score: Decimal | None
    explanation: str


class SampleLines(Protocol):
    def choices(self, *, indicator: Indicator | None, method: str) -> list[tuple[str, list[tuple[int, str]]]]:
        """Lines to offer, grouped by period (label, [(id, label)]): the indicator's own lines, or
        for a new indicator the lines scored by the same method (any data line when there are none)."""

    def sample(self, pk: int) -> SampleLine | None:
        """The line with this id in the current organisation, or None."""


_SOURCES: list[SampleLines] = []


def register_sample_lines(source: SampleLines) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def choices(*, indicator: Indicator | None, method: str) -> list[tuple[str, list[tuple[int, str]]]]:
    return [group for source in _SOURCES for group in source.choices(indicator=indicator, method=method)]


def sample(pk: int) -> SampleLine | None:
    return next((found for source in _SOURCES if (found := source.sample(pk)) is not None), None)


@dataclass(frozen=True)
class Preview:
    sample: SampleLine
    points: Decimal | None = None
    money: Decimal | None = None
    explanation: str = ""
    error: str = ""


def score_draft(method: str, config: Mapping[str, Any], found: SampleLine, *, direction: str) -> Preview:
    """The draft's score on the sample line (with the draft's direction), or why it has none."""
    line = found.line
    if direction in ("higher", "lower"):
        line = dataclasses.replace(line, direction=direction)
    try:
        result = scoring.score(method, config, line)
    except (scoring.ScoringError, scoring.ConfigError) as error:
        return Preview(found, error=str(error))
    return Preview(found, result.points, result.money, result.explanation)
