"""Grades, forced distribution and calibration limits, as data (S1-4, S1-9, S0-3).

Pure Python + Decimal: no database, no models. Every config is a JSON object whose numbers are
strings (floats are refused: they lose fen), checked with :class:`~core.configs.ConfigError`
naming the wrong field, and every result explains itself in the active language.

Public API::

    validate_scale(config) -> dict                      # normalised scale config, or ConfigError
    GradeScale.from_config(config) -> GradeScale        # .grade_for(score) -> Grade
    validate_quotas(quotas, scale) -> list[dict]        # normalised quota list, or ConfigError
    distribute(scores, scale, quotas, *, rounding="half_up") -> Distribution
    check_calibration(original, new, max_share) -> None  # or CalibrationError

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

Forced distribution — quotas per grade::

    [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "A", "op": "<=", "share": "0.15"},
     {"grade": "B", "op": ">=", "share": "0.70"}, {"grade": "C", "op": "<=", "share": "0.10"}]

    ``share`` is a fraction of the whole population (0–1). Allowed count = population × share,
    rounded to a whole number with ``rounding``: "half_up" (default, 四舍五入: 1.5 → 2), "down"
    (1.5 → 1) or "up" (1.2 → 2). Rules, in this order:

    1. Everyone is ranked by score, best first, and gets the grade of their band.
    2. Caps ("<=" and "=") are enforced from the best grade down. When more people hold a capped
       grade than its count allows, the lowest-ranked of them fall ONE grade (S1-4: whoever a cap
       excludes falls one grade). They then take part in that grade's cap like everyone else, so
       a person falls again only when the next grade's own cap excludes them too.
    3. Ties are never broken silently: when people with the same score straddle the cap line,
       all of them keep the higher grade provisionally, the tie is reported in
       ``Distribution.ties``, they are marked ``needs_calibration`` and the distribution is not
       final (``is_final`` False) until someone calibrates a score.
    4. The lowest grade cannot push anyone further down: its cap, if exceeded, is reported in
       ``Distribution.unenforced`` and the distribution is not final either.
    5. Minimums (">=" and "=") are never forced by moving people up: a shortfall is reported in
       ``Distribution.shortfalls`` for calibration. It does not stop ``is_final``.

    Note: with S1-4's own shares the rounded counts need not add up (30 people: 2 + 5 + 21 + 3
    = 31), so a full S, A and C leave B one short of 70 %: the shortfall report says so.

Calibration cap (S1-9: HR may move a final score by at most ±5 % of it)::

    check_calibration(original, new, max_share)  # |new − original| ≤ |original| × max_share
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from core import configs
from core.configs import ConfigError
from core.numbers import quantize, to_decimal
from core.translation import _, pgettext

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
    "validate_quotas",
    "validate_scale",
]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

BOUNDARIES = ("lower_inclusive", "upper_inclusive")
OPERATORS = ("<=", ">=", "=")
ROUNDINGS = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}

_SCALE_KEYS = ("boundary", "bands")
_BAND_KEYS = ("grade", "label", "from", "max", "coefficient")
_QUOTA_KEYS = ("grade", "op", "share")


class GradingError(ValueError):
    """Scores that cannot be graded as they stand (outside the scale, a key given twice …)."""


class CalibrationError(ValueError):
    """A calibrated score moved further from the original than the scheme allows."""

    def __init__(self, message: str, *, low: Decimal, high: Decimal) -> None:
        super().__init__(message)
        self.message = message
        self.low = low
        self.high = high


# --- formatting -------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """A bound or share as written: no exponent, no trailing zeros (90, 12.5)."""
    text = format(value.normalize(), "f")
    return text


def _show(value: Decimal) -> str:
    """A score in an explanation: two decimals at least, never rounded away."""
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return _plain(value)
    return str(quantize(value, 2))


def _percent(share: Decimal) -> str:
    return f"{_plain(share * HUNDRED)}%"


def _sep() -> str:
    return pgettext("explanation separator", "; ")


def _rounding_label(rounding: str) -> str:
    labels = {"half_up": _("rounded half up"), "down": _("rounded down"), "up": _("rounded up")}
    return labels[rounding]


# --- reading configs --------------------------------------------------------------------------


_where = configs.path
_mapping = configs.mapping
_known_keys = configs.known_keys
_number = configs.number
text = configs.text


# --- grade scale ------------------------------------------------------------------------------


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
        low = None if self.lower is None else _plain(self.lower)
        high = None if self.upper is None else _plain(self.upper)
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


def validate_scale(config: object) -> dict[str, Any]:
    """``config`` checked and normalised (numbers as plain strings, defaults filled in)."""
    scale = _mapping(config, "config")
    _known_keys(scale, _SCALE_KEYS)
    boundary = scale.get("boundary", "lower_inclusive")
    if boundary not in BOUNDARIES:
        raise ConfigError(
            "boundary",
            _('"%(value)s" is not one of %(options)s.') % {"value": boundary, "options": ", ".join(BOUNDARIES)},
        )
    raw_bands = scale.get("bands")
    if not isinstance(raw_bands, list | tuple) or not raw_bands:
        raise ConfigError("bands", _("Enter a non-empty list."))
    bands: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    previous: Decimal | None = None
    last = len(raw_bands) - 1
    for index, raw in enumerate(raw_bands):
        where = _where("bands", index)
        band = _mapping(raw, where)
        _known_keys(band, _BAND_KEYS, where)
        grade = text(band.get("grade"), _where(where, "grade"))
        if grade in seen:
            raise ConfigError(
                _where(where, "grade"),
                _('Grade "%(grade)s" is already used by band %(index)s.') % {"grade": grade, "index": seen[grade] + 1},
            )
        seen[grade] = index
        label = text(band["label"], _where(where, "label")) if band.get("label") is not None else grade
        coefficient = None
        if band.get("coefficient") is not None:
            coefficient = _number(band["coefficient"], _where(where, "coefficient"), minimum=ZERO)
        lower: Decimal | None = None
        if band.get("from") is None:
            if "from" not in band and index != last:
                raise ConfigError(_where(where, "from"), _("This setting is required."))
            if index != last:
                raise ConfigError(_where(where, "from"), _("Only the lowest band may be open below (from: null)."))
        else:
            lower = _number(band["from"], _where(where, "from"))
            if previous is not None and lower >= previous:
                raise ConfigError(
                    _where(where, "from"),
                    _(
                        "Bands go from the best grade down: this band starts at %(from)s, which must be lower "
                        "than %(previous)s where the band above starts."
                    )
                    % {"from": _plain(lower), "previous": _plain(previous)},
                )
        top: Decimal | None = None
        if band.get("max") is not None:
            if index != 0:
                raise ConfigError(
                    _where(where, "max"),
                    _("Only the best band has a max; the others end where the band above starts."),
                )
            top = _number(band["max"], _where(where, "max"))
            if lower is not None and top <= lower:
                raise ConfigError(
                    _where(where, "max"),
                    _("The max %(max)s must be above the band's start %(from)s.")
                    % {"max": _plain(top), "from": _plain(lower)},
                )
        previous = lower
        bands.append(
            {
                "grade": grade,
                "label": label,
                "from": None if lower is None else _plain(lower),
                "max": None if top is None else _plain(top),
                "coefficient": None if coefficient is None else format(coefficient, "f"),
            }
        )
    return {"boundary": boundary, "bands": bands}


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
                    "from": None if grade.lower is None else _plain(grade.lower),
                    "max": None if grade.rank != 0 or grade.upper is None else _plain(grade.upper),
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
                "score": _show(value),
                "low": "−∞" if self.grades[-1].lower is None else _plain(self.grades[-1].lower),
                "high": "∞" if self.grades[0].upper is None else _plain(self.grades[0].upper),
            }
        )


def _scale(scale: GradeScale | Mapping[str, Any]) -> GradeScale:
    return scale if isinstance(scale, GradeScale) else GradeScale.from_config(scale)


# --- quotas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    grade: str
    op: str
    share: Decimal

    @property
    def caps(self) -> bool:
        return self.op in ("<=", "=")

    @property
    def requires(self) -> bool:
        return self.op in (">=", "=")

    def describe(self) -> str:
        op = {"<=": "≤", ">=": "≥", "=": "="}[self.op]
        return f"{op}{_percent(self.share)}"


def _quota_list(quotas: object, scale: GradeScale) -> list[Quota]:
    if not isinstance(quotas, list | tuple):
        raise ConfigError("quotas", _("Enter a list (it may be empty)."))
    codes = [grade.code for grade in scale.grades]
    result: list[Quota] = []
    seen: set[str] = set()
    for index, raw in enumerate(quotas):
        where = _where("quotas", index)
        if isinstance(raw, Quota):
            raw = {"grade": raw.grade, "op": raw.op, "share": raw.share}
        entry = _mapping(raw, where)
        _known_keys(entry, _QUOTA_KEYS, where)
        grade = text(entry.get("grade"), _where(where, "grade"))
        if grade not in codes:
            raise ConfigError(
                _where(where, "grade"),
                _('"%(value)s" is not one of %(options)s.') % {"value": grade, "options": ", ".join(codes)},
            )
        if grade in seen:
            raise ConfigError(_where(where, "grade"), _('Grade "%(grade)s" has a quota already.') % {"grade": grade})
        seen.add(grade)
        op = entry.get("op")
        if op not in OPERATORS:
            raise ConfigError(
                _where(where, "op"),
                _('"%(value)s" is not one of %(options)s.') % {"value": op, "options": ", ".join(OPERATORS)},
            )
        if "share" not in entry or entry["share"] is None:
            raise ConfigError(_where(where, "share"), _("This setting is required."))
        share = _number(entry["share"], _where(where, "share"), minimum=ZERO, maximum=ONE)
        result.append(Quota(grade=grade, op=str(op), share=share))
    required = sum((quota.share for quota in result if quota.requires), ZERO)
    if required > ONE:
        raise ConfigError(
            "quotas",
            _("The minimum shares add up to %(total)s, more than the whole population.")
            % {"total": _percent(required)},
        )
    return result


def validate_quotas(quotas: object, scale: GradeScale | Mapping[str, Any]) -> list[dict[str, str]]:
    """``quotas`` checked against ``scale`` and normalised (shares as plain strings)."""
    return [
        {"grade": quota.grade, "op": quota.op, "share": format(quota.share, "f")}
        for quota in _quota_list(quotas, _scale(scale))
    ]


# --- distribution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tie:
    """People with the same score straddling a cap line: ``places`` of them fit, all were kept."""

    grade: str
    score: Decimal
    keys: tuple[Hashable, ...]
    places: int


@dataclass(frozen=True)
class QuotaIssue:
    """A minimum not met (shortfall) or a cap the lowest grade could not enforce."""

    grade: str
    op: str
    share: Decimal
    required: int
    actual: int
    message: str


@dataclass(frozen=True)
class GradeCount:
    """One bar of the distribution chart."""

    grade: str
    label: str
    op: str | None
    share: Decimal | None
    exact: Decimal | None  # population × share, before rounding
    allowed: int | None  # the rounded count the quota stands for
    band_count: int  # how many scored into the band
    actual: int  # how many hold the grade in the end


@dataclass
class SubjectResult:
    key: Hashable
    score: Decimal
    rank: int  # 1 = best; equal scores share a rank (1, 2, 2, 4)
    band_grade: Grade
    final_grade: Grade
    needs_calibration: bool = False
    phrases: list[str] = field(default_factory=list)

    @property
    def demoted(self) -> bool:
        return self.final_grade.rank > self.band_grade.rank

    @property
    def coefficient(self) -> Decimal | None:
        return self.final_grade.coefficient

    @property
    def explanation(self) -> str:
        return _sep().join(self.phrases)


@dataclass(frozen=True)
class Distribution:
    population: int
    rounding: str
    subjects: tuple[SubjectResult, ...]  # best first
    counts: tuple[GradeCount, ...]  # scale order
    ties: tuple[Tie, ...]
    shortfalls: tuple[QuotaIssue, ...]
    unenforced: tuple[QuotaIssue, ...]

    @property
    def is_final(self) -> bool:
        """False while a tie or an unenforceable cap waits for calibration."""
        return not self.ties and not self.unenforced

    def result(self, key: Hashable) -> SubjectResult:
        for subject in self.subjects:
            if subject.key == key:
                return subject
        raise KeyError(key)

    def count(self, grade: str) -> int:
        for bar in self.counts:
            if bar.grade == grade:
                return bar.actual
        raise KeyError(grade)


def _allowed(population: int, share: Decimal, rounding: str) -> tuple[Decimal, int]:
    exact = Decimal(population) * share
    return exact, int(quantize(exact, 0, ROUNDINGS[rounding]))


def distribute(
    scores: Sequence[tuple[Hashable, object]],
    scale: GradeScale | Mapping[str, Any],
    quotas: Sequence[Quota | Mapping[str, Any]] = (),
    *,
    rounding: str = "half_up",
) -> Distribution:
    """Grades for ``scores`` ((key, score) pairs) under ``quotas``; see the module's rules."""
    grade_scale = _scale(scale)
    if rounding not in ROUNDINGS:
        raise ConfigError(
            "rounding",
            _('"%(value)s" is not one of %(options)s.') % {"value": rounding, "options": ", ".join(ROUNDINGS)},
        )
    quota_by_grade = {quota.grade: quota for quota in _quota_list(list(quotas), grade_scale)}

    values: list[tuple[Hashable, Decimal]] = []
    keys: set[Hashable] = set()
    for index, (key, raw) in enumerate(scores):
        if key in keys:
            raise GradingError(_("%(key)s is listed twice.") % {"key": key})
        keys.add(key)
        try:
            values.append((key, to_decimal(raw, what=f"scores[{index}]")))
        except (TypeError, ValueError) as error:
            raise GradingError(str(error)) from None
    values.sort(key=lambda pair: pair[1], reverse=True)  # stable: input order among equal scores
    population = len(values)

    subjects: list[SubjectResult] = []
    for position, (key, value) in enumerate(values):
        rank = position + 1 if position == 0 or value != values[position - 1][1] else subjects[-1].rank
        try:
            band = grade_scale.grade_for(value)
        except GradingError as error:
            raise GradingError(f"{key}: {error}") from None
        subject = SubjectResult(key=key, score=value, rank=rank, band_grade=band, final_grade=band)
        subject.phrases.append(
            _("%(score)s points → %(grade)s (%(band)s)")
            % {"score": _show(value), "grade": band.code, "band": band.describe()}
        )
        subjects.append(subject)

    ties: list[Tie] = []
    unenforced: list[QuotaIssue] = []
    bottom = len(grade_scale.grades) - 1
    for grade in grade_scale.grades:
        quota = quota_by_grade.get(grade.code)
        if quota is None or not quota.caps:
            continue
        exact, allowed = _allowed(population, quota.share, rounding)
        candidates = [subject for subject in subjects if subject.final_grade is grade]  # still best first
        if len(candidates) <= allowed:
            continue
        quota_phrase = _("%(grade)s quota %(quota)s × %(population)s = %(exact)s → %(allowed)s (%(rounding)s)") % {
            "grade": grade.code,
            "quota": quota.describe(),
            "population": population,
            "exact": _plain(exact),
            "allowed": allowed,
            "rounding": _rounding_label(rounding),
        }
        # A tie straddles the line when the last place that fits and the first that does not share a score.
        tie_score = candidates[allowed - 1].score if allowed > 0 else None
        if tie_score is not None and candidates[allowed].score != tie_score:
            tie_score = None
        if tie_score is not None:
            tied = [subject for subject in candidates if subject.score == tie_score]
            above = sum(1 for subject in candidates if subject.score > tie_score)
            ties.append(Tie(grade=grade.code, score=tie_score, keys=tuple(s.key for s in tied), places=allowed - above))
        if grade.rank == bottom:
            unenforced.append(
                QuotaIssue(
                    grade=grade.code,
                    op=quota.op,
                    share=quota.share,
                    required=allowed,
                    actual=len(candidates),
                    message=_(
                        "%(count)s people hold %(grade)s, more than its %(allowed)s places, but %(grade)s is the "
                        "lowest grade: calibrate scores before the results are final."
                    )
                    % {"count": len(candidates), "grade": grade.code, "allowed": allowed},
                )
            )
        below = grade_scale.grades[grade.rank + 1] if grade.rank < bottom else None
        for position, subject in enumerate(candidates, start=1):
            where = {"position": position, "candidates": len(candidates)}
            if tie_score is not None and subject.score == tie_score:
                subject.needs_calibration = True
                outcome = _(
                    "position %(position)s of %(candidates)s, tied at %(score)s across the cap line "
                    "(%(places)s place(s) for %(tied)s people) → kept at %(grade)s provisionally, needs calibration"
                ) % {
                    **where,
                    "score": _show(tie_score),
                    "places": ties[-1].places,
                    "tied": len(ties[-1].keys),
                    "grade": grade.code,
                }
            elif position <= allowed:
                outcome = _("position %(position)s of %(candidates)s → keeps %(grade)s") % {
                    **where,
                    "grade": grade.code,
                }
            elif below is None:
                subject.needs_calibration = True
                outcome = _(
                    "position %(position)s of %(candidates)s, over the cap but %(grade)s is the lowest grade → stays, "
                    "needs calibration"
                ) % {**where, "grade": grade.code}
            else:
                subject.final_grade = below
                outcome = _("position %(position)s of %(candidates)s → falls to %(grade)s") % {
                    **where,
                    "grade": below.code,
                }
            subject.phrases.append(_("%(quota)s, %(outcome)s") % {"quota": quota_phrase, "outcome": outcome})

    for subject in subjects:
        if subject.coefficient is not None:
            subject.phrases.append(
                _("final grade %(grade)s, coefficient %(coefficient)s")
                % {"grade": subject.final_grade.code, "coefficient": format(subject.coefficient, "f")}
            )

    counts: list[GradeCount] = []
    shortfalls: list[QuotaIssue] = []
    for grade in grade_scale.grades:
        quota = quota_by_grade.get(grade.code)
        band_count = sum(1 for subject in subjects if subject.band_grade is grade)
        actual = sum(1 for subject in subjects if subject.final_grade is grade)
        exact_count: Decimal | None = None
        allowed_count: int | None = None
        if quota is not None:
            exact_count, allowed_count = _allowed(population, quota.share, rounding)
            if quota.requires and actual < allowed_count:
                shortfalls.append(
                    QuotaIssue(
                        grade=grade.code,
                        op=quota.op,
                        share=quota.share,
                        required=allowed_count,
                        actual=actual,
                        message=_(
                            "%(grade)s needs %(quota)s × %(population)s = %(exact)s → %(required)s people "
                            "(%(rounding)s) but has %(actual)s: %(missing)s short, for calibration."
                        )
                        % {
                            "grade": grade.code,
                            "quota": quota.describe(),
                            "population": population,
                            "exact": _plain(exact_count),
                            "required": allowed_count,
                            "rounding": _rounding_label(rounding),
                            "actual": actual,
                            "missing": allowed_count - actual,
                        },
                    )
                )
        counts.append(
            GradeCount(
                grade=grade.code,
                label=grade.label,
                op=None if quota is None else quota.op,
                share=None if quota is None else quota.share,
                exact=exact_count,
                allowed=allowed_count,
                band_count=band_count,
                actual=actual,
            )
        )

    return Distribution(
        population=population,
        rounding=rounding,
        subjects=tuple(subjects),
        counts=tuple(counts),
        ties=tuple(ties),
        shortfalls=tuple(shortfalls),
        unenforced=tuple(unenforced),
    )


# --- calibration ------------------------------------------------------------------------------


def check_calibration(original: object, new: object, max_share: object) -> None:
    """Refuse ``new`` when it is further from ``original`` than ``|original| × max_share`` (S1-9: 0.05)."""
    before = to_decimal(original, what="original")
    after = to_decimal(new, what="new")
    share = to_decimal(max_share, what="max_share")
    if share < 0:
        raise ValueError(_("max_share: must be at least 0, not %(value)s.") % {"value": share})
    margin = abs(before) * share
    low, high = before - margin, before + margin
    if abs(after - before) > margin:
        raise CalibrationError(
            _(
                "The calibrated score %(new)s is outside the allowed range: ±%(share)s of %(original)s = "
                "%(low)s–%(high)s."
            )
            % {
                "new": _show(after),
                "share": _percent(share),
                "original": _show(before),
                "low": _show(low),
                "high": _show(high),
            },
            low=low,
            high=high,
        )
