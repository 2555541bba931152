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

One checker, one evaluator, for every caller (scoring and pay)::

    Formula.compile(text, names=...)  -> Formula   # checking.py; FormulaError when refused
    formula.evaluate(values, subject=...) -> Decimal   # inputs checked, then the compiled closures
    formula.run(values) -> Decimal    # the same, for Decimal inputs, inside ``localcontext(CONTEXT)``
    formula.substitute(values, show)  -> str       # the text with the values put in, for explanations
    formula.expression, formula.names, formula.allowed

The static checker (checking.py) admits only the node types above; compiled.py turns the checked
tree into nested closures once (no Python source is generated, nothing is passed to eval, exec or
compile), and language.py holds what both agree on: the limits, CONTEXT and FormulaError.
"""

from __future__ import annotations

from .formula import Formula
from .language import CONTEXT, FUNCTIONS, MAX_EXPONENT, MAX_RESULT, FormulaError

__all__ = ["CONTEXT", "FUNCTIONS", "MAX_EXPONENT", "MAX_RESULT", "Formula", "FormulaError"]
