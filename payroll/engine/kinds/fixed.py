"""``fixed`` (S1-3, S1-10): a fixed award or allowance less percentage deductions."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.explain import listed, money, plain
from core.formula import Formula

from ..common import (
    HUNDRED,
    ZERO,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    choice,
    condition_text,
    items,
    known_keys,
    mapping,
    number,
    text,
)


class Fixed(Kind):
    """A fixed award or allowance (S1-3, S1-10), less percentage deductions whose conditions hold.
    ``combine`` "sum" (default): the percentages add up, at most 100 %; "max": the largest applies."""

    code = "fixed"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("amount", "deductions", "combine"), where, required=("amount",))
        self.amount = scope.formula(config["amount"], at(where, "amount"))
        self.combine = choice(config.get("combine", "sum"), at(where, "combine"), ("sum", "max"))
        self.deductions: list[tuple[str, Formula, Decimal]] = []
        for index, entry in enumerate(items(config.get("deductions", []), at(where, "deductions"), minimum=0)):
            here = at(at(where, "deductions"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("label", "when", "percent"), here, required=("when", "percent"))
            when = scope.condition(entry["when"], at(here, "when"))
            share = number(entry["percent"], at(here, "percent"), minimum=ZERO, maximum=HUNDRED)
            label = text(entry.get("label", condition_text(when)), at(here, "label"))
            self.deductions.append((label, when, share))
        # How each deduction reads in an explanation ("待改进 20%"): the same for everyone.
        self.reasons = [f"{label} {plain(share)}%" for label, _when, share in self.deductions]
        self.normalised = {
            "amount": self.amount.expression,
            "combine": self.combine,
            "deductions": [
                {"label": label, "when": condition_text(when), "percent": str(share)}
                for label, when, share in self.deductions
            ],
        }

    def run(self, person: Person, component: Component) -> Outcome:
        amount = component.value(self.amount, person)
        hits = [index for index, (_label, when, _share) in enumerate(self.deductions) if component.value(when, person)]
        if not hits:
            return amount, money(amount), None
        shares = [self.deductions[index][2] for index in hits]
        total = min(HUNDRED, sum(shares, ZERO)) if self.combine == "sum" else max(shares)
        result = amount * (HUNDRED - total) / HUNDRED
        explanation = _("%(amount)s less %(percent)s%% (%(reasons)s) = %(result)s") % {
            "amount": money(amount),
            "percent": plain(total),
            "reasons": listed(self.reasons[index] for index in hits),
            "result": money(result),
        }
        return result, explanation, None
