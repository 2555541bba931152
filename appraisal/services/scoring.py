"""Scoring in memory: a line from its data (indicators.scoring) or its raters' ratings, a sheet from
its lines. Nothing here writes; :mod:`appraisal.services.rescoring` saves what changed and
:mod:`appraisal.services.entry` scores the line being entered.

The functions take a model (one line being edited) or a plain row (:class:`LineRow`: a period
being rescored reads every line, and a model instance each would cost more than scoring it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Sum
from django.utils.translation import gettext as _

from appraisal.models import DeductionRecord, Rater, Rating, SheetLine
from appraisal.services.common import ZERO
from core.numbers import quantize
from indicators import scoring
from indicators.models import BaselineSource, LineSource, RaterRole
from indicators.services import plain


class LineRow:
    """A sheet line as rescoring reads it: the data that scores it and the score stored, as a plain
    object. Rescoring a period reads every line; a model instance each costs more than scoring
    it. Only the lines whose score changes are loaded as models, to be saved with history."""

    __slots__ = ("acceptance_round", "accepted", "actual", "baseline_source", "config", "config_text", "direction",
                 "explanation", "indicator_name", "inputs", "max_points", "method", "money", "part_code", "pk",
                 "rating", "score", "sheet_id", "source", "subject", "target")

    # The sheet first: rows are grouped by it.
    FIELDS = ("sheet_id", "pk", "source", "method", "config_text", "direction", "baseline_source", "max_points",
              "target", "actual", "inputs", "rating", "accepted", "acceptance_round", "part_code", "score", "money",
              "explanation", "indicator__name")

    def __init__(self, row: Sequence[Any], subject: str, configs: dict[str, Any]) -> None:
        (self.sheet_id, self.pk, self.source, self.method, self.config_text, self.direction, self.baseline_source,
         self.max_points, self.target, self.actual, self.inputs, self.rating, self.accepted, self.acceptance_round,
         self.part_code, self.score, self.money, self.explanation, self.indicator_name) = row
        self.subject = subject
        # The config as the database keeps it (text), decoded once per distinct config: the lines
        # of one template line share it.
        config = configs.get(self.config_text)
        if config is None:
            config = configs[self.config_text] = json.loads(self.config_text)
        self.config = config


class RaterRow(NamedTuple):
    pk: int
    role: str
    weight: Decimal
    missing_counts_as_zero: bool
    recused: bool


class RatingRow(NamedTuple):
    rater_id: int
    score: Decimal | None


def baseline_from_inputs(line: SheetLine | LineRow) -> tuple[Decimal | None, str]:
    """A baseline entered with the data: the input "baseline" itself, or the mean of the ten-day
    averages tenday_1, tenday_2, … (S1-8). Returns the value and how it was derived."""
    inputs = line.inputs or {}
    if line.baseline_source == BaselineSource.INPUT and "baseline" in inputs:
        return Decimal(str(inputs["baseline"])), ""
    if line.baseline_source == BaselineSource.TEN_DAY_AVERAGE:
        values = [Decimal(str(v)) for k, v in sorted(inputs.items()) if k.startswith("tenday_")]
        if values:
            mean = sum(values, ZERO) / len(values)
            return mean, _("baseline = mean of %(n)s ten-day averages = %(value)s") % {
                "n": len(values), "value": quantize(mean, 4).normalize()}
    return None, ""


def line_input(line: SheetLine | LineRow, *, rating: str | None = None, actual: Decimal | None = None,
               occurrences: Mapping[str, int] | None = None) -> scoring.LineInput:
    """What indicators.scoring reads of a line; ``rating`` and ``actual`` stand in for the line's own
    when a rater's rating is scored."""
    inputs = {k: Decimal(str(v)) for k, v in (line.inputs or {}).items()}
    target = line.target
    if target is None and line.baseline_source:
        target, _how = baseline_from_inputs(line)
    return scoring.LineInput(
        max_points=line.max_points, direction=line.direction, target=target,
        actual=actual if actual is not None else line.actual, inputs=inputs, occurrences=occurrences or {},
        rating=rating if rating is not None else (line.rating or None), accepted=line.accepted,
        acceptance_round=line.acceptance_round,
        subject=_subject_of(line),
    )


def _subject_of(line: SheetLine | LineRow) -> str:
    if isinstance(line, LineRow):
        return line.subject
    return line.sheet.subject_label if "sheet" in line._state.fields_cache else ""


def score_line(line: SheetLine | LineRow, *, ratings: list[Rating] | None,
               occurrences: Mapping[str, int] | None, spec: Any = None) -> None:
    """Sets line.score / money / explanation in memory. Data lines score from their own data (and
    recorded occurrences); rated lines combine their raters' scores by weight."""
    if line.source == LineSource.RATERS:
        if ratings is None:
            ratings = list(Rating.objects.filter(line_id=line.pk).select_related("rater"))
        raters = list(Rater.objects.filter(sheet_id=line.sheet_id)) if ratings is not None else []
        line.score, line.explanation = combine_ratings(raters, ratings)
        line.money = Decimal("0.00")
        return
    if occurrences is None:
        occurrences = dict(
            DeductionRecord.objects.filter(line_id=line.pk).values("item_code").annotate(n=Sum("count"))
            .values_list("item_code", "n")
        )
    try:
        result = scoring.score(line.method, line.config, line_input(line, occurrences=occurrences), spec=spec)
    except scoring.ScoringError as error:
        line.score, line.money, line.explanation = None, Decimal("0.00"), str(error)
        return
    line.score, line.money, line.explanation = result.points, result.money, result.explanation
    if line.target is None and line.baseline_source:
        _value, how = baseline_from_inputs(line)
        if how:
            line.explanation = f"{how}; {line.explanation}"


def combine_ratings(raters: Sequence[Rater | RaterRow],
                    ratings: Sequence[Rating | RatingRow]) -> tuple[Decimal | None, str]:
    """Weighted mean of the raters' scores, with one rule for a missing rating wherever ratings are
    combined (entering a rating, rescoring, the close).

    A role's weight is shared among its raters; recused raters do not count (the others' weights
    scale up to 1). A rating not given counts 0, and the explanation says so ("not rated"): it is
    never left out, so a line never looks better for a rater who has not rated yet. While the
    period runs such a line is provisional (appraisal.selectors.line_done); at close the 0 stands
    when the template rater says missing_counts_as_zero (S1-9 self-assessment), and any other
    missing rating makes the sheet incomplete (appraisal.selectors.line_blocking): the close is
    refused unless HR sets a special status or closes anyway, which keeps the 0. None when no
    rater is left to rate the line."""
    by_rater = {r.rater_id: r for r in ratings if r.score is not None}
    per_role: dict[str, list[Rater | RaterRow]] = defaultdict(list)
    for rater in raters:
        if not rater.recused:
            per_role[rater.role].append(rater)
    total_weight, weighted, parts = ZERO, ZERO, []
    for role, members in per_role.items():
        share = members[0].weight / len(members)
        for rater in members:
            rating = by_rater.get(rater.pk)
            total_weight += share
            label = f"{RaterRole(role).label} {quantize(share * 100)}%"
            if rating is None or rating.score is None:
                parts.append(f"{label} × {_('not rated')} 0")
                continue
            weighted += share * rating.score
            parts.append(f"{label} × {rating.score}")
    if total_weight == 0:
        return None, _("No rater may rate this line.")
    score = quantize(weighted / total_weight)
    return score, "; ".join(parts) + f" → {score}"


@dataclass(frozen=True)
class SheetScore:
    score: Decimal | None
    parts: dict[str, Decimal]
    explanation: str
    missing: list[str]


def score_sheet(base: Decimal, lines: Sequence[SheetLine | LineRow], template_parts: Sequence[Any], *,
                missing_as_zero: bool = False) -> SheetScore:
    """final = base score × Σ part weight × (part points / part full marks); a part with
    cap_positive earns at most its full marks but may go below zero (S1-8 security).

    A line without a score leaves the sheet without one, unless ``missing_as_zero`` (a close HR
    makes anyway): then it counts 0 points and the explanation names it."""
    by_part: dict[str, Decimal] = defaultdict(lambda: ZERO)
    missing = []
    for line in lines:
        if line.score is None:
            missing.append(_indicator_name(line))
        else:
            by_part[line.part_code] += line.score
    if missing and not missing_as_zero:
        return SheetScore(None, dict(by_part), _("Not scored yet: %(lines)s") % {"lines": ", ".join(missing)}, missing)
    total, pieces = ZERO, []
    for part in template_parts:
        points = by_part[part.code]
        if part.cap_positive and points > part.full_marks:
            points = part.full_marks
        contribution = base * part.weight * points / part.full_marks
        total += contribution
        pieces.append(f"{part.name} {quantize(points)}/{quantize(part.full_marks)} × {plain(part.weight)}")
    score = quantize(total)
    explanation = f"{quantize(base)} × (" + " + ".join(pieces) + f") = {score}"
    if missing:
        explanation = _("no score, counted as 0: %(lines)s") % {"lines": ", ".join(missing)} + "; " + explanation
    return SheetScore(score, dict(by_part), explanation, missing)


def _indicator_name(line: SheetLine | LineRow) -> str:
    if isinstance(line, LineRow):
        return str(line.indicator_name)
    return line.indicator.name if "indicator" in line._state.fields_cache else str(line.indicator_id)
