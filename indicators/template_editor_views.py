"""The template editor's pages: parts, lines picked from the catalogue and raters as rows, with
running totals; saved through the same checks as the JSON page (indicators.views.save_template_spec)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from indicators.editors.panels import panels_for
from indicators.editors.template import TemplateEditor
from indicators.models import Template
from indicators.views import require_change, save_template_spec
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.views import tenant_page


def _render(request: HttpRequest, editor: TemplateEditor, template: Template | None, status: int = 200) -> HttpResponse:
    # Panels the floors above add beside the editor (appraisal: the live preview on a real sheet).
    context = {"editor": editor, "template": template, "panels": panels_for("template", request, template)}
    return render(request, "indicators/template_editor.html", context, status=status)


@tenant_page("template")
@require_http_methods(["GET", "POST"])
def template_editor(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """A new template, or a new version of template ``pk`` starting from its parts, lines and raters."""
    require_change(tenant, "template")
    template = get_visible_or_404(Template.objects.select_related("department_type"), pk=pk) if pk else None
    if request.method != "POST":
        return _render(request, TemplateEditor(template=template), template)
    editor = TemplateEditor(request.POST)
    spec = editor.spec()
    if spec is not None:
        saved, editor.problems = save_template_spec(request, tenant, spec)
        if saved is not None:
            return redirect("template-detail", pk=saved.pk)
    return _render(request, editor, template, status=400)


@tenant_page("template")
@require_POST
def template_editor_rows(request: HttpRequest, tenant: TenantContext) -> HttpResponse:
    """The rows re-rendered (htmx) with one added or removed, or only the running totals as HR types."""
    require_change(tenant, "template")
    editor = TemplateEditor(request.POST, action=request.POST.get("editor_action", ""))
    only_totals = request.POST.get("only") == "totals"
    if only_totals:
        return render(request, "indicators/_template_totals_list.html", {"editor": editor})
    response = render(request, "indicators/_template_rows.html", {"editor": editor})
    response["HX-Trigger"] = "editor-changed"  # a panel beside the editor (the preview) follows the new rows
    return response
