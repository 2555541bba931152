"""``revenue_pool`` (S1-10 benefit bonus): (Σ revenue − Σ costs) × rate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.explain import money, percent, sep

from ..common import (
    ZERO,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    items,
    known_keys,
    number,
)


class RevenuePool(Kind):
    """S1-10 benefit bonus: (Σ revenue − Σ costs) × rate; nothing when there is no net revenue.
    Usually ``"pays": false``: the pool of the person's unit, split later by ``pool_split``."""

    code = "revenue_pool"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("revenue", "costs", "rate"), where, required=("revenue", "rate"))
        self.revenue = [
            scope.formula(value, at(at(where, "revenue"), index))
            for index, value in enumerate(items(config["revenue"], at(where, "revenue")))
        ]
        self.costs = [
            scope.formula(value, at(at(where, "costs"), index))
            for index, value in enumerate(items(config.get("costs", []), at(where, "costs"), minimum=0))
        ]
        self.rate = number(config["rate"], at(where, "rate"), minimum=ZERO)
        self.normalised = {
            "revenue": [formula.expression for formula in self.revenue],
            "costs": [formula.expression for formula in self.costs],
            "rate": str(self.rate),
        }

    def run(self, person: Person, component: Component) -> Outcome:
        revenue = [component.value(formula, person) for formula in self.revenue]
        costs = [component.value(formula, person) for formula in self.costs]
        net = sum(revenue, ZERO) - sum(costs, ZERO)
        head = _("net revenue (%(revenue)s) − (%(costs)s) = %(net)s") % {
            "revenue": " + ".join(money(value) for value in revenue),
            "costs": " + ".join(money(value) for value in costs) or "0",
            "net": money(net),
        }
        if net <= 0:
            return ZERO, sep().join([head, _("no net revenue: no pool")]), None
        amount = net * self.rate
        return amount, sep().join([head, f"{money(net)} × {percent(self.rate)} = {money(amount)}"]), None
