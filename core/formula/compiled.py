"""The evaluator: a checked formula's tree turned once into nested Python closures.

Each node becomes a small function of the inputs mapping that does the node's Decimal arithmetic
(in the caller's context, :data:`~core.formula.language.CONTEXT`); no Python source is generated
and nothing is passed to ``eval``, ``exec`` or ``compile``: the closures only ever add, compare
and call the five functions. Walking a tree per evaluation cost ~10 µs a formula, which alone
would cap a 5-component pay policy well below 20,000 people a second; a chain of closures runs
the same formula in about a microsecond.

Only what the checker admits reaches :func:`build`, already typed: literals are exact Decimals
read from the formula's text, ROUND's places a literal, IF's and the comparisons' operands of the
right kind. IF evaluates only the branch it picks and ``and``/``or``/comparison chains stop early,
so ``IF(target == 0, 0, actual / target)`` never divides by zero.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.numbers import quantize

from .language import MAX_EXPONENT

Compiled = Callable[[Mapping[str, Decimal]], Any]  # a number, or a yes/no inside a condition

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


class ExponentTooLarge(Exception):
    """An exponent beyond ±MAX_EXPONENT met while evaluating (one that comes from an input)."""

    def __init__(self, exponent: Decimal) -> None:
        super().__init__(str(exponent))
        self.exponent = exponent


def _divide(dividend: Decimal, divisor: Decimal) -> Decimal:
    # The C decimal module reports 0 / 0 as a bare InvalidOperation; for HR both are "division by zero".
    if divisor == 0:
        raise ZeroDivisionError
    return dividend / divisor


def _power(base: Decimal, exponent: Decimal) -> Decimal:
    # A literal exponent is checked when the formula is saved; this applies the same limit to an
    # exponent that comes from an input, so the rule does not depend on how the formula is written.
    if abs(exponent) > MAX_EXPONENT:
        raise ExponentTooLarge(exponent)
    return base**exponent


def build(node: ast.expr) -> Compiled:
    """The closure computing ``node`` (a node of a tree that passed the checker)."""
    return _BUILDERS[type(node)](node)


def _constant(node: ast.Constant) -> Compiled:
    literal = node.value
    assert isinstance(literal, Decimal)  # the checker replaced every literal by its exact Decimal
    return lambda values: literal


def _name(node: ast.Name) -> Compiled:
    name = node.id
    return lambda values: values[name]


def _binary(node: ast.BinOp) -> Compiled:
    left, right = build(node.left), build(node.right)
    if isinstance(node.op, ast.Div):
        return lambda values: _divide(left(values), right(values))
    if isinstance(node.op, ast.Pow):
        return lambda values: _power(left(values), right(values))
    op = _BINARY[type(node.op)]
    return lambda values: op(left(values), right(values))


def _unary(node: ast.UnaryOp) -> Compiled:
    operand = build(node.operand)
    if isinstance(node.op, ast.Not):
        return lambda values: not operand(values)
    if isinstance(node.op, ast.USub):
        return lambda values: -operand(values)
    return lambda values: +operand(values)


def _boolean(node: ast.BoolOp) -> Compiled:
    parts = [build(value) for value in node.values]
    if isinstance(node.op, ast.And):
        return lambda values: all(part(values) for part in parts)
    return lambda values: any(part(values) for part in parts)


def _compare(node: ast.Compare) -> Compiled:
    first = build(node.left)
    chain = [(_COMPARE[type(op)], build(right)) for op, right in zip(node.ops, node.comparators, strict=True)]
    if len(chain) == 1:
        compare, second = chain[0]
        return lambda values: compare(first(values), second(values))

    def compare_chain(values: Mapping[str, Decimal]) -> bool:
        # Like Python's 0 <= x < 10: each operand once, stopping at the first comparison that fails.
        left = first(values)
        for compare, next_part in chain:
            right = next_part(values)
            if not compare(left, right):
                return False
            left = right
        return True

    return compare_chain


def _call(node: ast.Call) -> Compiled:
    assert isinstance(node.func, ast.Name)  # the checker admits nothing else
    function = node.func.id
    args = [build(arg) for arg in node.args]  # the checker made ROUND's places= positional
    if function == "IF":
        condition, yes, no = args
        return lambda values: yes(values) if condition(values) else no(values)
    first_arg = args[0]
    if function == "ROUND":
        places = 0
        if len(node.args) == 2:
            literal = node.args[1]
            assert isinstance(literal, ast.Constant) and isinstance(literal.value, Decimal)  # checked: 0–10
            places = int(literal.value)
        return lambda values: quantize(first_arg(values), places, ROUND_HALF_UP)
    if function == "ABS":
        return lambda values: abs(first_arg(values))
    pick = min if function == "MIN" else max
    return lambda values: pick([arg(values) for arg in args])


_BUILDERS: dict[type, Callable[[Any], Compiled]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.BinOp: _binary,
    ast.UnaryOp: _unary,
    ast.BoolOp: _boolean,
    ast.Compare: _compare,
    ast.Call: _call,
}


def pieces(expression: str, names: frozenset[str]) -> tuple[tuple[str, bool], ...] | None:
    """The formula's text cut into (text, True) and (name, False) pieces, for putting values into
    it many times without a regex substitution each time; None when the formula uses no names
    (its text is then shown as it is)."""
    if not names:
        return None
    # Names are identifiers and the formula holds no strings, so a whole-word match (longest name
    # first) finds exactly the names.
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"\b({alternatives})\b")
    cut: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(expression):
        cut.append((expression[position : match.start()], True))
        cut.append((match.group(1), False))
        position = match.end()
    cut.append((expression[position:], True))
    return tuple(cut)
