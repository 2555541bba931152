"""The appraisal sections of an organisation package: ``grading_policies`` (the arguments of
appraisal.policies.save_grading_policy; the appeal group by code), ``rollup_shares`` (each
year-end template's share of the child periods at an annual close, appraisal.services.rollup:
``[{"template": code, "share": "0.8"}]``) and ``periods`` (opened when the package says so; the
sheets come from the task sent on commit, eager in the demo; a period made of child periods lists
them with their weights, ``"rollup": [{"period": "2026-Q1", "weight": "0.25"}, …]``). Existing
codes are left as they are, so a second load changes nothing. ``dump`` writes the policies and the
shares back (an organisation's configuration, not its periods)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from appraisal import services
from appraisal.models import GradingPolicy, Period, RollupShare
from appraisal.periods import period_code
from appraisal.policies import save_grading_policy
from indicators.models import Template
from organizations.models import Organization, ReviewGroup


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for spec in data.get("grading_policies", []):
        if not GradingPolicy.objects.filter(code=spec["code"]).exists():
            fields = dict(spec)
            if "calibration_share" in fields:
                fields["calibration_share"] = Decimal(str(fields["calibration_share"]))
            if fields.get("appeal_group"):
                fields["appeal_group"] = ReviewGroup.objects.get(code=fields["appeal_group"])
            save_grading_policy(organization=organization, acting_user=None, **fields)
    for spec in data.get("rollup_shares", []):
        if not RollupShare.objects.filter(template_code=spec["template"]).exists():
            services.set_rollup_share(organization=organization, template_code=spec["template"],
                                      share=Decimal(str(spec["share"])), acting_user=None)
    for spec in data.get("periods", []):
        code = period_code(spec["kind"], spec["year"], spec["number"], spec.get("start_month", 1))
        if not Period.objects.filter(code=code).exists():
            _period(organization, spec)


def _period(organization: Organization, spec: Mapping[str, Any]) -> None:
    templates = [Template.objects.filter(code=code).order_by("-version").first() for code in spec["templates"]]
    policy = GradingPolicy.objects.filter(code=spec.get("grading_policy", "")).order_by("-version").first()
    period = services.create_period(
        organization=organization, acting_user=None, kind=spec["kind"], year=spec["year"],
        number=spec["number"], start_day=spec.get("start_day", 1), start_month=spec.get("start_month", 1),
        name=spec.get("name", ""),
        templates=[t for t in templates if t is not None], grading_policy=policy,
    )
    if spec.get("rollup"):
        services.set_rollup(parent=period, acting_user=None, children={
            Period.objects.get(code=child["period"]): Decimal(str(child["weight"])) for child in spec["rollup"]})
    if spec.get("open"):
        services.open_period(period=period, acting_user=None)


def dump(organization: Organization) -> dict[str, Any]:
    latest: dict[str, GradingPolicy] = {}
    for policy in GradingPolicy.objects.select_related("appeal_group").order_by("code", "version"):
        latest[policy.code] = policy
    policies = []
    for policy in latest.values():
        spec: dict[str, Any] = {
            "code": policy.code, "name": policy.name, "scale": policy.scale, "quotas": policy.quotas,
            "rounding": policy.rounding, "population": policy.population,
            "calibration_share": format(policy.calibration_share.normalize(), "f"),
            "status_grades": policy.status_grades, "rules": policy.rules,
            "untold_extension_days": policy.untold_extension_days}
        if policy.appeal_group is not None:
            spec["appeal_group"] = policy.appeal_group.code
        policies.append(spec)
    shares = [{"template": code, "share": format(share.normalize(), "f")}
              for code, share in RollupShare.objects.order_by("template_code").values_list("template_code", "share")]
    return {"grading_policies": policies, **({"rollup_shares": shares} if shares else {})}
