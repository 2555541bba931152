"""The group component kinds (stage 2): they need other people's results.

* ``pool_split`` (S1-6 two-level distribution, S1-10 benefit bonus pools),
* ``population_average`` (S1-10 non-revenue departments: hospital average × coefficient),
* ``leader_bonus`` (S1-2 group leaders: 20 CNY per graduate of their members).

Splits are exact to the fen with the largest-remainder method (:func:`split_fen`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from core.configs import ConfigError
from core.explain import listed, money, plain, sep
from core.formula import Formula
from core.numbers import quantize

from .common import (
    ZERO,
    ZERO_FEN,
    Component,
    Kind,
    Outcome,
    Person,
    Scope,
    _,
    at,
    boolean,
    choice,
    condition_text,
    items,
    known_keys,
    mapping,
    number,
    text,
)

MAX_LISTED = 10  # members named in a leader's explanation before "…"


def split_fen(total: Decimal, weights: Sequence[Decimal], tie_order: Sequence[str]) -> list[Decimal]:
    """``total`` (already to the fen) split in proportion to ``weights`` (≥ 0, not all 0), adding up
    EXACTLY to ``total``: the largest-remainder method (Hamilton).

    Everything is done in whole fen with integers, so no precision is lost: each share first gets
    the fen below its exact share; the fen left over go one each to the largest remainders. Equal
    remainders are ordered by ``tie_order`` (subject codes, or role order), ascending, so the
    result never depends on the order the people were given in. A negative total is split as its
    absolute value and negated."""
    fen = int(total.scaleb(2))
    if Decimal(fen) != total.scaleb(2):
        raise ValueError(f"{total} is not to the fen")
    sign = -1 if fen < 0 else 1
    fen = abs(fen)
    places = max((-int(w.as_tuple().exponent) for w in weights if w), default=0)
    scale = max(places, 0)
    whole = [int(w.scaleb(scale)) for w in weights]
    denominator = sum(whole)
    if denominator <= 0:
        raise ValueError("weights add up to zero")
    shares = [fen * w // denominator for w in whole]
    remainders = [fen * w % denominator for w in whole]
    left = fen - sum(shares)
    order = sorted(range(len(whole)), key=lambda i: (-remainders[i], tie_order[i]))
    for i in order[:left]:
        shares[i] += 1
    return [Decimal(sign * share).scaleb(-2) for share in shares]


class PoolSplit(Kind):
    """Split each unit's pool among its people, exactly to the fen.

    ``pool``: a name (usually an earlier, unpaid ``revenue_pool`` or an input) whose value must be
    the same for every participant of the unit. Participants are the unit's people for whom the
    component's ``when`` holds. Without ``roles`` the pool is split by ``factor`` (a per-person
    formula, default 1: equal shares). With ``roles`` (S1-6) it is split in two levels:

    1. each participant weighs ``ratio`` of their role × their ``coefficient`` (a per-person formula,
       default 1): doctors 1, nurses 0.7 (nurses' average ≈ 70 % of doctors'), director ratio 1 ×
       coefficient 1.5 (1.3–2.0 × the doctors' average). The pool is split between the roles by
       their total weights;
    2. each role's part is split among its people by ``factor`` (the eight factors' score).

    Both levels use :func:`split_fen`, so the parts add up to the pool and the people's amounts to
    their part, to the fen. The component's rounding does not apply, nor may a ``factor`` envelope."""

    code = "pool_split"
    group = True
    takes_factor = False
    rounds_itself = True

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("pool", "role_input", "roles", "factor"), where, required=("pool",))
        self.pool = scope.number_name(config["pool"], at(where, "pool"))
        self.factor = scope.formula(config.get("factor", "1"), at(where, "factor"))
        self.roles: dict[str, tuple[Decimal, Formula]] = {}
        self.role_input: str | None = None
        normalised: dict[str, Any] = {"pool": self.pool, "factor": self.factor.expression}
        if "roles" in config:
            self.role_input = scope.text_name(config.get("role_input", "role"), at(where, "role_input"))
            for index, entry in enumerate(items(config["roles"], at(where, "roles"))):
                here = at(at(where, "roles"), index)
                entry = mapping(entry, here)
                known_keys(entry, ("role", "ratio", "coefficient"), here, required=("role", "ratio"))
                role = text(entry["role"], at(here, "role"))
                if role in self.roles:
                    raise ConfigError(at(here, "role"), _('"%(name)s" is listed twice.') % {"name": role})
                ratio = number(entry["ratio"], at(here, "ratio"), minimum=ZERO)
                self.roles[role] = (ratio, scope.formula(entry.get("coefficient", "1"), at(here, "coefficient")))
            normalised["role_input"] = self.role_input
            normalised["roles"] = [
                {"role": role, "ratio": str(ratio), "coefficient": coefficient.expression}
                for role, (ratio, coefficient) in self.roles.items()
            ]
        elif "role_input" in config:
            raise ConfigError(at(where, "role_input"), _('"role_input" goes with "roles".'))
        self.normalised = normalised

    def _weight(self, formula: Formula, person: Person, component: Component, what: str) -> Decimal:
        value = component.value(formula, person)
        if value < 0:
            raise component.error(
                person, _("The %(what)s cannot be negative: %(value)s") % {"what": what, "value": plain(value)}
            )
        return value

    def run_group(self, people: Sequence[Person], active: Sequence[bool], component: Component) -> list[Outcome | None]:
        units: dict[str, list[Person]] = defaultdict(list)
        for person, on in zip(people, active, strict=True):
            if on:
                units[person.unit].append(person)
        results: list[Outcome | None] = [None] * len(people)
        for unit, members in units.items():
            pool = self._pool(unit, members, component)
            for person, outcome in self._split_unit(unit, pool, members, component):
                results[person.index] = outcome
        return results

    def _pool(self, unit: str, members: list[Person], component: Component) -> Decimal:
        first = members[0]
        pool = component.number(self.pool, first)
        for other in members[1:]:
            value = component.number(self.pool, other)
            if value != pool:
                raise component.error(
                    other,
                    _(
                        'The pool "%(pool)s" of unit %(unit)s differs between its people: %(first)s has %(a)s, '
                        "%(other)s has %(b)s"
                    )
                    % {
                        "pool": self.pool,
                        "unit": unit or "—",
                        "first": first.subject,
                        "a": money(pool),
                        "other": other.subject,
                        "b": money(value),
                    },
                )
        return quantize(pool, 2, component.rounding)

    def _split_unit(
        self, unit: str, pool: Decimal, members: list[Person], component: Component
    ) -> list[tuple[Person, Outcome]]:
        head = _("pool %(pool)s of unit %(unit)s") % {"pool": money(pool), "unit": unit or "—"}
        if self.role_input is None:
            groups: list[tuple[str, list[Person], Decimal, str]] = [("", members, pool, head)]
        else:
            by_role: dict[str, list[Person]] = {role: [] for role in self.roles}
            weights: dict[str, Decimal] = dict.fromkeys(self.roles, ZERO)
            for person in members:
                role = component.label(self.role_input, person)
                if role not in self.roles:
                    raise component.error(
                        person,
                        _('Unknown role "%(role)s"; the roles are: %(roles)s')
                        % {"role": role, "roles": ", ".join(self.roles)},
                    )
                ratio, coefficient = self.roles[role]
                by_role[role].append(person)
                weights[role] += ratio * self._weight(coefficient, person, component, _("coefficient"))
            present = [role for role in self.roles if by_role[role]]
            role_weights = [weights[role] for role in present]
            if sum(role_weights, ZERO) == 0:
                if pool:
                    raise component.error(members[0], _("Nobody in unit %(unit)s has a weight") % {"unit": unit or "—"})
                parts = [ZERO] * len(present)
            else:
                # Role order decides ties: the config's order, written as zero-padded positions.
                order = {role: f"{index:06d}" for index, role in enumerate(self.roles)}
                parts = split_fen(pool, role_weights, [order[role] for role in present])
            total_weight = sum(role_weights, ZERO)
            groups = []
            for role, weight, part in zip(present, role_weights, parts, strict=True):
                phrase = _("%(role)s part %(part)s (weight %(weight)s of %(total)s)") % {
                    "role": role,
                    "part": money(part),
                    "weight": plain(weight),
                    "total": plain(total_weight),
                }
                groups.append((role, by_role[role], part, sep().join([head, phrase])))
        results: list[tuple[Person, Outcome]] = []
        for _role, people, part, intro in groups:
            factors = [self._weight(self.factor, person, component, _("factor")) for person in people]
            total = sum(factors, ZERO)
            if total == 0:
                if part:
                    raise component.error(
                        people[0], _("The factors in unit %(unit)s add up to zero") % {"unit": unit or "—"}
                    )
                amounts = [ZERO_FEN] * len(people)
            else:
                amounts = split_fen(part, factors, [person.subject for person in people])
            for person, factor, amount in zip(people, factors, amounts, strict=True):
                phrase = _("factor %(factor)s of %(total)s → %(amount)s") % {
                    "factor": plain(factor),
                    "total": plain(total),
                    "amount": money(amount),
                }
                results.append((person, (amount, sep().join([intro, phrase]), None)))
        return results


class PopulationAverage(Kind):
    """S1-10 non-revenue departments: the average of ``source`` over the people for whom ``among``
    holds (default: everyone), over the whole ``population`` or the person's ``unit``, × the
    person's ``coefficient``."""

    code = "population_average"
    group = True

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("source", "among", "over", "coefficient"), where, required=("source",))
        self.source = scope.number_name(config["source"], at(where, "source"))
        among = config.get("among")
        self.among = None if among is None else scope.condition(among, at(where, "among"))
        self.over = choice(config.get("over", "population"), at(where, "over"), ("population", "unit"))
        self.coefficient = scope.formula(config.get("coefficient", "1"), at(where, "coefficient"))
        self.normalised = {
            "source": self.source,
            "among": None if self.among is None else condition_text(self.among),
            "over": self.over,
            "coefficient": self.coefficient.expression,
        }

    def run_group(self, people: Sequence[Person], active: Sequence[bool], component: Component) -> list[Outcome | None]:
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        counts: dict[str, int] = defaultdict(int)
        for person in people:
            if self.among is None or component.value(self.among, person):
                key = person.unit if self.over == "unit" else ""
                sums[key] += component.number(self.source, person)
                counts[key] += 1
        among = _("everyone") if self.among is None else condition_text(self.among)
        results: list[Outcome | None] = []
        for person, on in zip(people, active, strict=True):
            if not on:
                results.append(None)
                continue
            key = person.unit if self.over == "unit" else ""
            if not counts[key]:
                raise component.error(
                    person, _("Nobody to average %(source)s over (%(among)s)") % {"source": self.source, "among": among}
                )
            average = sums[key] / counts[key]
            coefficient = component.value(self.coefficient, person)
            amount = average * coefficient
            explanation = _(
                "average %(source)s of %(count)s people (%(among)s) = %(sum)s / %(count)s = %(average)s; "
                "× coefficient %(coefficient)s = %(amount)s"
            ) % {
                "source": self.source,
                "count": counts[key],
                "among": among,
                "sum": money(sums[key]),
                "average": money(average),
                "coefficient": plain(coefficient),
                "amount": money(amount),
            }
            results.append((amount, explanation, None))
        return results


class LeaderBonus(Kind):
    """S1-2 group leaders: ``rate`` × Σ ``source`` over the members of the units the person leads
    (``PersonInput.leads``); the leader's own result counts only with ``include_self``."""

    code = "leader_bonus"
    group = True

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("source", "rate", "include_self"), where, required=("source", "rate"))
        self.source = scope.number_name(config["source"], at(where, "source"))
        self.rate = number(config["rate"], at(where, "rate"))
        self.include_self = boolean(config.get("include_self", False), at(where, "include_self"))
        self.normalised = {"source": self.source, "rate": str(self.rate), "include_self": self.include_self}

    def run_group(self, people: Sequence[Person], active: Sequence[bool], component: Component) -> list[Outcome | None]:
        units: dict[str, list[Person]] = defaultdict(list)
        for person in people:
            units[person.unit].append(person)
        results: list[Outcome | None] = []
        for person, on in zip(people, active, strict=True):
            if not on:
                results.append(None)
                continue
            if not person.leads:
                results.append((ZERO, _("leads no group"), None))
                continue
            members = [
                member
                for unit in dict.fromkeys(person.leads)
                for member in units.get(unit, ())
                if member is not person or self.include_self
            ]
            values = [component.number(self.source, member) for member in members]
            total = sum(values, ZERO)
            amount = total * self.rate
            shown = [f"{member.subject} {plain(value)}" for member, value in zip(members, values, strict=True)]
            if len(shown) > MAX_LISTED:
                shown = [*shown[:MAX_LISTED], "…"]
            explanation = _(
                "%(rate)s × %(source)s of %(count)s members (%(members)s) = %(rate)s × %(total)s = %(amount)s"
            ) % {
                "rate": money(self.rate),
                "source": self.source,
                "count": len(members),
                "members": listed(shown) or "—",
                "total": plain(total),
                "amount": money(amount),
            }
            results.append((amount, explanation, None))
        return results


GROUP_KINDS: dict[str, type[Kind]] = {kind.code: kind for kind in (PoolSplit, PopulationAverage, LeaderBonus)}

__all__ = ["GROUP_KINDS", "LeaderBonus", "PoolSplit", "PopulationAverage", "split_fen"]
