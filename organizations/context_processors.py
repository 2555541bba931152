from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from organizations.context import memberships_of
from organizations.navigation import navigation_for


def organization(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {"tenant": None, "nav_items": [], "switchable_memberships": []}
    return {
        "tenant": tenant,
        "nav_items": navigation_for(tenant),
        "switchable_memberships": memberships_of(request.user.pk) if request.user.is_authenticated else [],
    }
