"""``per_unit`` (S1-2, S1-6): Σ count × rate over classes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.configs import ConfigError
from core.explain import money, plain

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


class PerUnit(Kind):
    """amount = Σ count × rate over classes (S1-2 commission per graduate by licence class, S1-6
    workload: admissions, outpatient visits …)."""

    code = "per_unit"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("rates",), where, required=("rates",))
        self.rates: list[tuple[str, str, Decimal, str]] = []
        seen: set[str] = set()
        for index, entry in enumerate(items(config["rates"], at(where, "rates"))):
            here = at(at(where, "rates"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("label", "input", "rate"), here, required=("input", "rate"))
            name = scope.number_name(entry["input"], at(here, "input"))
            if name in seen:
                raise ConfigError(at(here, "input"), _('"%(name)s" is listed twice.') % {"name": name})
            seen.add(name)
            label = text(entry.get("label", name), at(here, "label"))
            rate = number(entry["rate"], at(here, "rate"))
            self.rates.append((label, name, rate, money(rate)))
        self.normalised = {
            "rates": [{"label": label, "input": name, "rate": str(rate)} for label, name, rate, _shown in self.rates]
        }

    def run(self, person: Person, component: Component) -> Outcome:
        amount = ZERO
        parts = []
        for label, name, rate, shown in self.rates:
            count = component.number(name, person)
            amount += count * rate
            parts.append(f"{label} {plain(count)} × {shown}")
        return amount, f"{' + '.join(parts)} = {money(amount)}", None
