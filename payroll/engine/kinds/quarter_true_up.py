"""``quarter_true_up`` (S1-4): the quarter's coefficient paid in the next quarter's first month."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.explain import money, plain

from ..common import (
    ONE,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    at,
    known_keys,
    number,
)


class QuarterTrueUp(Kind):
    """S1-4: months of a quarter are paid at coefficient 1; the next quarter's first month pays
    base + base × (coefficient − 1) × months (months = 3 by default)."""

    code = "quarter_true_up"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("base", "coefficient", "months"), where, required=("base", "coefficient"))
        self.base = scope.formula(config["base"], at(where, "base"))
        self.coefficient = scope.formula(config["coefficient"], at(where, "coefficient"))
        self.months = number(config.get("months", "3"), at(where, "months"), minimum=ONE)
        self.normalised = {
            "base": self.base.expression,
            "coefficient": self.coefficient.expression,
            "months": str(self.months),
        }

    def run(self, person: Person, component: Component) -> Outcome:
        base = component.value(self.base, person)
        coefficient = component.value(self.coefficient, person)
        amount = base + base * (coefficient - ONE) * self.months
        shown = money(base)
        explanation = f"{shown} + {shown} × ({plain(coefficient)} − 1) × {plain(self.months)} = {money(amount)}"
        return amount, explanation, None
