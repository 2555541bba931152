"""The facts of a period's sheets that the rules' conditions read (appraisal.rules.facts), read
set-based: one query per kind of fact, whatever the number of sheets, and none when no rule reads
a fact.

* ``missed_self_assessments`` — the sheet's self raters (recused ones aside) that gave no rating at
  all, on a sheet with rated lines (0 for every sheet without one);
* ``line:<indicator code>.<actual | target | score | inputs.name>`` — the value on the sheet's line
  of that indicator (added up when the indicator is on several lines); a line without the value, or
  a sheet without the line, does not have the fact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, QuerySet

from appraisal import rules as rule_engine
from appraisal.models import Rater, Rating, Sheet, SheetLine
from core.numbers import to_decimal
from indicators.models import LineSource, RaterRole

MISSED_SELF = "missed_self_assessments"
ZERO = Decimal(0)


@dataclass(frozen=True)
class SheetFacts:
    """The facts found per sheet id, and the value a sheet without an entry has (missed: 0)."""

    found: Mapping[int, Mapping[str, Decimal]] = field(default_factory=dict)
    defaults: Mapping[str, Decimal] = field(default_factory=dict)

    def of(self, sheet_id: int) -> dict[str, Decimal]:
        return {**self.defaults, **self.found.get(sheet_id, {})}


def sheet_facts(sheets: QuerySet[Sheet], needed: Iterable[str]) -> SheetFacts:
    """The ``needed`` facts of ``sheets`` (a queryset, used as a subquery: no list of ids)."""
    wanted = set(needed)
    found: dict[int, dict[str, Decimal]] = defaultdict(dict)
    defaults: dict[str, Decimal] = {}
    if MISSED_SELF in wanted:
        defaults[MISSED_SELF] = ZERO
        for sheet_id, missed in _missed_self(sheets):
            found[sheet_id][MISSED_SELF] = Decimal(missed)
    lines = {name: rule_engine.line_fact(name) for name in wanted}
    line_facts = {name: where for name, where in lines.items() if where is not None}
    if line_facts:
        for sheet_id, values in _line_values(sheets, line_facts).items():
            found[sheet_id].update(values)
    return SheetFacts(found=dict(found), defaults=defaults)


def _missed_self(sheets: QuerySet[Sheet]) -> list[tuple[int, int]]:
    """(sheet id, self raters who gave no rating), for the sheets with at least one such rater."""
    given = Rating.objects.filter(rater_id=OuterRef("pk"), score__isnull=False)
    to_rate = SheetLine.objects.filter(sheet_id=OuterRef("sheet_id"), source=LineSource.RATERS)
    rows = (Rater.objects.filter(sheet__in=sheets, role=RaterRole.SELF, recused=False)
            .filter(Exists(to_rate)).exclude(Exists(given))
            .order_by().values("sheet_id").annotate(n=Count("pk")).values_list("sheet_id", "n"))
    return list(rows)


def _line_values(sheets: QuerySet[Sheet], wanted: Mapping[str, tuple[str, str]]) -> dict[int, dict[str, Decimal]]:
    """Each sheet's line facts, the values of an indicator's lines added up. One query."""
    codes = {code for code, _field in wanted.values()}
    rows = (SheetLine.objects.filter(sheet__in=sheets, indicator__code__in=codes).order_by()
            .values_list("sheet_id", "indicator__code", "actual", "target", "score", "inputs"))
    found: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for sheet_id, code, actual, target, score, inputs in rows:
        values = {"actual": actual, "target": target, "score": score}
        for name, (fact_code, fact_field) in wanted.items():
            if fact_code != code:
                continue
            value = _input(inputs, fact_field) if fact_field.startswith("inputs.") else values[fact_field]
            if value is not None:
                found[sheet_id][name] = found[sheet_id].get(name, ZERO) + value
    return found


def _input(inputs: object, fact_field: str) -> Decimal | None:
    """A named input of a line as a number; None when absent or not a number."""
    if not isinstance(inputs, Mapping):
        return None
    raw = inputs.get(fact_field.removeprefix("inputs."))
    if raw is None:
        return None
    try:
        return to_decimal(raw, what=fact_field)
    except (TypeError, ValueError):
        return None
