"""The static checker: what a formula may contain, refused with a message HR can act on when the
formula is saved. It also types every node (a number or a yes/no) and replaces each numeric
literal by the exact Decimal written in the formula's text, so the evaluator never sees a float."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal, NamedTuple

from django.utils.translation import gettext as _

from core.explain import listed

from .language import FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_ROUND_PLACES, FormulaError

_Kind = Literal["number", "yes/no"]
NUMBER: _Kind = "number"
BOOLEAN: _Kind = "yes/no"


class Checked(NamedTuple):
    """A formula that passed the checker: its text on one line, its tree (literals already exact
    Decimals, ROUND's places positional), the names it uses and the names it was allowed."""

    text: str
    tree: ast.expr
    used: frozenset[str]
    allowed: frozenset[str]


def check(expression: str, names: Iterable[str]) -> Checked:
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
    return Checked(text, tree.body, frozenset(checker.used), allowed)


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
            names=listed(sorted(self.allowed)) or "—",
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
                functions=listed(FUNCTIONS),
            )
        args = self.arguments(node, function)
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

    def arguments(self, node: ast.Call, function: str) -> list[ast.expr]:
        """The call's arguments in order (ROUND's ``places=`` last), refused when there are too
        many or too few, or when they are unpacked or named."""
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
        return args

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
