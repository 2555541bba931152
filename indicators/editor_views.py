"""The structured editors' pages: an indicator's settings as fields and rows, with a live preview
on a real sheet line, and a template's parts, lines and raters (indicators.template_editor_views).

The JSON pages in indicators.views stay as the advanced view; both build the same dict and go
through the same checks and services.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from indicators import services
from indicators.editors import preview
from indicators.editors.indicator import IndicatorEditor
from indicators.models import Indicator
from indicators.views import actor, add_validation_errors, require_change
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.views import tenant_page


def _render(request: HttpRequest, editor: IndicatorEditor, indicator: Indicator | None,
            status: int = 200) -> HttpResponse:
    context = {"editor": editor, "form": editor.details, "indicator": indicator,
               "preview": _preview(request, editor, indicator, build=False)}
    return render(request, "indicators/indicator_editor.html", context, status=status)


def _save(request: HttpRequest, tenant: TenantContext, editor: IndicatorEditor,
          indicator: Indicator | None) -> Indicator | None:
    """The indicator created or updated through the services, or None with the errors on the editor."""
    try:
        if indicator is None:
            return services.create_indicator(organization=tenant.organization, acting_user=actor(request),
                                             reason="", **editor.values())
        stored = Indicator.objects.get(pk=indicator.pk)
        return services.update_indicator(indicator=stored, acting_user=actor(request), **editor.values())
    except ValidationError as error:
        add_validation_errors(editor.details, error)
        return None


@tenant_page("indicator")
@require_http_methods(["GET", "POST"])
def indicator_editor(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    require_change(tenant, "indicator")
    indicator = get_visible_or_404(Indicator.objects.all(), pk=pk) if pk is not None else None
    if request.method != "POST":
        return _render(request, IndicatorEditor(instance=indicator), indicator)
    editor = IndicatorEditor(request.POST, instance=indicator)
    if editor.is_valid():
        saved = _save(request, tenant, editor, indicator)
        if saved is not None:
            text = _("Indicator %(code)s created.") if indicator is None else _("Indicator %(code)s saved.")
            messages.success(request, text % {"code": saved.code})
            return redirect("indicator-detail", pk=saved.pk)
    return _render(request, editor, indicator, status=400)


@tenant_page("indicator")
@require_POST
def indicator_editor_settings(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """The method's settings re-rendered (htmx): another method chosen, a row added or removed."""
    require_change(tenant, "indicator")
    indicator = get_visible_or_404(Indicator.objects.all(), pk=pk) if pk is not None else None
    editor = IndicatorEditor(request.POST, instance=indicator, action=request.POST.get("editor_action", ""))
    response = render(request, "indicators/_indicator_settings.html", {"editor": editor})
    response["HX-Trigger"] = "editor-changed"  # the preview follows the new settings
    return response


def _preview(request: HttpRequest, editor: IndicatorEditor, indicator: Indicator | None,
             *, build: bool) -> dict[str, object]:
    offered = preview.choices(indicator=indicator, method=editor.method)
    chosen = request.POST.get("sample_line", "") if request.method == "POST" else ""
    if not chosen and offered:
        chosen = str(offered[0][1][0][0])
    context: dict[str, object] = {"choices": offered, "chosen": chosen, "indicator": indicator}
    if not build or not chosen.isdigit():
        return context
    found = preview.sample(int(chosen))
    if found is None:
        return context
    if editor.build() and editor.config is not None:
        context["result"] = preview.score_draft(editor.method, editor.config, found,
                                                direction=str(editor.details["direction"].value() or ""))
    else:
        context["result"] = preview.Preview(found, error=_("Fix the settings marked in red to see the score."))
    return context


@tenant_page("indicator")
@require_POST
def indicator_editor_preview(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """The draft's score on the chosen sheet line (htmx, as HR types); nothing is saved."""
    require_change(tenant, "indicator")
    indicator = get_visible_or_404(Indicator.objects.all(), pk=pk) if pk is not None else None
    editor = IndicatorEditor(request.POST, instance=indicator)
    return render(request, "indicators/_indicator_preview_result.html",
                  {"preview": _preview(request, editor, indicator, build=True), "editor": editor})

