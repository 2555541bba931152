"""从方案创建 (issue #12): HR picks one of the fifteen seed schemes and gets a new organisation set up
as the scheme's package says, with themself as its HR admin; and downloads the current
organisation's configuration as such a package (the round trip the gallery is made of)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from organizations.context import TenantContext
from organizations.gallery import SchemeRefused, create_from_scheme, schemes
from organizations.middleware import SESSION_KEY
from organizations.models import User
from organizations.package_structure import PackageInvalid
from organizations.packages import export_package
from organizations.permissions import require
from organizations.views import tenant_page


class FromSchemeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name of the new organization"), max_length=100)
    slug = forms.CharField(label=gettext_lazy("short code"), max_length=50,
                           help_text=gettext_lazy("3 to 50 lowercase letters, digits and hyphens."))


def _prefix(scheme_id: str) -> str:
    return "scheme-" + scheme_id.lower()


@tenant_page("organization")
@require_http_methods(["GET", "POST"])
def schemes_page(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    require(tenant, "organization", "change")
    gallery = schemes()
    # One form per scheme on the page, each with its own prefix so that no two fields share an id.
    chosen = request.POST.get("scheme", "") if request.method == "POST" else ""
    posted = FromSchemeForm(request.POST, prefix=_prefix(chosen)) if request.method == "POST" else None
    if posted is not None and posted.is_valid():
        user = request.user
        assert isinstance(user, User)  # tenant_page: signed in
        try:
            organization = create_from_scheme(scheme_id=chosen, name=posted.cleaned_data["name"],
                                              slug=posted.cleaned_data["slug"].strip(), acting_user=user)
        except (SchemeRefused, PackageInvalid) as refused:
            posted.add_error(None, str(refused))
        else:
            request.session[SESSION_KEY] = organization.pk
            messages.success(request, _("%(name)s is set up from scheme %(scheme)s; you are its HR admin and are now "
                                        "working in it.") % {"name": organization.name, "scheme": chosen})
            return redirect("home")
    forms_by_scheme = {
        scheme.id: posted if posted is not None and chosen == scheme.id
        else FromSchemeForm(initial={"name": scheme.title}, prefix=_prefix(scheme.id))
        for scheme in gallery}
    return render(request, "organizations/schemes.html", {
        "rows": [(scheme, forms_by_scheme[scheme.id]) for scheme in gallery]},
        status=400 if posted is not None else 200)


@tenant_page("organization")
@require_safe
def export_configuration(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The organisation's configuration as a package (JSON), loadable with load_package or load_scheme."""
    require(tenant, "organization", "change")
    body = json.dumps(export_package(tenant.organization), ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{tenant.organization.slug}-package.json"'
    return response
