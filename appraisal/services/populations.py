"""Grading one population in memory, at the close and whenever a score moves after it (calibration,
an upheld appeal): the order of the steps is the policy's meaning.

1. The special statuses take the policy's set grade, or none (not assessed).
2. The FORCING rules (outcome "set_grade" or "not_assessed", appraisal.rules.evaluation) are
   evaluated on each graded subject's score, its grade by band (the score alone: the final grade
   does not exist yet) and the facts of its sheet (appraisal.services.facts), with the past periods
   as ever. A subject a forcing rule flags is LEFT OUT of the forced distribution: it is neither
   counted in the population the quotas are worked out from nor moved by a cap, and it has no rank.
   "set_grade" gives it the rule's grade (and that grade's coefficient), "not_assessed" no grade,
   no final score and so no pay. When several forcing rules flag one subject, not assessed beats
   a grade and the worse grade beats the better.
3. The forced distribution grades everyone else (appraisal.grading.distribute).
4. The other rules are evaluated on the final grades (a forced grade included: a set E counts as
   an E for "E → salary grade −1"); a subject not assessed by a rule meets no condition.

The flags of both kinds of rule are stored on the result (forcing flags first), each
``{"rule", "outcome", "message"}`` with ``"grade"`` for a set grade.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from appraisal import grading
from appraisal import rules as rule_engine
from appraisal.grading import GradeScale
from appraisal.models import GradingPolicy, Period, Result, Sheet, SpecialStatus
from appraisal.services.facts import SheetFacts, sheet_facts
from core.explain import sep, show

NOT_APPLIED = "not_applied"  # a rule's outcome in a result's flags when the rule could not apply
GRADED_STATUSES = (SpecialStatus.NORMAL, SpecialStatus.REFUSED)
GRADE_FIELDS = ["final_score", "rank", "band_grade", "grade", "grade_label", "coefficient", "needs_calibration",
                "explanation", "flags"]
# The flag a result carries when its sheet was incomplete and HR closed anyway; grading keeps it.
INCOMPLETE_FLAG = "incomplete"
HISTORY_DEPTH = 12


class Draft:
    """A result the close is about to write: the fields grading reads and sets, as a plain object.
    A close builds one per subject; a model instance each would cost seconds at 100,000."""

    __slots__ = (
        "band_grade",
        "coefficient",
        "explanation",
        "final_score",
        "flags",
        "grade",
        "grade_label",
        "needs_calibration",
        "person_id",
        "population",
        "population_label",
        "rank",
        "raw_score",
        "rollup",
        "sheet_id",
        "status",
        "subject_key",
        "subject_kind",
    )

    def __init__(self, *, sheet_id: int, subject_kind: str, subject_id: int | None, person_id: int | None,
                 population: str, population_label: str, status: str, raw_score: Decimal | None) -> None:
        self.sheet_id, self.subject_kind, self.person_id = sheet_id, subject_kind, person_id
        self.subject_key = (subject_kind, subject_id)
        self.population, self.population_label = population, population_label
        self.status, self.raw_score = status, raw_score
        self.final_score: Decimal | None = None
        self.rank: int | None = None
        self.band_grade = self.grade = self.grade_label = self.explanation = ""
        self.coefficient: Decimal | None = None
        self.needs_calibration = False
        self.flags: list[dict[str, str]] = []
        self.rollup: dict[str, Any] | None = None  # set at close when the period rolls up child periods

    def graded_score(self) -> Decimal | None:
        return self.raw_score  # no calibration or appeal yet: see Result.graded_score


Gradable = TypeVar("Gradable", Result, Draft)
History = dict[Any, list[rule_engine.Past]]  # by subject key: (subject kind, person, team or department id)


@dataclass(frozen=True)
class Inputs:
    """What the rules read besides the results themselves: each subject's past periods and the
    facts of the sheets (by sheet id)."""

    history: History = field(default_factory=dict)
    facts: SheetFacts = field(default_factory=SheetFacts)


def inputs(period: Period, results: Sequence[Result | Draft], policy: GradingPolicy,
           sheets: QuerySet[Sheet]) -> Inputs:
    """The history of ``results``' subjects and the facts of ``sheets`` the policy's rules read:
    two queries for the history, and per kind of fact one for the sheets and one for the past."""
    needed = rule_engine.facts_needed(policy.rules or [])
    facts = sheet_facts(sheets, needed) if needed else SheetFacts()
    return Inputs(history=history(period, results, needed), facts=facts)


def history(period: Period, results: Sequence[Result | Draft], needed: set[str] | None = None) -> History:
    """Each subject's results in the periods of the same kind before this one, oldest first, with
    the ``needed`` facts of their sheets. A period the subject has no result in is given as an
    empty Past, which breaks a streak."""
    earlier = list(Period.objects.filter(kind=period.kind, start__lt=period.start, results_at__isnull=False)
                   .order_by("-start")[:HISTORY_DEPTH])
    earlier.reverse()
    if not earlier:
        return {}
    rows = Result.objects.filter(period__in=earlier).values_list(
        "period_id", "subject_kind", "sheet__person_id", "sheet__team_id", "sheet__department_id", "final_score",
        "grade", "sheet_id")
    past_facts = sheet_facts(Sheet.objects.filter(period__in=earlier), needed) if needed else SheetFacts()
    found: dict[tuple[str, int | None], dict[int, rule_engine.Past]] = defaultdict(dict)
    codes = {p.pk: p for p in earlier}
    for period_id, kind, person, team, department, score, grade, sheet_id in rows:
        past = codes[period_id]
        found[(kind, person or team or department)][period_id] = rule_engine.Past(
            past.code, score, grade or None, year=past.year, facts=past_facts.of(sheet_id))
    return {
        result.subject_key: [found.get(result.subject_key, {}).get(p.pk) or rule_engine.Past(p.code, None, None,
                                                                                            year=p.year)
                             for p in earlier]
        for result in results
    }


def grade(policy: GradingPolicy, period: Period, members: Sequence[Gradable], given: Inputs, *,
          changes: bool = True) -> list[Gradable]:
    """Grades one population in memory (see the module's steps). Returns the results that changed
    (none looked for with ``changes=False``: a close writes every result anyway)."""
    scale = policy.grade_scale()
    before = {id(r): tuple(getattr(r, f) for f in GRADE_FIELDS) for r in members} if changes else {}
    forcing, others = rule_engine.split(policy.rules or [])
    graded = [r for r in members if r.status in GRADED_STATUSES]
    for result in graded:
        result.final_score = result.graded_score()
    _status_grades(policy, scale, members)
    forcing_flags = _evaluate(forcing, period, members, given, scale=scale) if forcing else rule_engine.Flags()
    decided = rule_engine.forced(forcing_flags, [g.code for g in scale.grades])
    _distribute(policy, scale, [r for r in graded if r.subject_key not in decided])
    for result in graded:
        if result.subject_key in decided:
            _force(result, decided[result.subject_key], scale)
    other_flags = _evaluate(others, period, members, given, decided=decided) if others else rule_engine.Flags()
    _store_flags(members, [forcing_flags, other_flags])
    if not changes:
        return []
    return [r for r in members if tuple(getattr(r, f) for f in GRADE_FIELDS) != before[id(r)]]


def _status_grades(policy: GradingPolicy, scale: GradeScale, members: Sequence[Result | Draft]) -> None:
    """Step 1: a special status takes the policy's set grade, or none."""
    for result in members:
        if result.status in GRADED_STATUSES:
            continue
        code = policy.status_grades.get(result.status)
        status_label = SpecialStatus(result.status).label
        result.final_score, result.rank, result.band_grade, result.needs_calibration = None, None, "", False
        if code:
            found = scale.grade(code)
            result.grade, result.grade_label, result.coefficient = found.code, found.label, found.coefficient
            result.explanation = _("%(status)s → set grade %(grade)s") % {"status": status_label, "grade": code}
        else:
            result.grade, result.grade_label, result.coefficient = "", "", None
            result.explanation = _("%(status)s → not assessed") % {"status": status_label}


def _distribute(policy: GradingPolicy, scale: GradeScale, graded: Sequence[Result | Draft]) -> None:
    """Step 3: the forced distribution of the graded subjects no forcing rule decided."""
    distribution = grading.distribute([(index, r.final_score) for index, r in enumerate(graded)], scale,
                                      policy.quotas, rounding=policy.rounding)
    for index, result in enumerate(graded):
        outcome = distribution.result(index)
        result.rank = outcome.rank
        result.band_grade = outcome.band_grade.code
        result.grade = outcome.final_grade.code
        result.grade_label = outcome.final_grade.label
        result.coefficient = outcome.final_grade.coefficient
        result.needs_calibration = outcome.needs_calibration
        result.explanation = _refused(result, outcome.explanation)


def _refused(result: Result | Draft, explanation: str) -> str:
    """The grading's explanation, after how the score was made: refused, or combined with the child
    periods (appraisal.services.rollup, kept on the result so that a regrade keeps saying it)."""
    if result.status == SpecialStatus.REFUSED:
        return _("refused to be assessed → 0 points") + "; " + explanation
    if result.rollup:
        return str(result.rollup.get("explanation", "")) + sep() + explanation
    return explanation


def _band(scale: GradeScale, score: Decimal | None) -> grading.Grade | None:
    return None if score is None else scale.grade_for(score)


def _force(result: Result | Draft, flag: rule_engine.Flag, scale: GradeScale) -> None:
    """Step 2's outcome for one subject: the rule's grade, or not assessed; outside the quotas."""
    band = _band(scale, result.final_score)
    phrases = [] if band is None or result.final_score is None else [
        _("%(score)s points → %(grade)s (%(band)s)")
        % {"score": show(result.final_score), "grade": band.code, "band": band.describe()}]
    result.rank, result.needs_calibration = None, False
    result.band_grade = "" if band is None else band.code
    values = {"rule": flag.rule_name or flag.rule_code, "message": flag.message}
    if flag.outcome == rule_engine.NOT_ASSESSED:
        result.final_score, result.grade, result.grade_label, result.coefficient = None, "", "", None
        phrases.append(_("rule %(rule)s: %(message)s → not assessed, no grade") % values)
    else:
        found = scale.grade(str(flag.grade))
        result.grade, result.grade_label, result.coefficient = found.code, found.label, found.coefficient
        phrases.append(_("rule %(rule)s: %(message)s → set grade %(grade)s, outside the quotas")
                       % {**values, "grade": found.code})
        if found.coefficient is not None:
            phrases.append(_("final grade %(grade)s, coefficient %(coefficient)s")
                           % {"grade": found.code, "coefficient": format(found.coefficient, "f")})
    result.explanation = _refused(result, sep().join(phrases))


def _evaluate(rules: Sequence[Mapping[str, Any]], period: Period, members: Sequence[Result | Draft],
              given: Inputs, *, scale: GradeScale | None = None,
              decided: Mapping[Hashable, rule_engine.Flag] | None = None) -> rule_engine.Flags:
    """The flags of ``rules`` over the population. With ``scale`` (the forcing rules) a graded
    subject's grade is its grade by band; otherwise its final grade, and a subject a rule left
    unassessed (``decided``) meets nothing."""
    graded = sum(1 for r in members if r.status in GRADED_STATUSES)
    current = []
    for r in members:
        status, grade_code = r.status, r.grade or None
        if scale is not None and r.status in GRADED_STATUSES:
            band = _band(scale, r.final_score)
            grade_code = None if band is None else band.code
        flag = (decided or {}).get(r.subject_key)
        if flag is not None and flag.outcome == rule_engine.NOT_ASSESSED:
            status = rule_engine.NOT_ASSESSED
        current.append(rule_engine.Outcome(key=r.subject_key, score=r.final_score, grade=grade_code, rank=r.rank,
                                           population=graded, status=status, facts=given.facts.of(r.sheet_id)))
    if not current:
        return rule_engine.Flags()
    return rule_engine.evaluate(rules, current, {o.key: given.history.get(o.key, []) for o in current},
                                period=period.code, year=period.year)


def _store_flags(members: Sequence[Result | Draft], found: Sequence[rule_engine.Flags]) -> None:
    """Each member's flags: the incomplete flag kept, then the rules' flags in order. A rule that
    could not apply (a bottom-N over a population no larger than N) flags nobody; each member's
    result says so, so the page and the employee see why nobody got the outcome."""
    flags: dict[Any, list[dict[str, str]]] = defaultdict(list)
    for kind in found:
        for flag in kind:
            stored = {"rule": flag.rule_code, "outcome": flag.outcome, "message": flag.message}
            if flag.grade is not None:
                stored["grade"] = flag.grade
            flags[flag.key].append(stored)
        for notice in kind.notices:
            for result in members:
                flags[result.subject_key].append({"rule": notice.rule_code, "outcome": NOT_APPLIED,
                                                  "message": notice.message})
    for result in members:
        kept = [f for f in result.flags if f.get("rule") == INCOMPLETE_FLAG]  # set at close, not by a rule
        result.flags = kept + flags.get(result.subject_key, [])
