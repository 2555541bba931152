"""``tiered`` (S1-2, S1-6): rates by tiers of a quantity, whole or marginal."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from core.configs import ConfigError
from core.explain import money, plain, sep
from core.translation import PerLanguage

from ..common import (
    ZERO,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    choice,
    items,
    known_keys,
    mapping,
    number,
    text,
)


class Tiered(Kind):
    """Rates by tiers of a quantity. ``mode`` "whole": every unit at the rate of the tier reached;
    "marginal": each band of the quantity at its own rate (progressive; decreasing rates give S1-6's
    超额累进递减). Tiers are written by their lower ends ("from"), rising; a quantity below the
    first tier earns nothing. ``boundary`` (whole mode only): "lower_inclusive" (default; a quantity
    equal to a tier's "from" reaches it) or "upper_inclusive" (it stays in the tier below, as in
    S1-2's "0~10人(含10人)")."""

    code = "tiered"
    MODES = ("whole", "marginal")
    BOUNDARIES = ("lower_inclusive", "upper_inclusive")

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("quantity", "mode", "boundary", "tiers"), where, required=("quantity", "mode", "tiers"))
        self.quantity = scope.formula(config["quantity"], at(where, "quantity"))
        self.mode = choice(config["mode"], at(where, "mode"), self.MODES)
        self.boundary = choice(config.get("boundary", "lower_inclusive"), at(where, "boundary"), self.BOUNDARIES)
        if self.mode == "marginal" and "boundary" in config:
            raise ConfigError(at(where, "boundary"), _("Marginal tiers have no boundary question; leave it out."))
        self.tiers: list[tuple[str, Decimal, Decimal]] = []
        for index, entry in enumerate(items(config["tiers"], at(where, "tiers"))):
            here = at(at(where, "tiers"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("label", "from", "rate"), here, required=("from", "rate"))
            start = number(entry["from"], at(here, "from"))
            if self.tiers and start <= self.tiers[-1][1]:
                raise ConfigError(
                    at(here, "from"),
                    _("Tiers must rise: %(value)s is not above %(previous)s.")
                    % {"value": plain(start), "previous": plain(self.tiers[-1][1])},
                )
            label = text(entry.get("label", str(index + 1)), at(here, "label"))
            self.tiers.append((label, start, number(entry["rate"], at(here, "rate"))))
        self.normalised = {
            "quantity": self.quantity.expression,
            "mode": self.mode,
            "tiers": [{"label": label, "from": str(start), "rate": str(rate)} for label, start, rate in self.tiers],
        }
        if self.mode == "whole":
            self.normalised["boundary"] = self.boundary
        self.shown_rates = [plain(rate) for _label, _start, rate in self.tiers]
        labels = [label for label, _start, _rate in self.tiers]
        self.reached_phrases = PerLanguage(partial(_reached_phrases, labels, self.shown_rates))

    def run(self, person: Person, component: Component) -> Outcome:
        quantity = component.value(self.quantity, person)
        shown_quantity = plain(quantity)
        head = _("quantity %(formula)s = %(quantity)s") % {
            "formula": self.quantity.expression,
            "quantity": shown_quantity,
        }
        if self.mode == "whole":
            reached = None
            for index, (_label, start, _rate) in enumerate(self.tiers):
                if quantity > start or (quantity == start and (index == 0 or self.boundary == "lower_inclusive")):
                    reached = index
                else:
                    break  # the tiers rise: a quantity that does not reach this one reaches none above
            if reached is None:
                return ZERO, sep().join([head, _("below the first tier: nothing")]), None
            rate = self.tiers[reached][2]
            amount = quantity * rate
            return (
                amount,
                sep().join(
                    [
                        head,
                        self.reached_phrases.get()[reached],
                        f"{shown_quantity} × {self.shown_rates[reached]} = {money(amount)}",
                    ]
                ),
                None,
            )
        amount = ZERO
        parts = []
        for index, (label, start, rate) in enumerate(self.tiers):
            end = self.tiers[index + 1][1] if index + 1 < len(self.tiers) else None
            if quantity <= start:
                break
            units = (quantity if end is None else min(quantity, end)) - start
            amount += units * rate
            parts.append(
                _("tier %(tier)s: %(units)s × %(rate)s")
                % {"tier": label, "units": plain(units), "rate": self.shown_rates[index]}
            )
        if not parts:
            return ZERO, sep().join([head, _("below the first tier: nothing")]), None
        return amount, sep().join([head, f"{' + '.join(parts)} = {money(amount)}"]), None


def _reached_phrases(labels: list[str], rates: list[str]) -> list[str]:
    """The phrase "tier 2 reached: every unit at 3" for each tier, in the active language."""
    return [
        _("tier %(tier)s reached: every unit at %(rate)s") % {"tier": label, "rate": rate}
        for label, rate in zip(labels, rates, strict=True)
    ]
