"""The pay policy editor's pages: a new policy or the next version of one as fields and rows
(payroll.policy_editor), the rows re-rendered as a component or a row is added or removed, the
check of one formula as it is typed, and the live preview of one person's pay under the draft.

Saving goes through payroll.services.save_pay_policy, as the JSON page (policy_views, kept as the
"advanced" page) does: one check for both, its refusal put on the field its path names. Rights as
the JSON page: the matrix's "pay_policy" to open, its change right to edit; another organisation's
policy or period is 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appraisal.models import Period
from core.web import acting_user
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.permissions import require
from organizations.views import tenant_page
from payroll import selectors, services
from payroll.models import PayPolicy
from payroll.policy_editor import names as offered_names
from payroll.policy_editor import preview as previews
from payroll.policy_editor.editor import PolicyEditor, unchanged
from payroll.policy_editor.widgets import component_view
from payroll.standard import organisation_names


def _base(pk: int | None) -> PayPolicy | None:
    """The latest version of the policy of ``pk`` (whichever version the link came from)."""
    if pk is None:
        return None
    policy = get_visible_or_404(selectors.pay_policies(), pk=pk)
    return selectors.policy_versions(policy.code).first() or policy


def _rows_context(editor: PolicyEditor, tenant: TenantContext) -> dict[str, Any]:
    return {"editor": editor,
            "components": [component_view(n, draft) for n, draft in enumerate(editor.components)],
            "names": offered_names.offered(organisation_names(tenant.organization.pk), editor.data, editor.components,
                                           None if editor.data is not None else _stored_inputs(editor.base))}


def _stored_inputs(base: PayPolicy | None) -> tuple[list[str], list[str]]:
    return (list(base.inputs or []), list(base.text_inputs or [])) if base is not None else ([], [])


def _render(request: HttpRequest, tenant: TenantContext, editor: PolicyEditor, status: int = 200) -> HttpResponse:
    context = {**_rows_context(editor, tenant), "base": editor.base, "periods": list(previews.periods())}
    return render(request, "payroll/pay_policy_editor.html", context, status=status)


@tenant_page("pay_policy")
@require_http_methods(["GET", "POST"])
def pay_policy_editor(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """A new policy, or (``pk``) the next version of its policy starting from the latest version."""
    base = _base(pk)
    require(tenant, "pay_policy")
    if request.method != "POST":
        return _render(request, tenant, PolicyEditor(base=base))
    editor = PolicyEditor(request.POST, base=base)
    values = editor.values()
    if values is not None and base is not None and unchanged(base, values, organisation_names(tenant.organization.pk)):
        messages.info(request, _("Nothing changed: pay policy %(code)s stays at version %(version)s.")
                      % {"code": base.code, "version": base.version})
        return redirect("pay-policy-detail", pk=base.pk)
    if values is not None:
        try:
            saved = services.save_pay_policy(organization=tenant.organization, acting_user=acting_user(request),
                                             **values)
        except services.PolicyRejected as rejected:
            editor.place(rejected.field, rejected.message)
        else:
            messages.success(request, _("Pay policy %(code)s version %(version)s saved.")
                             % {"code": saved.code, "version": saved.version})
            return redirect("pay-policy-detail", pk=saved.pk)
    return _render(request, tenant, editor, status=400)


def _posted_base(request: HttpRequest) -> PayPolicy | None:
    chosen = str(request.POST.get("editor_base", ""))
    return _base(int(chosen)) if chosen.isdigit() else None


@tenant_page("pay_policy")
@require_POST
def pay_policy_editor_rows(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The components re-rendered (htmx) with one added, removed, moved, or read with its new kind."""
    require(tenant, "pay_policy")
    editor = PolicyEditor(request.POST, base=_posted_base(request), action=str(request.POST.get("editor_action", "")))
    response = render(request, "payroll/_pay_policy_components.html", _rows_context(editor, tenant))
    response["HX-Trigger"] = "rows-changed"  # the preview follows the rows
    return response


@tenant_page("pay_policy")
@require_POST
def pay_policy_editor_check(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """One formula checked as it is typed (htmx): its problem in words, or that it reads."""
    require(tenant, "pay_policy")
    field = str(request.POST.get("check", ""))
    editor = PolicyEditor(request.POST)
    problem = offered_names.check_formula(field, request.POST, editor.components,
                                          organisation_names(tenant.organization.pk))
    context = {"problem": problem, "typed": bool(str(request.POST.get(field, "")).strip()),
               "known": offered_names.known(field)}
    return render(request, "payroll/_pay_policy_formula_check.html", context)


@tenant_page("pay_policy")
@require_POST
def pay_policy_editor_preview(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The draft's pay lines for one person of the chosen period (htmx, as HR edits); nothing is saved."""
    require(tenant, "pay_policy")
    chosen = str(request.POST.get("preview_period", ""))
    result = previews.Preview()
    if chosen.isdigit():
        period = get_visible_or_404(Period.objects.filter(results_at__isnull=False), pk=int(chosen))
        posted = str(request.POST.get("preview_person", ""))
        person = int(posted) if posted.isdigit() else None
        editor = PolicyEditor(request.POST, base=_posted_base(request))
        values = editor.values()
        if values is None:
            result = previews.Preview(period=period, people=previews.people(period, person),
                                      error=_("Complete the draft to see the pay: %(problem)s")
                                      % {"problem": editor.first_problem()})
        else:
            result = previews.preview(tenant.organization, period, person, values)
    return render(request, "payroll/_pay_policy_preview.html", {"preview": result})
