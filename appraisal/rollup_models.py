"""The roll-up's data (appraisal.services.rollup): which child periods make a period, with what
weights, and how much of a template's annual score comes from them.

Kept apart from appraisal.models (re-exported there) so that module stays readable."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantHistory, TenantOwned


class PeriodRollup(TenantOwned):
    """An annual period made of weighted quarters (S1-9, S1-4), or a quarter of months."""

    parent = models.ForeignKey("appraisal.Period", on_delete=models.CASCADE, related_name="rollup_children")
    child = models.ForeignKey("appraisal.Period", on_delete=models.PROTECT, related_name="rollup_parents")
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=4)

    history = TenantHistory()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "parent", "child"], name="uniq_period_rollup"),
            models.CheckConstraint(condition=~Q(parent=models.F("child")), name="period_rollup_not_self"),
        ]


class RollupShare(TenantOwned):
    """The share of the rolled-up child periods in the score of a sheet of this template, at the
    close of a period that has child periods: final = (1 − share) × the sheet's own score + share ×
    the children's weighted score. S1-4: 0.8 for everyone (80 % quarters, 20 % year-end); S1-9: 0.2
    for the managers' year-end template, 0.6 for the others'. No row (or 0): the sheet alone.

    Keyed by the template's code, not a version: a new version of the template keeps its share, and
    the share is the scheme's rule, not one period's (so an organisation package carries it)."""

    template_code = models.CharField(_("template code"), max_length=30)
    share = models.DecimalField(_("share of the child periods"), max_digits=5, decimal_places=4)

    history = TenantHistory()

    class Meta:
        verbose_name = _("roll-up share")
        verbose_name_plural = _("roll-up shares")
        constraints = [
            models.UniqueConstraint(fields=["organization", "template_code"], name="uniq_rollup_share_template"),
            models.CheckConstraint(condition=Q(share__gte=Decimal("0")) & Q(share__lte=Decimal("1")),
                                   name="rollup_share_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.template_code} {self.share}"
