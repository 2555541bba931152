"""core.numbers: the one rounding helper and the one way to read a number."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_05UP, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_UP
from decimal import Decimal as D

import pytest
from django.utils import translation

from core.numbers import quantize, to_decimal


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def test_it_rounds_to_the_fen_half_up_by_default() -> None:
    assert str(quantize(D("2.345"))) == "2.35"
    assert str(quantize(D("2.344"))) == "2.34"


def test_it_rounds_negative_halves_away_from_zero() -> None:
    assert quantize(D("-2.345")) == D("-2.35")


def test_it_rounds_to_the_requested_places() -> None:
    assert str(quantize(D("2.5"), 0)) == "3"
    assert str(quantize(D("1.23456"), 4)) == "1.2346"


def test_it_pads_to_the_requested_places() -> None:
    assert str(quantize(D("7"))) == "7.00"
    assert str(quantize(12)) == "12.00"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (ROUND_HALF_EVEN, "2.34"),
        (ROUND_DOWN, "2.34"),
        (ROUND_UP, "2.35"),
        (ROUND_FLOOR, "2.34"),
        (ROUND_CEILING, "2.35"),
    ],
)
def test_it_rounds_with_each_allowed_mode(mode: str, expected: str) -> None:
    assert str(quantize(D("2.345"), 2, mode)) == expected


def test_it_floors_and_ceils_negative_amounts_in_the_right_direction() -> None:
    assert quantize(D("-2.341"), 2, ROUND_FLOOR) == D("-2.35")
    assert quantize(D("-2.349"), 2, ROUND_CEILING) == D("-2.34")


@pytest.mark.parametrize("mode", [ROUND_05UP, ROUND_HALF_DOWN, "nearest"])
def test_it_refuses_other_rounding_modes(mode: str) -> None:
    with pytest.raises(ValueError, match="rounding mode"):
        quantize(D("1.005"), 2, mode)


def test_it_never_returns_a_negative_zero() -> None:
    assert str(quantize(D("-0.004"))) == "0.00"
    assert str(quantize(-D("0"))) == "0.00"


def test_it_refuses_to_round_a_float() -> None:
    with pytest.raises(TypeError, match="float"):
        quantize(2.345)  # type: ignore[arg-type]


def test_it_refuses_to_round_infinity_and_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize(D("Infinity"))
    with pytest.raises(ValueError, match="finite"):
        quantize(D("NaN"))


@pytest.mark.parametrize("places", [-1, 21, True])
def test_it_refuses_impossible_places(places: int) -> None:
    with pytest.raises(ValueError, match="places"):
        quantize(D("1"), places)


def test_it_rounds_large_amounts_without_losing_digits() -> None:
    # 34 significant digits: more than Decimal's default 28-digit context can quantize.
    assert str(quantize(D("12345678901234567890123456789012.125"))) == "12345678901234567890123456789012.13"


def test_it_passes_a_decimal_through_unchanged() -> None:
    value = D("12.345")
    assert to_decimal(value, what="target") is value


def test_it_reads_an_int_exactly() -> None:
    assert to_decimal(12345678901234567890, what="x") == D("12345678901234567890")


def test_it_reads_a_string_with_spaces() -> None:
    assert to_decimal("  95.50 ", what="actual") == D("95.50")


def test_it_reads_thousands_separators() -> None:
    assert to_decimal("1,234.50", what="amount") == D("1234.50")
    assert to_decimal("-1,234,567", what="amount") == D("-1234567")


def test_it_refuses_misplaced_commas() -> None:
    with pytest.raises(ValueError, match='amount: "12,34" is not a number'):
        to_decimal("12,34", what="amount")


def test_it_reads_full_width_digits_typed_with_a_chinese_ime() -> None:
    assert to_decimal("１，２３４．５", what="amount") == D("1234.5")


def test_it_reads_scientific_notation() -> None:
    assert to_decimal("1E+3", what="x") == D(1000)


def test_it_refuses_floats_because_they_lose_fen() -> None:
    with pytest.raises(TypeError, match=r"float.*lose fen"):
        to_decimal(0.1, what="money")


def test_it_refuses_booleans() -> None:
    with pytest.raises(TypeError, match="cap"):
        to_decimal(True, what="cap")


@pytest.mark.parametrize("garbage", ["", "abc", "12a", "1.2.3", "NaN", "inf", "Infinity", "1_000"])
def test_it_refuses_garbage_strings_naming_what(garbage: str) -> None:
    with pytest.raises(ValueError, match=r"^items\[0\]\.points: "):
        to_decimal(garbage, what="items[0].points")


def test_it_refuses_other_types_naming_what() -> None:
    with pytest.raises(ValueError, match="target: expected a number, got NoneType"):
        to_decimal(None, what="target")


def test_it_refuses_a_non_finite_decimal() -> None:
    with pytest.raises(ValueError, match="finite"):
        to_decimal(D("NaN"), what="x")


def test_it_speaks_chinese_when_chinese_is_active() -> None:
    with translation.override("zh-hans"), pytest.raises(TypeError) as error:
        to_decimal(0.5, what="金额")
    assert "浮点" in str(error.value)


def test_it_rounds_the_usual_call_exactly_as_the_checked_path() -> None:
    # quantize takes a short path for a finite Decimal with valid places and mode; an int takes the
    # checked path. Both must give the same digits and exponent (explanations show them).
    from decimal import Context, Decimal

    for text in ["1234.565", "-1234.565", "-0.004", "0.005", "-0", "0E-7", "1E+20", "123456789012345678.123456789"]:
        for places in range(7):
            for mode in ("ROUND_HALF_UP", "ROUND_DOWN", "ROUND_UP", "ROUND_HALF_EVEN"):
                exact = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=mode, context=Context(prec=60))
                expected = exact.copy_abs() if exact.is_zero() else exact
                assert str(quantize(Decimal(text), places, mode)) == str(expected), (text, places, mode)
    assert str(quantize(5, 2)) == str(quantize(Decimal(5), 2)) == "5.00"
