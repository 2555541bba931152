"""The grade scale: bands → grade → pay coefficient (S1-4, S0-3).

Grade scale — bands written as LOWER BOUNDS, best first::

    {"boundary": "lower_inclusive",
     "bands": [{"grade": "S", "label": "优秀", "from": "90", "max": "100", "coefficient": "1.2"},
               {"grade": "A", "label": "良好", "from": "80", "coefficient": "1.1"},
               {"grade": "B", "label": "合格", "from": "70", "coefficient": "1.0"},
               {"grade": "C", "label": "待改进", "from": null, "coefficient": "0.8"}]}

    Why lower bounds: HR documents write "80–89" and "90–100", which leaves (89, 90) uncovered
    for scores kept to 0.01 (89.50 would have no grade). With lower bounds a band runs from its
    own ``from`` up to the next better band's ``from``, so gaps and overlaps cannot be written;
    the only check left is that ``from`` falls strictly from band to band.
    ``boundary`` "lower_inclusive" (default): from ≤ score < the better band's from (S1-4's
    "80–89" is written {"from": "80"}: 89.99 is A, 90.00 is S). "upper_inclusive":
    from < score ≤ the better band's from. The outer ends are always inclusive: the top band's
    optional ``max`` (a higher score is an error) and the bottom band's ``from``; the bottom band
    (and only it) may have ``"from": null``, open below. ``label`` defaults to the grade code,
    ``coefficient`` (pay coefficient) may be null (S0-3 has none). Grade codes are unique.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from appraisal.grading.common import ZERO, GradingError, written
from core import configs
from core.configs import ConfigError
from core.explain import show
from core.numbers import to_decimal
from core.translation import _

__all__ = ["BOUNDARIES", "Grade", "GradeScale", "as_scale", "validate_scale"]

BOUNDARIES = ("lower_inclusive", "upper_inclusive")

_SCALE_KEYS = ("boundary", "bands")
_BAND_KEYS = ("grade", "label", "from", "max", "coefficient")


@dataclass(frozen=True)
class Grade:
    """One band of a scale. ``rank`` 0 is the best grade; ``lower``/``upper`` None = open."""

    code: str
    label: str
    coefficient: Decimal | None
    rank: int
    lower: Decimal | None
    upper: Decimal | None
    lower_inclusive: bool
    upper_inclusive: bool

    def __str__(self) -> str:
        return self.code

    def describe(self) -> str:
        """The band in words: "80 and above", "90 to 100", "below 70"."""
        low = None if self.lower is None else written(self.lower)
        high = None if self.upper is None else written(self.upper)
        if low is None and high is None:
            return _("any score")
        if low is None:
            return (_("%(to)s and below") if self.upper_inclusive else _("below %(to)s")) % {"to": high}
        if high is not None and self.rank == 0:
            # The top band's max: the only upper bound a scale states as such.
            if self.lower_inclusive:
                return _("%(from)s to %(max)s") % {"from": low, "max": high}
            return _("above %(from)s up to %(max)s") % {"from": low, "max": high}
        return (_("%(from)s and above") if self.lower_inclusive else _("above %(from)s")) % {"from": low}

    def contains(self, score: Decimal) -> bool:
        if self.lower is not None and (score < self.lower or (score == self.lower and not self.lower_inclusive)):
            return False
        return not (
            self.upper is not None and (score > self.upper or (score == self.upper and not self.upper_inclusive))
        )


# --- reading a scale --------------------------------------------------------------------------


def validate_scale(config: object) -> dict[str, Any]:
    """``config`` checked and normalised (numbers as plain strings, defaults filled in)."""
    scale = configs.mapping(config, "config")
    configs.known_keys(scale, _SCALE_KEYS)
    boundary = _boundary(scale)
    raw_bands = scale.get("bands")
    if not isinstance(raw_bands, list | tuple) or not raw_bands:
        raise ConfigError("bands", _("Enter a non-empty list."))
    bands: list[dict[str, Any]] = []
    seen: dict[str, int] = {}  # grade code → index of the band that uses it
    previous: Decimal | None = None  # the ``from`` of the band above
    for index, raw in enumerate(raw_bands):
        band, previous = _band(raw, index, len(raw_bands) - 1, previous, seen)
        bands.append(band)
    return {"boundary": boundary, "bands": bands}


def _boundary(scale: Mapping[str, Any]) -> str:
    boundary = scale.get("boundary", "lower_inclusive")
    if boundary not in BOUNDARIES:
        raise ConfigError(
            "boundary",
            _('"%(value)s" is not one of %(options)s.') % {"value": boundary, "options": ", ".join(BOUNDARIES)},
        )
    return boundary


def _band(
    raw: object, index: int, last: int, previous: Decimal | None, seen: dict[str, int]
) -> tuple[dict[str, Any], Decimal | None]:
    """Band ``index`` normalised, and its ``from`` for the band below to fall from."""
    where = configs.path("bands", index)
    band = configs.mapping(raw, where)
    configs.known_keys(band, _BAND_KEYS, where)
    grade = _grade_code(band, where, index, seen)
    label = configs.text(band["label"], configs.path(where, "label")) if band.get("label") is not None else grade
    coefficient = None
    if band.get("coefficient") is not None:
        coefficient = configs.number(band["coefficient"], configs.path(where, "coefficient"), minimum=ZERO)
    lower = _band_from(band, where, index, last, previous)
    top = _band_max(band, where, index, lower)
    normal = {
        "grade": grade,
        "label": label,
        "from": None if lower is None else written(lower),
        "max": None if top is None else written(top),
        "coefficient": None if coefficient is None else format(coefficient, "f"),
    }
    return normal, lower


def _grade_code(band: Mapping[str, Any], where: str, index: int, seen: dict[str, int]) -> str:
    """The band's grade code, unique in the scale (``seen`` records it)."""
    grade = configs.text(band.get("grade"), configs.path(where, "grade"))
    if grade in seen:
        raise ConfigError(
            configs.path(where, "grade"),
            _('Grade "%(grade)s" is already used by band %(index)s.') % {"grade": grade, "index": seen[grade] + 1},
        )
    seen[grade] = index
    return grade


def _band_from(band: Mapping[str, Any], where: str, index: int, last: int, previous: Decimal | None) -> Decimal | None:
    """The band's lower bound: required except on the bottom band, falling from band to band."""
    if band.get("from") is None:
        if "from" not in band and index != last:
            raise ConfigError(configs.path(where, "from"), _("This setting is required."))
        if index != last:
            raise ConfigError(configs.path(where, "from"), _("Only the lowest band may be open below (from: null)."))
        return None
    lower = configs.number(band["from"], configs.path(where, "from"))
    if previous is not None and lower >= previous:
        raise ConfigError(
            configs.path(where, "from"),
            _(
                "Bands go from the best grade down: this band starts at %(from)s, which must be lower "
                "than %(previous)s where the band above starts."
            )
            % {"from": written(lower), "previous": written(previous)},
        )
    return lower


def _band_max(band: Mapping[str, Any], where: str, index: int, lower: Decimal | None) -> Decimal | None:
    """The best band's optional max, above its start; no other band has one."""
    if band.get("max") is None:
        return None
    if index != 0:
        raise ConfigError(
            configs.path(where, "max"),
            _("Only the best band has a max; the others end where the band above starts."),
        )
    top = configs.number(band["max"], configs.path(where, "max"))
    if lower is not None and top <= lower:
        raise ConfigError(
            configs.path(where, "max"),
            _("The max %(max)s must be above the band's start %(from)s.")
            % {"max": written(top), "from": written(lower)},
        )
    return top


# --- the scale --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeScale:
    grades: tuple[Grade, ...]
    boundary: str = "lower_inclusive"

    @classmethod
    def from_config(cls, config: object) -> GradeScale:
        normal = validate_scale(config)
        boundary = normal["boundary"]
        lower_inclusive = boundary == "lower_inclusive"
        bands = normal["bands"]
        grades: list[Grade] = []
        for index, band in enumerate(bands):
            last = index == len(bands) - 1
            lower = None if band["from"] is None else Decimal(band["from"])
            if index == 0:
                upper = None if band["max"] is None else Decimal(band["max"])
                upper_inclusive = True
            else:
                upper = Decimal(bands[index - 1]["from"])
                upper_inclusive = not lower_inclusive
            grades.append(
                Grade(
                    code=band["grade"],
                    label=band["label"],
                    coefficient=None if band["coefficient"] is None else Decimal(band["coefficient"]),
                    rank=index,
                    lower=lower,
                    upper=upper,
                    # The outer ends are closed: the bottom band's from is inclusive either way.
                    lower_inclusive=lower_inclusive or last,
                    upper_inclusive=upper_inclusive,
                )
            )
        return cls(grades=tuple(grades), boundary=boundary)

    def to_config(self) -> dict[str, Any]:
        return {
            "boundary": self.boundary,
            "bands": [
                {
                    "grade": grade.code,
                    "label": grade.label,
                    "from": None if grade.lower is None else written(grade.lower),
                    "max": None if grade.rank != 0 or grade.upper is None else written(grade.upper),
                    "coefficient": None if grade.coefficient is None else format(grade.coefficient, "f"),
                }
                for grade in self.grades
            ],
        }

    def grade(self, code: str) -> Grade:
        for grade in self.grades:
            if grade.code == code:
                return grade
        raise KeyError(code)

    def grade_for(self, score: object) -> Grade:
        """The grade of ``score`` by band; GradingError when no band takes it."""
        try:
            value = to_decimal(score, what=_("score"))
        except (TypeError, ValueError) as error:
            raise GradingError(str(error)) from None
        for grade in self.grades:
            if grade.contains(value):
                return grade
        raise GradingError(
            _("The score %(score)s is outside the grade scale (%(low)s to %(high)s).")
            % {
                "score": show(value),
                "low": "−∞" if self.grades[-1].lower is None else written(self.grades[-1].lower),
                "high": "∞" if self.grades[0].upper is None else written(self.grades[0].upper),
            }
        )


def as_scale(scale: GradeScale | Mapping[str, Any]) -> GradeScale:
    """``scale`` itself, or the scale its config describes."""
    return scale if isinstance(scale, GradeScale) else GradeScale.from_config(scale)
