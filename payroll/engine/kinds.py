"""The per-person component kinds (stage 1): each reads its config and computes one person's amount.

Every ``run`` returns the UNROUNDED amount (the policy rounds it with the component's rounding,
after the optional factor), an explanation in the active language and, for the balance kinds, the
balance movement. Kinds that keep balances round their own parts to the fen so that the movement
adds up exactly (``rounds_itself``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from core.configs import ConfigError
from core.numbers import quantize
from core.translation import PerLanguage

from .common import (
    HUNDRED,
    ONE,
    ZERO,
    BalanceMovement,
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
    listed,
    mapping,
    money,
    number,
    percent,
    plain,
    sep,
    text,
)
from .expr import Expr


def _quantity_band_text(upper: Decimal | None, lower: Decimal | None, inclusive: bool) -> str:
    if upper is None:
        assert lower is not None
        return (_("above %(value)s") if inclusive else _("from %(value)s")) % {"value": plain(lower)}
    return ("≤ %(value)s" if inclusive else "< %(value)s") % {"value": plain(upper)}


class Bands:
    """An ordered lookup "value up to X → result": bands written by their upper ends, the last open.

    ``to_inclusive`` true (default): value ≤ to falls in the band (S1-9 "1500元以下(含1500)");
    false: value < to."""

    def __init__(self, config: object, scope: Scope, where: str, result_key: str) -> None:
        config = mapping(config, where)
        known_keys(config, ("input", "to_inclusive", "bands"), where, required=("input", "bands"))
        self.input = scope.number_name(config["input"], at(where, "input"))
        self.inclusive = boolean(config.get("to_inclusive", True), at(where, "to_inclusive"))
        self.result_key = result_key
        self.uppers: list[Decimal | None] = []
        self.results: list[Decimal] = []
        entries = items(config["bands"], at(where, "bands"))
        for index, entry in enumerate(entries):
            here = at(at(where, "bands"), index)
            entry = mapping(entry, here)
            known_keys(entry, ("to", result_key), here, required=(result_key,))
            last = index == len(entries) - 1
            upper = entry.get("to")
            if last:
                if upper is not None:
                    raise ConfigError(at(here, "to"), _("The last band is open above: leave its end empty (null)."))
                self.uppers.append(None)
            else:
                if upper is None:
                    raise ConfigError(at(here, "to"), _("Only the last band may be open above."))
                value = number(upper, at(here, "to"))
                previous = self.uppers[-1] if self.uppers else None
                if previous is not None and value <= previous:
                    raise ConfigError(
                        at(here, "to"),
                        _("Band ends must rise from band to band: %(value)s is not above %(previous)s.")
                        % {"value": plain(value), "previous": plain(previous)},
                    )
                self.uppers.append(value)
            self.results.append(number(entry[result_key], at(here, result_key)))
        self.shown = [money(result) for result in self.results]
        self.band_texts = PerLanguage(partial(_band_texts, tuple(self.uppers), self.inclusive))
        self.normalised = {
            "input": self.input,
            "to_inclusive": self.inclusive,
            "bands": [
                {"to": None if upper is None else str(upper), result_key: str(result)}
                for upper, result in zip(self.uppers, self.results, strict=True)
            ],
        }

    def find(self, value: Decimal) -> tuple[Decimal, str, str]:
        """The result for ``value``, the band as text and the result as money."""
        for index, upper in enumerate(self.uppers):
            if upper is None or value < upper or (self.inclusive and value == upper):
                return self.results[index], self.band_texts.get()[index], self.shown[index]
        raise AssertionError("the last band is open")  # pragma: no cover


def _band_texts(uppers: tuple[Decimal | None, ...], inclusive: bool) -> tuple[str, ...]:
    """Each band as text ("≤ 1500", "above 2500"), in the active language."""
    return tuple(
        _quantity_band_text(upper, uppers[index - 1] if index else None, inclusive)
        for index, upper in enumerate(uppers)
    )


class GradeCoefficient(Kind):
    """amount = quota × coefficient (S1-9). Coefficient from a grade table or a formula; quota from
    a formula or from bands of an input (S1-9's salary bands)."""

    code = "grade_coefficient"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("grade_input", "coefficients", "coefficient", "quota", "quota_bands"), where)
        self.table: dict[str, Decimal] | None = None
        self.coefficient: Expr | None = None
        normalised: dict[str, Any] = {}
        if ("coefficients" in config) == ("coefficient" in config):
            raise ConfigError(
                at(where, "coefficients"), _('Give either "coefficients" (a grade table) or "coefficient" (a formula).')
            )
        if "coefficients" in config:
            self.grade_input = scope.text_name(config.get("grade_input", "grade"), at(where, "grade_input"))
            table = mapping(config["coefficients"], at(where, "coefficients"))
            if not table:
                raise ConfigError(at(where, "coefficients"), _("Enter at least %(count)s entries.") % {"count": 1})
            self.table = {
                text(grade, at(where, "coefficients")): number(value, at(at(where, "coefficients"), str(grade)))
                for grade, value in table.items()
            }
            self.shown = {grade: plain(value) for grade, value in self.table.items()}
            self.grade_phrases = PerLanguage(partial(_grade_phrases, self.shown))
            normalised["grade_input"] = self.grade_input
            normalised["coefficients"] = {grade: str(value) for grade, value in self.table.items()}
        else:
            if "grade_input" in config:
                raise ConfigError(at(where, "grade_input"), _('"grade_input" goes with a "coefficients" table.'))
            self.coefficient = scope.formula(config["coefficient"], at(where, "coefficient"))
            normalised["coefficient"] = self.coefficient.expression
        if ("quota" in config) == ("quota_bands" in config):
            raise ConfigError(at(where, "quota"), _('Give either "quota" (a formula) or "quota_bands".'))
        self.quota: Expr | None = None
        self.bands: Bands | None = None
        if "quota" in config:
            self.quota = scope.formula(config["quota"], at(where, "quota"))
            normalised["quota"] = self.quota.expression
        else:
            self.bands = Bands(config["quota_bands"], scope, at(where, "quota_bands"), "quota")
            normalised["quota_bands"] = self.bands.normalised
        self.normalised = normalised

    def run(self, person: Person, component: Component) -> Outcome:
        phrases = []
        if self.table is not None:
            grade = component.label(self.grade_input, person)
            coefficient = self.table.get(grade)
            if coefficient is None:
                raise component.error(
                    person,
                    _('Unknown grade "%(grade)s"; the grades are: %(grades)s')
                    % {"grade": grade, "grades": ", ".join(self.table)},
                )
            shown_coefficient = self.shown[grade]
            phrases.append(self.grade_phrases.get()[grade])
        else:
            assert self.coefficient is not None
            coefficient = component.value(self.coefficient, person)
            shown_coefficient = plain(coefficient)
            phrases.append(
                _("coefficient %(formula)s = %(coefficient)s")
                % {"formula": self.coefficient.expression, "coefficient": shown_coefficient}
            )
        if self.bands is not None:
            base = component.number(self.bands.input, person)
            quota, band, shown = self.bands.find(base)
            phrases.append(
                _("quota %(quota)s for %(input)s %(value)s (%(band)s)")
                % {"quota": shown, "input": self.bands.input, "value": plain(base), "band": band}
            )
        else:
            assert self.quota is not None
            quota = component.value(self.quota, person)
            shown = money(quota)
            phrases.append(_("quota %(formula)s = %(quota)s") % {"formula": self.quota.expression, "quota": shown})
        amount = quota * coefficient
        phrases.append(f"{shown} × {shown_coefficient} = {money(amount)}")
        return amount, sep().join(phrases), None


def _grade_phrases(shown: Mapping[str, str]) -> dict[str, str]:
    """The phrase "grade S → coefficient 1.2" for each grade of a table, in the active language."""
    return {
        grade: _("grade %(grade)s → coefficient %(coefficient)s") % {"grade": grade, "coefficient": coefficient}
        for grade, coefficient in shown.items()
    }


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
        self.cap = None if cap is None else number(cap, at(where, "cap"), minimum=ZERO)
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


class _Balance(Kind):
    """Shared by withheld and accrual: reading conditions, and the movement."""

    has_balance = True
    takes_factor = False
    rounds_itself = True

    def _conditions(self, config: Mapping[str, Any], scope: Scope, where: str, keys: tuple[str, ...]) -> None:
        self.conditions: dict[str, Expr | None] = {}
        for key in keys:
            value = config.get(key)
            self.conditions[key] = None if value is None else scope.condition(value, at(where, key))
            self.normalised[key] = None if value is None else condition_text(self.conditions[key])  # type: ignore[arg-type]

    def holds(self, key: str, person: Person, component: Component) -> bool:
        formula = self.conditions[key]
        return formula is not None and bool(component.value(formula, person))

    @staticmethod
    def opening(person: Person, component: Component) -> Decimal:
        return person.balances.get(component.code, ZERO)

    def added(self, formula: Expr, person: Person, component: Component) -> Decimal:
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
        paid = pot if release else ZERO
        forfeited = pot if forfeit else ZERO
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
        paid = pot if pay else ZERO
        forfeited = (added if skipped else ZERO) + (pot if forfeit else ZERO)
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


class QuarterTrueUp(Kind):
    """S1-4: months of a quarter are paid at coefficient 1; the next quarter's first month pays
    base + base × (coefficient − 1) × months (months = 3 by default)."""

    code = "quarter_true_up"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("base", "coefficient", "months"), where, required=("base", "coefficient"))
        self.base = scope.formula(config["base"], at(where, "base"))
        self.coefficient = scope.formula(config["coefficient"], at(where, "coefficient"))
        self.months = number(config.get("months", "3"), at(where, "months"), minimum=ONE)
        self.normalised = {
            "base": self.base.expression,
            "coefficient": self.coefficient.expression,
            "months": str(self.months),
        }

    def run(self, person: Person, component: Component) -> Outcome:
        base = component.value(self.base, person)
        coefficient = component.value(self.coefficient, person)
        amount = base + base * (coefficient - ONE) * self.months
        shown = money(base)
        explanation = f"{shown} + {shown} × ({plain(coefficient)} − 1) × {plain(self.months)} = {money(amount)}"
        return amount, explanation, None


class WeightedAnnual(Kind):
    """S1-4 / S1-9 annual results: Σ weight × part, each part a formula ("value") or the average of
    several ("average": ["q1", "q2", "q3", "q4"]); optionally × ``base`` (a quota)."""

    code = "weighted_annual"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("parts", "base"), where, required=("parts",))
        self.parts: list[tuple[str, Decimal, list[Expr], bool]] = []
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


class Fixed(Kind):
    """A fixed award or allowance (S1-3, S1-10), less percentage deductions whose conditions hold.
    ``combine`` "sum" (default): the percentages add up, at most 100 %; "max": the largest applies."""

    code = "fixed"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("amount", "deductions", "combine"), where, required=("amount",))
        self.amount = scope.formula(config["amount"], at(where, "amount"))
        self.combine = choice(config.get("combine", "sum"), at(where, "combine"), ("sum", "max"))
        self.deductions: list[tuple[str, Expr, Decimal]] = []
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


class FormulaKind(Kind):
    """A safe expression (core.formula) over inputs and earlier components' amounts."""

    code = "formula"

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:
        known_keys(config, ("expression",), where, required=("expression",))
        self.expression = scope.formula(config["expression"], at(where, "expression"))
        self.normalised = {"expression": self.expression.expression}

    def run(self, person: Person, component: Component) -> Outcome:
        amount = component.value(self.expression, person)
        shown = self.expression.substitute(person.numbers, plain)
        if shown == self.expression.expression:
            return amount, f"{shown} = {money(amount)}", None
        return amount, f"{self.expression.expression} = {shown} = {money(amount)}", None


PERSON_KINDS: dict[str, type[Kind]] = {
    kind.code: kind
    for kind in (
        GradeCoefficient,
        FixedFloatingSplit,
        PerUnit,
        Tiered,
        QuotaSaving,
        PenaltyPoints,
        Withheld,
        Accrual,
        QuarterTrueUp,
        WeightedAnnual,
        RevenuePool,
        Fixed,
        FormulaKind,
    )
}
