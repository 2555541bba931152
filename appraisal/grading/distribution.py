"""The forced distribution: quotas per grade and who ends up holding which grade (S1-4).

Forced distribution — quotas per grade::

    [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "A", "op": "<=", "share": "0.15"},
     {"grade": "B", "op": ">=", "share": "0.70"}, {"grade": "C", "op": "<=", "share": "0.10"}]

    ``share`` is a fraction of the whole population (0–1). Allowed count = population × share,
    rounded to a whole number with ``rounding``: "half_up" (default, 四舍五入: 1.5 → 2), "down"
    (1.5 → 1) or "up" (1.2 → 2).

    A quota may give a head count instead of a share (S1-3: 1–2 people with full marks); how
    quotas are written and read is in :mod:`appraisal.grading.quotas`. Rules, in this order:

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
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from appraisal.grading.common import GradingError, written
from appraisal.grading.quotas import OPERATORS, ROUNDINGS, Quota, quota_list, read_quotas, validate_quotas
from appraisal.grading.scale import Grade, GradeScale, as_scale
from core.configs import ConfigError
from core.explain import plain, sep, show
from core.numbers import to_decimal
from core.translation import _

__all__ = [
    "OPERATORS",
    "ROUNDINGS",
    "Distribution",
    "GradeCount",
    "Quota",
    "QuotaIssue",
    "SubjectResult",
    "Tie",
    "distribute",
    "read_quotas",
    "validate_quotas",
]


def _rounding_label(rounding: str) -> str:
    labels = {"half_up": _("rounded half up"), "down": _("rounded down"), "up": _("rounded up")}
    return labels[rounding]


# --- results ----------------------------------------------------------------------------------


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
    share: Decimal | None  # None for a quota given as a head count
    required: int
    actual: int
    message: str


@dataclass(frozen=True)
class GradeCount:
    """One bar of the distribution chart."""

    grade: str
    label: str
    op: str | None  # "<=", ">=", "=", or "between" (min_count … max_count)
    share: Decimal | None  # None without a quota or for a head count
    exact: Decimal | None  # population × share, before rounding (None for a head count)
    allowed: int | None  # the count the quota stands for: its cap, or its minimum when it only asks for one
    band_count: int  # how many scored into the band
    actual: int  # how many hold the grade in the end
    required: int | None = None  # the minimum, for a quota that asks for one
    quota: str = ""  # the quota in words ("≤5%", "1–2 people"), "" without one


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
        return sep().join(self.phrases)


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


# --- distribute: the rules above, one step each -----------------------------------------------


def distribute(
    scores: Sequence[tuple[Hashable, object]],
    scale: GradeScale | Mapping[str, Any],
    quotas: Sequence[Quota | Mapping[str, Any]] = (),
    *,
    rounding: str = "half_up",
) -> Distribution:
    """Grades for ``scores`` ((key, score) pairs) under ``quotas``; see the module's rules."""
    grade_scale = as_scale(scale)
    _check_rounding(rounding)
    quota_by_grade = {quota.grade: quota for quota in quota_list(list(quotas), grade_scale)}
    subjects = _grade_by_band(_ranked_scores(scores), grade_scale)
    ties, unenforced = _enforce_caps(subjects, grade_scale, quota_by_grade, rounding)
    _state_coefficients(subjects)
    counts, shortfalls = _count_grades(subjects, grade_scale, quota_by_grade, rounding)
    return Distribution(
        population=len(subjects),
        rounding=rounding,
        subjects=tuple(subjects),
        counts=tuple(counts),
        ties=tuple(ties),
        shortfalls=tuple(shortfalls),
        unenforced=tuple(unenforced),
    )


def quota_counts(
    population: int,
    scale: GradeScale | Mapping[str, Any],
    quotas: Sequence[Quota | Mapping[str, Any]] = (),
    *,
    rounding: str = "half_up",
) -> tuple[GradeCount, ...]:
    """The bars :func:`distribute` would give a population of ``population`` for what each quota
    allows and requires, without grading anyone (``band_count`` and ``actual`` are 0): what the
    allowed and required counts depend on is the head count, never the scores, and both functions
    read them through :func:`_allowance`, so they cannot disagree. For a chart of stored results."""
    grade_scale = as_scale(scale)
    _check_rounding(rounding)
    quota_by_grade = {quota.grade: quota for quota in quota_list(list(quotas), grade_scale)}
    counts = []
    for grade in grade_scale.grades:
        quota = quota_by_grade.get(grade.code)
        if quota is None:
            counts.append(GradeCount(grade=grade.code, label=grade.label, op=None, share=None, exact=None,
                                     allowed=None, band_count=0, actual=0))
            continue
        exact, allowed, required, _exact_minimum = _allowance(quota, population, rounding)
        counts.append(GradeCount(grade=grade.code, label=grade.label, op=quota.op, share=quota.share, exact=exact,
                                 allowed=allowed, band_count=0, actual=0, required=required,
                                 quota=quota.describe()))
    return tuple(counts)


def _allowance(quota: Quota, population: int, rounding: str) -> tuple[Decimal | None, int, int | None,
                                                                      Decimal | None]:
    """What ``quota`` stands for in a population: (population × share before rounding, the count it
    allows — its cap, or its minimum when it only asks for one —, the minimum it requires and that
    minimum before rounding; the last two None when it requires none)."""
    exact, allowed = quota.cap(population, rounding) if quota.caps else quota.minimum(population, rounding)
    required: int | None = None
    exact_minimum: Decimal | None = None
    if quota.requires:
        exact_minimum, required = quota.minimum(population, rounding)
    return exact, allowed, required, exact_minimum


def _check_rounding(rounding: str) -> None:
    if rounding not in ROUNDINGS:
        raise ConfigError(
            "rounding",
            _('"%(value)s" is not one of %(options)s.') % {"value": rounding, "options": ", ".join(ROUNDINGS)},
        )


def _ranked_scores(scores: Sequence[tuple[Hashable, object]]) -> list[tuple[Hashable, Decimal]]:
    """The scores read as Decimals, each key once, best first."""
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
    return values


def _grade_by_band(values: list[tuple[Hashable, Decimal]], scale: GradeScale) -> list[SubjectResult]:
    """Rule 1: everyone ranked (equal scores share a rank) with the grade of their band."""
    subjects: list[SubjectResult] = []
    for position, (key, value) in enumerate(values):
        rank = position + 1 if position == 0 or value != values[position - 1][1] else subjects[-1].rank
        try:
            band = scale.grade_for(value)
        except GradingError as error:
            raise GradingError(f"{key}: {error}") from None
        subject = SubjectResult(key=key, score=value, rank=rank, band_grade=band, final_grade=band)
        subject.phrases.append(
            _("%(score)s points → %(grade)s (%(band)s)")
            % {"score": show(value), "grade": band.code, "band": band.describe()}
        )
        subjects.append(subject)
    return subjects


def _enforce_caps(
    subjects: list[SubjectResult], scale: GradeScale, quota_by_grade: Mapping[str, Quota], rounding: str
) -> tuple[list[Tie], list[QuotaIssue]]:
    """Rules 2–4: each cap in turn from the best grade down, so that whoever a cap pushes down
    takes part in the next grade's cap; the ties and the unenforceable caps met on the way."""
    ties: list[Tie] = []
    unenforced: list[QuotaIssue] = []
    for grade in scale.grades:
        quota = quota_by_grade.get(grade.code)
        if quota is None or not quota.caps:
            continue
        tie, issue = _enforce_cap(grade, quota, subjects, scale, rounding)
        if tie is not None:
            ties.append(tie)
        if issue is not None:
            unenforced.append(issue)
    return ties, unenforced


def _enforce_cap(
    grade: Grade, quota: Quota, subjects: list[SubjectResult], scale: GradeScale, rounding: str
) -> tuple[Tie | None, QuotaIssue | None]:
    """One grade's cap: the lowest-ranked over it fall one grade, unless tied on the line or
    already in the lowest grade (then they stay and wait for calibration)."""
    population = len(subjects)
    exact, allowed = quota.cap(population, rounding)
    candidates = [subject for subject in subjects if subject.final_grade is grade]  # still best first
    if len(candidates) <= allowed:
        return None, None
    if exact is None:
        quota_phrase = _("%(grade)s quota %(quota)s") % {"grade": grade.code, "quota": quota.describe()}
    else:
        quota_phrase = _("%(grade)s quota %(quota)s × %(population)s = %(exact)s → %(allowed)s (%(rounding)s)") % {
            "grade": grade.code,
            "quota": quota.describe(),
            "population": population,
            "exact": written(exact),  # a share of "-0" makes it -0, written as ever
            "allowed": allowed,
            "rounding": _rounding_label(rounding),
        }
    tie = _tie_on_line(grade, candidates, allowed)
    bottom = len(scale.grades) - 1
    issue = _unenforced_cap(grade, quota, allowed, len(candidates)) if grade.rank == bottom else None
    below = scale.grades[grade.rank + 1] if grade.rank < bottom else None
    for position, subject in enumerate(candidates, start=1):
        outcome = _place(subject, position, len(candidates), grade, allowed, tie, below)
        subject.phrases.append(_("%(quota)s, %(outcome)s") % {"quota": quota_phrase, "outcome": outcome})
    return tie, issue


def _tie_on_line(grade: Grade, candidates: list[SubjectResult], allowed: int) -> Tie | None:
    """Rule 3: the tie across the cap line, if the last place that fits and the first that does
    not share a score."""
    if allowed <= 0 or candidates[allowed].score != candidates[allowed - 1].score:
        return None
    tie_score = candidates[allowed - 1].score
    tied = [subject for subject in candidates if subject.score == tie_score]
    above = sum(1 for subject in candidates if subject.score > tie_score)
    return Tie(grade=grade.code, score=tie_score, keys=tuple(s.key for s in tied), places=allowed - above)


def _unenforced_cap(grade: Grade, quota: Quota, allowed: int, holders: int) -> QuotaIssue:
    """Rule 4: the lowest grade's cap is exceeded and nobody can fall further."""
    return QuotaIssue(
        grade=grade.code,
        op=quota.op,
        share=quota.share,
        required=allowed,
        actual=holders,
        message=_(
            "%(count)s people hold %(grade)s, more than its %(allowed)s places, but %(grade)s is the "
            "lowest grade: calibrate scores before the results are final."
        )
        % {"count": holders, "grade": grade.code, "allowed": allowed},
    )


def _place(
    subject: SubjectResult,
    position: int,
    candidates: int,
    grade: Grade,
    allowed: int,
    tie: Tie | None,
    below: Grade | None,
) -> str:
    """Where the cap leaves one holder of ``grade`` (moving them down when it must), in words."""
    where = {"position": position, "candidates": candidates}
    if tie is not None and subject.score == tie.score:
        subject.needs_calibration = True
        return _(
            "position %(position)s of %(candidates)s, tied at %(score)s across the cap line "
            "(%(places)s place(s) for %(tied)s people) → kept at %(grade)s provisionally, needs calibration"
        ) % {**where, "score": show(tie.score), "places": tie.places, "tied": len(tie.keys), "grade": grade.code}
    if position <= allowed:
        return _("position %(position)s of %(candidates)s → keeps %(grade)s") % {**where, "grade": grade.code}
    if below is None:
        subject.needs_calibration = True
        return _(
            "position %(position)s of %(candidates)s, over the cap but %(grade)s is the lowest grade → stays, "
            "needs calibration"
        ) % {**where, "grade": grade.code}
    subject.final_grade = below
    return _("position %(position)s of %(candidates)s → falls to %(grade)s") % {**where, "grade": below.code}


def _state_coefficients(subjects: list[SubjectResult]) -> None:
    """The last phrase: the final grade and the pay coefficient it carries, if the scale has one."""
    for subject in subjects:
        if subject.coefficient is not None:
            subject.phrases.append(
                _("final grade %(grade)s, coefficient %(coefficient)s")
                % {"grade": subject.final_grade.code, "coefficient": format(subject.coefficient, "f")}
            )


def _count_grades(
    subjects: list[SubjectResult], scale: GradeScale, quota_by_grade: Mapping[str, Quota], rounding: str
) -> tuple[list[GradeCount], list[QuotaIssue]]:
    """The chart's bars in scale order, and rule 5: the minimums not met, reported, not forced."""
    population = len(subjects)
    counts: list[GradeCount] = []
    shortfalls: list[QuotaIssue] = []
    for grade in scale.grades:
        quota = quota_by_grade.get(grade.code)
        band_count = sum(1 for subject in subjects if subject.band_grade is grade)
        actual = sum(1 for subject in subjects if subject.final_grade is grade)
        if quota is None:
            counts.append(GradeCount(grade=grade.code, label=grade.label, op=None, share=None, exact=None,
                                     allowed=None, band_count=band_count, actual=actual))
            continue
        exact, allowed, required, exact_minimum = _allowance(quota, population, rounding)
        if required is not None and actual < required:
            shortfalls.append(_shortfall(grade, quota, population, exact_minimum, required, actual, rounding))
        counts.append(
            GradeCount(
                grade=grade.code,
                label=grade.label,
                op=quota.op,
                share=quota.share,
                exact=exact,
                allowed=allowed,
                band_count=band_count,
                actual=actual,
                required=required,
                quota=quota.describe(),
            )
        )
    return counts, shortfalls


def _shortfall(
    grade: Grade, quota: Quota, population: int, exact: Decimal | None, required: int, actual: int, rounding: str
) -> QuotaIssue:
    """Rule 5: ``grade`` holds fewer than its minimum asks."""
    values = {
        "grade": grade.code,
        "quota": quota.describe(),
        "population": population,
        "required": required,
        "rounding": _rounding_label(rounding),
        "actual": actual,
        "missing": required - actual,
    }
    if exact is None:
        message = _("%(grade)s needs %(quota)s but has %(actual)s: %(missing)s short, for calibration.") % values
    else:
        values["exact"] = plain(exact)  # at least one person is required, so exact > 0: never "-0"
        message = _(
            "%(grade)s needs %(quota)s × %(population)s = %(exact)s → %(required)s people "
            "(%(rounding)s) but has %(actual)s: %(missing)s short, for calibration."
        ) % values
    return QuotaIssue(grade=grade.code, op=quota.op, share=quota.share, required=required, actual=actual,
                      message=message)
