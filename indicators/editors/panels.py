"""Panels shown beside a structured editor by the apps above indicators.

The template editor's live preview scores the draft on a real score sheet, and sheets live in the
appraisal app, a floor above: appraisal registers its panel here (from its AppConfig.ready()), and
the editor's page includes whatever is registered, knowing the panel only by its template.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class EditorPanel:
    """``template_name`` is included with ``panel`` set to what ``context`` returns for the request
    and the object being edited (None for a new one)."""

    editor: str  # "template"
    name: str
    template_name: str
    context: Callable[[HttpRequest, Any], Mapping[str, Any]]


@dataclass(frozen=True)
class ShownPanel:
    name: str
    template_name: str
    context: Mapping[str, Any]


_PANELS: dict[tuple[str, str], EditorPanel] = {}


def register_panel(panel: EditorPanel) -> None:
    _PANELS[(panel.editor, panel.name)] = panel


def panels_for(editor: str, request: HttpRequest, subject: Any) -> list[ShownPanel]:
    return [ShownPanel(panel.name, panel.template_name, panel.context(request, subject))
            for (kind, _name), panel in sorted(_PANELS.items()) if kind == editor]
