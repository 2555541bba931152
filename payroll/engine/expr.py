"""A compiled :class:`core.formula.Formula` for evaluating the same formula for many people.

``Formula`` checks the formula when the policy is saved and stays the one authority on what a
formula means and on every error message. What it does per evaluation (building a SimpleEval,
converting every input, walking the tree) costs ~10 µs, which alone would cap a 5-component
policy well below 20,000 people a second. :class:`Expr` therefore turns the formula's text, once
it has passed ``Formula.compile``, into nested Python closures that do the same Decimal arithmetic
in the same context (28 digits, half up, overflow at 1E+31; literals read from the text exactly as
``Formula`` reads them; IF lazy; ROUND half up through core.numbers.quantize).

Anything unusual on the fast path — a missing name, division by zero, an overflow, an exponent
beyond ±100, a result ≥ 1E+15 — is handed back to ``Formula.evaluate``, so errors (and, should the
two ever disagree, results) are exactly those of the formula language. tests/test_pay_engine.py
checks that both agree on a set of formulas.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from core.formula import MAX_EXPONENT, MAX_RESULT, Formula
from core.numbers import quantize

# The formula language's evaluation context (core.formula): 28 digits, half up, traps.
CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP, Emax=30, traps=[DivisionByZero, InvalidOperation, Overflow])

_Fn = Callable[[Mapping[str, Decimal]], Any]

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class _Unusual(Exception):
    """Leave the fast path: Formula.evaluate decides what happens."""


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise _Unusual
    return a / b


def _power(a: Decimal, b: Decimal) -> Decimal:
    if abs(b) > MAX_EXPONENT:
        raise _Unusual
    return a**b


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text

    def build(self, node: ast.expr) -> _Fn:
        if isinstance(node, ast.Constant):
            value = node.value
            literal = (
                Decimal(value) if isinstance(value, int) else Decimal(ast.get_source_segment(self.text, node) or "")
            )
            return lambda values: literal
        if isinstance(node, ast.Name):
            name = node.id
            return lambda values: values[name]
        if isinstance(node, ast.BinOp):
            left, right = self.build(node.left), self.build(node.right)
            if isinstance(node.op, ast.Div):
                return lambda values: _divide(left(values), right(values))
            if isinstance(node.op, ast.Pow):
                return lambda values: _power(left(values), right(values))
            op = _BINARY[type(node.op)]
            return lambda values: op(left(values), right(values))
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda values: not operand(values)
            if isinstance(node.op, ast.USub):
                return lambda values: -operand(values)
            return lambda values: +operand(values)
        if isinstance(node, ast.BoolOp):
            parts = [self.build(value) for value in node.values]
            if isinstance(node.op, ast.And):
                return lambda values: all(part(values) for part in parts)
            return lambda values: any(part(values) for part in parts)
        if isinstance(node, ast.Compare):
            first = self.build(node.left)
            chain = [
                (_COMPARE[type(op)], self.build(right)) for op, right in zip(node.ops, node.comparators, strict=True)
            ]
            if len(chain) == 1:
                compare, second = chain[0]
                return lambda values: compare(first(values), second(values))

            def compare_chain(values: Mapping[str, Decimal]) -> bool:
                left = first(values)
                for compare, next_part in chain:
                    right = next_part(values)
                    if not compare(left, right):
                        return False
                    left = right
                return True

            return compare_chain
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [self.build(arg) for arg in [*node.args, *(keyword.value for keyword in node.keywords)]]
            function = node.func.id
            if function == "IF":
                condition, yes, no = args
                return lambda values: yes(values) if condition(values) else no(values)
            first_arg = args[0]
            if function == "ROUND":
                places = int(args[1]({})) if len(args) == 2 else 0  # a literal, checked by Formula.compile
                return lambda values: quantize(first_arg(values), places, ROUND_HALF_UP)
            if function == "ABS":
                return lambda values: abs(first_arg(values))
            pick = min if function == "MIN" else max
            return lambda values: pick([arg(values) for arg in args])
        raise ValueError(f"not a checked formula node: {ast.dump(node)}")  # pragma: no cover


class Expr:
    """A checked Formula plus its compiled fast path. ``evaluate`` raises FormulaError like Formula."""

    __slots__ = ("_fast", "_names", "_pieces", "expression", "formula", "names")

    def __init__(self, formula: Formula) -> None:
        self.formula = formula
        self.expression = formula.expression
        self.names = formula.names
        self._names = frozenset(formula.names)
        self._fast = _Builder(formula.expression).build(ast.parse(formula.expression, mode="eval").body)
        self._pieces = _pieces(formula)

    def __repr__(self) -> str:
        return f"Expr({self.expression!r})"

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal:
        """The formula's value (unrounded); FormulaError exactly as Formula.evaluate raises it."""
        with localcontext(CONTEXT):
            return self.run(values)

    def run(self, values: Mapping[str, Decimal]) -> Decimal:
        """:meth:`evaluate` for callers that already work in :data:`CONTEXT` (the policy runner)."""
        try:
            # A missing name is the formula language's error, even where a short-circuit (IF, and,
            # or) would let the closures finish without reading it.
            if not self._names <= values.keys():
                raise _Unusual
            result = self._fast(values)
            if abs(result) < MAX_RESULT:
                return result  # type: ignore[no-any-return]
        except (_Unusual, KeyError, ZeroDivisionError, DecimalException, ArithmeticError, TypeError, ValueError):
            pass
        return self.formula.evaluate(values)  # the formula language's own error (or result)

    def substitute(self, values: Mapping[str, Decimal], show: Callable[[Decimal], str] = str) -> str:
        """``Formula.substitute``: the text with each name replaced by its value (a name without a
        value stays as it is), from the pieces the text was cut into once instead of a regex
        substitution per call."""
        if self._pieces is None:
            return self.expression
        shown = []  # a loop, not a comprehension: no extra Python call
        for piece, is_text in self._pieces:
            shown.append(piece if is_text else (show(values[piece]) if piece in values else piece))
        return "".join(shown)


def _pieces(formula: Formula) -> tuple[tuple[str, bool], ...] | None:
    """The formula's text cut into (text, True) and (name, False) pieces, with the very pattern
    ``Formula.substitute`` finds names with (whole words, longest name first); None when the formula
    uses no names (its text is then shown as it is)."""
    if not formula.names:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(formula.names, key=len, reverse=True))
    pattern = re.compile(rf"\b({alternatives})\b")
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(formula.expression):
        pieces.append((formula.expression[position : match.start()], True))
        pieces.append((match.group(1), False))
        position = match.end()
    pieces.append((formula.expression[position:], True))
    return tuple(pieces)

