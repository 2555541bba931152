"""A small, safe expression language over named Decimal inputs, for HR-written formulas.

Examples::

    actual / target * 100
    MIN(actual / target, 1.2) * max_points
    IF(actual >= target, max_points, MAX(0, max_points - (target - actual) * 2))
    ROUND(revenue * 0.035, 2)

What is allowed
    * numbers (``12``, ``0.35``, ``1e3``) — always exact Decimals, read from the formula's own text,
      never through a float, so ``0.1 + 0.2`` is exactly ``0.3``;
    * the input names declared when the formula is saved;
    * ``+ - * /`` and ``**`` (exponent at most ±100), unary minus;
    * comparisons ``< <= > >= == !=`` (chains like ``0 <= x < 10`` too) and ``and``, ``or``, ``not``;
    * functions: ``ROUND(x, places=0)`` (half up, i.e. away from zero for halves: ROUND(2.5) = 3 and
      ROUND(-2.5) = -3, with core.numbers.quantize; ``places`` a literal 0–10),
      ``MIN(a, b, …)``, ``MAX(a, b, …)``, ``ABS(x)``, ``IF(condition, a, b)``. IF only evaluates the
      branch it picks, so ``IF(target == 0, 0, actual / target)`` never divides by zero.

What is refused when the formula is saved (:meth:`Formula.compile` raises :class:`FormulaError`
naming the formula and the problem): syntax errors, unknown names (with a "did you mean"), unknown
functions, attribute access, subscripts, strings, lists, lambdas, comprehensions, ``%``, ``//``,
bit operators, ``in``/``is``, Python's ``a if c else b`` (use IF), a yes/no where a number is needed
and the other way round, and literal exponents beyond ±100.

Evaluation (:meth:`Formula.evaluate`) works in a 28-digit Decimal context and does not round: the
caller rounds the result (points, money) with core.numbers.quantize. Division by zero, a
missing input, an overflow (any intermediate ≥ 1E+31, or a result ≥ 1E+15) or a result that is not
a number raise FormulaError naming the formula and the subject (e.g. "1002 张三").

The evaluator is a subclass of simpleeval's SimpleEval restricted to the node types above; the
static checker in :meth:`Formula.compile` makes sure nothing else ever reaches it.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any, Literal

from django.utils.translation import gettext as _
from simpleeval import FeatureNotAvailable, NameNotDefined, SimpleEval

from core.numbers import quantize, to_decimal

__all__ = ["FUNCTIONS", "Formula", "FormulaError"]

MAX_LENGTH = 2000  # characters; a formula longer than this is a program, not a formula
MAX_EXPONENT = 100
MAX_DEPTH = 100  # nesting levels; both the checker and simpleeval recurse, and Python's stack is finite
MAX_ROUND_PLACES = 10
MAX_RESULT = Decimal("1E+15")  # far beyond any score or amount in CNY, still exact to the fen

# 28 significant digits as in Decimal's default context, but overflow at 1E+31 rather than
# 1E+1000000: anything that large is a mistake in the formula, and it must not reach quantize.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP, Emax=30, traps=[DivisionByZero, InvalidOperation, Overflow])

FUNCTIONS = ("ROUND", "MIN", "MAX", "ABS", "IF")

_Kind = Literal["number", "yes/no"]
NUMBER: _Kind = "number"
BOOLEAN: _Kind = "yes/no"


class FormulaError(ValueError):
    """A formula that cannot be saved or evaluated; the message names the formula (and subject)."""

    def __init__(self, message: str, *, expression: str = "", subject: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.subject = subject


def _for_subject(message: str, subject: str) -> str:
    if not subject:
        return message
    return _("%(message)s (for %(subject)s)") % {"message": message, "subject": subject}


# --- the evaluator ------------------------------------------------------------------------------


def _power(base: Decimal, exponent: Decimal) -> Decimal:
    # A literal exponent is checked when the formula is saved; this applies the same limit to an
    # exponent that comes from an input, so the rule does not depend on how the formula is written.
    if abs(exponent) > MAX_EXPONENT:
        raise _ExponentTooLarge(exponent)
    return base**exponent


class _ExponentTooLarge(Exception):
    def __init__(self, exponent: Decimal) -> None:
        super().__init__(str(exponent))
        self.exponent = exponent


def _divide(dividend: Decimal, divisor: Decimal) -> Decimal:
    # The C decimal module reports 0 / 0 as a bare InvalidOperation; for HR both are "division by zero".
    if divisor == 0:
        raise ZeroDivisionError
    return dividend / divisor


def _round(value: Decimal, places: Decimal = Decimal(0)) -> Decimal:
    return quantize(value, int(places), ROUND_HALF_UP)


def _min(*values: Decimal) -> Decimal:
    return min(values)


def _max(*values: Decimal) -> Decimal:
    return max(values)


def _abs(value: Decimal) -> Decimal:
    return abs(value)


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _divide,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}

# IF is not here: it must not evaluate both branches, so _DecimalEval._eval_call handles it.
_FUNCTIONS: dict[str, Callable[..., Any]] = {"ROUND": _round, "MIN": _min, "MAX": _max, "ABS": _abs}


class _DecimalEval(SimpleEval):
    """SimpleEval that knows only Decimal literals, declared names and the five functions."""

    def __init__(self, names: Mapping[str, Decimal]) -> None:
        super().__init__(operators=dict(_OPERATORS), functions=dict(_FUNCTIONS), names=dict(names))
        # Whitelist, not blacklist: subscripts, attributes, f-strings, assignments and every other
        # node SimpleEval would otherwise handle are simply unknown here.
        self.nodes = {
            ast.Name: self._eval_name,
            ast.UnaryOp: self._eval_unaryop,
            ast.BinOp: self._eval_binop,
            ast.BoolOp: self._eval_boolop,
            ast.Compare: self._eval_compare,
            ast.Call: self._eval_call,
            ast.Constant: self._eval_constant,
        }

    def _eval_constant(self, node: ast.Constant) -> Decimal:
        # Formula.compile replaced every numeric literal's value by the Decimal read from the
        # formula's text; anything else (a string, True, None) never passes the checker.
        if isinstance(node.value, Decimal):
            return node.value
        raise FeatureNotAvailable(f"literal {node.value!r}")

    def _eval_name(self, node: ast.Name) -> Decimal:
        try:
            value: Decimal = self.names[node.id]
        except KeyError:
            raise NameNotDefined(node.id, self.expr) from None
        return value

    def _eval_call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # the checker admits nothing else
        if node.func.id == "IF":
            # Lazy: only the chosen branch runs, so a guard against division by zero works.
            condition, when_true, when_false = node.args
            return self._eval(when_true) if self._eval(condition) else self._eval(when_false)
        return super()._eval_call(node)


# --- the static checker -------------------------------------------------------------------------


_OPERATOR_SYMBOLS: dict[type, str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}

_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _construct(node: ast.AST) -> str:
    """A name for a refused construct that an HR user can look up in the formula."""
    return {
        ast.Attribute: _("attribute access (.)"),
        ast.Subscript: _("subscripts ([])"),
        ast.Lambda: _("lambda"),
        ast.ListComp: _("comprehensions"),
        ast.SetComp: _("comprehensions"),
        ast.DictComp: _("comprehensions"),
        ast.GeneratorExp: _("comprehensions"),
        ast.List: _("lists"),
        ast.Tuple: _("tuples"),
        ast.Dict: _("dictionaries"),
        ast.Set: _("sets"),
        ast.JoinedStr: _("text (strings)"),
        ast.NamedExpr: _("assignment (:=)"),
        ast.IfExp: _('"a if c else b" (use IF(c, a, b))'),
        ast.Starred: _("unpacking (*)"),
    }.get(type(node), type(node).__name__)


class _Checker:
    """Walks the parsed formula once: refuses what is not allowed, types every node as a number
    or a yes/no, collects the names used and turns numeric literals into exact Decimals."""

    def __init__(self, expression: str, names: frozenset[str]) -> None:
        self.expression = expression
        self.allowed = names
        self.used: set[str] = set()
        self.depth = 0

    def fail(self, message: str, **params: object) -> FormulaError:
        return FormulaError(message % {"formula": self.expression, **params}, expression=self.expression)

    def expect(self, node: ast.expr, kind: _Kind) -> None:
        actual = self.check(node)
        if actual != kind:
            if kind == NUMBER:
                raise self.fail(
                    _('A yes/no value is used where a number is needed in formula "%(formula)s": %(part)s'),
                    part=self.source(node),
                )
            raise self.fail(
                _('A number is used where a yes/no condition is needed in formula "%(formula)s": %(part)s'),
                part=self.source(node),
            )

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.expression, node) or type(node).__name__

    def check(self, node: ast.expr) -> _Kind:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.fail(
                    _('Formula "%(formula)s" is nested too deeply (at most %(max)s levels)'), max=MAX_DEPTH
                )
            return self.check_node(node)
        finally:
            self.depth -= 1

    def check_node(self, node: ast.expr) -> _Kind:
        if isinstance(node, ast.Constant):
            return self.literal(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                self.expect(node.operand, BOOLEAN)
                return BOOLEAN
            if isinstance(node.op, ast.USub | ast.UAdd):
                self.expect(node.operand, NUMBER)
                return NUMBER
            raise self.operator(node.op)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ARITHMETIC):
                raise self.operator(node.op)
            self.expect(node.left, NUMBER)
            self.expect(node.right, NUMBER)
            if isinstance(node.op, ast.Pow):
                self.exponent(node.right)
            return NUMBER
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self.expect(value, BOOLEAN)
            return BOOLEAN
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if not isinstance(op, _COMPARISONS):
                    raise self.operator(op)
            for operand in [node.left, *node.comparators]:
                self.expect(operand, NUMBER)
            return BOOLEAN
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(_('Not allowed in formula "%(formula)s": %(construct)s'), construct=_construct(node))

    def operator(self, op: ast.AST) -> FormulaError:
        return self.fail(
            _('The operator %(operator)s is not allowed in formula "%(formula)s"'),
            operator=_OPERATOR_SYMBOLS.get(type(op), type(op).__name__),
        )

    def literal(self, node: ast.Constant) -> _Kind:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.fail(
                _('Only numbers can be written into formula "%(formula)s", not %(literal)s'), literal=self.source(node)
            )
        if isinstance(value, str | bytes):
            raise self.fail(_('Not allowed in formula "%(formula)s": %(construct)s'), construct=_("text (strings)"))
        if isinstance(value, int):
            node.value = Decimal(value)  # type: ignore[assignment]  # exact, whatever base it was written in
        elif isinstance(value, float):
            # Read the digits the user typed, not the float Python made of them: "0.1" is 0.1.
            node.value = Decimal(self.source(node))  # type: ignore[assignment]
        else:  # complex
            raise self.fail(
                _('Only numbers can be written into formula "%(formula)s", not %(literal)s'), literal=self.source(node)
            )
        return NUMBER

    def name(self, node: ast.Name) -> _Kind:
        if node.id in self.allowed:
            self.used.add(node.id)
            return NUMBER
        if node.id in FUNCTIONS:
            raise self.fail(
                _(
                    '%(function)s is a function in formula "%(formula)s"; '
                    "call it with parentheses, e.g. %(function)s(…)"
                ),
                function=node.id,
            )
        suggestion = _suggest(node.id, self.allowed)
        if suggestion:
            raise self.fail(
                _('Unknown name "%(name)s" in formula "%(formula)s"; did you mean "%(suggestion)s"?'),
                name=node.id,
                suggestion=suggestion,
            )
        raise self.fail(
            _('Unknown name "%(name)s" in formula "%(formula)s"; the names you can use are: %(names)s'),
            name=node.id,
            names=", ".join(sorted(self.allowed)) or "—",
        )

    def exponent(self, node: ast.expr) -> None:
        literal = node.operand if isinstance(node, ast.UnaryOp) else node
        if isinstance(literal, ast.Constant) and isinstance(literal.value, Decimal):
            if abs(literal.value) > MAX_EXPONENT:
                raise self.fail(
                    _('The exponent %(exponent)s is too large in formula "%(formula)s" (at most %(max)s)'),
                    exponent=self.source(node),
                    max=MAX_EXPONENT,
                )

    def call(self, node: ast.Call) -> _Kind:
        if not isinstance(node.func, ast.Name):
            raise self.fail(_('Not allowed in formula "%(formula)s": %(construct)s'), construct=_construct(node.func))
        function = node.func.id
        if function not in FUNCTIONS:
            suggestion = _suggest(function, FUNCTIONS)
            if suggestion:
                raise self.fail(
                    _('Unknown function %(function)s in formula "%(formula)s"; did you mean %(suggestion)s?'),
                    function=function,
                    suggestion=suggestion,
                )
            raise self.fail(
                _('Unknown function %(function)s in formula "%(formula)s"; the functions are %(functions)s'),
                function=function,
                functions=", ".join(FUNCTIONS),
            )
        args: list[ast.expr] = list(node.args)
        for arg in args:
            if isinstance(arg, ast.Starred):
                raise self.fail(_('Not allowed in formula "%(formula)s": %(construct)s'), construct=_construct(arg))
        for keyword in node.keywords:
            if function == "ROUND" and keyword.arg == "places" and len(args) == 1:
                args.append(keyword.value)
            else:
                raise self.fail(
                    _('%(function)s does not take the argument "%(argument)s" in formula "%(formula)s"'),
                    function=function,
                    argument=keyword.arg or "**",
                )
        arity = {"ROUND": (1, 2), "ABS": (1, 1), "IF": (3, 3), "MIN": (1, None), "MAX": (1, None)}[function]
        low, high = arity
        if len(args) < low or (high is not None and len(args) > high):
            usage = {
                "ROUND": "ROUND(x, places)",
                "ABS": "ABS(x)",
                "IF": "IF(condition, a, b)",
                "MIN": "MIN(a, b, …)",
                "MAX": "MAX(a, b, …)",
            }[function]
            raise self.fail(
                _('%(function)s gets %(count)s arguments in formula "%(formula)s"; write %(usage)s'),
                function=function,
                count=len(args),
                usage=usage,
            )
        if function == "IF":
            self.expect(args[0], BOOLEAN)
            kind = self.check(args[1])
            self.expect(args[2], kind)
            return kind
        self.expect(args[0], NUMBER)
        if function == "ROUND" and len(args) == 2:
            self.places(args[1])
            if node.keywords:  # make the evaluator see ROUND(x, places) positionally
                node.args = args
                node.keywords = []
            return NUMBER
        for arg in args[1:]:
            self.expect(arg, NUMBER)
        return NUMBER

    def places(self, node: ast.expr) -> None:
        self.expect(node, NUMBER)
        value = node.value if isinstance(node, ast.Constant) else None
        if not (isinstance(value, Decimal) and value == value.to_integral_value() and 0 <= value <= MAX_ROUND_PLACES):
            raise self.fail(
                _(
                    "ROUND needs a whole number of decimal places from 0 to %(max)s "
                    'in formula "%(formula)s", not %(places)s'
                ),
                max=MAX_ROUND_PLACES,
                places=self.source(node),
            )


def _syntax_problem(message: str) -> str:
    """Python's own words for the commonest syntax errors, in the user's language."""
    if "never closed" in message:
        return _("a bracket is not closed")
    if message.startswith("unmatched") or message.startswith("closing parenthesis"):
        return _("a closing bracket does not match")
    if message.startswith("invalid syntax"):
        return _("invalid syntax")
    return message


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    candidates = list(candidates)
    # Case first: "round" → "ROUND", "Actual" → "actual".
    for candidate in candidates:
        if candidate.lower() == word.lower():
            return candidate
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


# --- the public class ---------------------------------------------------------------------------


class Formula:
    """A checked formula. Build it with :meth:`compile`; evaluate it as often as needed."""

    __slots__ = ("_tree", "allowed", "expression", "names")

    def __init__(self, expression: str, tree: ast.expr, names: frozenset[str], allowed: frozenset[str]) -> None:
        self.expression = expression
        self._tree = tree
        self.names = names  # the input names the formula uses
        self.allowed = allowed  # the names it was allowed to use

    def __repr__(self) -> str:
        return f"Formula({self.expression!r})"

    @classmethod
    def compile(cls, expression: str, *, names: Iterable[str]) -> Formula:
        """Check ``expression`` against the declared input ``names``; raise FormulaError if it is not valid."""
        if not isinstance(expression, str):
            raise FormulaError(_("A formula must be text."), expression=str(expression))
        # One line: explanations show the formula inline and error positions count characters on it.
        text = " ".join(expression.split())
        allowed = frozenset(names)
        for name in allowed:
            if not name.isidentifier() or name in FUNCTIONS:
                raise FormulaError(
                    _('"%(name)s" cannot be an input name of formula "%(formula)s": use letters, digits and _ and '
                      "avoid the function names")
                    % {"name": name, "formula": text},
                    expression=text,
                )
        if not text:
            raise FormulaError(_("The formula is empty."), expression=text)
        if len(text) > MAX_LENGTH:
            raise FormulaError(
                _('Formula "%(formula)s…" is too long (at most %(max)s characters)')
                % {"formula": text[:40], "max": MAX_LENGTH},
                expression=text,
            )
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as error:
            if error.offset:
                message = _('Syntax error in formula "%(formula)s" at character %(column)s: %(problem)s')
            else:  # Python reports no position when the formula ends too early: "actual /"
                message = _('Syntax error in formula "%(formula)s": it ends too early (%(problem)s)')
            raise FormulaError(
                message % {"formula": text, "column": error.offset, "problem": _syntax_problem(error.msg)},
                expression=text,
            ) from None
        except (ValueError, RecursionError, MemoryError):
            # null bytes, absurd nesting
            raise FormulaError(_('Formula "%(formula)s" cannot be read') % {"formula": text}, expression=text) from None
        checker = _Checker(text, allowed)
        try:
            kind = checker.check(tree.body)
        except RecursionError:
            raise FormulaError(_('Formula "%(formula)s" cannot be read') % {"formula": text}, expression=text) from None
        if kind != NUMBER:
            raise FormulaError(
                _('Formula "%(formula)s" gives a yes/no, not a number; use IF(condition, a, b)') % {"formula": text},
                expression=text,
            )
        return cls(text, tree.body, frozenset(checker.used), allowed)

    def evaluate(self, values: Mapping[str, Decimal], *, subject: str = "") -> Decimal:
        """The formula's value for ``values`` (unrounded); FormulaError naming formula and subject."""
        inputs: dict[str, Decimal] = {}
        for name in sorted(self.names):
            value = values.get(name)
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
        evaluator = _DecimalEval(inputs)
        try:
            with localcontext(_CONTEXT):
                result = evaluator.eval(self.expression, previously_parsed=self._tree)
        except ZeroDivisionError:  # DivisionByZero and 0/0 (DivisionUndefined) both derive from it
            raise self._error(_('Division by zero in formula "%(formula)s"'), subject) from None
        except Overflow:
            raise self._error(_('A number grows too large in formula "%(formula)s"'), subject) from None
        except _ExponentTooLarge as error:
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

    def substitute(self, values: Mapping[str, Decimal], show: Callable[[Decimal], str] = str) -> str:
        """The formula's text with each input name replaced by its value, for explanations."""
        if not self.names:
            return self.expression
        # Names are identifiers and the formula holds no strings, so a word-boundary match is exact.
        alternatives = "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))
        pattern = re.compile(rf"\b({alternatives})\b")
        return pattern.sub(lambda m: show(values[m.group(1)]) if m.group(1) in values else m.group(1), self.expression)

    def _error(self, message: str, subject: str, **params: object) -> FormulaError:
        text = message % {"formula": self.expression, **params}
        return FormulaError(_for_subject(text, subject), expression=self.expression, subject=subject)
