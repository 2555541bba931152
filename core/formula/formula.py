"""The public class: a formula checked once, evaluated by its compiled closures as often as needed."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation, Overflow, localcontext

from django.utils.translation import gettext as _

from core.numbers import to_decimal

from .checking import check
from .compiled import ExponentTooLarge, build, pieces
from .language import CONTEXT, MAX_EXPONENT, MAX_RESULT, FormulaError, for_subject


class Formula:
    """A checked formula. Build it with :meth:`compile`; evaluate it as often as needed.

    :meth:`evaluate` takes inputs of any kind :func:`core.numbers.to_decimal` reads and checks them;
    :meth:`run` is the same evaluation for callers whose inputs are already Decimals and who work
    in :data:`CONTEXT` (the pay engine). Both raise the same FormulaError for the same problem."""

    __slots__ = ("_order", "_pieces", "_run", "allowed", "expression", "names")

    def __init__(self, expression: str, tree: ast.expr, names: frozenset[str], allowed: frozenset[str]) -> None:
        """``tree``: the checked tree of ``expression`` (see :meth:`compile`)."""
        self.expression = expression
        self.names = names  # the input names the formula uses
        self.allowed = allowed  # the names it was allowed to use
        self._run = build(tree)
        self._order = tuple(sorted(names))  # inputs are checked in name order: the first problem is reported
        self._pieces = pieces(expression, names)

    def __repr__(self) -> str:
        return f"Formula({self.expression!r})"

    @classmethod
    def compile(cls, expression: str, *, names: Iterable[str]) -> Formula:
        """Check ``expression`` against the declared input ``names``; raise FormulaError if it is not valid."""
        checked = check(expression, names)
        try:
            return cls(checked.text, checked.tree, checked.used, checked.allowed)
        except RecursionError:  # pragma: no cover - the checker's MAX_DEPTH keeps formulas far from the limit
            raise FormulaError(
                _('Formula "%(formula)s" cannot be read') % {"formula": checked.text}, expression=checked.text
            ) from None

    def evaluate(self, values: Mapping[str, Decimal], *, subject: str = "") -> Decimal:
        """The formula's value for ``values`` (unrounded); FormulaError naming formula and subject."""
        inputs = self._inputs(values, subject)
        try:
            with localcontext(CONTEXT):
                result = self._run(inputs)
        except ZeroDivisionError:  # DivisionByZero and 0/0 (DivisionUndefined) both derive from it
            raise self._error(_('Division by zero in formula "%(formula)s"'), subject) from None
        except Overflow:
            raise self._error(_('A number grows too large in formula "%(formula)s"'), subject) from None
        except ExponentTooLarge as error:
            raise self._error(
                _('The exponent %(exponent)s is too large in formula "%(formula)s" (at most %(max)s)'),
                subject,
                exponent=error.exponent,
                max=MAX_EXPONENT,
            ) from None
        except RecursionError:  # pragma: no cover - MAX_DEPTH keeps formulas far from the limit
            raise self._error(_('Formula "%(formula)s" cannot be read'), subject) from None
        except InvalidOperation:
            # e.g. a negative number to a fractional power, 0 ** 0
            raise self._error(_('Formula "%(formula)s" has no numeric value for these inputs'), subject) from None
        if isinstance(result, bool) or not isinstance(result, Decimal):
            raise self._error(_('Formula "%(formula)s" gives a yes/no, not a number'), subject)
        if abs(result) >= MAX_RESULT:
            raise self._error(_('A number grows too large in formula "%(formula)s"'), subject)
        return result

    def run(self, values: Mapping[str, Decimal]) -> Decimal:
        """:meth:`evaluate` for callers that already work in :data:`CONTEXT` with Decimal values
        (the pay engine, for every person and component): the closures run on ``values`` as they
        are, without checking or copying the inputs first."""
        try:
            # A missing name is the formula language's error, even where a short-circuit (IF, and,
            # or) would let the closures finish without reading it.
            if self.names <= values.keys():
                result = self._run(values)
                if abs(result) < MAX_RESULT:
                    return result  # type: ignore[no-any-return]
        except (ExponentTooLarge, KeyError, ArithmeticError, TypeError, ValueError):
            pass
        # Anything unusual (a missing or unreadable input, division by zero, a result too large) is
        # evaluated again with the inputs checked: the error is then exactly evaluate's.
        return self.evaluate(values)

    def substitute(self, values: Mapping[str, Decimal], show: Callable[[Decimal], str] = str) -> str:
        """The formula's text with each input name replaced by its value, for explanations (a name
        without a value stays as it is)."""
        if self._pieces is None:
            return self.expression
        shown = []  # a loop, not a comprehension: no extra Python call
        for piece, is_text in self._pieces:
            shown.append(piece if is_text else (show(values[piece]) if piece in values else piece))
        return "".join(shown)

    def _inputs(self, values: Mapping[str, Decimal], subject: str) -> dict[str, Decimal]:
        """The values of the names the formula uses, as Decimals; FormulaError for the first (by
        name) that is missing or not a number."""
        inputs: dict[str, Decimal] = {}
        for name in self._order:
            value = values.get(name)
            if type(value) is Decimal and value.is_finite():
                inputs[name] = value  # what to_decimal gives for it, without the call
                continue
            if value is None:
                raise self._error(_('Missing input "%(name)s" for formula "%(formula)s"'), subject, name=name)
            try:
                inputs[name] = to_decimal(value, what=name)
            except (TypeError, ValueError) as error:
                raise self._error(
                    _('Input "%(name)s" of formula "%(formula)s" is not a number: %(problem)s'),
                    subject,
                    name=name,
                    problem=str(error),
                ) from None
        return inputs

    def _error(self, message: str, subject: str, **params: object) -> FormulaError:
        text = message % {"formula": self.expression, **params}
        return FormulaError(for_subject(text, subject), expression=self.expression, subject=subject)
