"""The template editor's live preview (appraisal.template_preview): the panel beside the editor,
registered in indicators.editors.panels (the editor lives a floor below and knows it only by its
template), and the htmx answer with the draft's score on the chosen sheet. Nothing is saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from appraisal import selectors, template_preview
from indicators.editors.panels import EditorPanel
from indicators.editors.template import TemplateEditor
from indicators.models import Template
from indicators.views import require_change
from organizations.access import get_visible_or_404
from organizations.context import TenantContext
from organizations.views import tenant_page

SHEET_FIELD = "preview_sheet"


def panel_context(request: HttpRequest, template: Template | None) -> Mapping[str, Any]:
    """The sheets offered (the first one chosen) and where the panel asks for the preview."""
    choices = template_preview.sheet_choices(template)
    first = next((sheets[0][0] for _period, sheets in choices if sheets), None)
    url = reverse("template-editor-preview", args=[template.pk]) if template else reverse(
        "template-editor-preview-new")
    # A stored template is previewed as soon as the page opens; a new one once HR edits it (until
    # then the draft is empty and the preview would only list what is missing).
    return {"choices": choices, "chosen": first, "url": url, "field": SHEET_FIELD, "load": template is not None}


PANEL = EditorPanel(editor="template", name="preview", template_name="appraisal/_template_preview.html",
                    context=panel_context)


@tenant_page("template")
@require_POST
def template_editor_preview(request: HttpRequest, tenant: TenantContext, pk: int | None = None) -> HttpResponse:
    """The draft (the editor's form as posted) applied to the chosen sheet's data (htmx, as HR edits)."""
    require_change(tenant, "template")
    if pk is not None:
        get_visible_or_404(Template.objects.all(), pk=pk)
    chosen = request.POST.get(SHEET_FIELD, "")
    context: dict[str, Any] = {"problems": [], "result": None}
    if chosen.isdigit():
        # Another organisation's sheet is not in this one's scope: 404, as any page.
        sheet = get_visible_or_404(selectors.visible_sheets(tenant).select_related(
            "period", "person", "team", "department"), pk=int(chosen))
        draft, context["problems"] = template_preview.draft_from(TemplateEditor(request.POST),
                                                                 organization=tenant.organization)
        if draft is not None:
            context["result"] = template_preview.preview(sheet, draft)
    return render(request, "appraisal/_template_preview_result.html", context)
