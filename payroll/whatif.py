"""What-if (测算): a closed period regraded and repaid under a candidate grading policy and/or a
candidate pay policy, in memory, with nothing saved.

The grading is the close's own (appraisal.services.closing: the drafts and their populations as the
candidate policy defines them; appraisal.services.populations: the rules and the forced
distribution), run on the scores the results were graded from (appeal > calibration > close). The
pay is the pay run's own (payroll.services.pay_people) under the pay policies in force, the
candidate replacing the one of the same code or department type. Both sides are computed the same
way, so choosing nothing changes nothing: "before" is the period's grades under the policies in
force now, "after" the candidate's. A fixed number of queries whatever the head count.

What is not regraded: the team and department results a policy may read (dept_score, team_grade …)
stay as the period was closed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appraisal import grading
from appraisal.models import GradingPolicy, Period, Result, Sheet
from appraisal.services import populations
from appraisal.services.closing import population_drafts
from appraisal.services.populations import Draft
from indicators.models import SubjectKind
from organizations.models import Department
from payroll import services
from payroll.exports import Column, Export, Style
from payroll.models import PayPolicy
from payroll.services import Regraded

ZERO = Decimal("0.00")
NOT_ASSESSED = ""  # the grade of someone not assessed (no grade, no pay)


class WhatIfRefused(Exception):
    """The candidate cannot be computed for this period (a grading or pay error); the message says why."""


@dataclass(frozen=True)
class PersonChange:
    person_id: int
    employee_no: str
    name: str
    department_id: int
    department: str
    old_grade: str
    new_grade: str
    old_pay: Decimal | None  # None: not paid
    new_pay: Decimal | None

    @property
    def change(self) -> Decimal:
        return (self.new_pay or ZERO) - (self.old_pay or ZERO)


@dataclass(frozen=True)
class GradeCount:
    grade: str  # "" for not assessed
    label: str
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


@dataclass
class DepartmentCost:
    department_id: int
    code: str
    name: str
    people: int = 0
    before: Decimal = ZERO
    after: Decimal = ZERO

    @property
    def change(self) -> Decimal:
        return self.after - self.before


@dataclass(frozen=True)
class WhatIf:
    period: Period
    grading_policy: GradingPolicy
    pay_before: list[PayPolicy]
    pay_after: list[PayPolicy]
    people: list[PersonChange]
    distribution: list[GradeCount]
    departments: list[DepartmentCost]
    notes: list[str] = field(default_factory=list)

    @property
    def before(self) -> Decimal:
        return sum((d.before for d in self.departments), ZERO)

    @property
    def after(self) -> Decimal:
        return sum((d.after for d in self.departments), ZERO)

    @property
    def change(self) -> Decimal:
        return self.after - self.before

    @property
    def moved(self) -> int:
        return sum(1 for p in self.people if p.old_grade != p.new_grade)


def candidate_pay_policies(period: Period, pay: PayPolicy | None) -> list[PayPolicy]:
    """The pay policies a run of the period would pay by (services.applicable_policies), ``pay``
    replacing the one of its code and the one of its department type (so two never pay the same
    people). PayRunFailed when they cannot be told apart, as a run would."""
    if pay is None:
        return services.applicable_policies(period)
    kept = [p for p in services.policies_for(period)
            if p.code != pay.code and p.department_type_id != pay.department_type_id]
    return list(services.policies_by_type(period, [*kept, pay]).values())


def regrade(period: Period, policy: GradingPolicy) -> dict[int, Regraded]:
    """Every person's (grade, coefficient, final score) when the period's results are graded by
    ``policy``, in memory: the close's drafts and populations, each draft scored as its result is."""
    stored = {sheet_id: (status, appeal if appeal is not None else calibrated if calibrated is not None else raw)
              for sheet_id, status, raw, calibrated, appeal in Result.objects.filter(period=period).values_list(
                  "sheet_id", "status", "raw_score", "calibrated_score", "appeal_score")}
    drafts: list[Draft] = []
    for draft in population_drafts(period, policy)[0]:
        if draft.sheet_id in stored:  # a sheet added after the close has no result to regrade
            draft.status, draft.raw_score = stored[draft.sheet_id]
            drafts.append(draft)
    by_population: dict[str, list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_population[draft.population].append(draft)
    try:
        given = populations.inputs(period, drafts, policy, Sheet.objects.filter(period=period))
        for members in by_population.values():
            populations.grade(policy, period, members, given, changes=False)
    except (grading.GradingError, grading.ConfigError) as error:
        raise WhatIfRefused(str(error)) from None
    return {d.person_id: (d.grade, d.coefficient, d.final_score) for d in drafts
            if d.person_id is not None and d.subject_kind == SubjectKind.PERSON}


def _pay(period: Period, policies: Sequence[PayPolicy],
         grades: dict[int, Regraded] | None) -> tuple[dict[int, Decimal], list[str]]:
    if not policies:
        return {}, []
    try:
        _rows, pays, notes = services.pay_people(period, policies, grades)
    except services.PayRunFailed as error:
        raise WhatIfRefused(str(error)) from None
    return {person_id: pay.total for person_id, pay in pays.items()}, notes


def what_if(period: Period, *, grading_policy: GradingPolicy | None = None,
            pay_policy: PayPolicy | None = None) -> WhatIf:
    """The period as it is (its grades, the pay policies in force) against the candidate: the
    period regraded by ``grading_policy`` (default: its own) and paid by ``pay_policy`` in place of
    the one it replaces (default: those in force). Writes nothing; raises WhatIfRefused."""
    own = period.grading_policy
    if own is None or period.results_at is None:
        raise WhatIfRefused(_("Period %(period)s has no results: only a closed period can be tested.")
                            % {"period": period.code})
    chosen = grading_policy or own
    grades = None if chosen.pk == own.pk else regrade(period, chosen)
    try:
        pay_before = candidate_pay_policies(period, None)
        pay_after = candidate_pay_policies(period, pay_policy)
    except services.PayRunFailed as error:
        raise WhatIfRefused(str(error)) from None
    old_pay, notes = _pay(period, pay_before, None)
    if grades is not None or pay_after != pay_before:  # else the candidate is the period as it is
        new_pay, notes = _pay(period, pay_after, grades)
    else:
        new_pay = old_pay
    departments = {pk: DepartmentCost(pk, code, name)
                   for pk, code, name in Department.objects.values_list("pk", "code", "name")}
    people = []
    for person_id, number, name, department_id, grade in Result.objects.filter(
            period=period, subject_kind=SubjectKind.PERSON, person__isnull=False).order_by(
            "person__department__code", "person__employee_no").values_list(
            "person_id", "person__employee_no", "person__name", "person__department_id", "grade"):
        new_grade = grade if grades is None else grades.get(person_id, (NOT_ASSESSED, None, None))[0]
        cost = departments[department_id]
        people.append(PersonChange(person_id, number, name, department_id, cost.name, grade, new_grade,
                                   old_pay.get(person_id), new_pay.get(person_id)))
        cost.people += 1
        cost.before += old_pay.get(person_id, ZERO)
        cost.after += new_pay.get(person_id, ZERO)
    return WhatIf(period=period, grading_policy=chosen, pay_before=pay_before, pay_after=pay_after, people=people,
                  distribution=_distribution(people, [own, chosen]),
                  departments=[d for d in departments.values() if d.people], notes=notes)


def _distribution(people: Sequence[PersonChange], policies: Sequence[GradingPolicy]) -> list[GradeCount]:
    """Head count per grade before and after, in the order of the scales (best first), then not assessed."""
    before = Counter(p.old_grade for p in people)
    after = Counter(p.new_grade for p in people)
    labels: dict[str, str] = {}
    for policy in reversed(policies):  # the candidate's labels first
        for grade in policy.grade_scale().grades:
            labels.setdefault(grade.code, grade.label)
    order = [code for policy in reversed(policies) for code in (g.code for g in policy.grade_scale().grades)]
    codes = list(dict.fromkeys([*order, *sorted((before | after).keys() - {NOT_ASSESSED})]))
    rows = [GradeCount(code, labels.get(code, code), before[code], after[code]) for code in codes]
    rows.append(GradeCount(NOT_ASSESSED, _("not assessed"), before[NOT_ASSESSED], after[NOT_ASSESSED]))
    return [row for row in rows if row.before or row.after]


def export(result: WhatIf) -> Export:
    """The .xlsx download (payroll.exports.write_xlsx): per person by department (the page's order),
    a subtotal per department and the grand total."""
    columns = [Column(_("Employee no.")), Column(_("Name"), width=10), Column(_("Department"), width=16),
               Column(_("Grade before"), width=8), Column(_("Grade after"), width=8),
               Column(_("Pay before"), money=True, width=14), Column(_("Pay after"), money=True, width=14),
               Column(pgettext("a what-if difference", "Change"), money=True, width=14)]
    return Export(_("What-if %(period)s") % {"period": result.period.code}, columns, _export_rows(result))


def _export_rows(result: WhatIf) -> Iterator[tuple[Style, list[Any]]]:
    by_id = {d.department_id: d for d in result.departments}
    current: int | None = None
    for person in result.people:
        if current is not None and person.department_id != current:
            yield _subtotal(by_id[current])
        current = person.department_id
        yield "row", [person.employee_no, person.name, person.department, person.old_grade, person.new_grade,
                      person.old_pay, person.new_pay, person.change]
    if current is not None:
        yield _subtotal(by_id[current])
    yield "total", ["", _("Grand total"), "", "", "", result.before, result.after, result.change]


def _subtotal(cost: DepartmentCost) -> tuple[Style, list[Any]]:
    return "subtotal", ["", _("%(department)s subtotal") % {"department": cost.name}, "", "", "", cost.before,
                        cost.after, cost.change]
