"""A person's score at close combining their unit's result of the same period (#12; S1-4's deputies:
60 % the unit's operating result + 40 % their own quarterly plan).

A person template says how much (``Template.unit_share``, 0–1) and whose result (``Template.unit``):

* ``department``: the person's department's sheet in the period, or, when it has none (or none
  scored), the nearest department above with one;
* ``team``: the person's team or shift.

At the close, after the sheets' scores and before grading, each normal person draft of such a
template scores ``(1 − share) × own + share × unit``, rounded once. Both parts are kept on the
result (``Result.rollup``, the record the child-period roll-up keeps too, marked ``"source":
"unit"``), so the explanation says how the score was made and an upheld appeal against a line of
the person's sheet recombines the new sheet score with the same unit score
(appraisal.services.rollup.with_own_score). A unit without a score leaves the person's own score,
explained. Four queries whatever the head count, one when no template of the period has a share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from appraisal.choices import SpecialStatus
from appraisal.models import Sheet
from appraisal.services.rollup import combined_with, explain
from core.explain import plain
from indicators.models import SubjectKind, UnitSource
from organizations.models import Department, Team

ONE = Decimal("1")
Subject = tuple[str, int | None]


def combine(period: Any, drafts: Sequence[Any]) -> int:
    """Combines the drafts of person templates with a unit share (see the module docstring); returns
    how many were combined."""
    if not period.templates.filter(unit_share__gt=0).exists():
        return 0  # one small query instead of reading every sheet of a big period
    wanted = {pk: (share, unit, department, team) for pk, share, unit, department, team in Sheet.objects.filter(
        period=period, subject_kind=SubjectKind.PERSON, template__unit_share__gt=0).values_list(
        "pk", "template__unit_share", "template__unit", "person__department_id", "person__team_id")}
    if not wanted:
        return 0
    units: dict[Subject, Decimal] = {draft.subject_key: draft.raw_score for draft in drafts
                                     if draft.subject_key[0] != SubjectKind.PERSON and draft.raw_score is not None}
    tree = dict(Department.objects.values_list("pk", "parent_id"))
    found: dict[int, tuple[Decimal, Subject | None]] = {}
    for draft in drafts:
        if draft.sheet_id in wanted and draft.status == SpecialStatus.NORMAL:
            share, unit, department, team = wanted[draft.sheet_id]
            found[draft.sheet_id] = (share, _unit_of(unit, department, team, units, tree))
    names = _names({subject for _share, subject in found.values() if subject is not None})
    for draft in drafts:
        if draft.sheet_id in found:
            share, subject = found[draft.sheet_id]
            draft.raw_score, draft.rollup = _combined(draft.raw_score, share, subject, units, names)
    return len(found)


def _unit_of(unit: str, department: int | None, team: int | None, units: Mapping[Subject, Decimal],
             tree: Mapping[int, int | None]) -> Subject | None:
    """The unit whose score counts: the person's team, or their department or the nearest above it with
    a score; None when there is none."""
    if unit == UnitSource.TEAM:
        key: Subject = (SubjectKind.TEAM, team)
        return key if team is not None and key in units else None
    seen: set[int] = set()
    node = department
    while node is not None and node not in seen:
        seen.add(node)
        if (SubjectKind.DEPARTMENT, node) in units:
            return (SubjectKind.DEPARTMENT, node)
        node = tree.get(node)
    return None


def _names(subjects: set[Subject]) -> dict[Subject, str]:
    departments = [pk for kind, pk in subjects if kind == SubjectKind.DEPARTMENT and pk is not None]
    teams = [pk for kind, pk in subjects if kind == SubjectKind.TEAM and pk is not None]
    names: dict[Subject, str] = {}
    if departments:
        names.update({(SubjectKind.DEPARTMENT, pk): name for pk, name in
                      Department.objects.filter(pk__in=departments).values_list("pk", "name")})
    if teams:
        names.update({(SubjectKind.TEAM, pk): name for pk, name in
                      Team.objects.filter(pk__in=teams).values_list("pk", "name")})
    return names


def _combined(own: Decimal | None, share: Decimal, subject: Subject | None, units: Mapping[Subject, Decimal],
              names: Mapping[Subject, str]) -> tuple[Decimal | None, dict[str, Any]]:
    kept: dict[str, Any] = {"source": "unit", "share": plain(share), "own": None if own is None else str(own),
                            "children": None, "exact": None}
    if subject is None:
        kept["explanation"] = _("the unit has no score in this period: the person's own sheet alone")
        return own, kept
    score = units[subject]
    kept.update({"children": str(score), "exact": str(score), "unit": names.get(subject, "")})
    if own is None and share != ONE:
        kept["explanation"] = _("the person's own sheet has no score")
        return None, kept
    combined = combined_with(kept, own)
    kept["explanation"] = explain(kept, own, combined)
    return combined, kept
