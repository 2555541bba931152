"""The roll-up of a period in the REST API (``/periods/<id>/rollup/``, an action of
appraisal.period_api.PeriodViewSet): read or replace the child periods with their weights and the
roll-up shares of the period's templates (appraisal.services.rollup). Weights not adding up to 1
are 400 on ``children``; a period that has its results is 409."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from appraisal import services
from appraisal.models import Period
from appraisal.services import rollup
from organizations.api import ScopedRelatedField
from organizations.models import User


class RollupChildSerializer(serializers.Serializer):
    period = ScopedRelatedField(Period, help_text=gettext_lazy("A child period's id."))
    weight = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal("0.0001"),
                                      max_value=Decimal("1"))


class RollupShareSerializer(serializers.Serializer):
    template_code = serializers.CharField(max_length=30)
    share = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal("0"), max_value=Decimal("1"),
                                     help_text=gettext_lazy("The share of the child periods in a sheet's score at "
                                                            "close: 0.8 = 80 % the child periods, 20 % the sheet."))


class RollupSerializer(serializers.Serializer):
    children = RollupChildSerializer(many=True)
    shares = RollupShareSerializer(many=True, required=False)


def current(period: Period) -> dict[str, Any]:
    """The roll-up as the API shows it: the children and the shares of the period's templates."""
    codes = list(period.templates.order_by("code").values_list("code", flat=True).distinct())
    known = rollup.shares()
    return {"children": [{"period": child, "weight": weight} for child, weight in rollup.children_of(period)],
            "shares": [{"template_code": code, "share": known.get(code, Decimal("0"))} for code in codes]}


def save(period: Period, data: dict[str, Any], *, acting_user: User | None) -> None:
    """Replaces the children and sets the given shares, all or nothing (RollupRefused,
    IllegalTransition)."""
    with transaction.atomic():
        services.set_rollup(parent=period, children={c["period"]: c["weight"] for c in data["children"]},
                            acting_user=acting_user)
        for share in data.get("shares", []):
            services.set_rollup_share(organization=period.organization, template_code=share["template_code"],
                                      share=share["share"], acting_user=acting_user)
