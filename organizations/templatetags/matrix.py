"""The permission matrix in templates: ``{% if tenant|may:"person:change" %}`` shows a button only to
those the matrix lets do it (organizations.permissions.can), so a page never offers a 403."""

from __future__ import annotations

from django import template

from organizations.context import TenantContext
from organizations.permissions import Action, can

register = template.Library()


@register.filter
def may(tenant: TenantContext | None, right: str) -> bool:
    resource, _, action = right.partition(":")
    checked: Action = "view" if action == "view" else "change"
    return can(tenant, resource, checked)
