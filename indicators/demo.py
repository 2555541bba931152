"""The indicators' sections of an organisation package: ``indicators`` (with their benchmarks) and
``templates``. Existing codes are left as they are, so a second load changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indicators.models import Indicator, Template
from indicators.services import add_benchmark, build_template, create_indicator
from organizations.models import Organization


def load(organization: Organization, data: Mapping[str, Any]) -> None:
    for spec in data.get("indicators", []):
        if Indicator.objects.filter(code=spec["code"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k != "benchmarks"}
        indicator = create_indicator(organization=organization, acting_user=None, **fields)
        for benchmark in spec.get("benchmarks", []):
            add_benchmark(indicator=indicator, acting_user=None, **benchmark)
    for spec in data.get("templates", []):
        if not Template.objects.filter(code=spec["code"]).exists():
            build_template(organization=organization, acting_user=None, spec=spec)
