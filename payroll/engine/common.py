"""Shared pieces of the pay engine: errors, results, config reading, formulas and formatting.

Nothing here knows a component kind; :mod:`payroll.engine.kinds` and :mod:`payroll.engine.group`
build on it and :mod:`payroll.engine.policy` puts them together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any, ClassVar, NamedTuple, TypeVar

from core import configs
from core.configs import ConfigError
from core.explain import plain
from core.formula import Formula, FormulaError
from core.translation import _

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
ZERO_FEN = Decimal("0.00")  # nothing, written to the fen: a line shows 0.00, never 0

ROUNDINGS: dict[str, str] = {
    "half_up": ROUND_HALF_UP,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
    "half_even": ROUND_HALF_EVEN,
}

Value = Decimal | str
T = TypeVar("T")


# --- translations -------------------------------------------------------------------------------
#
# An explanation needs a handful of translated phrases per line: core.translation looks
# each up once per language while a policy is evaluated (inside ``cached_translations``).

# --- errors and results -------------------------------------------------------------------------


class PayError(ValueError):
    """Pay that cannot be computed as it stands: the message names the person, the component and
    the inputs involved (``None`` in :attr:`inputs` = missing)."""

    def __init__(
        self,
        problem: str,
        *,
        subject: str = "",
        component: str = "",
        component_name: str = "",
        inputs: Mapping[str, Value | None] | None = None,
    ) -> None:
        self.problem = problem
        self.subject = subject
        self.component = component
        self.component_name = component_name
        self.inputs: dict[str, Value | None] = dict(inputs or {})
        if component:
            label = f"{component} ({component_name})" if component_name and component_name != component else component
            message = _("Pay for %(subject)s, component %(component)s: %(problem)s") % {
                "subject": subject or "—",
                "component": label,
                "problem": problem,
            }
        else:
            message = _("Pay for %(subject)s: %(problem)s") % {"subject": subject or "—", "problem": problem}
        if self.inputs:
            shown = ", ".join(
                f"{name} = {_('missing') if value is None else show_value(value)}"
                for name, value in sorted(self.inputs.items())
            )
            message = _("%(message)s (inputs: %(inputs)s)") % {"message": message, "inputs": shown}
        super().__init__(message)
        self.message = message


class BalanceMovement(NamedTuple):
    """What a withheld or accrual component did to the person's balance under its code.

    ``closing = opening + added - paid - forfeited``; the pay run stores ``closing`` and passes it
    back as the next period's ``balances[code]``."""

    code: str
    opening: Decimal
    added: Decimal
    paid: Decimal
    forfeited: Decimal
    closing: Decimal


class PayLine(NamedTuple):
    """One component's result for one person.

    ``amount`` is rounded to the component's places with its own rounding; ``applies`` is False
    when the component's ``when`` condition did not hold (amount 0). ``inputs`` holds the values
    of the names the component reads (None = not given), for audit and exports."""

    code: str
    name: str
    kind: str
    amount: Decimal
    paid: bool
    applies: bool
    explanation: str
    inputs: Mapping[str, Value | None]


@dataclass(frozen=True)
class PersonPay:
    """Everything computed for one person. ``total`` is exactly the sum of the paid lines."""

    subject: str
    lines: tuple[PayLine, ...]
    total: Decimal
    movements: tuple[BalanceMovement, ...]
    values: Mapping[str, Decimal]  # every name after the last component: inputs, amounts, signals

    def line(self, code: str) -> PayLine:
        for line in self.lines:
            if line.code == code:
                return line
        raise KeyError(code)

    def amount(self, code: str) -> Decimal:
        return self.line(code).amount

    def movement(self, code: str) -> BalanceMovement:
        for movement in self.movements:
            if movement.code == code:
                return movement
        raise KeyError(code)


@dataclass(frozen=True)
class PersonInput:
    """One person for :func:`evaluate_population`.

    ``unit``: the department or group the person belongs to (pools are split per unit, averages
    may be taken per unit, unit inputs are merged into the person's inputs). ``leads``: the units
    whose members' results feed this person's leader bonus. ``balances``: opening balances of
    withheld and accrual components, by component code."""

    subject: str
    inputs: Mapping[str, Decimal | int | str]
    unit: str = ""
    leads: tuple[str, ...] = ()
    balances: Mapping[str, Decimal | int | str] = field(default_factory=dict)


# --- formatting ---------------------------------------------------------------------------------
#
# Amounts, rates and lists are written with core.explain (money, plain, percent, sep, listed), as
# in scores and grades, so a number reads the same on the sheet and on the pay slip.


def show_value(value: Value) -> str:
    return plain(value) if isinstance(value, Decimal) else str(value)


# --- reading configs ----------------------------------------------------------------------------

at = configs.path
mapping = configs.mapping
text = configs.text
boolean = configs.boolean
items = configs.items


def known_keys(config: Mapping[str, Any], allowed: Sequence[str], where: str, required: Sequence[str] = ()) -> None:
    configs.known_keys(config, allowed, where)
    configs.required_keys(config, required, where)


def number(value: object, where: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal:
    # A setting left out reads as None here: "required" says more than core.configs' "not a number".
    if value is None:
        raise ConfigError(where, _("This setting is required."))
    return configs.number(value, where, minimum=minimum, maximum=maximum)


def choice(value: object, where: str, options: Sequence[str]) -> str:
    # Not core.configs.choice: that one looks the key up itself and words its refusal differently;
    # the pay engine's messages stay as policies have always shown them.
    if value not in options:
        raise ConfigError(
            where, _('"%(value)s" is not one of: %(options)s') % {"value": value, "options": ", ".join(options)}
        )
    return str(value)


class Scope:
    """The names a component may use while its config is read, and the ones it actually uses."""

    def __init__(self, numbers: frozenset[str], texts: frozenset[str]) -> None:
        self.numbers = numbers
        self.texts = texts
        self.used: set[str] = set()

    def formula(self, value: object, where: str) -> Formula:
        """A number formula; a plain number ("400") is a formula too."""
        source = _formula_text(value, where)
        try:
            compiled = Formula.compile(source, names=self.numbers)
        except FormulaError as error:
            raise ConfigError(where, error.message) from None
        self.used.update(compiled.names)
        return compiled

    def condition(self, value: object, where: str) -> Formula:
        """A yes/no formula ("standby == 1 and year_end == 1"), compiled as IF(…, 1, 0)."""
        return condition(value, where, self.numbers, self.used)

    def number_name(self, value: object, where: str) -> str:
        name = text(value, where)
        if name not in self.numbers:
            raise ConfigError(
                where,
                _('Unknown name "%(name)s"; the names you can use here are: %(names)s')
                % {"name": name, "names": ", ".join(sorted(self.numbers))},
            )
        self.used.add(name)
        return name

    def text_name(self, value: object, where: str) -> str:
        name = text(value, where)
        if name not in self.texts:
            raise ConfigError(
                where,
                _('Unknown text input "%(name)s"; the text inputs are: %(names)s')
                % {"name": name, "names": ", ".join(sorted(self.texts))},
            )
        self.used.add(name)
        return name


def _formula_text(value: object, where: str) -> str:
    if isinstance(value, bool) or value is None:
        raise ConfigError(where, _("Enter a formula or a number."))
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        number(value, where)  # raises the usual "floats lose fen" error
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, _("Enter a formula or a number."))
    return value


def condition(value: object, where: str, names: Iterable[str], used: set[str] | None = None) -> Formula:
    """A yes/no formula compiled as ``IF((text), 1, 0)``: evaluates to 1 or 0.

    The text alone must parse as one expression (so wrapping it cannot change its meaning) and
    must be a yes/no; a plain number is refused ("write x == 1")."""
    source = " ".join(_formula_text(value, where).split())
    allowed = frozenset(names)
    try:
        ast.parse(source, mode="eval")
        parses = True
    except (SyntaxError, ValueError):
        parses = False
    if parses:
        try:
            wrapped = Formula.compile(f"IF(({source}), 1, 0)", names=allowed)
        except FormulaError:
            wrapped = None
        if wrapped is not None:
            if used is not None:
                used.update(wrapped.names)
            return wrapped
    try:
        Formula.compile(source, names=allowed)
    except FormulaError as error:
        raise ConfigError(where, error.message) from None
    raise ConfigError(
        where,
        _('"%(formula)s" is a number, not a yes/no condition; write a comparison such as %(formula)s == 1')
        % {"formula": source},
    )


def condition_text(formula: Formula) -> str:
    """The condition as the user wrote it (without the IF wrapper)."""
    expression = formula.expression
    if expression.startswith("IF((") and expression.endswith("), 1, 0)"):
        return expression[4:-8]
    return expression


# --- the compiled component and the person being paid --------------------------------------------


class Person:
    """The mutable state of one person while a policy is evaluated."""

    __slots__ = ("balances", "index", "leads", "lines", "movements", "numbers", "subject", "texts", "unit")

    def __init__(
        self,
        subject: str,
        numbers: dict[str, Decimal],
        texts: dict[str, str],
        unit: str,
        leads: tuple[str, ...],
        balances: Mapping[str, Decimal],
        index: int,
    ) -> None:
        self.subject = subject
        self.numbers = numbers
        self.texts = texts
        self.unit = unit
        self.leads = leads
        self.balances = balances
        self.lines: list[PayLine] = []
        self.movements: list[BalanceMovement] = []
        self.index = index


Outcome = tuple[Decimal, str, BalanceMovement | None]  # unrounded amount, explanation, movement


class Kind:
    """A component kind. Subclasses read their config in ``__init__`` (raising ConfigError with
    full paths) and keep the normalised config in ``self.normalised``."""

    code: ClassVar[str]
    group: ClassVar[bool] = False  # needs everyone's results (stage 2)
    takes_factor: ClassVar[bool] = True  # the envelope's "factor" may scale the amount
    has_balance: ClassVar[bool] = False  # withheld / accrual: uses balances[code]
    rounds_itself: ClassVar[bool] = False  # the amount is already exact to the fen (balances, splits)

    normalised: dict[str, Any]

    def __init__(self, config: Mapping[str, Any], scope: Scope, where: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def run(self, person: Person, component: Component) -> Outcome:  # pragma: no cover
        raise NotImplementedError

    def run_group(
        self, people: Sequence[Person], active: Sequence[bool], component: Component
    ) -> list[Outcome | None]:  # pragma: no cover
        """Outcomes aligned with ``people``; None for those not active (``when`` false)."""
        raise NotImplementedError


class Component:
    """One compiled component of a policy."""

    __slots__ = (
        "code",
        "factor",
        "has_balance",
        "index",
        "kind",
        "name",
        "normalised",
        "pays",
        "places",
        "reads_texts",
        "rounding",
        "rounds_itself",
        "signals",
        "spec",
        "uses",
        "when",
    )

    def __init__(
        self,
        *,
        index: int,
        code: str,
        name: str,
        kind: str,
        spec: Kind,
        rounding: str,
        places: int,
        when: Formula | None,
        factor: Formula | None,
        signals: tuple[tuple[str, Formula], ...],
        pays: bool,
        uses: tuple[str, ...],
        texts: frozenset[str],
        normalised: dict[str, Any],
    ) -> None:
        """``texts``: the policy's text inputs (``uses`` may include some)."""
        self.index = index
        self.code = code
        self.name = name
        self.kind = kind
        self.spec = spec
        self.rounding = rounding
        self.places = places
        self.when = when
        self.factor = factor
        self.signals = signals
        self.pays = pays
        self.uses = uses
        self.normalised = normalised
        # The kind's flags, copied here: they are read for every person.
        self.has_balance = spec.has_balance
        self.rounds_itself = spec.rounds_itself
        self.reads_texts = any(name in texts for name in uses)

    def inputs_of(self, person: Person) -> dict[str, Value | None]:
        """The values of the names the component reads (None = not given), in ``uses`` order."""
        numbers = person.numbers
        values: dict[str, Value | None] = {}
        if not self.reads_texts:
            # A person's numbers never hold a text input's name nor their texts a number's
            # (compile_policy refuses a name used twice), so numbers alone answer here.
            for name in self.uses:
                values[name] = numbers.get(name)
            return values
        texts = person.texts
        for name in self.uses:
            found: Value | None = numbers.get(name)
            values[name] = texts.get(name) if found is None else found
        return values

    def error(self, person: Person, problem: str) -> PayError:
        return PayError(
            problem,
            subject=person.subject,
            component=self.code,
            component_name=self.name,
            inputs=self.inputs_of(person),
        )

    def value(self, formula: Formula, person: Person) -> Decimal:
        try:
            return formula.run(person.numbers)
        except FormulaError as error:
            raise self.error(person, error.message) from None

    def number(self, name: str, person: Person) -> Decimal:
        found = person.numbers.get(name)
        if found is None:
            raise self.error(person, _('Missing input "%(name)s"') % {"name": name})
        return found

    def label(self, name: str, person: Person) -> str:
        found = person.texts.get(name)
        if found is None:
            raise self.error(person, _('Missing input "%(name)s"') % {"name": name})
        return found
