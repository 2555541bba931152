"""What the editor's templates show of a component: each field with its name, id, label, value,
choices and errors, and each table's rows of cells, made from the kind's declaration (specs) so
that the templates only loop. Labels are the declarations' zh-Hans msgids; no config key is shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from payroll.policy_editor.draft import ComponentDraft, Rows, safe
from payroll.policy_editor.specs import (
    ANY_NAME,
    BOOL_CHOICES,
    CONDITION,
    FORMULA,
    FORMULAS,
    KIND_CHOICES,
    NUMBER,
    NUMBER_NAME,
    ROUNDING_CHOICES,
    TEXT_NAME,
    Setting,
    takes_factor,
)

CHOOSE = pgettext_lazy("empty choice of a select", "Choose")
DATALISTS = {NUMBER_NAME: "pay-number-names", TEXT_NAME: "pay-text-names", ANY_NAME: "pay-any-names"}
ENVELOPE_FIELDS = (
    Setting(
        "code",
        pgettext_lazy("pay policy editor", "code"),
        "text",
        required=True,
        help=_("Letters, digits and _; later formulas use it."),
    ),
    Setting("name", _("name on the pay slip")),
    Setting("rounding", _("rounding"), "choice", choices=tuple(ROUNDING_CHOICES)),
    Setting("places", _("decimal places"), NUMBER, help=_("2 for money; up to 6 for a coefficient not paid.")),
    Setting(
        "pays",
        _("paid on the slip"),
        "choice",
        choices=tuple(BOOL_CHOICES),
        help=_("No: an intermediate amount later components use."),
    ),
    Setting("when", _("applies when"), CONDITION, help=_("Empty: always. Otherwise the amount is 0.")),
    Setting("factor", pgettext_lazy("pay policy editor", "multiplied by"), FORMULA, help=_("Empty: 1.")),
)


@dataclass(frozen=True)
class Choice:
    value: str
    label: Any
    selected: bool


@dataclass(frozen=True)
class FieldView:
    name: str
    label: Any
    value: str
    errors: list[str]
    help: Any = ""
    required: bool = False
    choices: tuple[Choice, ...] = ()
    datalist: str = ""
    formula: bool = False

    @property
    def id(self) -> str:
        return f"id_{self.name}"

    @property
    def is_select(self) -> bool:
        return bool(self.choices)


@dataclass(frozen=True)
class RowView:
    index: int
    cells: list[FieldView]
    errors: list[str]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or any(cell.errors for cell in self.cells))


@dataclass(frozen=True)
class TableView:
    key: str  # as in the field names and the row actions
    title: Any
    columns: list[Any]
    rows: list[RowView]
    errors: list[str]


@dataclass
class ComponentView:
    index: int
    draft: ComponentDraft
    envelope: list[FieldView] = field(default_factory=list)
    settings: list[FieldView] = field(default_factory=list)
    tables: list[TableView] = field(default_factory=list)

    @property
    def kind_label(self) -> Any:
        spec = self.draft.spec
        return spec.label if spec is not None else ""


def _choices(options: Any, value: str, *, blank: bool = False) -> tuple[Choice, ...]:
    pairs = [("", CHOOSE), *options] if blank else list(options)
    return tuple(Choice(key, label, key == value) for key, label in pairs)


def _field(name: str, setting: Setting, value: str, errors: list[str]) -> FieldView:
    return FieldView(
        name=name,
        label=setting.label,
        value=value,
        errors=errors,
        help=setting.help,
        required=setting.required,
        choices=_choices(setting.choices, value) if setting.choices else (),
        datalist=DATALISTS.get(setting.type, ""),
        formula=setting.is_formula,
    )


def _table(n: int, rows: Rows) -> TableView:
    table = rows.table
    prefix = f"c{n}-t-{safe(table.key)}"
    views = []
    for index, row in enumerate(rows.rows):
        errors = rows.cell_errors.get(index, {})
        cells = [
            FieldView(
                name=f"{prefix}-{index}-{column.key}",
                label=column.label,
                value=row.get(column.key) or "",
                errors=errors.get(column.key, []),
                datalist=DATALISTS.get(column.type, ""),
                formula=column.type in (FORMULA, CONDITION, FORMULAS),
            )
            for column in table.columns
        ]
        views.append(RowView(index, cells, errors.get("", [])))
    return TableView(safe(table.key), table.label, [column.label for column in table.columns], views, rows.errors)


def component_view(n: int, draft: ComponentDraft) -> ComponentView:
    view = ComponentView(n, draft)
    for setting in ENVELOPE_FIELDS:
        if setting.key == "factor" and not takes_factor(draft.kind):
            continue
        view.envelope.append(
            _field(
                f"c{n}-{setting.key}", setting, draft.envelope.get(setting.key) or "", draft.errors.get(setting.key, [])
            )
        )
    kind = draft.kind
    view.envelope.insert(
        2,
        FieldView(
            name=f"c{n}-kind",
            label=pgettext_lazy("pay policy editor", "kind"),
            value=kind,
            errors=draft.errors.get("kind", []),
            required=True,
            choices=_choices(KIND_CHOICES, kind, blank=True),
        ),
    )
    spec = draft.spec
    if spec is not None:
        view.settings = [
            _field(f"c{n}-s-{safe(s.key)}", s, draft.settings.get(s.key) or "", draft.errors.get(s.key, []))
            for s in spec.settings
        ]
        view.tables = [_table(n, draft.tables[t.key]) for t in spec.tables]
    view.tables.append(_table(n, draft.signals))
    return view
