"""``penalty_points`` (S1-1, S1-10): deductions per counted item, optionally capped."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.configs import ConfigError
from core.explain import money, plain, sep

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


class PenaltyPoints(Kind):
    """Deductions: Σ count × amount per item (S1-1: points × 20 CNY; S1-10: tier-1 events × 300,
    tier-4 points × 10 …), limited to ``cap`` per period when given. The amount is negative.
    S1-10's stand-by is a signal on the component's envelope: "signals": {"standby": "tier1 >= 2"}."""

    code = "penalty_points"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("items", "cap"), where, required=("items",))
        self.items: list[tuple[str, str, Decimal]] = []
        for index, entry in enumerate(items(config["items"], at(where, "items"))):
            here = at(at(where, "items"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("label", "input", "amount"), here, required=("input", "amount"))
            name = scope.number_name(entry["input"], at(here, "input"))
            label = text(entry.get("label", name), at(here, "label"))
            self.items.append((label, name, number(entry["amount"], at(here, "amount"), minimum=ZERO)))
        cap = config.get("cap")
        self.cap: Decimal | None = None
        if cap is not None:
            self.cap = number(cap, at(where, "cap"))
            if self.cap <= 0:
                # A cap of 0 would silently cancel every deduction: leaving it out means "no cap".
                message = _("A cap must be more than 0, not %(value)s; leave it out for no cap.")
                raise ConfigError(at(where, "cap"), message % {"value": plain(self.cap)})
        self.normalised = {
            "items": [{"label": label, "input": name, "amount": str(each)} for label, name, each in self.items],
            "cap": None if self.cap is None else str(self.cap),
        }

    def run(self, person: Person, component: Component) -> Outcome:
        total = ZERO
        parts = []
        for label, name, each in self.items:
            count = component.number(name, person)
            if count < 0:
                raise component.error(person, _('"%(name)s" cannot be negative.') % {"name": name})
            if count:
                total += count * each
                parts.append(f"{label} {plain(count)} × {money(each)}")
        if not parts:
            return ZERO, _("no deductions"), None
        explanation = f"{' + '.join(parts)} = {money(total)}"
        if self.cap is not None and total > self.cap:
            explanation = sep().join([explanation, _("capped at %(cap)s a period") % {"cap": money(self.cap)}])
            total = self.cap
        return -total, f"{explanation} → {money(-total)}", None
