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

from appraisal.models import RAW_PLACES, DeductionRecord, Rater, Rating, SheetLine
from appraisal.services.common import ZERO
from core.explain import listed, percent, sep
from core.numbers import quantize
from indicators import scoring
from indicators.models import BaselineSource, LineSource, RaterRole, Rounding
from indicators.services import plain


class LineRow:
    """A sheet line as rescoring reads it: the data that scores it and the score stored, as a plain
    object. Rescoring a period reads every line; a model instance each costs more than scoring
    it. Only the lines whose score changes are loaded as models, to be saved with history."""

    __slots__ = ("acceptance_round", "accepted", "actual", "baseline_source", "config", "config_text", "direction",
                 "explanation", "indicator_name", "inputs", "max_points", "method", "money", "part_code", "pk",
                 "rating", "raw_score", "score", "sheet_id", "source", "subject", "target")

    # The sheet first: rows are grouped by it.
    FIELDS = ("sheet_id", "pk", "source", "method", "config_text", "direction", "baseline_source", "max_points",
              "target", "actual", "inputs", "rating", "accepted", "acceptance_round", "part_code", "score",
              "raw_score", "money", "explanation", "indicator__name")

    def __init__(self, row: Sequence[Any], subject: str, configs: dict[str, Any]) -> None:
        (self.sheet_id, self.pk, self.source, self.method, self.config_text, self.direction, self.baseline_source,
         self.max_points, self.target, self.actual, self.inputs, self.rating, self.accepted, self.acceptance_round,
         self.part_code, self.score, self.raw_score, self.money, self.explanation, self.indicator_name) = row
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
    """Sets line.score / raw_score / money / explanation in memory. Data lines score from their own
    data (and recorded occurrences); rated lines combine their raters' scores by weight. ``score``
    is rounded to 0.01; ``raw_score`` is the same score before that rounding (to RAW_PLACES), which
    a sheet sums when its template rounds per part or at the end (see :func:`score_sheet`)."""
    if line.source == LineSource.RATERS:
        if ratings is None:
            ratings = list(Rating.objects.filter(line_id=line.pk).select_related("rater"))
        raters = list(Rater.objects.filter(sheet_id=line.sheet_id)) if ratings is not None else []
        line.score, line.raw_score, line.explanation = combine_ratings_raw(raters, ratings)
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
        line.score, line.raw_score, line.money, line.explanation = None, None, Decimal("0.00"), str(error)
        return
    line.score, line.money, line.explanation = result.points, result.money, result.explanation
    line.raw_score = quantize(result.points if result.raw_points is None else result.raw_points, RAW_PLACES)
    if line.target is None and line.baseline_source:
        _value, how = baseline_from_inputs(line)
        if how:
            line.explanation = f"{how}{sep()}{line.explanation}"


def combine_ratings(raters: Sequence[Rater | RaterRow],
                    ratings: Sequence[Rating | RatingRow]) -> tuple[Decimal | None, str]:
    """The line's score (rounded) and explanation from its raters (see :func:`combine_ratings_raw`)."""
    score, _raw, explanation = combine_ratings_raw(raters, ratings)
    return score, explanation


def combine_ratings_raw(raters: Sequence[Rater | RaterRow],
                        ratings: Sequence[Rating | RatingRow]) -> tuple[Decimal | None, Decimal | None, str]:
    """Weighted mean of the raters' scores, with one rule for a missing rating wherever ratings are
    combined (entering a rating, rescoring, the close).

    A role's weight is shared among its raters; recused raters do not count (the others' weights
    scale up to 1). A rating not given counts 0, and the explanation says so ("not rated"): it is
    never left out, so a line never looks better for a rater who has not rated yet. While the
    period runs such a line is provisional (appraisal.selectors.line_done); at close the 0 stands
    when the template rater says missing_counts_as_zero (S1-9 self-assessment), and any other
    missing rating makes the sheet incomplete (appraisal.selectors.line_blocking): the close is
    refused unless HR sets a special status or closes anyway, which keeps the 0. None when no
    rater is left to rate the line. Returns the score rounded to 0.01, the same unrounded (to
    RAW_PLACES), and the explanation."""
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
            label = f"{RaterRole(role).label} {percent(share)}"
            if rating is None or rating.score is None:
                parts.append(f"{label} × {_('not rated')} 0")
                continue
            weighted += share * rating.score
            parts.append(f"{label} × {rating.score}")
    if total_weight == 0:
        return None, None, _("No rater may rate this line.")
    score = quantize(weighted / total_weight)
    return score, quantize(weighted / total_weight, RAW_PLACES), sep().join(parts) + f" → {score}"


@dataclass(frozen=True)
class SheetScore:
    score: Decimal | None
    parts: dict[str, Decimal]
    explanation: str
    missing: list[str]


def score_sheet(base: Decimal, lines: Sequence[SheetLine | LineRow], template_parts: Sequence[Any], *,
                missing_as_zero: bool = False, rounding: str = Rounding.LINE) -> SheetScore:
    """final = base score × Σ part weight × (part points / part full marks); a part with
    cap_positive earns at most its full marks but may go below zero (S1-8 security).

    A line without a score leaves the sheet without one, unless ``missing_as_zero`` (a close HR
    makes anyway): then it counts 0 points and the explanation names it.

    A per-person part (TemplatePart.per_person: individual work items added to each sheet, S0-1)
    is scaled to its full marks by the sheet's own lines: part points = Σ line points × part full
    marks ÷ Σ line full marks, so the part keeps its weight however many items a person has (a
    part with no line scores 0).

    ``rounding`` (Template.rounding) says where scores are rounded to 0.01; every line still shows
    its rounded score (SheetLine.score), and the sum reads SheetLine.raw_score when it is not
    "line":

    * "line" (the default): each line is rounded, and the part points are sums of rounded lines;
    * "part": the unrounded lines are summed, and each part's points are rounded;
    * "final": nothing is rounded before the final score (S0-2: a shift's score is the weighted sum
      of its unrounded completion rates, rounded once).

    Worked example: base 100, one part (weight 1, full marks 100), lines COAL 40 × 290/290 = 40,
    WATER 30 × 1.50/1.60 = 28.125 and STEAM 30 × 1.50/1.60 = 28.125. Each line shows 40.00, 28.13,
    28.13. Rounding "line": 40.00 + 28.13 + 28.13 = 96.26. Rounding "final" (or "part"):
    40 + 28.125 + 28.125 = 96.25. The two differ by 0.01."""
    by_part, line_max, missing = _part_sums(lines, rounding)
    if missing and not missing_as_zero:
        return SheetScore(None, dict(by_part), _("Not scored yet: %(lines)s") % {"lines": listed(missing)}, missing)
    total, pieces = ZERO, []
    for part in template_parts:
        points, piece = _part_points(part, by_part[part.code], line_max[part.code], rounding)
        total += base * part.weight * points / part.full_marks
        pieces.append(f"{piece} × {plain(part.weight)}")
    score = quantize(total)
    explanation = f"{quantize(base)} × (" + " + ".join(pieces) + f") = {score}"
    if rounding == Rounding.PART:
        explanation = _("%(explanation)s (each part rounded)") % {"explanation": explanation}
    elif rounding == Rounding.FINAL:
        explanation = _("%(explanation)s (unrounded line scores, rounded once at the end)") % {
            "explanation": explanation}
    if missing:
        explanation = _("no score, counted as 0: %(lines)s") % {"lines": listed(missing)} + sep() + explanation
    return SheetScore(score, dict(by_part), explanation, missing)


def _part_sums(lines: Sequence[SheetLine | LineRow],
               rounding: str) -> tuple[dict[str, Decimal], dict[str, Decimal], list[str]]:
    """Per part: the lines' points (rounded or not, as ``rounding`` says) and their full marks; and
    the lines without a score."""
    by_part: dict[str, Decimal] = defaultdict(lambda: ZERO)
    line_max: dict[str, Decimal] = defaultdict(lambda: ZERO)
    missing = []
    for line in lines:
        line_max[line.part_code] += line.max_points
        if line.score is None:
            missing.append(_indicator_name(line))
        elif rounding == Rounding.LINE or line.raw_score is None:
            by_part[line.part_code] += line.score
        else:
            by_part[line.part_code] += line.raw_score
    return by_part, line_max, missing


def _part_points(part: Any, points: Decimal, line_max: Decimal, rounding: str) -> tuple[Decimal, str]:
    """A part's points as they count (scaled when per person, rounded when the template rounds per
    part, capped), and how the explanation shows them."""
    shown = ""
    if getattr(part, "per_person", False):
        scaled = points * part.full_marks / line_max if line_max else ZERO
        shown = f"{quantize(points)}/{quantize(line_max)} → "
        points = scaled
    if rounding == Rounding.PART:
        points = quantize(points)
    if part.cap_positive and points > part.full_marks:
        points = part.full_marks
    return points, f"{part.name} {shown}{quantize(points)}/{quantize(part.full_marks)}"


def _indicator_name(line: SheetLine | LineRow) -> str:
    if isinstance(line, LineRow):
        return str(line.indicator_name)
    return line.indicator.name if "indicator" in line._state.fields_cache else str(line.indicator_id)
