"""The API tokens page (issue #17): HR lists the organisation's tokens, issues one for a member and
revokes one, in the browser instead of ``manage.py create_api_token``.

Who may: the matrix's "membership" resource, HR's alone, because a token is a sign-in of a member
(it acts with that member's roles). The key is shown once, on the page that answers the issuing
POST, and never stored anywhere: not in the session, not in a message, not in the audit trail;
only its digest is kept. That page is marked never to be cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.web import acting_user
from organizations import services
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import ApiToken
from organizations.permissions import require
from organizations.setup_forms import attach_errors
from organizations.token_forms import ApiTokenForm
from organizations.views import tenant_page

TOKENS_PER_PAGE = 50


@tenant_page("membership")
@require_safe
def api_tokens(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """Every token of the organisation, newest first, with whom it acts as. Three queries a page."""
    rows = ApiToken.objects.select_related("membership__user", "membership__person").order_by("-created_at", "-pk")
    page = Paginator(rows, TOKENS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "organizations/api_tokens.html", {"page": page})


@tenant_page("membership")
@require_http_methods(["GET", "POST"])
@never_cache
def api_token_new(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """A valid POST answers with the key itself (no redirect: a redirect would have to carry the key
    somewhere to show it after)."""
    require(tenant, "membership")
    form = ApiTokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    token, key = services.create_api_token(
                        membership=form.cleaned_data["membership"], name=form.cleaned_data["name"],
                        acting_user=acting_user(request))
            except ValidationError as error:
                attach_errors(form, error)
            else:
                return render(request, "organizations/api_token_created.html", {"token": token, "key": key})
        status = 400
    context = {"form": form, "title": _("New API token"), "back": reverse("api-tokens")}
    return render(request, "organizations/setup_form.html", context, status=status)


@tenant_page("membership")
@require_POST
def api_token_revoke(request: HttpRequest, tenant: TenantContext, pk: int) -> HttpResponse:
    token = get_visible_or_404(ApiToken.objects.all(), pk=pk)
    require(tenant, "membership")
    if token.revoked_at is not None:
        messages.info(request, _("API token %(name)s was already revoked.") % {"name": token.name})
    else:
        services.revoke_api_token(token=token, acting_user=acting_user(request))
        messages.success(request, _("API token %(name)s revoked: requests with its key are refused from now on.")
                         % {"name": token.name})
    return redirect("api-tokens")
