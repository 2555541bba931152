"""The grading policies' pages: the list, the structured editor (fields and rows, with a preview
on a closed period) and its "JSON (advanced)" tab. Both tabs save through
appraisal.grading_editor.editor.save_policy → appraisal.policies.save_grading_policy: one check."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appraisal import selectors
from appraisal.grading_editor import advanced
from appraisal.grading_editor import preview as previews
from appraisal.grading_editor.editor import PolicyEditor, save_policy
from appraisal.models import GradingPolicy, Period
from appraisal.policies import PolicyRejected
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.models import User
from organizations.permissions import can
from organizations.views import tenant_page


def _require_change(tenant: TenantContext) -> None:
    if not can(tenant, "grading_policy", "change"):
        raise PermissionDenied


def _policy(pk: int | None) -> GradingPolicy | None:
    return get_visible_or_404(GradingPolicy.objects.select_related("appeal_group"), pk=pk) if pk else None


def _saved(request: HttpRequest, policy: GradingPolicy, created: bool) -> HttpResponse:
    if created:
        messages.success(request, _("Grading policy %(code)s saved as version %(version)s.")
                         % {"code": policy.code, "version": policy.version})
    else:
        messages.info(request, _("Nothing changed: grading policy %(code)s stays at version %(version)s.")
                      % {"code": policy.code, "version": policy.version})
    return redirect("grading-policies")


@tenant_page("grading_policy")
def grading_policy_list(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    context = {"policies": selectors.grading_policies().order_by("code", "-version"),
               "can_change": can(tenant, "grading_policy", "change")}
    return render(request, "appraisal/grading_policies.html", context)


def _render(request: HttpRequest, editor: PolicyEditor, policy: GradingPolicy | None,
            status: int = 200) -> HttpResponse:
    context = {"editor": editor, "policy": policy, "periods": previews.closed_periods()}
    return render(request, "appraisal/grading_policy_editor.html", context, status=status)


@tenant_page("grading_policy")
@require_http_methods(["GET", "POST"])
def grading_policy_editor(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """A new policy, or the next version of policy ``pk`` starting from its fields and rows."""
    _require_change(tenant)
    policy = _policy(pk)
    if request.method != "POST":
        return _render(request, PolicyEditor(policy=policy), policy)
    editor = PolicyEditor(request.POST)
    values = editor.values()
    if values is not None:
        try:
            saved, created = save_policy(organization=tenant.organization, acting_user=cast(User, request.user),
                                         values=values)
        except PolicyRejected as rejected:
            editor.place(rejected.problems)
        else:
            return _saved(request, saved, created)
    return _render(request, editor, policy, status=400)


@tenant_page("grading_policy")
@require_POST
def grading_policy_editor_rows(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The rows re-rendered (htmx) with one added or removed."""
    _require_change(tenant)
    editor = PolicyEditor(request.POST, action=request.POST.get("editor_action", ""))
    response = render(request, "appraisal/_grading_policy_rows.html", {"editor": editor})
    response["HX-Trigger"] = "rows-changed"  # the preview follows the rows
    return response


@tenant_page("grading_policy")
@require_POST
def grading_policy_editor_preview(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The draft applied to the chosen closed period's scores (htmx, as HR types); nothing is saved."""
    _require_change(tenant)
    chosen = request.POST.get("preview_period", "")
    result = previews.Preview()
    if chosen.isdigit():
        period = get_visible_or_404(Period.objects.filter(results_at__isnull=False), pk=int(chosen))
        values = PolicyEditor(request.POST).values()
        result = (previews.draft_counts(period, values) if values is not None else
                  previews.Preview(period=period, error=_("Fix the fields marked in red to see the counts.")))
    return render(request, "appraisal/_grading_policy_preview.html", {"preview": result})


@tenant_page("grading_policy")
@require_http_methods(["GET", "POST"])
def grading_policy_json(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """The whole policy as JSON, for experts: the same service and checks as the editor."""
    _require_change(tenant)
    policy = _policy(pk)
    form = advanced.PolicyJsonForm(request.POST or None, initial={"policy": advanced.as_json(policy)})
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        values, problems = advanced.read(form.cleaned_data["policy"])
        if values is not None:
            try:
                saved, created = save_policy(organization=tenant.organization,
                                             acting_user=cast(User, request.user), values=values)
            except PolicyRejected as rejected:
                problems = advanced.flatten(rejected.problems)
            else:
                return _saved(request, saved, created)
    context = {"form": form, "problems": problems, "policy": policy}
    return render(request, "appraisal/grading_policy_json.html", context,
                  status=400 if request.method == "POST" else 200)
