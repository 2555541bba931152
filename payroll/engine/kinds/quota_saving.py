"""``quota_saving`` (S1-2 fuel and repair quotas): a share of the saving, or the excess deducted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.explain import money, percent, plain, sep

from ..common import (
    ONE,
    ZERO,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    known_keys,
    number,
)


class QuotaSaving(Kind):
    """S1-2 fuel and repair quotas: saving = quota − actual (× price). A saving earns
    ``reward_share`` of it; an excess is deducted at ``excess_rate`` (1 = all of it): the amount
    is then negative."""

    code = "quota_saving"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(
            config,
            ("quota", "actual", "price", "reward_share", "excess_rate"),
            where,
            required=("quota", "actual", "reward_share"),
        )
        self.quota = scope.formula(config["quota"], at(where, "quota"))
        self.actual = scope.formula(config["actual"], at(where, "actual"))
        self.price = scope.formula(config.get("price", "1"), at(where, "price"))
        self.reward_share = number(config["reward_share"], at(where, "reward_share"), minimum=ZERO, maximum=ONE)
        self.excess_rate = number(config.get("excess_rate", "1"), at(where, "excess_rate"), minimum=ZERO)
        self.normalised = {
            "quota": self.quota.expression,
            "actual": self.actual.expression,
            "price": self.price.expression,
            "reward_share": str(self.reward_share),
            "excess_rate": str(self.excess_rate),
        }

    def run(self, person: Person, component: Component) -> Outcome:
        quota = component.value(self.quota, person)
        actual = component.value(self.actual, person)
        price = component.value(self.price, person)
        saving = (quota - actual) * price
        head = _("quota %(quota)s − actual %(actual)s = %(difference)s, × price %(price)s = %(saving)s") % {
            "quota": plain(quota),
            "actual": plain(actual),
            "difference": plain(quota - actual),
            "price": plain(price),
            "saving": money(saving),
        }
        if saving >= 0:
            amount = saving * self.reward_share
            rule = _("saving rewarded at %(share)s: %(amount)s") % {
                "share": percent(self.reward_share),
                "amount": money(amount),
            }
        else:
            amount = saving * self.excess_rate
            rule = _("excess deducted at %(rate)s: %(amount)s") % {
                "rate": percent(self.excess_rate),
                "amount": money(amount),
            }
        return amount, sep().join([head, rule]), None
