"""The scoring engine: how one line of a score sheet turns its inputs into points and money.

Every scheme in SCHEMES.md is run as data: an indicator names a *method* and a *config* (a JSON
object whose numbers are strings, so nothing passes through a float). This package checks configs
(:func:`validate_config`, when HR saves them) and scores lines (:func:`score`). It is pure
Python + Decimal: no database, no models. Every result carries a readable explanation in the
active language and a machine-readable trace of the rules applied, for audits and appeals.

Public API::

    validate_config(method, config, *, input_names=()) -> dict   # normalised config, or ConfigError
    score(method, config, line: LineInput) -> ScoreResult           # or ConfigError / ScoringError
    required_inputs(method, config, *, input_names=()) -> set[str] # what the line must provide

Common rules
    * ``line.max_points`` is the line's full marks (its weight in points), never negative.
    * Points are rounded once, at the end, to 0.01 half up; money to the fen (see
      core.numbers.quantize). Rates and intermediate values are exact (28 digits).
    * Unknown config keys are refused (a typo must not silently fall back to a default).
    * Rates are fractions in configs ("1.2" = 120 %) and percentages in explanations.
    * Explanations show inputs with at least two decimals (never rounding an input away) and
      results, rates and amounts with exactly two.

The methods, each documented (config keys with an example) in its module:

    completion   rate against a target, benchmark or baseline      indicators.scoring.completion
                 (the rate rules, shared with banded:               indicators.scoring.rates)
    banded       a ladder of bands over the actual or the rate      indicators.scoring.banded
    deduction    per-occurrence deductions from a base              indicators.scoring.items
    bonus        added points and awards                            indicators.scoring.items
    rating       a scale of labels                                  indicators.scoring.rating
    pass_fail    acceptance with remediation rounds                 indicators.scoring.pass_fail
    formula      an expression in core.formula                      indicators.scoring.formula

What they share (LineInput, ScoreResult, ScoringError, the trace) is in indicators.scoring.common.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy

from core import configs
from core.configs import ConfigError
from core.explain import listed
from core.translation import _
from indicators.scoring.banded import read_banded, score_banded
from indicators.scoring.common import HUNDRED as HUNDRED
from indicators.scoring.common import INFINITY as INFINITY
from indicators.scoring.common import ONE as ONE
from indicators.scoring.common import ZERO as ZERO
from indicators.scoring.common import LineInput, ScoreResult, ScoringError
from indicators.scoring.completion import read_completion, score_completion
from indicators.scoring.formula import FORMULA_NAMES as FORMULA_NAMES
from indicators.scoring.formula import read_formula, score_formula
from indicators.scoring.items import read_items, score_bonus, score_deduction
from indicators.scoring.pass_fail import read_pass_fail, score_pass_fail
from indicators.scoring.rates import BASES as BASES
from indicators.scoring.rates import LOWER_MODES as LOWER_MODES
from indicators.scoring.rates import RATE_KEYS as RATE_KEYS
from indicators.scoring.rates import ZERO_TARGET_RULES as ZERO_TARGET_RULES
from indicators.scoring.rating import read_rating, score_rating

__all__ = [
    "ConfigError",
    "LineInput",
    "Method",
    "ScoreResult",
    "ScoringError",
    "required_inputs",
    "score",
    "validate_config",
]

# The constants imported "as" themselves above stay importable from here, as before the split;
# like then, they are not part of __all__.


class Method(TextChoices):
    COMPLETION = "completion", gettext_lazy("completion rate")
    BANDED = "banded", gettext_lazy("bands")
    DEDUCTION = "deduction", gettext_lazy("deductions")
    BONUS = "bonus", gettext_lazy("bonus items")
    RATING = "rating", gettext_lazy("rating scale")
    PASS_FAIL = "pass_fail", gettext_lazy("pass/fail acceptance")
    FORMULA = "formula", gettext_lazy("formula")


# Each method's reader checks a config and gives (spec, normalised config); its scorer scores a
# line with the spec. ``names`` are the caller's extra input names, which only formulas use.
_READERS: dict[str, Callable[[Mapping[str, Any], frozenset[str]], tuple[Any, dict[str, Any]]]] = {
    Method.COMPLETION: read_completion,
    Method.BANDED: read_banded,
    Method.DEDUCTION: lambda config, names: read_items(config, deduction=True),
    Method.BONUS: lambda config, names: read_items(config, deduction=False),
    Method.RATING: read_rating,
    Method.PASS_FAIL: read_pass_fail,
    Method.FORMULA: read_formula,
}

_SCORERS: dict[str, Callable[[Any, LineInput], ScoreResult]] = {
    Method.COMPLETION: score_completion,
    Method.BANDED: score_banded,
    Method.DEDUCTION: score_deduction,
    Method.BONUS: score_bonus,
    Method.RATING: score_rating,
    Method.PASS_FAIL: score_pass_fail,
    Method.FORMULA: score_formula,
}


def _read(method: str, config: Mapping[str, Any], input_names: Iterable[str]) -> tuple[Any, dict[str, Any]]:
    if method not in _READERS:
        raise ConfigError(
            "method",
            _('Unknown scoring method "%(method)s"; use one of %(methods)s.')
            % {"method": method, "methods": listed(Method.values)},
        )
    return _READERS[method](configs.mapping(config, "config"), frozenset(input_names))


def validate_config(method: str, config: Mapping[str, Any], *, input_names: Iterable[str] = ()) -> dict[str, Any]:
    """The config with defaults filled in and numbers as plain strings; ConfigError if it is wrong.

    ``input_names`` are extra names the caller will supply to a formula (besides actual, target,
    max_points and the config's own ``inputs``).
    """
    return _read(method, config, input_names)[1]


def score(method: str, config: Mapping[str, Any], line: LineInput, *, spec: Any = None) -> ScoreResult:
    """Score one line. ConfigError for a bad config, ScoringError for missing or invalid inputs.
    ``spec``: what :func:`read_spec` gave for this method, config and the line's input names, for a
    caller scoring many lines of one config (reading a config costs more than scoring a line)."""
    if spec is None:
        spec, _normalised = _read(method, config, line.inputs.keys())
    return _SCORERS[method](spec, line)


def read_spec(method: str, config: Mapping[str, Any], input_names: Iterable[str]) -> Any:
    """The checked, parsed form of ``config`` that :func:`score` takes as ``spec``; ConfigError."""
    return _read(method, config, input_names)[0]


def required_inputs(method: str, config: Mapping[str, Any], *, input_names: Iterable[str] = ()) -> set[str]:
    """The LineInput fields (or, for formulas, input names) a line needs for ``method``."""
    spec, _normalised = _read(method, config, input_names)
    if method == Method.COMPLETION:
        return {"actual", "target"}
    if method == Method.BANDED:
        return {"actual", "target"} if spec.measure == "rate" else {"actual"}
    if method in (Method.DEDUCTION, Method.BONUS):
        return {"occurrences"}
    if method == Method.RATING:
        return {"rating"}
    if method == Method.PASS_FAIL:
        return {"accepted", "acceptance_round"}
    return set(spec.formula.names - {"max_points"})
