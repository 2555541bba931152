"""What the checker and the evaluator agree on: the limits, the evaluation context and the error."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

from django.utils.translation import gettext as _

MAX_LENGTH = 2000  # characters; a formula longer than this is a program, not a formula
MAX_EXPONENT = 100
MAX_DEPTH = 100  # nesting levels; the checker and the compiled closures recurse, and Python's stack is finite
MAX_ROUND_PLACES = 10
MAX_RESULT = Decimal("1E+15")  # far beyond any score or amount in CNY, still exact to the fen

# 28 significant digits as in Decimal's default context, but overflow at 1E+31 rather than
# 1E+1000000: anything that large is a mistake in the formula, and it must not reach quantize.
# Callers that evaluate many formulas in a row (the pay engine) enter it once and use Formula.run.
CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP, Emax=30, traps=[DivisionByZero, InvalidOperation, Overflow])

FUNCTIONS = ("ROUND", "MIN", "MAX", "ABS", "IF")


class FormulaError(ValueError):
    """A formula that cannot be saved or evaluated; the message names the formula (and subject)."""

    def __init__(self, message: str, *, expression: str = "", subject: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.subject = subject


def for_subject(message: str, subject: str) -> str:
    """``message`` naming the person or line it was evaluated for, when there is one."""
    if not subject:
        return message
    return _("%(message)s (for %(subject)s)") % {"message": message, "subject": subject}
