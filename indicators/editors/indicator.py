"""The indicator editor: the indicator's own fields, its method's settings and rows, and the config
they make, checked by indicators.scoring.validate_config as the JSON path is.

Rows are Django formsets; adding or removing a row is a re-render of the posted form with one row
more or less (:func:`apply_action`), so nothing typed is lost and no script is needed but htmx.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.forms import BaseFormSet, formset_factory
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from indicators import scoring
from indicators.editors.errors import place_config_error
from indicators.editors.fields import style
from indicators.editors.methods import EDITOR_HELP, METHODS, Built, RowKind
from indicators.forms import METHOD_EXAMPLES, IndicatorForm
from indicators.models import Indicator

SETTINGS_PREFIX = "cfg"
MAX_ROWS = 50


class IndicatorDetailsForm(IndicatorForm):
    """The indicator's own fields; its configuration comes from the method's settings."""

    config = None  # type: ignore[assignment]

    class Meta(IndicatorForm.Meta):
        fields = [name for name in IndicatorForm.Meta.fields if name != "config"]

    def _post_clean(self) -> None:
        # The service checks the whole indicator (its configuration included) once the settings have
        # made the configuration; checking the stored row's configuration here would be beside the point.
        return


def apply_action(data: QueryDict, action: str) -> QueryDict:
    """The posted form with a row added ("add:bands") or removed ("remove:bands:2")."""
    copy = data.copy()
    pieces = action.split(":")
    prefix = pieces[1] if len(pieces) > 1 else ""
    total_key = f"{prefix}-TOTAL_FORMS"
    try:
        total = int(copy.get(total_key, ""))
    except ValueError:
        return copy
    if pieces[0] == "add" and total < MAX_ROWS:
        copy[total_key] = str(total + 1)
    elif pieces[0] == "remove" and len(pieces) == 3 and pieces[2].isdigit() and int(pieces[2]) < total:
        _remove_row(copy, prefix, int(pieces[2]), total)
    return copy


def _remove_row(data: QueryDict, prefix: str, index: int, total: int) -> None:
    fields = {key.split("-", 2)[2] for key in data if key.startswith(f"{prefix}-") and key.count("-") >= 2}
    for row in range(index, total):
        for name in fields:
            later = data.getlist(f"{prefix}-{row + 1}-{name}") if row + 1 < total else []
            if later:
                data.setlist(f"{prefix}-{row}-{name}", later)
            else:
                data.pop(f"{prefix}-{row}-{name}", None)
    data[f"{prefix}-TOTAL_FORMS"] = str(total - 1)
    initial = int(data.get(f"{prefix}-INITIAL_FORMS", "0") or 0)
    data[f"{prefix}-INITIAL_FORMS"] = str(min(initial, total - 1))


def _row_filled(cleaned: Mapping[str, Any]) -> bool:
    return any(value not in (None, "") for value in cleaned.values())


class IndicatorEditor:
    """Everything the structured editor posts, and the config it makes."""

    def __init__(self, data: QueryDict | None = None, *, instance: Indicator | None = None,
                 action: str = "") -> None:
        if data is not None and action:
            data = apply_action(data, action)
        self.data = data
        self.instance = instance
        self.details = IndicatorDetailsForm(data, instance=instance) if instance else IndicatorDetailsForm(data)
        self.method = self._method(data, instance)
        method_forms = METHODS[self.method]
        self.kinds: tuple[RowKind, ...] = method_forms.rows
        self.config: dict[str, Any] | None = None
        self.built: Built | None = None
        self.row_errors: dict[str, list[str]] = {kind.prefix: [] for kind in self.kinds}
        if data is None or data.get("shown_method") != self.method:
            # A new page, or the method was just changed: start from the stored or example settings.
            stored = instance.config if instance is not None and instance.method == self.method else None
            settings, rows = method_forms.initial(stored if stored is not None else METHOD_EXAMPLES[self.method])
            self.settings = method_forms.settings(prefix=SETTINGS_PREFIX, initial=settings)
            self.rows = {kind.prefix: _formset(kind)(prefix=kind.prefix, initial=rows.get(kind.prefix, []))
                         for kind in self.kinds}
        else:
            self.settings = method_forms.settings(data, prefix=SETTINGS_PREFIX)
            self.rows = {kind.prefix: _formset(kind)(data, prefix=kind.prefix) for kind in self.kinds}
        style(self.settings)
        for formset in self.rows.values():
            styled(formset)

    @staticmethod
    def _method(data: QueryDict | None, instance: Indicator | None) -> str:
        method = data.get("method") if data is not None else (instance.method if instance else None)
        return method if method in METHODS else scoring.Method.COMPLETION

    def url(self, name: str) -> str:
        """The editor's htmx routes, of this indicator or of a new one."""
        if self.instance is not None and self.instance.pk is not None:
            return reverse(f"indicator-editor-{name}", args=[self.instance.pk])
        return reverse(f"indicator-editor-{name}-new")

    @property
    def settings_url(self) -> str:
        return self.url("settings")

    @property
    def preview_url(self) -> str:
        return self.url("preview")

    @property
    def method_help(self) -> str:
        return str(EDITOR_HELP.get(self.method, ""))

    def row_sets(self) -> list[tuple[RowKind, BaseFormSet, list[str]]]:
        return [(kind, self.rows[kind.prefix], self.row_errors[kind.prefix]) for kind in self.kinds]

    def build(self) -> bool:
        """Makes ``config`` from the settings and rows and checks it; False with the errors placed."""
        if not self.settings.is_bound or not self.settings.is_valid():
            return False
        if not all(formset.is_valid() for formset in self.rows.values()):
            return False
        rows = {prefix: [(i, form.cleaned_data) for i, form in enumerate(formset.forms)
                         if _row_filled(form.cleaned_data)] for prefix, formset in self.rows.items()}
        self.built = METHODS[self.method].build(self.settings.cleaned_data, rows)
        for prefix, index in self.built.orphans:
            self.rows[prefix].forms[index].add_error("item", _("No item above has this code."))
        if self.built.orphans:
            return False
        try:
            self.config = scoring.validate_config(self.method, self.built.config)
        except scoring.ConfigError as error:
            place_config_error(self, error)
            return False
        return True

    def is_valid(self) -> bool:
        details = self.details.is_valid()
        return self.build() and details

    def values(self) -> dict[str, Any]:
        """What the services take: the indicator's fields and the checked config."""
        assert self.config is not None
        return {**self.details.values(), "config": self.config}


_FORMSETS: dict[str, type[BaseFormSet]] = {}


def _formset(kind: RowKind) -> type[BaseFormSet]:
    if kind.prefix not in _FORMSETS:
        _FORMSETS[kind.prefix] = formset_factory(kind.form, extra=0, max_num=MAX_ROWS, validate_max=True)
    return _FORMSETS[kind.prefix]


def styled(formset: BaseFormSet) -> BaseFormSet:
    """Row fields sit in table cells under a header: each keeps its label for screen readers."""
    for form in formset.forms:
        style(form)
        for bound in form:
            bound.field.widget.attrs.setdefault("aria-label", str(bound.label))
    return formset
