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
    Outcome, Past, Flag, Notice            # dataclasses, in appraisal.rules.outcomes
    Flags                                  # a list of Flag, with .notices: the rules that could not apply
    KINDS, CONDITIONS, STATUSES            # the allowed values

A rule::

    {"code": "s0_5_below_80", "name": "连续三次低于80分", "kind": "streak",
     "config": {"periods": 3, "condition": {"score_below": "80"}}, "outcome": "accountability"}

    ``code``, ``kind``, ``config`` and ``outcome`` are required, ``name`` defaults to the code.
    ``outcome`` is a free label the caller acts on ("unfit", "salary_up", "salary_down",
    "warning", "dismissal_review" …). Counts (``n``, ``periods`` …) are whole numbers, given as
    ints or digit strings ("3"); scores are strings ("80", "79.5"). Unknown keys are refused.

The rest is documented where it is read:

* kinds, each with its config — :mod:`appraisal.rules.bottom_n` (the last N of the ranking),
  :mod:`appraisal.rules.streaks` (N periods in a row), :mod:`appraisal.rules.windows`
  (``count_in_window``: at least N of the last M periods);
* conditions — :mod:`appraisal.rules.reading`;
* inputs (``current``, ``history``, statuses, years) and output (flags) —
  :mod:`appraisal.rules.outcomes`;
* reading a whole rule and evaluating a list of them — :mod:`appraisal.rules.evaluation`.
"""

from __future__ import annotations

from appraisal.rules.evaluation import KINDS, evaluate, validate_rule, validate_rules
from appraisal.rules.outcomes import STATUSES, Flag, Flags, Notice, Outcome, Past, RulesError
from appraisal.rules.reading import CONDITIONS
from core.configs import ConfigError

__all__ = [
    "CONDITIONS",
    "KINDS",
    "STATUSES",
    "ConfigError",
    "Flag",
    "Flags",
    "Notice",
    "Outcome",
    "Past",
    "RulesError",
    "evaluate",
    "validate_rule",
    "validate_rules",
]
