"""Which of a period's templates applies to whom.

A template says who it is for with assignment rules (``Template.applies_to``, written by
indicators.services.build_template): each rule is a conjunction of

* ``people``: a list of employee numbers;
* ``department``: a department's code, with its sub-departments unless ``sub_departments`` is false;
* ``department_type``: a department type's code (of the subject's department);
* ``position`` (people) and ``team_kind`` (teams, or the team a person is in).

A template without ``applies_to`` has one rule made of its department type, position and team
kind fields; a template with no rule at all is the fallback for every subject of its kind.

**Precedence: the most specific rule wins.** Rules are compared on what they name, in this order:

1. a list of people;
2. a department — and between two department rules, the nearer department (the subject's own
   before its parent's, and so on up the tree);
3. a department type;
4. a position or a team kind (naming both counts more than naming one);
5. nothing (the fallback).

Each level is decided before the next is looked at, so "department type production + position
head" beats "department type production" (a head of production gets the head template, the staff
the staff template), and both beat "position head" alone. Two templates whose best rules for a
subject are equally specific are a tie: nothing decides between them, so opening the period is
refused (:class:`AssignmentConflict`) naming each such subject with the templates that tie.

Set-based: the subjects are read with one query per kind (plain values, not models) and matched in
memory, so the number of queries does not grow with the head count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from appraisal.models import Period, PeriodTemplate
from appraisal.services.common import IllegalTransition
from indicators.models import SubjectKind, Template
from organizations.models import Department, DepartmentType, Person, Team

# Subjects named in the refusal; the rest are counted.
NAMED_IN_REFUSAL = 20

Specificity = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class Rule:
    """One assignment rule with its codes resolved to ids (a code that no longer exists matches
    nobody: department id 0, or no person)."""

    people: frozenset[int] | None = None
    department_id: int | None = None
    sub_departments: bool = True
    department_type_id: int | None = None
    position: str = ""
    team_kind: str = ""


@dataclass(frozen=True)
class Subject:
    kind: str
    pk: int
    label: str
    department_id: int | None
    position: str = ""
    team_kind: str = ""


@dataclass(frozen=True)
class Tie:
    """A subject two or more templates claim equally."""

    subject: str
    templates: tuple[str, ...]


class AssignmentConflict(IllegalTransition):
    """Opening refused: templates tie for some subjects (see :class:`Tie`)."""

    def __init__(self, period: Period, ties: Sequence[Tie]) -> None:
        self.ties = list(ties)
        named = _("; ").join(_("%(subject)s: %(templates)s") % {"subject": tie.subject, "templates": " / ".join(
            tie.templates)} for tie in self.ties[:NAMED_IN_REFUSAL])
        more = len(self.ties) - NAMED_IN_REFUSAL
        if more > 0:
            named += " " + _("… and %(count)s more") % {"count": more}
        super().__init__(
            _("Period %(period)s cannot open: for %(count)s subject(s) two or more of its templates are equally "
              "specific, so none of them applies: %(ties)s. Make one template's rules more specific (applies_to: "
              "people, a department, a department type, a position or a team kind) or take a template off the "
              "period.") % {"period": period.code, "count": len(self.ties), "ties": named}
        )


@dataclass
class _Organisation:
    """The department tree and the codes rules name, read once."""

    parent_of: dict[int, int | None]
    type_of: dict[int, int | None]
    department_ids: dict[str, int]
    type_ids: dict[str, int]
    ancestors: dict[int, dict[int, int]] = field(default_factory=dict)

    def distances(self, department_id: int | None) -> dict[int, int]:
        """Ancestor id → how many levels up (the department itself at 0)."""
        if department_id is None:
            return {}
        cached = self.ancestors.get(department_id)
        if cached is None:
            cached, level = {}, 0
            current: int | None = department_id
            while current is not None and current not in cached:
                cached[current] = level
                current, level = self.parent_of.get(current), level + 1
            self.ancestors[department_id] = cached
        return cached


def check_assignment(*, period: Period) -> None:
    """Refuses (AssignmentConflict) when the period's templates tie for anyone."""
    assign(period=period)


def assign(*, period: Period, templates: Sequence[Template] | None = None) -> list[tuple[Template, Subject]]:
    """Every subject that gets a sheet in ``period``, with the one template that applies to it.
    Raises AssignmentConflict when templates tie for some subjects."""
    if templates is None:
        templates = list(Template.objects.filter(
            pk__in=PeriodTemplate.objects.filter(period=period).values("template_id")))
    organisation = _organisation()
    rules = {template.pk: template_rules(template, organisation, _people_numbers(templates)) for template in templates}
    assigned: list[tuple[Template, Subject]] = []
    ties: list[Tie] = []
    for kind in SubjectKind.values:
        candidates = [t for t in templates if t.subject_kind == kind]
        if candidates:
            for subject in _subjects(kind, period):
                chosen, tie = _choose(subject, candidates, rules, organisation)
                if tie is not None:
                    ties.append(tie)
                elif chosen is not None:
                    assigned.append((chosen, subject))
    if ties:
        raise AssignmentConflict(period, ties)
    return assigned


def _choose(subject: Subject, templates: Sequence[Template], rules: Mapping[int, list[Rule]],
            organisation: _Organisation) -> tuple[Template | None, Tie | None]:
    best: Specificity | None = None
    winners: list[Template] = []
    for template in templates:
        ranks = [r for rule in rules[template.pk] if (r := specificity(rule, subject, organisation)) is not None]
        if not ranks:
            continue
        rank = max(ranks)
        if best is None or rank > best:
            best, winners = rank, [template]
        elif rank == best:
            winners.append(template)
    if len(winners) > 1:
        return None, Tie(subject.label, tuple(str(t) for t in winners))
    return (winners[0] if winners else None), None


def specificity(rule: Rule, subject: Subject, organisation: _Organisation) -> Specificity | None:
    """How specifically ``rule`` names ``subject`` (compared level by level, see the module), or
    None when it does not apply to it."""
    if rule.people is not None and (subject.kind != SubjectKind.PERSON or subject.pk not in rule.people):
        return None
    distance = 0
    if rule.department_id is not None:
        found = organisation.distances(subject.department_id).get(rule.department_id)
        if found is None or (found > 0 and not rule.sub_departments):
            return None
        distance = found
    if rule.department_type_id is not None and (
        subject.department_id is None or organisation.type_of.get(subject.department_id) != rule.department_type_id
    ):
        return None
    if rule.position and subject.position != rule.position:
        return None
    if rule.team_kind and subject.team_kind != rule.team_kind:
        return None
    return (int(rule.people is not None), int(rule.department_id is not None), -distance,
            int(rule.department_type_id is not None), int(bool(rule.position)) + int(bool(rule.team_kind)))


def template_rules(template: Template, organisation: _Organisation, people: Mapping[str, int]) -> list[Rule]:
    """The template's rules with ids: its applies_to, else the one rule of its fields, else the
    fallback rule that names nothing."""
    if template.applies_to:
        return [_resolved(rule, organisation, people) for rule in template.applies_to]
    team_kind = template.team_kind if template.subject_kind == SubjectKind.TEAM else ""
    return [Rule(department_type_id=template.department_type_id, position=template.position, team_kind=team_kind)]


def _resolved(rule: Mapping[str, Any], organisation: _Organisation, people: Mapping[str, int]) -> Rule:
    department = rule.get("department")
    department_type = rule.get("department_type")
    listed = rule.get("people")
    return Rule(
        people=None if listed is None else frozenset(people[n] for n in listed if n in people),
        department_id=None if department is None else organisation.department_ids.get(department, 0),
        sub_departments=bool(rule.get("sub_departments", True)),
        department_type_id=None if department_type is None else organisation.type_ids.get(department_type, 0),
        position=str(rule.get("position", "")),
        team_kind=str(rule.get("team_kind", "")),
    )


def _organisation() -> _Organisation:
    parent_of: dict[int, int | None] = {}
    type_of: dict[int, int | None] = {}
    codes: dict[str, int] = {}
    for pk, parent, type_id, code in Department.objects.values_list("pk", "parent_id", "department_type_id", "code"):
        parent_of[pk], type_of[pk], codes[code] = parent, type_id, pk
    types = dict(DepartmentType.objects.values_list("code", "pk"))
    return _Organisation(parent_of=parent_of, type_of=type_of, department_ids=codes, type_ids=types)


def _people_numbers(templates: Iterable[Template]) -> dict[str, int]:
    """Employee number → person id, for the numbers the templates list (one query, or none)."""
    named = {n for t in templates for rule in (t.applies_to or []) for n in rule.get("people", [])}
    if not named:
        return {}
    return dict(Person.objects.filter(employee_no__in=named).values_list("employee_no", "pk"))


def _subjects(kind: str, period: Period) -> list[Subject]:
    """The subjects of one kind that may have a sheet in the period, as plain values: people
    employed during it (a leaver whose leave date falls in it too: paid by days worked), active teams
    and departments."""
    if kind == SubjectKind.PERSON:
        people = Person.objects.exclude(status=Person.Status.LEFT, leave_date__isnull=True).filter(
            Q(hire_date__isnull=True) | Q(hire_date__lte=period.end),
            Q(leave_date__isnull=True) | Q(leave_date__gte=period.start),
        ).order_by("pk").values_list("pk", "employee_no", "name", "department_id", "position", "team__kind")
        return [Subject(kind, pk, Person.label(number, name), department, position or "", team_kind or "")
                for pk, number, name, department, position, team_kind in people]
    if kind == SubjectKind.TEAM:
        teams = Team.objects.filter(is_active=True).order_by("pk").values_list("pk", "name", "department_id", "kind")
        return [Subject(kind, pk, name, department, team_kind=team_kind) for pk, name, department, team_kind in teams]
    departments = Department.objects.filter(is_active=True).order_by("pk").values_list("pk", "name")
    return [Subject(kind, pk, name, pk) for pk, name in departments]


def by_template(assigned: Iterable[tuple[Template, Subject]]) -> dict[int, list[int]]:
    """Template id → the ids of the subjects it applies to."""
    result: dict[int, list[int]] = defaultdict(list)
    for template, subject in assigned:
        result[template.pk].append(subject.pk)
    return result
