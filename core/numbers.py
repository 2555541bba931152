"""The product's one place for turning things into Decimals and for rounding them.

Every amount of money is kept to the fen (0.01 CNY) and every score to 0.01 point, rounded
half up (四舍五入) unless a scheme says otherwise. Rounding anywhere else in the code base is a
bug: two helpers that round "the same way" drift apart the first time one of them is changed.

* :func:`quantize` rounds a Decimal to ``places`` decimals with one of the rounding modes HR
  schemes actually use. ``ROUND_HALF_UP`` is Decimal's: halves go away from zero, so -2.5 → -3.
  A rounded zero is always ``0.00``, never ``-0.00`` (a deduction of nothing must not print
  as a negative amount).
* :func:`to_decimal` reads a number from a form, a JSON config or an import cell. It refuses
  floats, because ``0.1`` as a float is not 0.1 and the error shows up in the fen.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
)

from django.utils.translation import gettext as _

from core.translation import pgettext

__all__ = [
    "MONEY_PLACES",
    "POINT_PLACES",
    "ROUNDING_MODES",
    "quantize",
    "to_decimal",
]

MONEY_PLACES = 2  # to the fen
POINT_PLACES = 2  # scores to 0.01 point

# The modes a scheme may ask for. ROUND_05UP and ROUND_HALF_DOWN are left out on purpose: no
# scheme uses them and accepting them would let a typo in a config pass silently.
ROUNDING_MODES = frozenset({ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN, ROUND_UP, ROUND_FLOOR, ROUND_CEILING})

MAX_PLACES = 20

# quantize() raises InvalidOperation when the result needs more digits than the context's
# precision; the thread's default context (28 digits) is too small for large amounts kept to
# many places, so rounding uses its own, wider context. The rounding mode is passed per call.
_CONTEXT = Context(prec=60)

# Digits with thousands separators: "1,234" or "1,234.50", never "12,34".
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# 1, 0.1, 0.01, …: the exponents quantize rounds to, made once.
_EXPONENTS: tuple[Decimal, ...] = tuple(Decimal(1).scaleb(-places) for places in range(MAX_PLACES + 1))


def quantize(value: Decimal | int, places: int = 2, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``value`` rounded to ``places`` decimals (2: the fen, 0.01 point) with ``rounding``."""
    # The usual call first: a close rounds ~20 times per employee, and the checks below cost more
    # than the rounding. Same operation, same context; anything else takes the checked path.
    if type(value) is Decimal and type(places) is int and 0 <= places <= MAX_PLACES \
            and rounding in ROUNDING_MODES and value.is_finite():
        # Positional arguments: _decimal parses keyword arguments several times more slowly.
        result = value.quantize(_EXPONENTS[places], rounding, _CONTEXT)
        return result if result else result.copy_abs()  # a zero is falsy: -0.00 becomes 0.00
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(
            _("Only Decimal or int values can be rounded, not %(type)s; floats lose fen.")
            % {"type": type(value).__name__}
        )
    if rounding not in ROUNDING_MODES:
        raise ValueError(
            _("Unknown rounding mode %(mode)s; use one of %(modes)s.")
            % {"mode": rounding, "modes": pgettext("explanation list", ", ").join(sorted(ROUNDING_MODES))}
        )
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= MAX_PLACES:
        raise ValueError(
            _("Decimal places must be a whole number from 0 to %(max)s, not %(places)r.")
            % {"max": MAX_PLACES, "places": places}
        )
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(_("%(value)s is not a finite number.") % {"value": number})
    result = number.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=_CONTEXT)
    # -0.004 rounds to -0.00; equal to zero, but it would print and serialise with a minus sign.
    return result.copy_abs() if result.is_zero() else result


def to_decimal(value: object, *, what: str) -> Decimal:
    """``value`` as an exact Decimal; ``what`` names it in errors ("target", "items[2].points").

    Accepts a Decimal, an int or a string ("12.5", " 1,234.50 ", full-width "１２．５").
    Refuses floats and booleans with TypeError and anything that is not a finite number with
    ValueError.
    """
    if isinstance(value, bool):
        # bool is an int subclass: True would silently become 1.
        raise TypeError(
            _("%(what)s: expected a number, got a yes/no value (%(value)s).") % {"what": what, "value": value}
        )
    if isinstance(value, float):
        raise TypeError(
            _('%(what)s: got the float %(value)r; floats lose fen, write the number as a string such as "12.34".')
            % {"what": what, "value": value}
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        # NFKC turns full-width digits, points and commas typed with a Chinese IME into ASCII.
        text = unicodedata.normalize("NFKC", value).strip()
        if _GROUPED.match(text):
            text = text.replace(",", "")
        if not _PLAIN.match(text):
            raise ValueError(_('%(what)s: "%(value)s" is not a number.') % {"what": what, "value": value})
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise ValueError(_('%(what)s: "%(value)s" is not a number.') % {"what": what, "value": value}) from None
    else:
        raise ValueError(
            _("%(what)s: expected a number, got %(type)s.") % {"what": what, "type": type(value).__name__}
        )
    if not number.is_finite():
        raise ValueError(_("%(what)s: %(value)s is not a finite number.") % {"what": what, "value": number})
    return number
