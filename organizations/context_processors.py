from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.web import once_per_request
from organizations.context import memberships_of
from organizations.models import Membership
from organizations.navigation import navigation_for


@once_per_request
def organization(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {"tenant": None, "nav_items": [], "switchable_memberships": []}
    return {
        "tenant": tenant,
        "nav_items": navigation_for(tenant),
        "switchable_memberships": _memberships(request),
    }


def _memberships(request: HttpRequest) -> list[Membership]:
    """The user's memberships as the middleware read them to choose the tenant, else read here."""
    if not request.user.is_authenticated:
        return []
    read: list[Membership] | None = getattr(request, "memberships", None)
    return read if read is not None else memberships_of(request.user.pk)  # type: ignore[arg-type]
