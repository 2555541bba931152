"""core.formula at its edges: the limits (length, nesting, exponent, ROUND's places) one either side,
and the refusals the main tests do not reach (found by bin/mutate formula)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal as D
from decimal import localcontext

import pytest
from django.utils import translation

from core.formula import CONTEXT, Formula, FormulaError

MAX_LENGTH = 2000  # the documented limits, written out: a change to them must show here
MAX_DEPTH = 100
MAX_RESULT = D("1E+15")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def refused(expression: object, names: Iterable[str] = ("actual", "target")) -> str:
    with pytest.raises(FormulaError) as error:
        Formula.compile(expression, names=names)  # type: ignore[arg-type]
    return str(error.value)


def nested(levels: int) -> str:
    """A formula whose tree is ``levels`` deep: a sum of ``levels`` ones (levels - 1 additions)."""
    return "1" + " + 1" * (levels - 1)


# --- limits, one either side -----------------------------------------------------------------


def test_it_accepts_a_formula_exactly_max_length_long() -> None:
    name = "a" * MAX_LENGTH
    assert Formula.compile(name, names={name}).evaluate({name: D(7)}) == 7


def test_it_refuses_a_formula_one_character_over_max_length() -> None:
    name = "a" * (MAX_LENGTH + 1)
    message = refused(name, names={name})
    assert message == f'Formula "{"a" * 40}…" is too long (at most {MAX_LENGTH} characters)'


def test_it_accepts_a_formula_nested_exactly_max_depth_levels() -> None:
    assert Formula.compile(nested(MAX_DEPTH), names=()).evaluate({}) == MAX_DEPTH


def test_it_refuses_a_formula_nested_one_level_deeper_than_max_depth() -> None:
    assert "is nested too deeply (at most 100 levels)" in refused(nested(MAX_DEPTH + 1))


# --- refusals --------------------------------------------------------------------------------


def test_it_refuses_a_formula_that_is_not_text() -> None:
    assert refused(12) == "A formula must be text."


def test_it_refuses_the_bitwise_not_operator() -> None:
    assert refused("~actual") == 'The operator ~ is not allowed in formula "~actual"'


def test_it_reports_an_unmatched_closing_bracket() -> None:
    assert "a closing bracket does not match" in refused("actual)")


def test_it_reports_a_closing_bracket_of_the_wrong_kind() -> None:
    assert "a closing bracket does not match" in refused("MIN(actual]")


def test_it_passes_on_pythons_words_for_a_less_common_syntax_error() -> None:
    assert "unterminated string literal" in refused("actual + 'abc")


def test_it_translates_invalid_syntax_in_chinese() -> None:
    with translation.override("zh-hans"):
        message = refused("actual + * 2")
    assert "语法无效" in message
    assert "invalid syntax" not in message


def test_it_counts_nesting_not_the_number_of_parts_before_a_deep_one() -> None:
    # Many shallow arguments checked first must not leave room for a part nested too deeply.
    assert "is nested too deeply" in refused("MIN(" + "1, " * 60 + nested(MAX_DEPTH) + ")")


def test_it_accepts_a_literal_exponent_of_exactly_the_maximum() -> None:
    assert Formula.compile("(-1) ** 100", names=()).evaluate({}) == 1


def test_it_refuses_a_literal_exponent_one_over_the_maximum() -> None:
    assert refused("2 ** 101") == 'The exponent 101 is too large in formula "2 ** 101" (at most 100)'


def test_it_refuses_a_negative_literal_exponent_one_over_the_maximum() -> None:
    assert "The exponent -101 is too large" in refused("2 ** -101")


def test_it_refuses_a_complex_literal() -> None:
    assert refused("actual * 2j") == 'Only numbers can be written into formula "actual * 2j", not 2j'


def test_it_refuses_unpacked_arguments() -> None:
    assert refused("MIN(*actual)") == 'Not allowed in formula "MIN(*actual)": unpacking (*)'


def test_it_rounds_to_zero_places_given_explicitly() -> None:
    assert str(Formula.compile("ROUND(2.5, 0)", names=()).evaluate({})) == "3"


def test_it_rounds_to_the_most_places_allowed() -> None:
    assert str(Formula.compile("ROUND(1 / 3, 10)", names=()).evaluate({})) == "0.3333333333"


def test_it_refuses_round_with_three_arguments() -> None:
    assert "ROUND gets 3 arguments" in refused("ROUND(actual, 2, 3)")


def test_it_refuses_if_with_four_arguments() -> None:
    assert "IF gets 4 arguments" in refused("IF(actual > 1, 1, 2, 3)")


def test_it_takes_min_and_max_of_a_single_argument() -> None:
    formula = Formula.compile("MIN(actual) + MAX(target)", names={"actual", "target"})
    assert formula.evaluate({"actual": D(2), "target": D(5)}) == 7


def test_it_refuses_min_without_arguments() -> None:
    assert "MIN gets 0 arguments" in refused("MIN()")


def test_it_accepts_an_exponent_from_an_input_of_exactly_the_maximum() -> None:
    assert Formula.compile("x ** n", names={"x", "n"}).evaluate({"x": D(-1), "n": D(100)}) == 1


def test_it_refuses_a_negative_exponent_from_an_input_one_over_the_maximum() -> None:
    with pytest.raises(FormulaError, match="The exponent -101 is too large"):
        Formula.compile("x ** n", names={"x", "n"}).evaluate({"x": D(1), "n": D(-101)})


def test_it_substitutes_values_into_a_formula_that_starts_with_text() -> None:
    formula = Formula.compile("(actual - 1) * target", names={"actual", "target"})
    assert formula.substitute({"actual": D(95), "target": D(2)}) == "(95 - 1) * 2"


def test_it_refuses_a_result_of_exactly_max_result() -> None:
    with pytest.raises(FormulaError, match="A number grows too large"):
        Formula.compile("x * 10", names={"x"}).evaluate({"x": MAX_RESULT / 10})


def test_it_accepts_a_result_one_fen_below_max_result() -> None:
    below = MAX_RESULT - D("0.01")
    assert Formula.compile("x * 1", names={"x"}).evaluate({"x": below}) == below


def test_it_runs_into_the_error_for_a_result_of_exactly_max_result() -> None:
    with localcontext(CONTEXT), pytest.raises(FormulaError, match="A number grows too large"):
        Formula.compile("x * 10", names={"x"}).run({"x": MAX_RESULT / 10})


def test_it_reports_an_intermediate_of_exactly_1e31_as_too_large() -> None:
    with pytest.raises(FormulaError, match="A number grows too large"):
        Formula.compile("x * 10 / x", names={"x"}).evaluate({"x": D("1E+30")})


def test_it_carries_an_intermediate_just_below_1e31() -> None:
    assert Formula.compile("x * 10 / x", names={"x"}).evaluate({"x": D("9E+29")}) == 10


def test_it_refuses_unpacking_before_counting_the_arguments() -> None:
    assert refused("IF(*actual)") == 'Not allowed in formula "IF(*actual)": unpacking (*)'
