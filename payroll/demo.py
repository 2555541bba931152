"""The payroll section of an organisation package: ``pay_policies``. Existing codes are left as
they are, so a second load changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from organizations.models import Organization
from payroll.models import PayPolicy
from payroll.services import save_pay_policy


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for spec in data.get("pay_policies", []):
        if not PayPolicy.objects.filter(code=spec["code"]).exists():
            fields = dict(spec, effective_from=date.fromisoformat(spec["effective_from"]))
            save_pay_policy(organization=organization, acting_user=None, **fields)
