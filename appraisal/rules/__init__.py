"""Rankings and rules over consecutive periods, as data, evaluated when a period closes.

S0-2 (bottom 3 departments by monthly average cannot be "advanced collective"), S0-5 (three
consecutive satisfaction scores below 80 → the head is held accountable), S1-4 (two C quarters
within a natural year → unfit), S1-7 (last place eliminated), S1-9 (salary grade up after two A
quarters or four B quarters in a row, down after two D quarters in a row or one E).

Pure Python + Decimal: no database, no models. A rule is a JSON object whose numbers are strings
(floats are refused: they lose fen), checked with :class:`~core.configs.ConfigError` naming
the wrong field, and every flag explains itself in the active language.

Public API::

    validate_rule(rule) -> dict            # normalised rule, or ConfigError (field: "config.condition.score_below")
    validate_rules(rules) -> list[dict]    # every rule, codes unique, or ConfigError (field: "rules[1].code")
    evaluate(rules, current, history, *, period, year=None) -> Flags  # or ConfigError / RulesError
    split(rules) -> (forcing, others)      # set_grade / not_assessed rules, and the rest
    forced(flags, grades) -> {key: Flag}   # the forcing flag that decides each subject
    facts_needed(rules) -> set[str]        # the facts the rules' conditions read
    line_fact(name) -> (code, field) | None
    Outcome, Past, Flag, Notice            # dataclasses, in appraisal.rules.outcomes
    Flags                                  # a list of Flag, with .notices: the rules that could not apply
    KINDS, CONDITIONS, STATUSES, FACTS, TESTS, FORCING, PERSON_OUTCOMES  # the allowed values

A rule::

    {"code": "s0_5_below_80", "name": "连续三次低于80分", "kind": "streak",
     "config": {"periods": 3, "condition": {"score_below": "80"}}, "outcome": "accountability"}

    ``code``, ``kind``, ``config`` and ``outcome`` are required, ``name`` defaults to the code.
    ``outcome`` is a label the caller acts on ("warning", "dismissal_review" …); some have a
    meaning: "set_grade" (with ``"grade": "C"``) and "not_assessed" force the result before the
    forced distribution, "salary_up", "salary_down", "eliminated" and "unfit" change the person
    once HR confirms (:mod:`appraisal.rules.outcomes`). Counts (``n``, ``periods`` …) are whole
    numbers, given as ints or digit strings ("3"); scores are strings ("80", "79.5"). Unknown
    keys are refused.

The rest is documented where it is read:

* kinds, each with its config — :mod:`appraisal.rules.bottom_n` (the last N of the ranking),
  :mod:`appraisal.rules.streaks` (N periods in a row), :mod:`appraisal.rules.windows`
  (``count_in_window``: at least N of the last M periods);
* conditions — :mod:`appraisal.rules.reading`; the facts they may read besides the score and
  grade (missed self-assessments, a line's value by indicator code) — :mod:`appraisal.rules.facts`;
* inputs (``current``, ``history``, statuses, years) and output (flags) —
  :mod:`appraisal.rules.outcomes`;
* reading a whole rule and evaluating a list of them — :mod:`appraisal.rules.evaluation`.
"""

from __future__ import annotations

from appraisal.rules.evaluation import KINDS, evaluate, forced, split, validate_rule, validate_rules
from appraisal.rules.facts import FACTS, TESTS, facts_needed, line_fact
from appraisal.rules.outcomes import (
    FORCING,
    NOT_ASSESSED,
    PERSON_OUTCOMES,
    SET_GRADE,
    STATUSES,
    Flag,
    Flags,
    Notice,
    Outcome,
    Past,
    RulesError,
)
from appraisal.rules.reading import CONDITIONS
from core.configs import ConfigError

__all__ = [
    "CONDITIONS",
    "FACTS",
    "FORCING",
    "KINDS",
    "NOT_ASSESSED",
    "PERSON_OUTCOMES",
    "SET_GRADE",
    "STATUSES",
    "TESTS",
    "ConfigError",
    "Flag",
    "Flags",
    "Notice",
    "Outcome",
    "Past",
    "RulesError",
    "evaluate",
    "facts_needed",
    "forced",
    "line_fact",
    "split",
    "validate_rule",
    "validate_rules",
]
