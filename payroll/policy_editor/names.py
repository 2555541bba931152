"""The names a component's formulas may use, offered beside the fields, and the check of one formula
as it is typed: the engine's own reading (core.formula through payroll.engine's Scope), so a name
the check accepts is one the save accepts.

A component may use the standard inputs (payroll.engine and payroll.standard: the period's, the
person's, the unit's and the sheet's facts, the standing parameters), the inputs the policy
declares, and the codes and signals of the components before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.http import QueryDict

from core.configs import ConfigError
from core.formula import Formula, FormulaError
from payroll.engine import STANDARD_NUMBERS, STANDARD_TEXTS
from payroll.engine.common import condition
from payroll.forms import parse_names
from payroll.labels import input_label
from payroll.policy_editor.draft import SIGNALS, ComponentDraft, safe
from payroll.policy_editor.specs import CONDITION, FORMULAS, spec_of
from payroll.standard import Names

_FIELD = re.compile(r"^c(?P<n>\d+)-(?:(?P<envelope>when|factor)|s-(?P<setting>\w+)"
                    r"|t-(?P<table>\w+?)-\d+-(?P<column>\w+))$")


@dataclass(frozen=True)
class Name:
    name: str
    label: str


@dataclass(frozen=True)
class Offered:
    """The names a policy's formulas may use: numbers, texts, and the components' codes in order."""

    numbers: tuple[Name, ...]
    texts: tuple[Name, ...]
    components: tuple[Name, ...]


def _declared(data: QueryDict | None, key: str) -> list[str]:
    if data is None:
        return []
    try:
        return parse_names(str(data.get(key, "")))
    except forms.ValidationError:
        return []


def _labelled(names: list[str]) -> tuple[Name, ...]:
    return tuple(Name(name, input_label(name)) for name in dict.fromkeys(names))


def offered(organisation: Names, data: QueryDict | None, drafts: list[ComponentDraft],
            declared: tuple[list[str], list[str]] | None = None) -> Offered:
    numbers, texts = declared if declared is not None else (_declared(data, "inputs"), _declared(data, "text_inputs"))
    components = []
    for draft in drafts:
        code = (draft.envelope.get("code") or "").strip()
        if code:
            components.append(Name(code, (draft.envelope.get("name") or "").strip() or code))
    return Offered(_labelled([*STANDARD_NUMBERS, *organisation.numbers, *numbers]),
                   _labelled([*STANDARD_TEXTS, *organisation.texts, *texts]), tuple(components))


def _kind_of_field(name: str, drafts: list[ComponentDraft]) -> tuple[int, str] | None:
    """(component index, field type) of a formula field's name, or None when it is no formula field."""
    found = _FIELD.match(name)
    if found is None or int(found["n"]) >= len(drafts):
        return None
    n = int(found["n"])
    if found["envelope"]:
        return n, CONDITION if found["envelope"] == "when" else "formula"
    spec = spec_of(drafts[n].kind)
    if found["setting"]:
        settings = {safe(s.key): s for s in spec.settings} if spec else {}
        setting = settings.get(found["setting"])
        return (n, setting.type) if setting is not None and setting.is_formula else None
    tables = {safe(t.key): t for t in spec.tables} if spec else {}
    tables["signals"] = SIGNALS
    table = tables.get(found["table"] or "")
    column = next((c for c in table.columns if c.key == found["column"]), None) if table else None
    return (n, column.type) if column is not None and column.type in ("formula", CONDITION, FORMULAS) else None


def check_formula(field: str, data: QueryDict, drafts: list[ComponentDraft], organisation: Names) -> str:
    """The zh-Hans problem of the formula typed in ``field``, or "" when it reads. The names are
    those of the components before the field's own (a signal may use its own component's code)."""
    typed = str(data.get(field, "")).strip()
    found = _kind_of_field(field, drafts)
    if found is None or not typed:
        return ""
    n, kind = found
    names = [*STANDARD_NUMBERS, *organisation.numbers, *_declared(data, "inputs")]
    for draft in drafts[:n + 1] if "-t-signals-" in field else drafts[:n]:
        names.append((draft.envelope.get("code") or "").strip())
        names.extend((row.get("key") or "").strip() for row in draft.signals.rows)
    allowed = frozenset(name for name in names if name)
    pieces = [piece for piece in re.split(r"[;；]", typed) if piece.strip()] if kind == FORMULAS else [typed]
    try:
        for piece in pieces:
            if kind == CONDITION:
                condition(piece, field, allowed)
            else:
                Formula.compile(piece, names=allowed)
    except FormulaError as error:
        return error.message
    except ConfigError as error:
        return error.message
    return ""


def known(field: str) -> bool:
    return _FIELD.match(field) is not None

