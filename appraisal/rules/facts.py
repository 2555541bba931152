"""Facts: what a condition may read of a subject's period besides its score and grade.

A fact condition names the fact and gives exactly one test::

    {"fact": "missed_self_assessments", "at_least": "2"}       # S1-9: twice not self-assessed → fail
    {"fact": "line:LEAVE_PERSONAL.actual", "above": "20"}       # S1-4: > 20 days' personal leave → C
    {"fact": "line:LEAVE_SICK.actual", "at_least": "90"}        # S1-4: a whole quarter of sick leave

    Tests: ``above`` (>), ``at_least`` (≥), ``below`` (<), ``at_most`` (≤), ``equals`` (=); the
    number is a string or an int ("20", 20; floats are refused).

The facts (the close supplies them for the period that closes and for each past period):

* ``missed_self_assessments`` — how many of the subject's self raters (recused ones aside) had not
  rated every rated line of the sheet when the period closed (0 when the sheet has none);
* ``line:<indicator code>.<field>`` — a line of the subject's sheet by its indicator's code:
  ``actual``, ``target``, ``score`` (the line's points) or ``inputs.<name>`` (a named input). When
  the indicator is on several lines of a sheet their values add up.

A period without the fact (its sheet has no such line, the line has no value) never meets the
condition, like a period without a score. Unknown fact names are refused when the rule is read, so
a misspelt fact cannot silently never fire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.configs import ConfigError

__all__ = ["FACTS", "LINE_FIELDS", "TESTS", "fact_label", "facts_needed", "line_fact", "read_fact"]

FACTS = ("missed_self_assessments",)
LINE_FIELDS = ("actual", "target", "score")
TESTS = ("above", "at_least", "below", "at_most", "equals")

_LINE = re.compile(r"^line:(?P<code>[^\s.:]+)\.(?P<field>actual|target|score|inputs\.(?P<input>[^\s.]+))$")


def line_fact(name: str) -> tuple[str, str] | None:
    """(indicator code, field) of a line fact ("inputs.days" for an input), None for a named fact."""
    match = _LINE.match(name)
    if match is None:
        return None
    return match.group("code"), match.group("field")


def read_fact(value: object, where: str) -> str:
    """A fact's name, checked against the facts the close supplies."""
    if isinstance(value, str) and (value in FACTS or line_fact(value) is not None):
        return value
    raise ConfigError(
        where,
        _('"%(value)s" is not a fact; use %(facts)s or line:<indicator code>.<actual, target, score or '
          'inputs.name>.') % {"value": value, "facts": ", ".join(FACTS)},
    )


def fact_label(name: str) -> str:
    """The fact in a message: "missed self-assessments", "LEAVE_PERSONAL actual"."""
    found = line_fact(name)
    if found is None:
        return {"missed_self_assessments": _("missed self-assessments")}.get(name, name)
    code, field = found
    labels = {"actual": pgettext("fact", "actual"), "target": pgettext("fact", "target"),
              "score": pgettext("fact", "line score")}
    label = labels.get(field) or pgettext("fact", "input %(name)s") % {"name": field.removeprefix("inputs.")}
    return pgettext("fact", "%(indicator)s %(field)s") % {"indicator": code, "field": label}


def facts_needed(rules: Iterable[Mapping[str, Any]]) -> set[str]:
    """The facts the (normalised) rules' conditions read: what the close must supply."""
    needed: set[str] = set()
    for rule in rules:
        condition = rule["config"].get("condition") or {}
        if "fact" in condition:
            needed.add(condition["fact"])
    return needed
