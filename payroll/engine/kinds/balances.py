"""The balance kinds ``withheld`` (S1-2) and ``accrual`` (S1-2 safety bonus, S0-4): money set
aside over periods and paid or forfeited later. They share :class:`_Balance` (conditions, the
movement) and work to the fen themselves, so that each movement adds up exactly."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.explain import money, sep
from core.formula import Formula
from core.numbers import quantize

from ..common import (
    ZERO_FEN,
    BalanceMovement,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    condition_text,
    known_keys,
)


class _Balance(Kind):
    """Shared by withheld and accrual: reading conditions, and the movement."""

    has_balance = True
    takes_factor = False
    rounds_itself = True

    def _conditions(self, config: Mapping[str, Any], scope: Scope, where: str, keys: tuple[str, ...]) -> None:
        self.conditions: dict[str, Formula | None] = {}
        for key in keys:
            value = config.get(key)
            self.conditions[key] = None if value is None else scope.condition(value, at(where, key))
            self.normalised[key] = None if value is None else condition_text(self.conditions[key])  # type: ignore[arg-type]

    def holds(self, key: str, person: Person, component: Component) -> bool:
        formula = self.conditions[key]
        return formula is not None and bool(component.value(formula, person))

    @staticmethod
    def opening(person: Person, component: Component) -> Decimal:
        return person.balances.get(component.code, ZERO_FEN)

    def added(self, formula: Formula, person: Person, component: Component) -> Decimal:
        amount = quantize(component.value(formula, person), 2, component.rounding)
        if amount < 0:
            raise component.error(
                person, _("The amount to set aside cannot be negative: %(amount)s") % {"amount": money(amount)}
            )
        return amount

    def settle(self, pay_key: str, person: Person, component: Component) -> tuple[bool, bool]:
        pay = self.holds(pay_key, person, component)
        forfeit = self.holds("forfeit_when", person, component)
        if pay and forfeit:
            raise component.error(
                person,
                _("Both %(pay)s and forfeit_when hold; the balance cannot be paid and forfeited at once")
                % {"pay": pay_key},
            )
        return pay, forfeit


class Withheld(_Balance):
    """S1-2: ``amount`` is withheld from this period's pay (the line is negative) and kept in the
    balance; when ``release_when`` holds the whole balance (this period's part included) is paid
    back on this line; when ``forfeit_when`` holds it is forfeited."""

    code = "withheld"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("amount", "release_when", "forfeit_when"), where, required=("amount", "release_when"))
        self.amount = scope.formula(config["amount"], at(where, "amount"))
        self.normalised = {"amount": self.amount.expression}
        self._conditions(config, scope, where, ("release_when", "forfeit_when"))

    def run(self, person: Person, component: Component) -> Outcome:
        opening = self.opening(person, component)
        withheld = self.added(self.amount, person, component)
        release, forfeit = self.settle("release_when", person, component)
        pot = opening + withheld
        paid = pot if release else ZERO_FEN
        forfeited = pot if forfeit else ZERO_FEN
        closing = pot - paid - forfeited
        phrases = [
            _("withheld %(amount)s (balance %(opening)s → %(pot)s)")
            % {"amount": money(withheld), "opening": money(opening), "pot": money(pot)}
        ]
        if release:
            phrases.append(
                _("released %(amount)s because %(condition)s")
                % {"amount": money(paid), "condition": condition_text(self.conditions["release_when"])}  # type: ignore[arg-type]
            )
        if forfeit:
            phrases.append(
                _("forfeited %(amount)s because %(condition)s")
                % {"amount": money(forfeited), "condition": condition_text(self.conditions["forfeit_when"])}  # type: ignore[arg-type]
            )
        amount = paid - withheld
        phrases.append(f"{money(paid)} − {money(withheld)} = {money(amount)}")
        movement = BalanceMovement(component.code, opening, withheld, paid, forfeited, closing)
        return amount, sep().join(phrases), movement


class Accrual(_Balance):
    """S1-2 safety bonus, S0-4 assessed monthly / paid quarterly: ``amount`` is accrued each period
    (not paid); ``skip_when`` forfeits this period's accrual (an accident month, 20+ idle days);
    ``pay_when`` pays the whole balance on this line (year end, quarter end); ``forfeit_when``
    forfeits the whole balance (the person leaves)."""

    code = "accrual"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("amount", "skip_when", "pay_when", "forfeit_when"), where, required=("amount", "pay_when"))
        self.amount = scope.formula(config["amount"], at(where, "amount"))
        self.normalised = {"amount": self.amount.expression}
        self._conditions(config, scope, where, ("skip_when", "pay_when", "forfeit_when"))

    def run(self, person: Person, component: Component) -> Outcome:
        opening = self.opening(person, component)
        added = self.added(self.amount, person, component)
        skipped = self.holds("skip_when", person, component)
        pay, forfeit = self.settle("pay_when", person, component)
        phrases = []
        if skipped:
            pot = opening
            phrases.append(
                _("%(amount)s not accrued because %(condition)s")
                % {"amount": money(added), "condition": condition_text(self.conditions["skip_when"])}  # type: ignore[arg-type]
            )
        else:
            pot = opening + added
            phrases.append(
                _("accrued %(amount)s (balance %(opening)s → %(pot)s)")
                % {"amount": money(added), "opening": money(opening), "pot": money(pot)}
            )
        paid = pot if pay else ZERO_FEN
        forfeited = (added if skipped else ZERO_FEN) + (pot if forfeit else ZERO_FEN)
        if pay:
            phrases.append(
                _("paid %(amount)s because %(condition)s")
                % {"amount": money(paid), "condition": condition_text(self.conditions["pay_when"])}  # type: ignore[arg-type]
            )
        elif forfeit:
            phrases.append(
                _("balance %(amount)s forfeited because %(condition)s")
                % {"amount": money(pot), "condition": condition_text(self.conditions["forfeit_when"])}  # type: ignore[arg-type]
            )
        else:
            phrases.append(_("nothing paid this period"))
        closing = opening + added - paid - forfeited
        return paid, sep().join(phrases), BalanceMovement(component.code, opening, added, paid, forfeited, closing)
