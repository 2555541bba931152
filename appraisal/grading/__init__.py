"""Grades, forced distribution and calibration limits, as data (S1-4, S1-9, S0-3).

Pure Python + Decimal: no database, no models. Every config is a JSON object whose numbers are
strings (floats are refused: they lose fen), checked with :class:`~core.configs.ConfigError`
naming the wrong field, and every result explains itself in the active language.

Public API::

    validate_scale(config) -> dict                      # normalised scale config, or ConfigError
    GradeScale.from_config(config) -> GradeScale        # .grade_for(score) -> Grade
    validate_quotas(quotas, scale) -> list[dict]        # normalised quotas (shares or head counts), or ConfigError
    read_quotas(quotas, scale) -> list[Quota]           # the same as Quota objects (.cap(), .minimum(), .describe())
    distribute(scores, scale, quotas, *, rounding="half_up") -> Distribution
    quota_counts(population, scale, quotas, *, rounding="half_up") -> tuple[GradeCount, ...]  # no one graded
    check_calibration(original, new, max_share) -> None  # or CalibrationError

The configs and the rules are documented where they are read:

* :mod:`appraisal.grading.scale` — the grade scale (bands as lower bounds, best first);
* :mod:`appraisal.grading.quotas` — quotas per grade, as shares or head counts;
* :mod:`appraisal.grading.distribution` — the forced distribution's rules (caps from the best
  grade down, ties, the lowest grade, minimums);
* :mod:`appraisal.grading.calibration` — the calibration cap (S1-9: ±5 % of the score);
* :mod:`appraisal.grading.common` — what they share (GradingError, how config numbers are written).
"""

from __future__ import annotations

from appraisal.grading.calibration import CalibrationError, check_calibration
from appraisal.grading.common import GradingError
from appraisal.grading.distribution import (
    Distribution,
    GradeCount,
    QuotaIssue,
    SubjectResult,
    Tie,
    distribute,
    quota_counts,
)
from appraisal.grading.quotas import OPERATORS, ROUNDINGS, Quota, read_quotas, validate_quotas
from appraisal.grading.scale import BOUNDARIES, Grade, GradeScale, validate_scale
from core.configs import ConfigError

__all__ = [
    "BOUNDARIES",
    "OPERATORS",
    "ROUNDINGS",
    "CalibrationError",
    "ConfigError",
    "Distribution",
    "Grade",
    "GradeCount",
    "GradeScale",
    "GradingError",
    "Quota",
    "QuotaIssue",
    "SubjectResult",
    "Tie",
    "check_calibration",
    "distribute",
    "quota_counts",
    "read_quotas",
    "validate_quotas",
    "validate_scale",
]
