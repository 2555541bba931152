"""``fixed_floating_split`` (S1-4 固浮比): a total split fixed:floating by the person's level."""

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
    choice,
    known_keys,
    mapping,
    number,
    text,
)


def _ratio(value: object, where: str) -> tuple[Decimal, Decimal]:
    raw = text(value, where).replace("：", ":")
    parts = raw.split(":")
    if len(parts) != 2:
        raise ConfigError(
            where, _('Write the split as fixed:floating, e.g. "4:6", not "%(value)s".') % {"value": value}
        )
    fixed = number(parts[0].strip(), where, minimum=ZERO)
    floating = number(parts[1].strip(), where, minimum=ZERO)
    if fixed + floating == 0:
        raise ConfigError(where, _("The two shares cannot both be zero."))
    return fixed, floating


class FixedFloatingSplit(Kind):
    """S1-4 固浮比: the pay ``total`` is split fixed:floating by the person's level; the floating
    part is multiplied by ``coefficient``. ``part`` picks the line: "total" (fixed + floating ×
    coefficient, default), "fixed" or "floating" (floating × coefficient)."""

    code = "fixed_floating_split"
    PARTS = ("total", "fixed", "floating")

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(
            config, ("total", "level_input", "splits", "coefficient", "part"), where, required=("total", "splits")
        )
        self.total = scope.formula(config["total"], at(where, "total"))
        self.level_input = scope.text_name(config.get("level_input", "level"), at(where, "level_input"))
        splits = mapping(config["splits"], at(where, "splits"))
        if not splits:
            raise ConfigError(at(where, "splits"), _("Enter at least %(count)s entries.") % {"count": 1})
        self.splits = {
            str(level): _ratio(value, at(at(where, "splits"), str(level))) for level, value in splits.items()
        }
        self.coefficient = scope.formula(config.get("coefficient", "1"), at(where, "coefficient"))
        self.part = choice(config.get("part", "total"), at(where, "part"), self.PARTS)
        self.normalised = {
            "total": self.total.expression,
            "level_input": self.level_input,
            "splits": {level: f"{plain(a)}:{plain(b)}" for level, (a, b) in self.splits.items()},
            "coefficient": self.coefficient.expression,
            "part": self.part,
        }

    def run(self, person: Person, component: Component) -> Outcome:
        level = component.label(self.level_input, person)
        split = self.splits.get(level)
        if split is None:
            raise component.error(
                person,
                _('Unknown level "%(level)s"; the levels are: %(levels)s')
                % {"level": level, "levels": ", ".join(self.splits)},
            )
        fixed_share, floating_share = split
        total = component.value(self.total, person)
        coefficient = component.value(self.coefficient, person)
        fixed = total * fixed_share / (fixed_share + floating_share)
        floating = total - fixed
        amount = {"total": fixed + floating * coefficient, "fixed": fixed, "floating": floating * coefficient}[
            self.part
        ]
        explanation = _(
            "level %(level)s splits %(total)s %(fixed_share)s:%(floating_share)s → fixed %(fixed)s, "
            "floating %(floating)s × coefficient %(coefficient)s = %(scaled)s; %(part)s = %(amount)s"
        ) % {
            "level": level,
            "total": money(total),
            "fixed_share": plain(fixed_share),
            "floating_share": plain(floating_share),
            "fixed": money(fixed),
            "floating": money(floating),
            "coefficient": plain(coefficient),
            "scaled": money(floating * coefficient),
            "part": {"total": _("fixed + floating"), "fixed": _("fixed part"), "floating": _("floating part")}[
                self.part
            ],
            "amount": money(amount),
        }
        return amount, explanation, None
