"""Writes to the indicator catalogue and templates.

A template is built from a spec (a dict, as in a JSON fixture or an API body) in one transaction,
checked as a whole, and refused with every reason when it is wrong: nothing is written then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import apply_changes, audited_save
from core.explain import listed
from core.numbers import to_decimal
from indicators import scoring
from indicators.models import (
    Benchmark,
    Indicator,
    LineSource,
    RaterRole,
    Rounding,
    SubjectKind,
    Template,
    TemplateLine,
    TemplatePart,
    TemplateRater,
    UnitSource,
)
from organizations.models import Department, DepartmentType, Organization, Person, ReviewGroup, User

ONE = Decimal("1")


class TemplateRejected(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def create_indicator(*, organization: Organization, acting_user: User | None, code: str, name: str, method: str,
                     config: Mapping[str, Any], reason: str = "", **fields: Any) -> Indicator:
    indicator = Indicator(organization=organization, code=code, name=name, method=method, config=dict(config), **fields)
    indicator.full_clean()  # validates the method's configuration, naming the bad field
    indicator._history_user = acting_user  # type: ignore[attr-defined]
    indicator._change_reason = reason or "created"  # type: ignore[attr-defined]
    indicator.save()
    return indicator


def update_indicator(*, indicator: Indicator, acting_user: User | None, reason: str = "", **changes: Any) -> Indicator:
    if not apply_changes(indicator, changes):
        return indicator
    audited_save(indicator, acting_user=acting_user, reason=reason or "updated")
    return indicator


def add_benchmark(*, indicator: Indicator, acting_user: User | None, value: Decimal | str,
                  kind: str = Benchmark.Kind.TARGET, months: list[int] | None = None, **scope: Any) -> Benchmark:
    benchmark = Benchmark(organization_id=indicator.organization_id, indicator=indicator, kind=kind,
                          value=to_decimal(value, what="value"), months=months or [], **scope)
    benchmark.full_clean()
    benchmark._history_user = acting_user  # type: ignore[attr-defined]
    benchmark.save()
    return benchmark


@transaction.atomic
def build_template(*, organization: Organization, acting_user: User | None, spec: Mapping[str, Any]) -> Template:
    """Creates a template (a new version when the code exists) with its parts, lines and raters.

    ``spec``: {"code", "name", "subject_kind", "department_type" (code), "position", "team_kind",
    "applies_to": [rules, see below], "base_score", "rounding": "line" | "part" | "final",
    "unit_share": "0.6", "unit": "department" | "team",
    "parts": [{"code", "name", "weight", "full_marks", "cap_positive", "per_person",
               "lines": [{"indicator" (code), "max_points", "source", "config"}]}],
    "raters": [{"role", "weight", "group" (code), "department" (code), "missing_counts_as_zero"}]}.

    ``applies_to`` (appraisal.services.assignment): who the template is for, a list of rules, each a
    conjunction of {"people": [employee numbers], "department": code, "sub_departments": true,
    "department_type": code, "position": text, "team_kind": "team" | "shift"}; instead of the
    top-level department_type / position / team_kind, which make one rule. ``rounding``: where
    scores are rounded to 0.01 (appraisal.services.scoring.score_sheet). ``unit_share`` (0–1) of a
    person template: the share of the person's unit's result in their score at close, ``unit``
    saying which unit (appraisal.services.unit_share). ``per_person``: a part whose
    lines each sheet gets on its own (individual work items, S0-1), scaled to the part's full marks.

    Every problem of the whole spec is collected before anything is written, so HR sees them all
    at once and a refused template writes nothing.
    """
    draft = draft_template(organization=organization, spec=spec)
    if draft.problems:
        raise TemplateRejected(draft.problems)
    _save_template(draft.template, draft.parts, draft.raters, acting_user=acting_user)
    return draft.template


@dataclass(frozen=True)
class TemplateDraft:
    """A template built from a spec in memory, unsaved, with every problem found in it."""

    template: Template
    parts: list[tuple[TemplatePart, list[TemplateLine]]]
    raters: list[TemplateRater]
    problems: list[str]


def draft_template(*, organization: Organization, spec: Mapping[str, Any]) -> TemplateDraft:
    """What :func:`build_template` would save, unsaved (nothing is written): the template editor's
    live preview scores it on a real sheet (appraisal.template_preview)."""
    problems: list[str] = []
    template = _template_from(organization, spec, problems)
    indicators = {i.code: i for i in Indicator.objects.filter(is_active=True)}
    parts = [_part_from(organization, p, part_spec, indicators, problems)
             for p, part_spec in enumerate(spec.get("parts", []))]
    raters = [_rater_from(organization, r, rater_spec, problems) for r, rater_spec in enumerate(spec.get("raters", []))]
    problems += template_problems(template, parts, raters)
    return TemplateDraft(template, parts, raters, problems)


def _template_from(organization: Organization, spec: Mapping[str, Any], problems: list[str]) -> Template:
    previous = Template.objects.filter(code=spec.get("code", "")).order_by("-version").first()
    template = Template(
        organization=organization,
        code=str(spec.get("code", "")),
        version=previous.version + 1 if previous else 1,
        name=str(spec.get("name", "")),
        subject_kind=spec.get("subject_kind", SubjectKind.PERSON),
        position=spec.get("position", ""),
        team_kind=spec.get("team_kind", ""),
        base_score=_decimal(spec.get("base_score", "100"), "base_score", problems),
        rounding=spec.get("rounding", Rounding.LINE),
    )
    _unit_share_into(template, spec, problems)
    if spec.get("department_type"):
        template.department_type = DepartmentType.objects.filter(code=spec["department_type"]).first()
        if template.department_type is None:
            problems.append(_("Unknown department type %(code)s.") % {"code": spec["department_type"]})
    template.applies_to = assignment_rules(spec.get("applies_to"), template, problems)
    _full_clean(template, problems, _("Template"))
    return template


def _unit_share_into(template: Template, spec: Mapping[str, Any], problems: list[str]) -> None:
    """The spec's unit share and unit, checked: a share between 0 and 1 of a person template, with the
    unit it reads."""
    share = _decimal(spec.get("unit_share") or "0", "unit_share", problems)
    unit = str(spec.get("unit") or "")
    template.unit_share, template.unit = share, unit
    if not 0 <= share <= 1:
        problems.append(_("The share of the unit's result must be between 0 and 1, not %(share)s.")
                        % {"share": spec.get("unit_share")})
    elif share and template.subject_kind != SubjectKind.PERSON:
        problems.append(_("Only a template for people can combine a unit's result."))
    elif share and unit not in UnitSource.values:
        problems.append(_("Say whose result the unit share reads: the person's department or team."))
    elif not share:
        template.unit = ""


# Rule keys, and the subject kinds each may be used for.
RULE_KEYS: dict[str, tuple[str, ...]] = {
    "people": (SubjectKind.PERSON,),
    "department": (SubjectKind.PERSON, SubjectKind.TEAM, SubjectKind.DEPARTMENT),
    "sub_departments": (SubjectKind.PERSON, SubjectKind.TEAM, SubjectKind.DEPARTMENT),
    "department_type": (SubjectKind.PERSON, SubjectKind.TEAM, SubjectKind.DEPARTMENT),
    "position": (SubjectKind.PERSON,),
    "team_kind": (SubjectKind.PERSON, SubjectKind.TEAM),
}


def assignment_rules(value: Any, template: Template, problems: list[str]) -> list[dict[str, Any]]:
    """``applies_to`` checked and normalised: a list of rules, each naming only known codes and keys
    that fit the template's subject kind. The codes are kept as written (departments, department
    types and people are looked up by code when sheets are generated)."""
    if value in (None, [], {}):
        return []
    if template.department_type is not None or template.position or template.team_kind:
        problems.append(_("Say who the template applies to either with applies_to or with department_type, "
                          "position and team_kind, not both."))
    rules = [value] if isinstance(value, Mapping) else value
    if not isinstance(rules, list) or not all(isinstance(rule, Mapping) for rule in rules):
        problems.append(_('applies_to must be a list of rules, each an object such as {"position": "head"}.'))
        return []
    normalised = [_rule(n, rule, template.subject_kind, problems) for n, rule in enumerate(rules, start=1)]
    _unknown_codes(normalised, problems)
    return normalised


def _rule(n: int, rule: Mapping[str, Any], kind: str, problems: list[str]) -> dict[str, Any]:
    where = _("applies_to rule %(n)s") % {"n": n}
    for key in rule:
        if key not in RULE_KEYS:
            problems.append(_("%(where)s: unknown key %(key)s; use %(keys)s.")
                            % {"where": where, "key": key, "keys": listed(RULE_KEYS)})
        elif kind not in RULE_KEYS[key]:
            problems.append(_("%(where)s: %(key)s does not apply to a template for %(kind)s.")
                            % {"where": where, "key": key, "kind": SubjectKind(kind).label})
    result: dict[str, Any] = {}
    people = rule.get("people")
    if people is not None:
        if not isinstance(people, list) or not people or not all(isinstance(p, str) and p for p in people):
            problems.append(_("%(where)s: people is a list of employee numbers.") % {"where": where})
        else:
            result["people"] = list(dict.fromkeys(people))
    for key in ("department", "department_type", "position", "team_kind"):
        if rule.get(key) not in (None, ""):
            result[key] = str(rule[key])
    if result.get("team_kind") not in (None, "team", "shift"):
        problems.append(_("%(where)s: team_kind is team or shift.") % {"where": where})
    if "department" in result:
        result["sub_departments"] = bool(rule.get("sub_departments", True))
    if not result:
        problems.append(_("%(where)s names nobody: give people, a department, a department type, a position or a "
                          "team kind.") % {"where": where})
    return result


def _unknown_codes(rules: list[dict[str, Any]], problems: list[str]) -> None:
    """Every code the rules name must exist (one query per kind of code named)."""
    lookups = (("people", Person.objects, "employee_no", _("Unknown employee number %(code)s in applies_to.")),
               ("department", Department.objects, "code", _("Unknown department %(code)s in applies_to.")),
               ("department_type", DepartmentType.objects, "code", _("Unknown department type %(code)s.")))
    for key, manager, field, message in lookups:
        named = {code for rule in rules for code in _as_list(rule.get(key))}
        if named:
            known = set(manager.filter(**{f"{field}__in": named}).values_list(field, flat=True))
            problems.extend(message % {"code": code} for code in sorted(named - known))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _part_from(organization: Organization, p: int, part_spec: Mapping[str, Any], indicators: Mapping[str, Indicator],
               problems: list[str]) -> tuple[TemplatePart, list[TemplateLine]]:
    part = TemplatePart(
        organization=organization, code=str(part_spec.get("code", "")), name=str(part_spec.get("name", "")),
        weight=_decimal(part_spec.get("weight"), f"parts[{p}].weight", problems),
        full_marks=_decimal(part_spec.get("full_marks", "100"), f"parts[{p}].full_marks", problems),
        cap_positive=bool(part_spec.get("cap_positive", False)), per_person=bool(part_spec.get("per_person", False)),
        sort_order=p,
    )
    lines = []
    for n, line_spec in enumerate(part_spec.get("lines", [])):
        indicator = indicators.get(line_spec.get("indicator", ""))
        if indicator is None:
            problems.append(_("Part %(part)s line %(line)s: unknown or inactive indicator %(code)s.")
                            % {"part": part.code, "line": n + 1, "code": line_spec.get("indicator")})
            continue
        lines.append(TemplateLine(
            organization=organization, indicator=indicator, sort_order=n,
            max_points=_decimal(line_spec.get("max_points"), f"{part.code}/{indicator.code}.max_points", problems),
            source=line_spec.get("source", LineSource.DATA), config_override=line_spec.get("config") or {},
        ))
    return part, lines


def _rater_from(organization: Organization, r: int, rater_spec: Mapping[str, Any],
                problems: list[str]) -> TemplateRater:
    rater = TemplateRater(
        organization=organization, role=rater_spec.get("role", ""),
        weight=_decimal(rater_spec.get("weight"), f"raters[{r}].weight", problems),
        missing_counts_as_zero=bool(rater_spec.get("missing_counts_as_zero", False)),
    )
    if rater_spec.get("group"):
        rater.group = ReviewGroup.objects.filter(code=rater_spec["group"]).first()
        if rater.group is None:
            problems.append(_("Unknown review group %(code)s.") % {"code": rater_spec["group"]})
    if rater_spec.get("department"):
        rater.department = Department.objects.filter(code=rater_spec["department"]).first()
        if rater.department is None:
            problems.append(_("Unknown department %(code)s.") % {"code": rater_spec["department"]})
    return rater


def _save_template(template: Template, parts: list[tuple[TemplatePart, list[TemplateLine]]],
                   raters: list[TemplateRater], *, acting_user: User | None) -> None:
    template._history_user = acting_user  # type: ignore[attr-defined]
    template.save()
    for part, lines in parts:
        part.template = template
        part.save()
        for line in lines:
            line.part = part
        TemplateLine.objects.bulk_create(lines)
    for rater in raters:
        rater.template = template
    TemplateRater.objects.bulk_create(raters)


def template_problems(template: Template, parts: list[tuple[TemplatePart, list[TemplateLine]]],
                      raters: list[TemplateRater]) -> list[str]:
    """Every reason the template cannot be used, in words HR can act on."""
    problems: list[str] = []
    if not parts:
        problems.append(_("A template needs at least one part."))
    total_weight = sum((part.weight for part, _lines in parts if part.weight is not None), Decimal("0"))
    if parts and total_weight != ONE:
        problems.append(_("Part weights add up to %(total)s, not 1.") % {"total": plain(total_weight)})
    codes = [part.code for part, _lines in parts]
    for code in {c for c in codes if codes.count(c) > 1}:
        problems.append(_("Part code %(code)s is used twice.") % {"code": code})
    rated = False
    for part, lines in parts:
        rated = _part_problems(part, lines, problems) or rated
    if rated and not raters:
        problems.append(_("Some lines are scored by raters, but the template names no raters."))
    if raters:
        rater_total = sum((r.weight for r in raters if r.weight is not None), Decimal("0"))
        if rater_total != ONE:
            problems.append(_("Rater weights add up to %(total)s, not 1.") % {"total": plain(rater_total)})
    roles = [r.role for r in raters]
    for role in roles:
        if role not in RaterRole.values:
            problems.append(_("Unknown rater role %(role)s.") % {"role": role})
        elif roles.count(role) > 1:
            problems.append(_("Rater role %(role)s is listed twice.") % {"role": role})
    if template.subject_kind != SubjectKind.PERSON and RaterRole.SELF in roles:
        problems.append(_("Only a person can assess themself; this template scores teams or departments."))
    if template.subject_kind == SubjectKind.PERSON and RaterRole.PEER_DEPARTMENTS in roles:
        problems.append(_("Peer departments score departments or teams, not people."))
    for rater in raters:
        if rater.role == RaterRole.GROUP and rater.group_id is None and rater.group is None:
            problems.append(_("A group rater needs the group's code."))
        if rater.role == RaterRole.SECOND_LINE and rater.department is None:
            problems.append(_("A second-line rater needs the department whose head rates."))
    return sorted(set(problems), key=problems.index)


def _part_problems(part: TemplatePart, lines: list[TemplateLine], problems: list[str]) -> bool:
    """Adds the part's problems to ``problems``; True when some of its lines are scored by raters."""
    rated = False
    if part.weight is not None and part.weight <= 0:
        problems.append(_("Part %(part)s: the weight must be above 0.") % {"part": part.code})
    if not lines and not part.per_person:  # a per-person part's lines come with each sheet
        problems.append(_("Part %(part)s has no lines.") % {"part": part.code})
        return False
    if part.per_person and (part.full_marks is None or part.full_marks <= 0):
        problems.append(_("Part %(part)s: a part with lines per sheet needs full marks above 0.")
                        % {"part": part.code})
    points = sum((line.max_points for line in lines if line.max_points is not None), Decimal("0"))
    # A per-person part is scaled to its full marks by each sheet's lines, so its own need not add up.
    if part.full_marks is not None and points != part.full_marks and not part.per_person:
        problems.append(_("Part %(part)s: its lines' full marks add up to %(points)s, not the part's %(full)s.")
                        % {"part": part.code, "points": plain(points), "full": plain(part.full_marks)})
    seen: set[int] = set()
    for line in lines:
        if line.indicator_id in seen:
            problems.append(_("Part %(part)s lists indicator %(code)s twice.")
                            % {"part": part.code, "code": line.indicator.code})
        seen.add(line.indicator_id)
        if line.source not in LineSource.values:
            problems.append(_("Part %(part)s, %(code)s: unknown source %(source)s.")
                            % {"part": part.code, "code": line.indicator.code, "source": line.source})
        rated = rated or line.source == LineSource.RATERS
        try:
            scoring.validate_config(line.indicator.method, line.effective_config())
        except scoring.ConfigError as error:
            problems.append(_("Part %(part)s, %(code)s: %(error)s")
                            % {"part": part.code, "code": line.indicator.code, "error": str(error)})
    return rated


def plain(value: Decimal) -> str:
    """90 rather than Decimal.normalize()'s 9E+1."""
    return format(value.normalize(), "f")


def _decimal(value: Any, what: str, problems: list[str]) -> Decimal:
    try:
        return to_decimal(value, what=what)
    except (TypeError, ValueError) as error:
        problems.append(str(error))
        return Decimal("0")


def _full_clean(instance: Any, problems: list[str], label: str) -> None:
    try:
        instance.full_clean(exclude=["organization"], validate_constraints=False)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            problems.extend(f"{label} {field}: {m}" for m in messages)
