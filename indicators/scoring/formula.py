"""formula — an expression in core.formula::

    {"expression": "MIN(actual / target, 1.2) * max_points", "inputs": ["deposits"]}

    Names available: actual, target, max_points, the declared ``inputs`` and the caller's
    ``input_names``; ``line.inputs`` supplies the values. The formula is checked when the config
    is validated. score = the formula's value (neither clamped nor floored; use MIN/MAX).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from core import configs, explain
from core.configs import ConfigError
from core.formula import FUNCTIONS, Formula, FormulaError
from core.numbers import quantize, to_decimal
from core.translation import _
from indicators.scoring.common import LineInput, ScoreResult, ScoringError, Trace, show

FORMULA_NAMES = frozenset({"actual", "target", "max_points"})


@dataclass(frozen=True)
class FormulaSpec:
    formula: Formula
    inputs: tuple[str, ...]


@lru_cache(maxsize=512)
def _compile(expression: str, names: frozenset[str]) -> Formula:
    # Scoring a period compiles the same few formulas thousands of times; a Formula is immutable.
    return Formula.compile(expression, names=names)


def read_formula(config: Mapping[str, Any], names: frozenset[str]) -> tuple[FormulaSpec, dict[str, Any]]:
    configs.known_keys(config, ("expression", "inputs"), suggest=True)
    expression = config.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError("expression", _("Enter a formula."))
    inputs: list[str] = []
    for position, name in enumerate(configs.sequence(config.get("inputs"), "inputs", required=False)):
        where = configs.path("inputs", position)
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(
                where, _('"%(name)s" is not a valid input name: use letters, digits and _.') % {"name": name}
            )
        if name in FORMULA_NAMES or name in FUNCTIONS:
            raise ConfigError(where, _('"%(name)s" is a reserved name.') % {"name": name})
        if name in inputs:
            raise ConfigError(where, _('The input "%(name)s" is declared twice.') % {"name": name})
        inputs.append(name)
    try:
        formula = _compile(expression.strip(), FORMULA_NAMES | frozenset(inputs) | names)
    except FormulaError as error:
        raise ConfigError("expression", str(error)) from None
    return FormulaSpec(formula, tuple(inputs)), {"expression": formula.expression, "inputs": inputs}


def score_formula(spec: FormulaSpec, line: LineInput) -> ScoreResult:
    values: dict[str, Decimal] = {**line.inputs, "max_points": line.max_points}
    if line.actual is not None:
        values["actual"] = line.actual
    if line.target is not None:
        values["target"] = line.target
    try:
        points = spec.formula.evaluate(values, subject=line.subject)
    except FormulaError as error:
        failure = ScoringError(str(error))  # the message already names formula and subject
        failure.subject = line.subject
        raise failure from None
    trace = Trace()
    substituted = spec.formula.substitute(values, show=lambda v: show(to_decimal(v, what="input")))
    trace.say(
        _("formula %(formula)s = %(substituted)s = %(points)s")
        % {"formula": spec.formula.expression, "substituted": substituted, "points": explain.money(points)}
    )
    trace.step(
        "formula",
        expression=spec.formula.expression,
        **{f"input.{name}": to_decimal(values[name], what=name) for name in sorted(spec.formula.names)},
        value=points,
        points=quantize(points, 2),
    )
    return trace.result(points)
