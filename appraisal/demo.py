"""The appraisal sections of an organisation package: ``grading_policies`` and ``periods`` (opened
when the package says so; the sheets come from the task sent on commit, eager in the demo).
Existing codes are left as they are, so a second load changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appraisal import services
from appraisal.models import GradingPolicy, Period
from appraisal.periods import period_code
from appraisal.policies import save_grading_policy
from indicators.models import Template
from organizations.models import Organization


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for spec in data.get("grading_policies", []):
        if not GradingPolicy.objects.filter(code=spec["code"]).exists():
            save_grading_policy(organization=organization, acting_user=None, **spec)
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
    if spec.get("open"):
        services.open_period(period=period, acting_user=None)
