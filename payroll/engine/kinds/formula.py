"""``formula``: any expression of the formula language (core.formula) over the names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.explain import money, plain

from ..common import (
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    at,
    known_keys,
)


class FormulaKind(Kind):
    """A safe expression (core.formula) over inputs and earlier components' amounts."""

    code = "formula"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("expression",), where, required=("expression",))
        self.expression = scope.formula(config["expression"], at(where, "expression"))
        self.normalised = {"expression": self.expression.expression}

    def run(self, person: Person, component: Component) -> Outcome:
        amount = component.value(self.expression, person)
        shown = self.expression.substitute(person.numbers, plain)
        if shown == self.expression.expression:
            return amount, f"{shown} = {money(amount)}", None
        return amount, f"{self.expression.expression} = {shown} = {money(amount)}", None
