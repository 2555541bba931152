"""appraisal.rules over facts and forcing outcomes (issue #12, item 9): conditions on named facts of
a period (missed self-assessments, a line's value by indicator code), in the period that closes
and in the past ones; "set_grade" rules with their grade; which forcing flag decides a subject.

S1-4: more than 20 days' personal leave in a quarter → C; a whole quarter of sick leave → not
assessed. S1-9: not self-assessing twice → fail (E).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from appraisal.rules import (
    FACTS,
    FORCING,
    PERSON_OUTCOMES,
    TESTS,
    ConfigError,
    Flag,
    Outcome,
    Past,
    RulesError,
    evaluate,
    facts_needed,
    forced,
    line_fact,
    split,
    validate_rule,
    validate_rules,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def with_facts(key: str, facts: dict[str, Any], *, score: str | None = "80", grade: str | None = "B",
               status: str = "normal") -> Outcome:
    return Outcome(key=key, score=None if score is None else D(score), grade=grade, rank=None, population=0,
                   status=status, facts=facts)


def now(condition: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A rule on the period that closes only."""
    return {"code": "now", "kind": "streak", "config": {"periods": 1, "condition": condition},
            "outcome": "warning", **extra}


LEAVE = "line:LEAVE_P.actual"
S1_4_LEAVE: dict[str, Any] = {
    "code": "leave", "name": "事假超过20天", "kind": "streak",
    "config": {"periods": 1, "condition": {"fact": LEAVE, "above": "20"}}, "outcome": "set_grade", "grade": "C",
}
S1_4_SICK: dict[str, Any] = {
    "code": "sick", "kind": "streak",
    "config": {"periods": 1, "condition": {"fact": "line:LEAVE_S.actual", "at_least": 90}},
    "outcome": "not_assessed",
}
S1_9_TWICE: dict[str, Any] = {
    "code": "twice", "kind": "count_in_window",
    "config": {"count": 2, "of_last": 4, "same_year": True,
               "condition": {"fact": "missed_self_assessments", "at_least": "1"}},
    "outcome": "set_grade", "grade": "E",
}


# --- reading a fact condition ---------------------------------------------------------------------


def test_it_normalises_a_fact_condition() -> None:
    rule = validate_rule(now({"fact": " missed_self_assessments".strip(), "at_least": 2}))
    assert rule["config"]["condition"] == {"fact": "missed_self_assessments", "at_least": "2"}
    rule = validate_rule(now({"fact": "line:LEAVE_P.inputs.days", "above": "20.50"}))
    assert rule["config"]["condition"] == {"fact": "line:LEAVE_P.inputs.days", "above": "20.50"}


@pytest.mark.parametrize("test", TESTS)
def test_it_takes_every_test_of_a_fact(test: str) -> None:
    assert validate_rule(now({"fact": LEAVE, test: "3"}))["config"]["condition"] == {"fact": LEAVE, test: "3"}


FACT_ERRORS = [
    ({"fact": "missed_self_assesments", "at_least": "2"}, "config.condition.fact"),
    ({"fact": "line:LEAVE_P", "above": "20"}, "config.condition.fact"),
    ({"fact": "line:LEAVE_P.money", "above": "20"}, "config.condition.fact"),
    ({"fact": "line:.actual", "above": "20"}, "config.condition.fact"),
    ({"fact": "line:A B.actual", "above": "20"}, "config.condition.fact"),
    ({"fact": "line:LEAVE_P.inputs.", "above": "20"}, "config.condition.fact"),
    ({"fact": 3, "above": "20"}, "config.condition.fact"),
    ({"fact": LEAVE}, "config.condition"),
    ({"fact": LEAVE, "above": "20", "below": "30"}, "config.condition"),
    ({"fact": LEAVE, "above": None}, "config.condition.above"),
    ({"fact": LEAVE, "above": 20.5}, "config.condition.above"),
    ({"fact": LEAVE, "above": "many"}, "config.condition.above"),
    ({"fact": LEAVE, "score_below": "20"}, "config.condition.score_below"),
    ({"fact": LEAVE, "over": "20"}, "config.condition.over"),
]


@pytest.mark.parametrize(("condition", "field"), FACT_ERRORS)
def test_it_refuses_a_wrong_fact_condition_naming_the_field(condition: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        validate_rule(now(condition))
    assert error.value.field == field


def test_it_names_the_facts_a_misspelt_fact_could_have_been() -> None:
    with pytest.raises(ConfigError) as error:
        validate_rule(now({"fact": "leave", "above": "1"}))
    assert error.value.message == (
        '"leave" is not a fact; use missed_self_assessments or line:<indicator code>.<actual, target, score or '
        "inputs.name>."
    )


def test_it_says_how_many_tests_a_fact_condition_gave() -> None:
    with pytest.raises(ConfigError) as error:
        validate_rule(now({"fact": LEAVE, "above": "1", "at_most": "3"}))
    assert error.value.message == "Give exactly one of above, at_least, below, at_most, equals with the fact, not 2."


def test_it_reads_the_shape_of_a_line_fact() -> None:
    assert line_fact("line:LEAVE_P.actual") == ("LEAVE_P", "actual")
    assert line_fact("line:K-1.target") == ("K-1", "target")
    assert line_fact("line:COAL.score") == ("COAL", "score")
    assert line_fact("line:COAL.inputs.coal_t") == ("COAL", "inputs.coal_t")
    assert line_fact("missed_self_assessments") is None
    assert line_fact("line:COAL.inputs.a.b") is None
    assert line_fact("xline:COAL.actual") is None
    assert line_fact("line:COAL.actual ") is None
    assert FACTS == ("missed_self_assessments",)


def test_it_lists_the_facts_the_rules_read() -> None:
    rules = validate_rules([S1_4_LEAVE, S1_4_SICK, S1_9_TWICE, now({"score_below": "60"}, code="low"),
                            {"code": "last", "kind": "bottom_n", "config": {"n": 1}, "outcome": "eliminated"}])
    assert facts_needed(rules) == {LEAVE, "line:LEAVE_S.actual", "missed_self_assessments"}
    assert facts_needed([]) == set()


# --- meeting a fact condition: every test at its edge ---------------------------------------------

FACT_EDGES = [
    ("above", "20", "20.01", True),
    ("above", "20", "20", False),
    ("above", "20", "19.99", False),
    ("at_least", "2", "2.01", True),
    ("at_least", "2", "2", True),
    ("at_least", "2", "1.99", False),
    ("below", "5", "4.99", True),
    ("below", "5", "5", False),
    ("below", "5", "5.01", False),
    ("at_most", "0", "-0.01", True),
    ("at_most", "0", "0", True),
    ("at_most", "0", "0.01", False),
    ("equals", "3", "3.00", True),
    ("equals", "3", "2.99", False),
    ("equals", "3", "3.01", False),
]


@pytest.mark.parametrize(("test", "threshold", "value", "flagged"), FACT_EDGES)
def test_it_meets_each_fact_test_exactly_as_written(test: str, threshold: str, value: str, flagged: bool) -> None:
    flags = evaluate([now({"fact": LEAVE, test: threshold})], [with_facts("x", {LEAVE: D(value)})], {},
                     period="2025-Q1")
    assert bool(flags) is flagged


@pytest.mark.parametrize("facts", [{}, {LEAVE: None}, {"line:OTHER.actual": D("50")}])
def test_it_never_meets_a_fact_the_period_does_not_have(facts: dict[str, Any]) -> None:
    for test in TESTS:
        assert evaluate([now({"fact": LEAVE, test: "0"})], [with_facts("x", facts)], {}, period="2025-Q1") == []


def test_it_reads_facts_given_as_ints_or_strings_and_refuses_floats() -> None:
    rule = now({"fact": LEAVE, "above": "20"})
    assert evaluate([rule], [with_facts("x", {LEAVE: 21})], {}, period="2025-Q1")
    assert evaluate([rule], [with_facts("x", {LEAVE: "20.5"})], {}, period="2025-Q1")
    with pytest.raises(RulesError, match=r"x\.line:LEAVE_P\.actual"):
        evaluate([rule], [with_facts("x", {LEAVE: 20.5})], {}, period="2025-Q1")
    with pytest.raises(RulesError, match=r"x\.2024-Q4\.line:LEAVE_P\.actual"):
        evaluate([rule], [with_facts("x", {LEAVE: 1})], {"x": [Past("2024-Q4", None, None, facts={LEAVE: 1.5})]},
                 period="2025-Q1")


def test_it_reads_facts_regardless_of_score_and_grade() -> None:
    rule = now({"fact": LEAVE, "above": "20"})
    flags = evaluate([rule], [with_facts("x", {LEAVE: D("21")}, score=None, grade=None)], {}, period="2025-Q1")
    assert [flag.key for flag in flags] == ["x"]


@pytest.mark.parametrize("status", ["exempt", "long_leave", "not_assessed"])
def test_it_lets_no_fact_flag_a_subject_with_an_unranked_status(status: str) -> None:
    rule = now({"fact": LEAVE, "above": "20"})
    assert evaluate([rule], [with_facts("x", {LEAVE: D("30")}, status=status)], {}, period="2025-Q1") == []


def test_it_lets_a_refused_subject_meet_a_fact_and_says_so() -> None:
    flags = evaluate([now({"fact": LEAVE, "above": "20"})], [with_facts("x", {LEAVE: D("30")}, status="refused")],
                     {}, period="2025-Q1")
    assert flags[0].message == "LEAVE_P actual above 20 this period (2025-Q1 30 (refused))"


# --- messages --------------------------------------------------------------------------------------

MESSAGES = [
    ({"fact": LEAVE, "above": "20"}, {LEAVE: D("22.50")}, "LEAVE_P actual above 20 this period (2025-Q1 22.5)"),
    ({"fact": "missed_self_assessments", "at_least": "2"}, {"missed_self_assessments": D(2)},
     "missed self-assessments 2 or more this period (2025-Q1 2)"),
    ({"fact": "line:COAL.target", "below": "300"}, {"line:COAL.target": D("295")},
     "COAL target below 300 this period (2025-Q1 295)"),
    ({"fact": "line:COAL.score", "at_most": "39.5"}, {"line:COAL.score": D("39.32")},
     "COAL line score 39.5 or less this period (2025-Q1 39.32)"),
    ({"fact": "line:COAL.inputs.tons", "equals": "0"}, {"line:COAL.inputs.tons": D("0")},
     "COAL input tons equal to 0 this period (2025-Q1 0)"),
]


@pytest.mark.parametrize(("condition", "facts", "message"), MESSAGES)
def test_it_explains_a_fact_flag_with_the_fact_its_test_and_the_value(condition: dict[str, Any],
                                                                      facts: dict[str, Any], message: str) -> None:
    (flag,) = evaluate([now(condition)], [with_facts("x", facts)], {}, period="2025-Q1")
    assert flag.message == message


def test_it_explains_in_chinese() -> None:
    with translation.override("zh-hans"):
        (flag,) = evaluate([S1_4_LEAVE], [with_facts("x", {LEAVE: D("21")})], {}, period="2025-Q3")
    assert flag.message == "本考核周期LEAVE_P 实际值高于 20（2025-Q3 21）"


# --- facts over past periods (S1-9: twice not self-assessed in a year → fail) -----------------------

MISSED = "missed_self_assessments"


def missed(code: str, count: int | None) -> Past:
    return Past(code, D("85"), "B", facts={} if count is None else {MISSED: count})


def test_it_counts_missed_self_assessments_over_the_year() -> None:
    history = {"张三": [missed("2024-Q4", 1), missed("2025-Q1", 0), missed("2025-Q2", 1)],
               "李四": [missed("2024-Q4", 1), missed("2025-Q1", 0), missed("2025-Q2", 0)]}
    current = [with_facts("张三", {MISSED: 1}), with_facts("李四", {MISSED: 1})]
    flags = evaluate([S1_9_TWICE], current, history, period="2025-Q3")
    assert [(flag.key, flag.outcome, flag.grade, flag.periods) for flag in flags] == [
        ("张三", "set_grade", "E", ("2025-Q2", "2025-Q3"))]
    assert flags[0].message == (
        "missed self-assessments 1 or more in 2 of the last 3 periods of 2025 "
        "(2025-Q1 0, 2025-Q2 1, 2025-Q3 1)"
    )


def test_it_shows_a_past_period_without_the_fact_as_having_no_value() -> None:
    rule = {"code": "w", "kind": "count_in_window", "outcome": "warning",
            "config": {"count": 2, "of_last": 3, "condition": {"fact": MISSED, "at_least": "1"}}}
    history = {"x": [missed("2025-Q1", None), missed("2025-Q2", 2)]}
    (flag,) = evaluate([rule], [with_facts("x", {MISSED: 1})], history, period="2025-Q3")
    assert flag.message.endswith("(2025-Q1 no value, 2025-Q2 2, 2025-Q3 1)")


def test_it_breaks_a_fact_streak_on_a_period_without_the_fact() -> None:
    rule = {"code": "s", "kind": "streak", "outcome": "warning",
            "config": {"periods": 2, "condition": {"fact": MISSED, "at_least": "1"}}}
    current = [with_facts("x", {MISSED: 1}), with_facts("y", {MISSED: 1})]
    history = {"x": [missed("2025-Q2", None)], "y": [missed("2025-Q2", 3)]}
    flags = evaluate([rule], current, history, period="2025-Q3")
    assert [(flag.key, flag.message) for flag in flags] == [
        ("y", "missed self-assessments 1 or more for 2 consecutive periods (2025-Q2 3, 2025-Q3 1)")]


def test_it_flags_the_same_after_the_rules_are_saved_and_read_back() -> None:
    saved = json.loads(json.dumps(validate_rules([S1_4_LEAVE, S1_4_SICK, S1_9_TWICE])))
    current = [with_facts("a", {LEAVE: D("21"), "line:LEAVE_S.actual": D("90"), MISSED: D(1)}),
               with_facts("b", {LEAVE: D("20"), MISSED: D(0)})]
    history = {"a": [missed("2025-Q1", 1)], "b": [missed("2025-Q1", 1)]}
    fresh = evaluate([S1_4_LEAVE, S1_4_SICK, S1_9_TWICE], current, history, period="2025-Q2")
    assert evaluate(saved, current, history, period="2025-Q2") == fresh
    assert [(flag.key, flag.rule_code, flag.grade) for flag in fresh] == [
        ("a", "leave", "C"), ("a", "sick", None), ("a", "twice", "E")]


# --- set_grade and the forcing outcomes -----------------------------------------------------------


def test_it_keeps_the_grade_of_a_set_grade_rule() -> None:
    rule = validate_rule(S1_4_LEAVE)
    assert rule == {"code": "leave", "name": "事假超过20天", "kind": "streak",
                    "config": {"periods": 1, "condition": {"fact": LEAVE, "above": "20"}},
                    "outcome": "set_grade", "grade": "C"}
    assert "grade" not in validate_rule(S1_4_SICK)
    assert "grade" not in validate_rule({**S1_4_SICK, "grade": None})


def test_it_wants_a_grade_for_set_grade_and_no_other_outcome() -> None:
    for rule, field, message in [
        ({**S1_4_LEAVE, "grade": None}, "grade", "Enter a text."),
        ({**S1_4_LEAVE, "grade": "  "}, "grade", "Enter a text."),
        ({**S1_4_SICK, "grade": "C"}, "grade", "Only a rule whose outcome is set_grade sets a grade."),
        ({**S1_4_LEAVE, "outcome": "warning"}, "grade", "Only a rule whose outcome is set_grade sets a grade."),
    ]:
        with pytest.raises(ConfigError) as error:
            validate_rule(rule)
        assert (error.value.field, error.value.message) == (field, message)
    with pytest.raises(ConfigError) as error:
        validate_rules([S1_4_SICK, {**S1_4_LEAVE, "grade": ""}])
    assert error.value.field == "rules[1].grade"


def test_it_puts_the_rules_grade_on_every_kind_of_flag() -> None:
    bottom = {"code": "last", "kind": "bottom_n", "config": {"n": 1}, "outcome": "set_grade", "grade": "E"}
    window = {"code": "win", "kind": "count_in_window", "outcome": "set_grade", "grade": "D",
              "config": {"count": 1, "of_last": 2, "condition": {"score_below": "90"}}}
    current = [with_facts("a", {}, score="70"), with_facts("b", {}, score="95")]
    flags = evaluate([bottom, {**S1_4_LEAVE, "config": {"periods": 1, "condition": {"score_below": "80"}}},
                      window], current, {}, period="2025-Q1")
    assert [(flag.rule_code, flag.key, flag.grade) for flag in flags] == [
        ("last", "a", "E"), ("leave", "a", "C"), ("win", "a", "D")]
    plain = evaluate([now({"score_below": "80"})], current, {}, period="2025-Q1")
    assert [flag.grade for flag in plain] == [None]


def test_it_parts_the_forcing_rules_from_the_others_in_order() -> None:
    others = [now({"score_below": "60"}, code="w1"), now({"score_below": "50"}, code="w2", outcome="salary_down")]
    forcing, rest = split([others[0], S1_4_LEAVE, others[1], S1_4_SICK])
    assert [rule["code"] for rule in forcing] == ["leave", "sick"]
    assert [rule["code"] for rule in rest] == ["w1", "w2"]
    assert FORCING == ("set_grade", "not_assessed")
    assert PERSON_OUTCOMES == ("salary_up", "salary_down", "eliminated", "unfit")


def flag(key: str, outcome: str, grade: str | None = None, code: str = "r") -> Flag:
    return Flag(key=key, rule_code=code, outcome=outcome, message="m", grade=grade)


GRADES = ["S", "A", "B", "C"]


def test_it_lets_the_worse_forced_grade_decide() -> None:
    found = forced([flag("x", "set_grade", "B", "b"), flag("x", "set_grade", "C", "c"),
                    flag("x", "set_grade", "A", "a")], GRADES)
    assert found["x"].rule_code == "c"
    found = forced([flag("y", "set_grade", "C", "c"), flag("y", "set_grade", "B", "b")], GRADES)
    assert found["y"].rule_code == "c"


def test_it_lets_not_assessed_beat_any_grade() -> None:
    found = forced([flag("x", "set_grade", "C", "c"), flag("x", "not_assessed", code="na"),
                    flag("x", "set_grade", "C", "c2")], GRADES)
    assert found["x"].rule_code == "na"
    found = forced([flag("y", "not_assessed", code="na"), flag("y", "set_grade", "C", "c")], GRADES)
    assert found["y"].rule_code == "na"


def test_it_keeps_the_first_of_equal_forcing_flags() -> None:
    found = forced([flag("x", "set_grade", "B", "first"), flag("x", "set_grade", "B", "second"),
                    flag("y", "not_assessed", code="n1"), flag("y", "not_assessed", code="n2")], GRADES)
    assert (found["x"].rule_code, found["y"].rule_code) == ("first", "n1")


def test_it_ignores_flags_that_do_not_force() -> None:
    found = forced([flag("x", "salary_down"), flag("y", "warning"), flag("z", "set_grade", "S")], GRADES)
    assert list(found) == ["z"]
    assert forced([], GRADES) == {}


def test_it_refuses_to_force_a_grade_the_scale_does_not_have() -> None:
    with pytest.raises(RulesError) as error:
        forced([flag("x", "set_grade", "E", "fail")], GRADES)
    assert str(error.value) == 'The rule fail sets the grade "E", which is not one of S, A, B, C.'
    with pytest.raises(RulesError):
        forced([flag("x", "set_grade", None, "fail")], GRADES)
