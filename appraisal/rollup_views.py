"""The roll-up page of a period (HR): which child periods make it, with their weights, and each of
its templates' share of them (appraisal.services.rollup). Weights must add up to 1; a refusal is
shown on the field at fault."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appraisal import selectors, services
from appraisal.models import Period, PeriodRollup
from appraisal.services import rollup
from core.web import acting_user
from indicators.models import Template
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import can
from organizations.views import tenant_page

ZERO = Decimal("0")


def candidates(period: Period) -> QuerySet[Period]:
    """The periods that may be children of ``period``: shorter ones within its dates, and any
    already declared."""
    within = Q(start__gte=period.start, end__lte=period.end) & ~Q(kind=period.kind)
    return (Period.objects.filter(within | Q(rollup_parents__parent=period)).exclude(pk=period.pk).distinct()
            .order_by("start", "code"))


def _number() -> forms.NumberInput:
    return forms.NumberInput(attrs={"class": "form-control", "step": "0.0001"})


class RollupForm(forms.Form):
    """One weight per candidate child period (empty: not a child) and one share per template."""

    def __init__(self, *args: Any, periods: list[Period], templates: list[Template],
                 weights: dict[int, Decimal], shares: dict[str, Decimal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.periods, self.templates = periods, templates
        for child in periods:
            name = child.code if child.name == child.code else f"{child.code} {child.name}"
            self.fields[f"weight_{child.pk}"] = forms.DecimalField(
                label=f"{name} · {child.get_state_display()}", required=False, min_value=ZERO,
                max_value=Decimal("1"), max_digits=5, decimal_places=4, initial=weights.get(child.pk), widget=_number())
        for template in templates:
            self.fields[f"share_{template.pk}"] = forms.DecimalField(
                label=f"{template.name}（{template.code}）", required=False, min_value=ZERO, max_value=Decimal("1"),
                max_digits=5, decimal_places=4, initial=shares.get(template.code), widget=_number())

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{child.pk}"] for child in self.periods]

    def share_fields(self) -> list[forms.BoundField]:
        return [self[f"share_{template.pk}"] for template in self.templates]

    def children(self) -> dict[Period, Decimal]:
        return {child: self.cleaned_data[f"weight_{child.pk}"] for child in self.periods
                if self.cleaned_data.get(f"weight_{child.pk}")}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        filled = [f"weight_{child.pk}" for child in self.periods if cleaned.get(f"weight_{child.pk}")]
        total = sum((cleaned[name] for name in filled), ZERO)
        if filled and total != Decimal("1"):
            self.add_error(filled[0], _("The weights of the child periods add up to %(total)s: they must add up "
                                        "to 1.") % {"total": format(total.normalize(), "f")})
        return cleaned


@tenant_page("period")
@require_http_methods(["GET", "POST"])
def period_rollup(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    period = get_visible_or_404(selectors.visible_periods(tenant), pk=pk)
    if not can(tenant, "period", "change"):
        raise PermissionDenied
    weights = dict(PeriodRollup.objects.filter(parent=period).values_list("child_id", "weight"))
    form = RollupForm(request.POST or None, periods=list(candidates(period)),
                      templates=list(period.templates.order_by("code")), weights=weights, shares=rollup.shares())
    if request.method == "POST":
        if form.is_valid() and _save(form, period, request):
            messages.success(request, _("The roll-up of %(code)s is saved.") % {"code": period.code})
            return redirect("period-detail", pk=period.pk)
        return render(request, "appraisal/period_rollup.html", {"period": period, "form": form}, status=400)
    return render(request, "appraisal/period_rollup.html", {"period": period, "form": form})


def _save(form: RollupForm, period: Period, request: HttpRequest) -> bool:
    """Saves the children and the shares together; a refusal goes on its field and saves nothing."""
    user = acting_user(request)
    try:
        with transaction.atomic():
            if form.children() != dict(rollup.children_of(period)):
                services.set_rollup(parent=period, children=form.children(), acting_user=user)
            for template in form.templates:
                share = form.cleaned_data.get(f"share_{template.pk}") or ZERO
                services.set_rollup_share(organization=period.organization, template_code=template.code,
                                          share=share, acting_user=user)
    except rollup.RollupRefused as refused:
        names = [f.html_name for f in form.weight_fields()] if refused.field == "weights" else []
        form.add_error(names[0] if names else None, str(refused))
        return False
    except services.IllegalTransition as refused:
        form.add_error(None, str(refused))
        return False
    return True
