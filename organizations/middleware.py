"""Enters the tenant scope once per request.

A browser request takes the organisation chosen in the session (a user may belong to several and
switch); an API request with a token takes the token's membership. Everything downstream (views,
admin, DRF, templates) runs inside ``scope(organization=...)``; a request with no organisation
runs with no scope, so any tenant query it makes raises instead of leaking.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from organizations.context import TenantContext, build_context, memberships_of
from organizations.models import ApiToken, Membership

SESSION_KEY = "organization_id"


def _token_from_header(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    for keyword in ("Token ", "Bearer "):
        if header.startswith(keyword):
            return header[len(keyword):].strip()
    return None


class OrganizationScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.api_token = None  # type: ignore[attr-defined]
        membership: Membership | None

        key = _token_from_header(request)
        if key is not None:
            with scopes_disabled():  # the key alone tells us the tenant
                token = (
                    ApiToken.objects.filter(digest=ApiToken.hash_key(key), revoked_at__isnull=True)
                    .select_related("membership__user", "membership__organization")
                    .first()
                )
            # The same refusals as the API's authentication class: a token also opens pages, so a
            # deactivated user or an ended membership must lose both at once.
            if token is None or not token.membership.is_active or not token.membership.organization.is_active \
                    or not token.membership.user.is_active:
                return JsonResponse({"detail": _("Invalid or revoked API token.")}, status=401)
            with scopes_disabled():
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
            membership = token.membership
            request.user = membership.user
            request.api_token = token  # type: ignore[attr-defined]
        elif request.user.is_authenticated:
            membership = self._session_membership(request)
        else:
            membership = None

        if membership is None:
            return self.get_response(request)
        with scope(organization=membership.organization):
            request.tenant = build_context(membership)  # type: ignore[attr-defined]
            return self.get_response(request)

    @staticmethod
    def _session_membership(request: HttpRequest) -> Membership | None:
        memberships = memberships_of(request.user.pk)  # type: ignore[arg-type]
        # The organisation switcher of every page lists them too (context_processors.organization).
        request.memberships = memberships  # type: ignore[attr-defined]
        if not memberships:
            return None
        wanted = request.session.get(SESSION_KEY)
        for membership in memberships:
            if membership.organization_id == wanted:
                return membership
        # First visit, or the chosen organisation was removed: fall back to the first one.
        request.session[SESSION_KEY] = memberships[0].organization_id
        return memberships[0]


def tenant_of(request: HttpRequest) -> TenantContext | None:
    return getattr(request, "tenant", None)
