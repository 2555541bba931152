"""Policies: validating and compiling a component list once, and evaluating it for people."""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import partial
from typing import Any, cast

from core.bulk import no_cyclic_gc
from core.configs import ConfigError
from core.explain import money, plain, sep
from core.formula import CONTEXT, FUNCTIONS, Formula
from core.numbers import quantize, to_decimal
from core.translation import cached_translations

from .common import (
    ONE,
    ROUNDINGS,
    ZERO,
    ZERO_FEN,
    BalanceMovement,
    Component,
    Kind,
    Outcome,
    PayError,
    PayLine,
    Person,
    PersonInput,
    PersonPay,
    Scope,
    _,
    at,
    boolean,
    choice,
    condition_text,
    items,
    known_keys,
    mapping,
    text,
)
from .group import GROUP_KINDS
from .kinds import PERSON_KINDS

KINDS: dict[str, type[Kind]] = {**PERSON_KINDS, **GROUP_KINDS}

# Names every policy may use without declaring them; a pay run fills those it has.
STANDARD_NUMBERS = ("base_salary", "score", "grade_coefficient", "days_worked", "days_in_period")
STANDARD_TEXTS = ("grade", "level", "role")

ENVELOPE_KEYS = ("code", "name", "kind", "config", "rounding", "places", "when", "factor", "signals", "pays")
MAX_PLACES = 6
MONEY_PLACES = 2


def _identifier(value: object, where: str, taken: Mapping[str, str]) -> str:
    name = text(value, where)
    if not name.isidentifier() or keyword.iskeyword(name) or name in FUNCTIONS:
        raise ConfigError(
            where,
            _(
                '"%(name)s" cannot be used as a name: use letters, digits and _, not starting with a digit, '
                "and avoid the function names"
            )
            % {"name": name},
        )
    if name in taken:
        raise ConfigError(
            where, _('The name "%(name)s" is already used by %(other)s.') % {"name": name, "other": taken[name]}
        )
    return name


class Policy:
    """A validated, compiled policy: build it once with :func:`compile_policy`, evaluate it often."""

    def __init__(
        self,
        components: tuple[Component, ...],
        numbers: frozenset[str],
        texts: frozenset[str],
        normalised: list[dict[str, Any]],
    ) -> None:
        self.components = components
        self.numbers = numbers  # number inputs the policy accepts (standard + declared)
        self.texts = texts  # text inputs (grade, level, role + declared)
        self.normalised = normalised
        codes = {component.code for component in components}
        signals = {name for component in components for name, _formula in component.signals}
        used = {name for component in components for name in component.uses}
        self.required_inputs = frozenset(used - codes - signals)  # the inputs some component reads
        self.balance_codes = tuple(c.code for c in components if c.spec.has_balance)
        self.is_group = any(c.spec.group for c in components)

    def __repr__(self) -> str:
        return f"Policy({[c.code for c in self.components]!r})"


def compile_policy(
    components: object,
    *,
    inputs: Iterable[str] = (),
    text_inputs: Iterable[str] = (),
    standard: Iterable[str] = (),
    standard_texts: Iterable[str] = (),
) -> Policy:
    """Validate ``components`` and compile every formula once. Raises ConfigError naming the path.

    ``standard`` / ``standard_texts``: more standard names, beside STANDARD_NUMBERS / STANDARD_TEXTS,
    that the caller supplies to everyone (the pay run's period, person, unit and sheet facts)."""
    inputs = tuple(inputs)
    text_inputs = tuple(text_inputs)
    numbers = set(STANDARD_NUMBERS).union(standard)
    texts = set(STANDARD_TEXTS).union(standard_texts)
    taken: dict[str, str] = {}
    for name in sorted(numbers | texts):
        taken[name] = _("a standard input")
    for kind_name, declared, target in (("inputs", inputs, numbers), ("text_inputs", text_inputs, texts)):
        for index, name in enumerate(declared):
            where = at(kind_name, index)
            if name in target:
                continue  # declaring a standard input again is harmless
            target.add(_identifier(name, where, taken))
            taken[name] = _("input %(name)s") % {"name": name}
    accepted = frozenset(numbers)
    entries = items(components, "components")
    compiled: list[Component] = []
    normalised: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        component = _component(entry, at("components", index), index, frozenset(numbers), frozenset(texts), taken)
        compiled.append(component)
        normalised.append(component.normalised)
        numbers.add(component.code)
        numbers.update(name for name, _formula in component.signals)
    return Policy(tuple(compiled), accepted, frozenset(texts), normalised)


def validate_policy(
    components: object, *, inputs: Iterable[str] = (), text_inputs: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The normalised component list (every default filled in), or ConfigError naming the path."""
    return compile_policy(components, inputs=inputs, text_inputs=text_inputs).normalised


def _component(
    entry: object,
    where: str,
    index: int,
    numbers: frozenset[str],
    texts: frozenset[str],
    taken: dict[str, str],
) -> Component:
    entry = mapping(entry, where)
    known_keys(entry, ENVELOPE_KEYS, where, required=("code", "kind"))
    code = _identifier(entry["code"], at(where, "code"), taken)
    name = text(entry.get("name", code), at(where, "name"))
    kind = choice(entry["kind"], at(where, "kind"), tuple(KINDS))
    kind_class = KINDS[kind]
    scope = Scope(numbers, texts)
    spec = kind_class(mapping(entry.get("config", {}), at(where, "config")), scope, at(where, "config"))
    rounding = choice(entry.get("rounding", "half_up"), at(where, "rounding"), tuple(ROUNDINGS))
    pays = boolean(entry.get("pays", True), at(where, "pays"))
    places = _places(entry, where, kind_class, pays)
    when = None if entry.get("when") is None else scope.condition(entry["when"], at(where, "when"))
    factor = _factor(entry, where, kind, scope)
    taken[code] = _("component %(code)s") % {"code": code}
    signal_scope = Scope(numbers | {code}, texts)
    signals = _signals(entry, where, code, signal_scope, taken)
    normalised = {
        "code": code,
        "name": name,
        "kind": kind,
        "config": spec.normalised,
        "rounding": rounding,
        "places": places,
        "when": None if when is None else condition_text(when),
        "factor": None if factor is None else factor.expression,
        "signals": {signal: condition_text(formula) for signal, formula in signals},
        "pays": pays,
    }
    return Component(
        index=index,
        code=code,
        name=name,
        kind=kind,
        spec=spec,
        rounding=ROUNDINGS[rounding],
        places=places,
        when=when,
        factor=factor,
        signals=tuple(signals),
        pays=pays,
        uses=tuple(sorted(scope.used | (signal_scope.used - {code}))),
        texts=texts,
        normalised=normalised,
    )


def _places(entry: Mapping[str, Any], where: str, kind_class: type[Kind], pays: bool) -> int:
    """The envelope's "places": 0–6, at most 2 (the fen) for a paid amount, 2 for kinds that round themselves."""
    places = entry.get("places", MONEY_PLACES)
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= MAX_PLACES:
        raise ConfigError(
            at(where, "places"), _("Enter a whole number of decimal places from 0 to %(max)s.") % {"max": MAX_PLACES}
        )
    if pays and places > MONEY_PLACES:
        raise ConfigError(at(where, "places"), _("A paid amount is money: at most 2 decimal places (the fen)."))
    if kind_class.rounds_itself and places != MONEY_PLACES:
        raise ConfigError(at(where, "places"), _("This kind works to the fen: places must be 2."))
    return places


def _factor(entry: Mapping[str, Any], where: str, kind: str, scope: Scope) -> Formula | None:
    """The envelope's "factor" formula, refused for kinds whose amount must not be scaled."""
    if entry.get("factor") is None:
        return None
    if not KINDS[kind].takes_factor:
        raise ConfigError(
            at(where, "factor"),
            _('A %(kind)s component cannot be scaled by a factor; use "when" or a later formula component.')
            % {"kind": kind},
        )
    return scope.formula(entry["factor"], at(where, "factor"))


def _signals(
    entry: Mapping[str, Any], where: str, code: str, scope: Scope, taken: dict[str, str]
) -> list[tuple[str, Formula]]:
    """The envelope's "signals": each a new name (taken from here on) and its yes/no condition,
    which may use the component's own code."""
    signals: list[tuple[str, Formula]] = []
    raw_signals = mapping(entry.get("signals", {}), at(where, "signals"))
    for signal, condition in raw_signals.items():
        signal_where = at(at(where, "signals"), str(signal))
        signal_name = _identifier(signal, signal_where, taken)
        signals.append((signal_name, scope.condition(condition, signal_where)))
        taken[signal_name] = _("a signal of component %(code)s") % {"code": code}
    return signals


# --- evaluation ---------------------------------------------------------------------------------


def _person(
    policy: Policy,
    subject: str,
    inputs: Mapping[str, Any],
    balances: Mapping[str, Any],
    *,
    unit: str = "",
    leads: tuple[str, ...] = (),
    index: int = 0,
) -> Person:
    numbers: dict[str, Decimal] = {}
    texts: dict[str, str] = {}
    policy_numbers = policy.numbers
    policy_texts = policy.texts
    for name, value in inputs.items():
        if value is None:
            continue  # given without a value (a pay input left empty): missing, named by the component that needs it
        if name in policy_numbers:
            if type(value) is Decimal:
                numbers[name] = value
            else:
                try:
                    numbers[name] = to_decimal(value, what=name)
                except (TypeError, ValueError) as error:
                    raise PayError(str(error), subject=subject, inputs={name: str(value)}) from None
        elif name in policy_texts:
            texts[name] = value if isinstance(value, str) else str(value)
    opening: dict[str, Decimal] = {}
    for code in policy.balance_codes:
        if code in balances:
            try:
                opening[code] = to_decimal(balances[code], what=f"balances.{code}")
            except (TypeError, ValueError) as error:
                raise PayError(str(error), subject=subject, component=code) from None
    return Person(subject, numbers, texts, unit, leads, opening, index)  # positional: no keyword dict per person


Finish = Callable[[Person, Outcome | None], None]


def _finisher(component: Component) -> Finish:
    """``finish(person, outcome)`` for ``component``: round the outcome, record the amount (and
    signals) under the component's names and add the person's line; no outcome (None) when the
    component does not apply to the person.

    Made once per component and evaluation and then run for every person: the component's settings
    are read into the closure here instead of from the component for each person."""
    code = component.code
    name = component.name
    kind = component.kind
    pays = component.pays
    places = component.places
    rounding = component.rounding
    rounds_itself = component.rounds_itself
    factor_formula = component.factor
    signals = component.signals
    value = component.value
    inputs_of = component.inputs_of
    uses = component.uses
    reads_texts = component.reads_texts

    def finish(person: Person, outcome: Outcome | None) -> None:
        applies = outcome is not None
        if outcome is None:
            amount, explanation, movement = _not_applicable(component, person)
        else:
            raw, explanation, movement = outcome
            if factor_formula is not None:
                raw, explanation = _scaled(component, factor_formula, person, raw, explanation)
            if rounds_itself:
                amount = raw
            else:
                amount = quantize(raw, places, rounding)
                # The explanation ends with the unrounded amount shown to the fen (money); the
                # rounded amount is added when it reads differently. Rounding to the fen half up
                # IS money(), so that case never differs and the second rounding is skipped.
                if raw != amount and (places != 2 or (rounding != ROUND_HALF_UP and money(raw) != str(amount))):
                    explanation = f"{explanation} → {amount}"
        numbers = person.numbers
        numbers[code] = amount
        for signal, condition in signals:
            numbers[signal] = ONE if applies and value(condition, person) else ZERO
        if movement is not None:
            person.movements.append(movement)
        if reads_texts:
            inputs = inputs_of(person)
        else:  # Component.inputs_of for a component that reads numbers only, without the call
            inputs = {}
            for use in uses:
                inputs[use] = numbers.get(use)
        person.lines.append(_pay_line((code, name, kind, amount, pays, applies, explanation, inputs)))  # PayLine order

    return finish


def _not_applicable(component: Component, person: Person) -> Outcome:
    """Amount 0 and why, for a person whose ``when`` does not hold; a balance stays as it is."""
    assert component.when is not None
    explanation = _("not applicable: %(condition)s does not hold") % {"condition": condition_text(component.when)}
    movement = None
    if component.has_balance:
        opening = person.balances.get(component.code, ZERO_FEN)
        movement = BalanceMovement(component.code, opening, ZERO_FEN, ZERO_FEN, ZERO_FEN, opening)
    return quantize(ZERO, component.places), explanation, movement


def _scaled(
    component: Component, factor_formula: Formula, person: Person, raw: Decimal, explanation: str
) -> tuple[Decimal, str]:
    """The unrounded amount × the envelope's factor, and the explanation with the factor added."""
    factor = component.value(factor_formula, person)
    raw = raw * factor
    scaled = _("× factor %(formula)s = %(factor)s → %(amount)s") % {
        "formula": factor_formula.expression,
        "factor": plain(factor),
        "amount": money(raw),
    }
    return raw, sep().join([explanation, scaled])


# PayLine(...) goes through the Python-level __new__ that NamedTuple generates, which only calls
# tuple.__new__(PayLine, (fields in order)); calling that directly makes the very same PayLine
# without one Python call per line. The caller lists the fields in PayLine's order.
_pay_line = cast(Callable[[tuple[Any, ...]], PayLine], partial(tuple.__new__, PayLine))


def _run(policy: Policy, people: list[Person], *, population: bool) -> list[PersonPay]:
    with cached_translations(), localcontext(CONTEXT):
        _components(policy, people, population=population)
    results = []
    for person in people:
        # The paid lines added up in line order, as sum() would, without a generator per person.
        total = ZERO_FEN
        for line in person.lines:
            if line.paid:
                total += line.amount
        results.append(PersonPay(person.subject, tuple(person.lines), total, tuple(person.movements), person.numbers))
    return results


def _components(policy: Policy, people: list[Person], *, population: bool) -> None:
    """Every component for everyone, one component at a time (in the formula language's context)."""
    for component in policy.components:
        spec = component.spec
        when = component.when
        finish = _finisher(component)
        if spec.group:
            if not population:
                raise PayError(
                    _("this component needs everyone's results; evaluate the whole population"),
                    subject=people[0].subject if people else "",
                    component=component.code,
                    component_name=component.name,
                )
            active = [when is None or bool(component.value(when, person)) for person in people]
            outcomes = spec.run_group(people, active, component)
            for person, on, outcome in zip(people, active, outcomes, strict=True):
                finish(person, outcome if on else None)
            continue
        run = spec.run  # looked up once per component, not once per person
        if when is None:
            for person in people:
                finish(person, run(person, component))
            continue
        for person in people:
            finish(person, run(person, component) if component.value(when, person) else None)


def evaluate_person(
    policy: Policy,
    inputs: Mapping[str, Decimal | int | str],
    *,
    subject: str,
    balances: Mapping[str, Decimal | int | str] | None = None,
) -> PersonPay:
    """Stage 1 for one person. A policy with group components raises PayError: use
    :func:`evaluate_population`."""
    person = _person(policy, subject, inputs, balances or {})
    return _run(policy, [person], population=False)[0]


def evaluate_population(
    policy: Policy,
    people: Sequence[PersonInput],
    *,
    units: Mapping[str, Mapping[str, Decimal | int | str]] | None = None,
) -> list[PersonPay]:
    """Every component for everyone, in component order (group components see everyone's earlier
    results). ``units``: inputs per unit, merged under each member's own inputs. Results come in
    the order of ``people``."""
    with no_cyclic_gc():
        return _population(policy, people, units)


def _population(
    policy: Policy, people: Sequence[PersonInput], units: Mapping[str, Mapping[str, Decimal | int | str]] | None
) -> list[PersonPay]:
    seen: set[str] = set()
    persons: list[Person] = []
    for index, given in enumerate(people):
        if given.subject in seen:
            raise PayError(_("appears twice in the population"), subject=given.subject)
        seen.add(given.subject)
        inputs: Mapping[str, Any] = given.inputs
        if units and given.unit in units:
            inputs = {**units[given.unit], **given.inputs}
        persons.append(
            _person(
                policy, given.subject, inputs, given.balances, unit=given.unit, leads=tuple(given.leads), index=index
            )
        )
    return _run(policy, persons, population=True)
