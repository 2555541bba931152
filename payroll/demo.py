"""The payroll section of an organisation package: ``pay_policies`` (the arguments of
payroll.services.save_pay_policy; the department type by code, dates as YYYY-MM-DD). Existing
codes are left as they are, so a second load changes nothing. ``dump`` writes the policies back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from organizations.models import DepartmentType, Organization
from payroll.models import PayPolicy
from payroll.services import save_pay_policy


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for spec in data.get("pay_policies", []):
        if PayPolicy.objects.filter(code=spec["code"]).exists():
            continue
        fields = dict(spec, effective_from=date.fromisoformat(spec["effective_from"]))
        if spec.get("effective_to"):
            fields["effective_to"] = date.fromisoformat(spec["effective_to"])
        if spec.get("department_type"):
            fields["department_type"] = DepartmentType.objects.get(code=spec["department_type"])
        save_pay_policy(organization=organization, acting_user=None, **fields)


def dump(organization: Organization) -> dict[str, Any]:
    latest: dict[str, PayPolicy] = {}
    for policy in PayPolicy.objects.select_related("department_type").order_by("code", "version"):
        latest[policy.code] = policy
    policies = []
    for policy in latest.values():
        spec: dict[str, Any] = {"code": policy.code, "name": policy.name, "components": policy.components,
                                "effective_from": policy.effective_from.isoformat()}
        if policy.effective_to is not None:
            spec["effective_to"] = policy.effective_to.isoformat()
        if policy.department_type is not None:
            spec["department_type"] = policy.department_type.code
        if policy.inputs:
            spec["inputs"] = policy.inputs
        if policy.text_inputs:
            spec["text_inputs"] = policy.text_inputs
        if policy.period_kind:
            spec["period_kind"] = policy.period_kind
        if not policy.requires_grade:
            spec["requires_grade"] = False
        policies.append(spec)
    return {"pay_policies": policies}
