"""One pay component as the editor holds it: its envelope (code, name, kind, rounding …), its
kind's settings and its rows, as typed; read from a posted form or from a stored component, turned
into the component the engine reads, and an engine error put back on the field, row or cell its
path names.

Every value stays the text HR typed: the engine (payroll.engine.compile_policy, through
payroll.services.save_pay_policy) decides whether it is a sound component. Only what the engine
would refuse naming a config key (a required setting or cell left empty) is refused here, in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from payroll.policy_editor.specs import (
    BOOL,
    FORMULA_LIST,
    FORMULAS,
    LIST,
    MAP,
    NO,
    YES,
    Column,
    KindSpec,
    Table,
    spec_of,
)

ENVELOPE = ("code", "name", "kind", "rounding", "places", "when", "factor", "pays")
ENVELOPE_DEFAULTS = {"rounding": "half_up", "places": "2", "pays": YES}
SIGNALS = Table("signals", gettext_lazy("Signals for later components"),
                (Column("key", pgettext_lazy("pay policy editor", "name"), "text"),
                 Column("value", gettext_lazy("set to 1 when"), "condition")), MAP, start_rows=0)
_SEPARATOR = re.compile(r"[;；]")
_INDEX = re.compile(r"^\[(\d+)\](?:\.([a-z_]+))?")


def safe(key: str) -> str:
    """A config key as it goes into a field's name and id ("quota_bands.bands" → "quota_bands__bands")."""
    return key.replace(".", "__")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def _get(config: Mapping[str, Any], key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _put(config: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        config = config.setdefault(part, {})
    config[last] = value


@dataclass
class Rows:
    """One table of a component: its rows as typed, and the errors of the table, a row or a cell."""

    table: Table
    rows: list[dict[str, str]]
    errors: list[str] = field(default_factory=list)
    cell_errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def filled(self) -> list[int]:
        """The rows with anything typed in them (an empty row is no row of the config)."""
        return [n for n, row in enumerate(self.rows) if any((row.get(c.key) or "").strip() for c in self.table.columns)]

    def add_error(self, row: int, column: str, message: str) -> None:
        self.cell_errors.setdefault(row, {}).setdefault(column, []).append(message)

    def has_errors(self) -> bool:
        return bool(self.errors or self.cell_errors)

    def value(self) -> Any:
        """The table as the config writes it, or None when no row is filled; a required cell left
        empty or a key given twice is put on its cell (has_errors tells)."""
        filled = self.filled()
        if not filled:
            return None
        for n in filled:
            for column in self.table.columns:
                if column.required and not (self.rows[n].get(column.key) or "").strip():
                    self.add_error(n, column.key, _("This field is required."))
        if self.table.shape == FORMULA_LIST:
            return [self.rows[n]["value"].strip() for n in filled]
        if self.table.shape == MAP:
            mapped: dict[str, str] = {}
            for n in filled:
                key = (self.rows[n].get("key") or "").strip()
                if key in mapped:
                    self.add_error(n, "key", _('"%(name)s" is listed twice.') % {"name": key})
                mapped[key] = (self.rows[n].get("value") or "").strip()
            return mapped
        return [self._entry(self.rows[n]) for n in filled]

    def _entry(self, row: Mapping[str, str]) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        for column in self.table.columns:
            typed = (row.get(column.key) or "").strip()
            if typed:
                entry[column.key] = ([piece.strip() for piece in _SEPARATOR.split(typed) if piece.strip()]
                                     if column.type == FORMULAS else typed)
        return entry

    def place(self, rest: str, message: str) -> None:
        """An error whose path inside the table is ``rest`` ("[1].from", "[0]", ".S" of a map, "")."""
        filled = self.filled()
        found = _INDEX.match(rest)
        if found is not None:
            index = int(found[1])
            row = filled[index] if index < len(filled) else index
            column = found[2] or ("value" if self.table.shape == FORMULA_LIST else "")
            self.add_error(row, column, message)
            return
        if rest.startswith(".") and self.table.shape == MAP:
            key = rest[1:]
            rows = [n for n in filled if (self.rows[n].get("key") or "").strip() == key]
            if rows:
                self.add_error(rows[0], "value", message)
                return
        self.errors.append(message)


def _rows_from_data(data: QueryDict, prefix: str, table: Table) -> Rows:
    total = data.get(f"{prefix}-total")
    if total is None or not total.isdigit():
        return Rows(table, [{} for _n in range(table.start_rows)])
    return Rows(table, [{c.key: data.get(f"{prefix}-{n}-{c.key}", "") for c in table.columns}
                        for n in range(int(total))])


def _rows_from_value(table: Table, value: Any) -> Rows:
    if table.shape == MAP and isinstance(value, Mapping):
        return Rows(table, [{"key": str(key), "value": _text(item)} for key, item in value.items()])
    if table.shape == FORMULA_LIST and isinstance(value, list):
        return Rows(table, [{"value": _text(item)} for item in value])
    if table.shape == LIST and isinstance(value, list):
        return Rows(table, [{c.key: _text(entry.get(c.key)) for c in table.columns}
                            for entry in value if isinstance(entry, Mapping)])
    return Rows(table, [])


@dataclass
class ComponentDraft:
    """A component's fields and rows as typed, with the errors put on them."""

    envelope: dict[str, str]
    settings: dict[str, str]
    tables: dict[str, Rows]
    signals: Rows
    errors: dict[str, list[str]] = field(default_factory=dict)  # by envelope field or setting key
    problems: list[str] = field(default_factory=list)  # the component as a whole

    @property
    def kind(self) -> str:
        return self.envelope.get("kind", "")

    @property
    def spec(self) -> KindSpec | None:
        return spec_of(self.kind)

    @classmethod
    def blank(cls) -> ComponentDraft:
        return cls({key: ENVELOPE_DEFAULTS.get(key, "") for key in ENVELOPE}, {}, {}, Rows(SIGNALS, []))

    @classmethod
    def from_data(cls, data: QueryDict, n: int) -> ComponentDraft:
        prefix = f"c{n}"
        envelope = {key: data.get(f"{prefix}-{key}", ENVELOPE_DEFAULTS.get(key, "")) for key in ENVELOPE}
        spec = spec_of(envelope["kind"])
        settings = {s.key: data.get(f"{prefix}-s-{safe(s.key)}", s.default) for s in spec.settings} if spec else {}
        tables = {t.key: _rows_from_data(data, f"{prefix}-t-{safe(t.key)}", t) for t in spec.tables} if spec else {}
        return cls(envelope, settings, tables, _rows_from_data(data, f"{prefix}-t-signals", SIGNALS))

    @classmethod
    def from_component(cls, component: Mapping[str, Any]) -> ComponentDraft:
        envelope = {key: _text(component.get(key)) for key in ENVELOPE}
        for key, default in ENVELOPE_DEFAULTS.items():
            envelope[key] = envelope[key] or default
        config = component.get("config") or {}
        spec = spec_of(envelope["kind"])
        settings = {s.key: _text(_get(config, s.key)) or s.default for s in spec.settings} if spec else {}
        tables = {t.key: _rows_from_value(t, _get(config, t.key)) for t in spec.tables} if spec else {}
        return cls(envelope, settings, tables, _rows_from_value(SIGNALS, component.get("signals") or {}))

    def has_errors(self) -> bool:
        return bool(self.errors or self.problems or self.signals.has_errors()
                    or any(rows.has_errors() for rows in self.tables.values()))

    def add_error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    # --- into the component the engine reads ------------------------------------------------------

    def component(self) -> dict[str, Any] | None:
        """The component as the JSON page would write it, or None when a field is refused here."""
        env = {key: (value or "").strip() for key, value in self.envelope.items()}
        for key in ("code", "kind"):
            if not env[key]:
                self.add_error(key, _("This field is required."))
        spec = self.spec
        if spec is None:
            return None
        places = env["places"] or "2"
        built: dict[str, Any] = {"code": env["code"], "kind": env["kind"], "config": self._config(spec),
                                 "rounding": env["rounding"] or "half_up",
                                 "places": int(places) if places.isdigit() else places, "pays": env["pays"] != NO}
        if env["name"]:
            built["name"] = env["name"]
        for key in ("when", "factor"):
            if env[key]:
                built[key] = env[key]
        signals = self.signals.value()
        if signals:
            built["signals"] = signals
        return None if self.has_errors() else built

    def _config(self, spec: KindSpec) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for setting in spec.settings:
            typed = (self.settings.get(setting.key) or "").strip()
            if setting.type == BOOL:
                continue
            if typed:
                _put(config, setting.key, typed)
            elif setting.required:
                self.add_error(setting.key, _("This field is required."))
        for table in spec.tables:
            value = self.tables[table.key].value()
            if value is not None:
                _put(config, table.key, value)
        for setting in spec.settings:  # a yes/no goes with its group: "to_inclusive" only with quota bands
            group = setting.key.rpartition(".")[0]
            if setting.type == BOOL and (not group or isinstance(_get(config, group), Mapping)):
                _put(config, setting.key, (self.settings.get(setting.key) or setting.default) == YES)
        return config

    # --- an engine error back onto its field ------------------------------------------------------

    def place(self, path: str, message: str) -> None:
        """``path`` is the error's path inside the component ("config.tiers[1].from", "when", "signals.x")."""
        head, _dot, rest = path.partition(".")
        if head in ENVELOPE and not rest:
            self.add_error(head, message)
        elif head == "signals":
            self.signals.place(f".{rest}" if rest else "", message)
        elif head == "config" and rest and self.spec is not None:
            self._place_config(self.spec, rest, message)
        else:
            self.problems.append(message)

    def _place_config(self, spec: KindSpec, rest: str, message: str) -> None:
        if rest in self.settings:
            self.add_error(rest, message)
            return
        for table in sorted(spec.tables, key=lambda t: -len(t.key)):
            if rest == table.key or rest.startswith((f"{table.key}[", f"{table.key}.")):
                self.tables[table.key].place(rest[len(table.key):], message)
                return
        self.problems.append(message)
