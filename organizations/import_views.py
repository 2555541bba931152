"""The Excel import page and the template download. Thin on purpose: the work is in organizations.importing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from organizations import importing
from organizations.context import TenantContext
from organizations.middleware import tenant_of
from organizations.permissions import Action, can

# Past this many the page says how many more there are; the API always returns them all.
MAX_ERRORS_SHOWN = 1000


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx, .xls or .ods)"))
    action = forms.ChoiceField(choices=[("dry_run", _("Dry run")), ("apply", _("Apply"))])


def _tenant_allowed(request: HttpRequest, action: Action) -> TenantContext | None:
    """The tenant if the user may import in it; None for a signed-in user in no organisation (like the
    other pages, they are sent home, which explains); 403 for a member without the right."""
    tenant = tenant_of(request)
    if tenant is not None and not can(tenant, "import", action):
        raise PermissionDenied
    return tenant


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    tenant = _tenant_allowed(request, "change")
    if tenant is None:
        return redirect("home")
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "errors": [], "summary": None, "applied": False, "action": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        context["action"] = form.cleaned_data["action"]
        status = _run(request, tenant, form, context)
    elif request.method == "POST":
        status = 400
    errors = context["errors"]
    context["errors_shown"] = errors[:MAX_ERRORS_SHOWN]
    context["errors_hidden"] = max(0, len(errors) - MAX_ERRORS_SHOWN)
    return render(request, "organizations/import.html", context, status=status)


def _run(request: HttpRequest, tenant: TenantContext, form: ImportForm, context: dict[str, Any]) -> int:
    """Runs the dry run or the import and fills the page's context; returns the status code."""
    upload = form.cleaned_data["file"]
    try:
        parsed = importing.parse_workbook(upload)
        if form.cleaned_data["action"] == "apply":
            result = importing.apply_import(
                organization=tenant.organization, parsed=parsed, acting_user=request.user  # type: ignore[arg-type]
            )
            context.update(summary=result.summary, applied=True)
            return 200
        plan = importing.validate_import(organization=tenant.organization, parsed=parsed)
    except importing.ImportRejected as rejected:
        context["errors"] = rejected.errors
        return 400
    # A dry run that finds problems is still a successful dry run: 200 with the list.
    context.update(errors=plan.errors, summary=plan.summary)
    return 200


def attachment_header(filename: str, ascii_fallback: str) -> str:
    """Content-Disposition for a non-ASCII file name: RFC 6266 with the RFC 5987 ``filename*``, and a
    plain ``filename`` for clients that know only that."""
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    tenant = _tenant_allowed(request, "view")
    if tenant is None:
        return redirect("home")
    content = importing.build_template(organization=tenant.organization)
    response = HttpResponse(content, content_type=importing.TEMPLATE_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(importing.TEMPLATE_FILENAME, importing.TEMPLATE_ASCII_FILENAME)
    # The pick list carries the organisation's department types: not for shared caches.
    response["Cache-Control"] = "private, no-store"
    return response
