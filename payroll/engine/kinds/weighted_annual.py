"""``weighted_annual`` (S1-4, S1-9 annual results): Σ weight × part, optionally × a base."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.configs import ConfigError
from core.explain import listed, money, plain
from core.formula import Formula

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
    mapping,
    number,
    text,
)


class WeightedAnnual(Kind):
    """S1-4 / S1-9 annual results: Σ weight × part, each part a formula ("value") or the average of
    several ("average": ["q1", "q2", "q3", "q4"]); optionally × ``base`` (a quota)."""

    code = "weighted_annual"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("parts", "base"), where, required=("parts",))
        self.parts: list[tuple[str, Decimal, list[Formula], bool]] = []
        normal_parts: list[dict[str, Any]] = []
        for index, entry in enumerate(items(config["parts"], at(where, "parts"))):
            here = at(at(where, "parts"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("label", "weight", "value", "average"), here, required=("weight",))
            weight = number(entry["weight"], at(here, "weight"))
            if ("value" in entry) == ("average" in entry):
                raise ConfigError(at(here, "value"), _('Give either "value" or "average".'))
            averaged = "average" in entry
            if averaged:
                formulas = [
                    scope.formula(value, at(at(here, "average"), position))
                    for position, value in enumerate(items(entry["average"], at(here, "average")))
                ]
            else:
                formulas = [scope.formula(entry["value"], at(here, "value"))]
            label = "" if entry.get("label") is None else text(entry["label"], at(here, "label"))
            self.parts.append((label, weight, formulas, averaged))
            normal: dict[str, Any] = {"label": label or None, "weight": str(weight)}
            if averaged:
                normal["average"] = [formula.expression for formula in formulas]
            else:
                normal["value"] = formulas[0].expression
            normal_parts.append(normal)
        base = config.get("base")
        self.base = None if base is None else scope.formula(base, at(where, "base"))
        self.normalised = {"parts": normal_parts, "base": None if self.base is None else self.base.expression}

    def run(self, person: Person, component: Component) -> Outcome:
        total = ZERO
        parts = []
        for label, weight, formulas, averaged in self.parts:
            values = [component.value(formula, person) for formula in formulas]
            value = sum(values, ZERO) / len(values) if averaged else values[0]
            total += weight * value
            if averaged:
                shown = _("average(%(values)s) = %(value)s") % {
                    "values": listed(plain(v) for v in values),
                    "value": plain(value),
                }
            else:
                shown = plain(value)
            parts.append(f"{label} {plain(weight)} × {shown}" if label else f"{plain(weight)} × {shown}")
        explanation = f"{' + '.join(parts)} = {plain(total)}"
        if self.base is None:
            return total, explanation, None
        base = component.value(self.base, person)
        amount = base * total
        return amount, f"{explanation}; {money(base)} × {plain(total)} = {money(amount)}", None
