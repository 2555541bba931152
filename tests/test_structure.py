"""Structural guarantees of tenancy, checked over every model so a new model cannot slip through."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django_scopes import ScopeError

from organizations.models import Organization

PROJECT_APPS = {"organizations", "indicators", "appraisal", "payroll"}
# Models of our apps that are deliberately not tenant-owned, with the reason.
NOT_TENANT_OWNED = {
    "organizations.User": "a sign-in identity may belong to several organisations",
    "organizations.Organization": "it is the tenant",
    "organizations.HistoricalOrganization": "audit trail of the tenant itself",
}


def _project_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def _tenant_models() -> list[type[models.Model]]:
    return [m for m in _project_models() if m._meta.label not in NOT_TENANT_OWNED]


def test_it_finds_the_models_it_checks():
    # Guards the walk itself: if the discovery broke, every check below would pass vacuously.
    labels = {m._meta.label for m in _tenant_models()}
    assert {"organizations.Person", "organizations.HistoricalPerson", "organizations.Department"} <= labels


@pytest.mark.parametrize("model", _tenant_models(), ids=lambda m: m._meta.label)
def test_it_gives_every_tenant_model_the_tenant_foreign_key(model):
    field = model._meta.get_field("organization")
    assert field.related_model is Organization


@pytest.mark.parametrize("model", _tenant_models(), ids=lambda m: m._meta.label)
def test_it_gives_every_tenant_model_a_scoped_default_manager(model):
    with pytest.raises(ScopeError):
        list(model._default_manager.all())


@pytest.mark.parametrize("model", _tenant_models(), ids=lambda m: m._meta.label)
def test_it_includes_the_tenant_in_every_unique_constraint(model):
    meta = model._meta
    for constraint in meta.constraints:
        if isinstance(constraint, models.UniqueConstraint):
            assert "organization" in constraint.fields, f"{meta.label}: {constraint.name} lacks organization"
    for group in meta.unique_together:
        assert "organization" in group, f"{meta.label}: unique_together {group} lacks organization"
    for field in meta.local_fields:
        if field.unique and not field.primary_key:
            # History rows copy the primary key without uniqueness; any other unique column is global.
            pytest.fail(f"{meta.label}.{field.name} is unique across tenants")


def test_it_knows_every_model_outside_the_tenancy():
    labels = {m._meta.label for m in _project_models()}
    assert set(NOT_TENANT_OWNED) <= labels
