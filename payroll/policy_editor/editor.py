"""The pay policy editor: the header (PayPolicyForm's fields but the JSON) and the components as
rows, into the very arguments ``payroll.services.save_pay_policy`` takes, which the JSON page and
the API call too; a stored version back into fields and rows; the service's refusal
(PolicyRejected, naming a path such as "components[1].config.tiers[0].from") put on that field.

Adding or removing a component or a row is a re-render of the posted form with one more or less
(:meth:`PolicyEditor.apply`), so nothing typed is lost and no script is needed but htmx.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from core.configs import ConfigError
from payroll.engine import compile_policy
from payroll.forms import EXAMPLE_COMPONENTS, PayPolicyForm, attach_rejection
from payroll.models import PayPolicy
from payroll.policy_editor.draft import ComponentDraft, Rows
from payroll.standard import Names

MAX_COMPONENTS = 30
MAX_ROWS = 50
_COMPONENT = re.compile(r"^components\[(\d+)\](?:\.(.+))?$")


class PolicyHeaderForm(PayPolicyForm):
    """PayPolicyForm without its JSON: the components come from the rows."""

    components = None  # type: ignore[assignment]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        values = {key: data[key] for key in ("code", "name", "department_type", "effective_from", "effective_to",
                                             "period_kind", "inputs", "text_inputs")}
        values["requires_grade"] = not data["pays_ungraded"]
        return values


class PolicyEditor:
    """Everything the editor posts (or a stored version's fields), and the policy it makes."""

    def __init__(self, data: QueryDict | None = None, *, base: PayPolicy | None = None, action: str = "") -> None:
        self.data = data
        self.base = base
        self.problems: list[str] = []
        self.header = PolicyHeaderForm(data, base=base)
        if data is None:
            stored = base.components if base is not None else EXAMPLE_COMPONENTS
            self.components = [ComponentDraft.from_component(component) for component in stored or []]
        else:
            total = data.get("components-total", "0")
            count = min(int(total), MAX_COMPONENTS) if total.isdigit() else 0
            self.components = [ComponentDraft.from_data(data, n) for n in range(count)]
        if action:
            self.apply(action)

    # --- adding, removing and moving ---------------------------------------------------------------

    def apply(self, action: str) -> None:
        """"add", "remove:2", "up:2", "down:2", "kind:2" (re-read with its new kind's fields),
        "add-row:2:tiers", "remove-row:2:tiers:1"."""
        verb, *rest = action.split(":")
        numbers = [int(piece) for piece in rest if piece.isdigit()]
        if verb == "add" and len(self.components) < MAX_COMPONENTS:
            self.components.append(ComponentDraft.blank())
            return
        if not numbers or numbers[0] >= len(self.components):
            return
        n = numbers[0]
        if verb == "remove":
            del self.components[n]
        elif verb in ("up", "down"):
            other = n - 1 if verb == "up" else n + 1
            if 0 <= other < len(self.components):
                self.components[n], self.components[other] = self.components[other], self.components[n]
        elif verb in ("add-row", "remove-row") and len(rest) >= 2:
            self._rows_action(self.components[n], verb, rest[1], numbers[1:])

    @staticmethod
    def _rows_action(component: ComponentDraft, verb: str, key: str, numbers: list[int]) -> None:
        rows: Rows | None = component.signals if key == "signals" else component.tables.get(key)
        if rows is None:
            return
        if verb == "add-row" and len(rows.rows) < MAX_ROWS:
            rows.rows.append({})
        elif verb == "remove-row" and numbers and numbers[0] < len(rows.rows):
            del rows.rows[numbers[0]]

    # --- into the service's arguments ---------------------------------------------------------------

    def values(self) -> dict[str, Any] | None:
        """The keyword arguments of save_pay_policy (besides organisation and user), or None while a
        field cannot be read (the error is on it)."""
        valid = self.header.is_valid()
        components = [draft.component() for draft in self.components]
        if not self.components:
            self.problems.append(_("A pay policy needs at least one component."))
            return None
        if not valid or any(component is None for component in components):
            return None
        return {**self.header.values(), "components": components}

    @property
    def has_errors(self) -> bool:
        if self.data is None:
            return False
        return bool(self.problems or self.header.errors or any(c.has_errors() for c in self.components))

    def place(self, field: str, message: str) -> None:
        """A PolicyRejected (its path and message) on the field, row or cell the path names."""
        found = _COMPONENT.match(field)
        if found is None:
            attach_rejection(self.header, field, message)
            return
        index = int(found[1])
        if index < len(self.components):
            self.components[index].place(found[2] or "", message)
        else:
            self.problems.append(message)

    def first_problem(self) -> str:
        """The first refusal of values(), in words, for the preview (which does not show the fields)."""
        for name, errors in self.header.errors.items():
            label = self.header.fields[name].label if name in self.header.fields else ""
            return f"{label}：{errors[0]}" if label else str(errors[0])
        if self.problems:
            return self.problems[0]
        for n, draft in enumerate(self.components):
            messages = [*draft.problems, *(m for ms in draft.errors.values() for m in ms),
                        *draft.signals.errors, *(m for cells in draft.signals.cell_errors.values()
                                                 for ms in cells.values() for m in ms)]
            for rows in draft.tables.values():
                messages += [*rows.errors, *(m for cells in rows.cell_errors.values() for ms in cells.values()
                                            for m in ms)]
            if messages:
                return _("Component %(number)s: %(message)s") % {"number": n + 1, "message": messages[0]}
        return ""

    def component_codes(self) -> list[str]:
        return [code for code in ((c.envelope.get("code") or "").strip() for c in self.components) if code]


def unchanged(base: PayPolicy, values: dict[str, Any], names: Names) -> bool:
    """Whether ``values`` say exactly what ``base`` (the latest version) says: saving them would write
    a version that changes nothing. Components are compared as the engine normalises them."""
    fields = ("name", "department_type", "effective_from", "effective_to", "period_kind", "requires_grade")
    if any(values[key] != getattr(base, key) for key in fields):
        return False
    if (list(values["inputs"]), list(values["text_inputs"])) != (list(base.inputs or []), list(base.text_inputs or [])):
        return False
    try:
        compiled = compile_policy(values["components"], inputs=values["inputs"], text_inputs=values["text_inputs"],
                                  standard=names.numbers, standard_texts=names.texts)
    except ConfigError:
        return False  # the service refuses it, naming the field
    return bool(compiled.normalised == base.components)
