"""The tenancy base every tenant-owned model inherits.

A tenant-owned model carries the organisation FK and a django-scopes ScopedManager, so a query
made outside ``scope(organization=...)`` raises ScopeError instead of reading every tenant's
rows. The scope is entered once per request (OrganizationScopeMiddleware) and once per task
(TenantTask); code that must cross tenants says so with ``scopes_disabled()``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django_scopes import ScopedManager
from simple_history.manager import HistoricalQuerySet, HistoryManager
from simple_history.models import HistoricalRecords

TENANT_FIELD = "organization"


def tenant_manager() -> Any:
    return ScopedManager(organization=TENANT_FIELD)


class TenantOwned(models.Model):
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="organization",
    )

    objects = tenant_manager()

    class Meta:
        abstract = True


class TenantHistoryBase(models.Model):
    """Base for django-simple-history's generated models: the audit trail is scoped too."""

    objects = ScopedManager(
        _manager_class=models.Manager.from_queryset(HistoricalQuerySet), organization=TENANT_FIELD
    )

    class Meta:
        abstract = True


class ScopedHistoryManager(HistoryManager):
    """``Model.history`` reads through the historical model's scoped manager, so the audit trail
    of a tenant-owned model is as scoped as the model itself."""

    def get_super_queryset(self) -> Any:
        return self.model.objects.get_queryset()


def TenantHistory(**kwargs: Any) -> HistoricalRecords:
    """django-simple-history for a tenant-owned model: scoped historical rows, scoped ``.history``."""
    return HistoricalRecords(bases=[TenantHistoryBase], history_manager=ScopedHistoryManager, **kwargs)


# Rows per bulk UPDATE. Django's bulk_update writes one CASE WHEN per field over the whole batch,
# which PostgreSQL evaluates per row: 5,000 rows in one statement took 8.9 s, in batches of 500
# a fraction of that (figures in the README, from `manage.py benchmark`).
BULK_BATCH_SIZE = 500
