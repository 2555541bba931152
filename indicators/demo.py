"""The indicators' sections of an organisation package: ``indicators`` (with their benchmarks; a
Class-II indicator names its Class-I ``parent`` by code) and ``templates`` (the spec of
indicators.services.build_template). Existing codes are left as they are, so a second load changes
nothing. ``dump`` writes the same sections back from an organisation, so a package round-trips."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from indicators.models import Benchmark, Indicator, Template
from indicators.services import add_benchmark, build_template, create_indicator
from organizations.models import Department, Organization, Person, Team

_INDICATOR_FIELDS = ("unit", "dimension", "direction", "evidence_required", "baseline_source", "description")


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for spec in data.get("indicators", []):
        if Indicator.objects.filter(code=spec["code"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k not in ("benchmarks", "parent")}
        if spec.get("parent"):
            fields["parent"] = Indicator.objects.get(code=spec["parent"])
        indicator = create_indicator(organization=organization, acting_user=None, **fields)
        for benchmark in spec.get("benchmarks", []):
            add_benchmark(indicator=indicator, acting_user=None, **_scoped(benchmark))
    for spec in data.get("templates", []):
        if not Template.objects.filter(code=spec["code"]).exists():
            build_template(organization=organization, acting_user=None, spec=spec)


def _scoped(benchmark: Mapping[str, Any]) -> dict[str, Any]:
    """A benchmark's department, team or person named by code (employee number for a person)."""
    fields = dict(benchmark)
    for key, model, code in (("department", Department, "code"), ("team", Team, "code"),
                             ("person", Person, "employee_no")):
        if fields.get(key):
            fields[key] = model.objects.get(**{code: fields[key]})
    return fields


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def dump(organization: Organization) -> dict[str, Any]:
    benchmarks: dict[int, list[dict[str, Any]]] = {}
    for b in Benchmark.objects.select_related("department", "team", "person").order_by("pk"):
        entry: dict[str, Any] = {"value": _number(b.value), "kind": b.kind}
        if b.months:
            entry["months"] = b.months
        for key, related, code in (("department", b.department, "code"), ("team", b.team, "code"),
                                   ("person", b.person, "employee_no")):
            if related is not None:
                entry[key] = getattr(related, code)
        for key in ("valid_from", "valid_to"):
            if getattr(b, key) is not None:
                entry[key] = getattr(b, key).isoformat()
        benchmarks.setdefault(b.indicator_id, []).append(entry)
    indicators = []
    for i in Indicator.objects.select_related("parent").order_by("code"):
        spec: dict[str, Any] = {"code": i.code, "name": i.name, "method": i.method, "config": i.config}
        spec.update({k: getattr(i, k) for k in _INDICATOR_FIELDS if getattr(i, k)})
        if i.parent is not None:
            spec["parent"] = i.parent.code
        if i.id in benchmarks:
            spec["benchmarks"] = benchmarks[i.id]
        indicators.append(spec)
    return {"indicators": _parents_first(indicators), "templates": [template_spec(t) for t in _latest_templates()]}


def _parents_first(indicators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(indicators)
    while pending:
        ready = [spec for spec in pending if spec.get("parent") in (None, *placed)]
        if not ready:  # a cycle cannot be saved, so this is only a guard
            ordered += pending
            break
        for spec in ready:
            ordered.append(spec)
            placed.add(spec["code"])
        pending = [spec for spec in pending if spec["code"] not in placed]
    return ordered


def _latest_templates() -> list[Template]:
    latest: dict[str, Template] = {}
    for template in Template.objects.filter(is_active=True).select_related("department_type").order_by("code",
                                                                                                       "version"):
        latest[template.code] = template
    return list(latest.values())


def template_spec(template: Template) -> dict[str, Any]:
    """What build_template needs to make ``template`` again."""
    spec: dict[str, Any] = {"code": template.code, "name": template.name, "subject_kind": template.subject_kind,
                            "base_score": _number(template.base_score), "rounding": template.rounding}
    if template.unit_share:
        spec.update({"unit_share": _number(template.unit_share), "unit": template.unit})
    if template.applies_to:
        spec["applies_to"] = template.applies_to
    else:
        if template.department_type is not None:
            spec["department_type"] = template.department_type.code
        spec.update({k: getattr(template, k) for k in ("position", "team_kind") if getattr(template, k)})
    spec["parts"] = [
        {"code": part.code, "name": part.name, "weight": _number(part.weight), "full_marks": _number(part.full_marks),
         "cap_positive": part.cap_positive, "per_person": part.per_person,
         "lines": [{"indicator": line.indicator.code, "max_points": _number(line.max_points), "source": line.source,
                    **({"config": line.config_override} if line.config_override else {})}
                   for line in part.lines.select_related("indicator").order_by("sort_order", "pk")]}
        for part in template.parts.order_by("sort_order", "pk")]
    spec["raters"] = [
        {"role": r.role, "weight": _number(r.weight), "missing_counts_as_zero": r.missing_counts_as_zero,
         **({"group": r.group.code} if r.group else {}), **({"department": r.department.code} if r.department else {})}
        for r in template.raters.select_related("group", "department").order_by("pk")]
    return spec
