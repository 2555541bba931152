"""appraisal.rules: bottom-N rankings (S0-2, S1-7), streaks (S0-5, S1-9), counts in a window (S1-4)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from appraisal.rules import (
    ConfigError,
    Flag,
    Notice,
    Outcome,
    Past,
    RulesError,
    evaluate,
    validate_rule,
    validate_rules,
)

# --- helpers ----------------------------------------------------------------------------------


def scored(key: str, score: str | None, status: str = "normal", grade: str | None = None) -> Outcome:
    return Outcome(
        key=key, score=None if score is None else D(score), grade=grade, rank=None, population=0, status=status
    )


def graded(key: str, grade: str | None, status: str = "normal") -> Outcome:
    return Outcome(key=key, score=None, grade=grade, rank=None, population=0, status=status)


def past_scores(*pairs: tuple[str, str | None]) -> list[Past]:
    return [Past(period, None if score is None else D(score), None) for period, score in pairs]


def past_grades(*pairs: tuple[str, str | None]) -> list[Past]:
    return [Past(period, None, grade) for period, grade in pairs]


def by_key(flags: Sequence[Flag]) -> dict[Any, Flag]:
    return {flag.key: flag for flag in flags}


def bottom(n: int, **extra: Any) -> dict[str, Any]:
    return {"code": "bottom", "kind": "bottom_n", "config": {"n": n, **extra}, "outcome": "not_advanced"}


# S0-2 (热电二厂): bottom 3 departments by monthly average cannot be "advanced collective".
# Seven departments, best first: ranks 1–7; the bottom three by hand are 化学部, 后勤部, 综合部.
S0_2_MONTH = [
    ("生产一部", "95.20"),
    ("生产二部", "91.00"),
    ("检修部", "88.40"),
    ("燃料部", "86.00"),
    ("化学部", "84.50"),
    ("后勤部", "82.00"),
    ("综合部", "79.30"),
]

# S0-5 (哈医大附一院): three consecutive satisfaction scores below 80 → the head is held accountable.
S0_5_RULE: dict[str, Any] = {
    "code": "s0_5",
    "name": "连续三次满意度低于80分",
    "kind": "streak",
    "config": {"periods": 3, "condition": {"score_below": "80"}},
    "outcome": "accountability",
}

# S1-9: two excellent (A) quarters in a row → salary grade +1; two poor (D) in a row → −1; fail (E) → −1.
S1_9_UP: dict[str, Any] = {
    "code": "up_a",
    "kind": "streak",
    "config": {"periods": 2, "condition": {"grade_in": ["A"]}},
    "outcome": "salary_up",
}
S1_9_UP_B: dict[str, Any] = {
    "code": "up_b",
    "kind": "streak",
    "config": {"periods": 4, "condition": {"grade_in": ["B"]}},
    "outcome": "salary_up",
}
S1_9_DOWN: dict[str, Any] = {
    "code": "down_d",
    "kind": "streak",
    "config": {"periods": 2, "condition": {"grade_in": ["D"]}},
    "outcome": "salary_down",
}
S1_9_FAIL: dict[str, Any] = {
    "code": "fail",
    "kind": "streak",
    "config": {"periods": 1, "condition": {"grade_in": ["E"]}},
    "outcome": "salary_down",
}

# S1-4 (恒盛地产): two C quarters within a natural year → unfit for the post.
S1_4_UNFIT: dict[str, Any] = {
    "code": "unfit",
    "name": "一年内两个季度C",
    "kind": "count_in_window",
    "config": {"count": 2, "of_last": 4, "condition": {"grade_in": ["C"]}, "same_year": True},
    "outcome": "unfit",
}


# --- bottom_n ---------------------------------------------------------------------------------


def test_it_flags_the_bottom_three_departments_of_the_month() -> None:
    current = [scored(key, score) for key, score in S0_2_MONTH]
    flags = evaluate([bottom(3)], current, {}, period="2025-03")
    assert [flag.key for flag in flags] == ["化学部", "后勤部", "综合部"]
    assert {flag.outcome for flag in flags} == {"not_advanced"}
    assert not any(flag.tied for flag in flags)


def test_it_explains_a_bottom_three_flag_with_rank_population_and_score() -> None:
    current = [scored(key, score) for key, score in S0_2_MONTH]
    with translation.override("en"):
        flags = by_key(evaluate([bottom(3)], current, {}, period="2025-03"))
    assert flags["综合部"].message == "rank 7 of 7 with 79.30, in the bottom 3"
    assert flags["化学部"].message == "rank 5 of 7 with 84.50, in the bottom 3"


def test_it_flags_everyone_tied_on_the_bottom_three_line_and_says_so() -> None:
    # 燃料部 and 化学部 both 84.50: the line (3rd from bottom) is 84.50, one place left for two → both flagged.
    month = dict(S0_2_MONTH) | {"燃料部": "84.50"}
    current = [scored(key, score) for key, score in month.items()]
    with translation.override("en"):
        flags = by_key(evaluate([bottom(3)], current, {}, period="2025-03"))
    assert set(flags) == {"燃料部", "化学部", "后勤部", "综合部"}
    assert flags["燃料部"].tied and flags["化学部"].tied
    assert not flags["综合部"].tied
    assert flags["燃料部"].message == (
        "rank 4 of 7 with 84.50: 2 subjects tie at 84.50 on the line of the bottom 3 with 1 place left, "
        "so all of them are flagged"
    )


def test_it_does_not_call_a_tie_below_the_line_a_tie() -> None:
    # 后勤部 and 综合部 both 79.30: both fit among the bottom three, nothing to decide.
    month = dict(S0_2_MONTH) | {"后勤部": "79.30"}
    flags = evaluate([bottom(3)], [scored(key, score) for key, score in month.items()], {}, period="2025-03")
    assert [(flag.key, flag.tied) for flag in flags] == [("化学部", False), ("后勤部", False), ("综合部", False)]


def test_it_leaves_exempt_and_absent_subjects_out_of_the_ranking_and_the_population() -> None:
    current = [scored(key, score) for key, score in S0_2_MONTH] + [
        scored("新建部", "40.00", status="exempt"),
        scored("借调部", None, status="long_leave"),
        scored("筹备组", None, status="not_assessed"),
    ]
    with translation.override("en"):
        flags = by_key(evaluate([bottom(3)], current, {}, period="2025-03"))
    assert set(flags) == {"化学部", "后勤部", "综合部"}
    assert flags["综合部"].message == "rank 7 of 7 with 79.30, in the bottom 3"


def test_it_ranks_a_refusal_as_zero_and_names_it() -> None:
    # S1-4: refusing to take part → 0 for the quarter; S1-7 last place with n=1.
    current = [scored("王", "88.00"), scored("李", "72.50"), scored("赵", None, status="refused")]
    with translation.override("en"):
        flags = evaluate([bottom(1)], current, {}, period="2025-Q2")
    assert [(flag.key, flag.message) for flag in flags] == [("赵", "last of 3 with 0.00 (refused to take part)")]


def test_it_names_the_last_place_of_the_school_year() -> None:
    # S1-7: head teachers' points, last place eliminated.
    current = [scored("一班", "96.5"), scored("二班", "91"), scored("三班", "89.75"), scored("四班", "93")]
    with translation.override("en"):
        flags = evaluate([bottom(1)], current, {}, period="2025")
    assert [(flag.key, flag.message) for flag in flags] == [("三班", "last of 4 with 89.75")]


def test_it_flags_everyone_tied_for_last_place() -> None:
    current = [scored("一班", "96.50"), scored("二班", "89.75"), scored("三班", "89.75")]
    with translation.override("en"):
        flags = evaluate([bottom(1)], current, {}, period="2025")
    assert [flag.key for flag in flags] == ["二班", "三班"]
    assert all(flag.tied for flag in flags)
    assert flags[0].message == (
        "rank 2 of 3 with 89.75: 2 subjects tie at 89.75 on the line of the bottom 1 with 1 place left, "
        "so all of them are flagged"
    )


def test_it_skips_a_ranking_smaller_than_the_minimum_population() -> None:
    current = [scored(key, score) for key, score in S0_2_MONTH[:4]]
    assert evaluate([bottom(3, min_population=5)], current, {}, period="2025-03") == []
    assert len(evaluate([bottom(3, min_population=4)], current, {}, period="2025-03")) == 3


def test_it_refuses_to_rank_a_normal_subject_without_a_score() -> None:
    current = [scored("生产一部", "95.20"), scored("综合部", None)]
    with pytest.raises(RulesError, match="综合部"):
        evaluate([bottom(1)], current, {}, period="2025-03")


# --- streak -----------------------------------------------------------------------------------


def test_it_flags_three_consecutive_scores_below_80() -> None:
    history = {"后勤服务中心": past_scores(("2024-12", "85.00"), ("2025-01", "78.5"), ("2025-02", "79"))}
    with translation.override("en"):
        flags = evaluate([S0_5_RULE], [scored("后勤服务中心", "77.25")], history, period="2025-03")
    assert flags == [
        Flag(
            key="后勤服务中心",
            rule_code="s0_5",
            outcome="accountability",
            message="below 80 for 3 consecutive periods (2025-01 78.50, 2025-02 79.00, 2025-03 77.25)",
            rule_name="连续三次满意度低于80分",
            periods=("2025-01", "2025-02", "2025-03"),
        )
    ]


def test_it_lets_a_missing_period_break_a_streak() -> None:
    history = {"后勤服务中心": past_scores(("2025-01", "78.50"), ("2025-02", None))}
    assert evaluate([S0_5_RULE], [scored("后勤服务中心", "77.25")], history, period="2025-03") == []


def test_it_does_not_count_a_score_of_exactly_80_as_below_80() -> None:
    history = {"保卫科": past_scores(("2025-01", "78.50"), ("2025-02", "80.00"))}
    assert evaluate([S0_5_RULE], [scored("保卫科", "77.25")], history, period="2025-03") == []


def test_it_needs_enough_past_periods_for_a_streak() -> None:
    history = {"新设科室": past_scores(("2025-02", "70.00"))}
    assert evaluate([S0_5_RULE], [scored("新设科室", "60.00")], history, period="2025-03") == []


def test_it_flags_a_streak_that_is_still_running() -> None:
    history = {"膳食科": past_scores(("2025-01", "70"), ("2025-02", "71"), ("2025-03", "72"))}
    flags = evaluate([S0_5_RULE], [scored("膳食科", "73")], history, period="2025-04")
    assert [flag.periods for flag in flags] == [("2025-02", "2025-03", "2025-04")]


def test_it_raises_the_salary_grade_after_two_excellent_quarters() -> None:
    history = {"张三": past_grades(("2024-Q4", "B"), ("2025-Q1", "A"))}
    with translation.override("en"):
        flags = evaluate([S1_9_UP, S1_9_DOWN], [graded("张三", "A")], history, period="2025-Q2")
    assert [(flag.rule_code, flag.outcome, flag.message) for flag in flags] == [
        ("up_a", "salary_up", "grade A for 2 consecutive periods (2025-Q1 A, 2025-Q2 A)")
    ]


def test_it_raises_the_salary_grade_after_four_good_quarters_in_a_row() -> None:
    history = {"李四": past_grades(("2024-Q3", "B"), ("2024-Q4", "B"), ("2025-Q1", "B"))}
    flags = evaluate([S1_9_UP_B], [graded("李四", "B"), graded("王五", "B")], history, period="2025-Q2")
    assert [(flag.key, flag.outcome) for flag in flags] == [("李四", "salary_up")]


def test_it_lowers_the_salary_grade_after_two_poor_quarters_in_a_row() -> None:
    history = {"赵六": past_grades(("2025-Q1", "D")), "钱七": past_grades(("2025-Q1", "C"))}
    flags = evaluate([S1_9_DOWN], [graded("赵六", "D"), graded("钱七", "D")], history, period="2025-Q2")
    assert [(flag.key, flag.outcome) for flag in flags] == [("赵六", "salary_down")]


def test_it_lowers_the_salary_grade_after_a_single_fail() -> None:
    with translation.override("en"):
        flags = evaluate([S1_9_FAIL], [graded("孙八", "E")], {}, period="2025-Q2")
    assert [(flag.outcome, flag.message) for flag in flags] == [("salary_down", "grade E this period (2025-Q2 E)")]


def test_it_never_flags_an_exempt_subject_for_the_current_period() -> None:
    # S1-9: new or moved staff may be exempt; a grade the caller left on them does not count.
    history = {"周九": past_grades(("2025-Q1", "A"))}
    assert evaluate([S1_9_UP], [graded("周九", "A", status="exempt")], history, period="2025-Q2") == []


def test_it_counts_a_refusal_as_a_score_of_zero_in_a_streak() -> None:
    rule = {
        "code": "low",
        "kind": "streak",
        "config": {"periods": 2, "condition": {"score_below": "60"}},
        "outcome": "warning",
    }
    history = {"吴十": past_scores(("2025-Q1", "55.00"))}
    with translation.override("en"):
        flags = evaluate([rule], [scored("吴十", None, status="refused")], history, period="2025-Q2")
    assert [flag.message for flag in flags] == [
        "below 60 for 2 consecutive periods (2025-Q1 55.00, 2025-Q2 0.00 (refused))"
    ]


# --- count_in_window --------------------------------------------------------------------------


def test_it_flags_two_c_quarters_within_the_year_as_unfit() -> None:
    history = {"郑一": past_grades(("2024-Q4", "B"), ("2025-Q1", "C"), ("2025-Q2", "B"))}
    with translation.override("en"):
        flags = evaluate([S1_4_UNFIT], [graded("郑一", "C")], history, period="2025-Q3")
    assert [(flag.outcome, flag.periods) for flag in flags] == [("unfit", ("2025-Q1", "2025-Q3"))]
    assert flags[0].message == "grade C in 2 of the last 3 periods of 2025 (2025-Q1 C, 2025-Q2 B, 2025-Q3 C)"


def test_it_does_not_count_a_c_quarter_of_the_previous_year_when_same_year() -> None:
    history = {"郑一": past_grades(("2024-Q3", "B"), ("2024-Q4", "C"), ("2025-Q1", "B"))}
    assert evaluate([S1_4_UNFIT], [graded("郑一", "C")], history, period="2025-Q2") == []


def test_it_counts_across_years_without_same_year() -> None:
    rule = {**S1_4_UNFIT, "config": {"count": 2, "of_last": 4, "condition": {"grade_in": ["C"]}}}
    history = {"郑一": past_grades(("2024-Q3", "B"), ("2024-Q4", "C"), ("2025-Q1", "B"))}
    with translation.override("en"):
        flags = evaluate([rule], [graded("郑一", "C")], history, period="2025-Q2")
    assert [flag.message for flag in flags] == [
        "grade C in 2 of the last 4 periods (2024-Q3 B, 2024-Q4 C, 2025-Q1 B, 2025-Q2 C)"
    ]


def test_it_fires_only_in_the_period_that_makes_the_count_by_default() -> None:
    history = {"冯二": past_grades(("2025-Q1", "C"), ("2025-Q2", "C"))}
    assert evaluate([S1_4_UNFIT], [graded("冯二", "B")], history, period="2025-Q3") == []
    standing = {**S1_4_UNFIT, "config": {**S1_4_UNFIT["config"], "current_must_meet": False}}
    flags = evaluate([standing], [graded("冯二", "B")], history, period="2025-Q3")
    assert [flag.periods for flag in flags] == [("2025-Q1", "2025-Q2")]


def test_it_shows_a_missing_quarter_as_not_assessed() -> None:
    history = {"陈三": past_grades(("2025-Q1", "C"), ("2025-Q2", None))}
    with translation.override("en"):
        flags = evaluate([S1_4_UNFIT], [graded("陈三", "C")], history, period="2025-Q3")
    assert [flag.message for flag in flags] == [
        "grade C in 2 of the last 3 periods of 2025 (2025-Q1 C, 2025-Q2 not assessed, 2025-Q3 C)"
    ]


def test_it_takes_an_explicit_year_over_the_period_code() -> None:
    # A period code without its year: the caller gives the year.
    history = {"卫四": [Past("FY-Q4", None, "C", year=2024), Past("FY-Q1", None, "B", year=2025)]}
    assert evaluate([S1_4_UNFIT], [graded("卫四", "C")], history, period="FY-Q2", year=2025) == []
    history = {"卫四": [Past("FY-Q4", None, "C", year=2025), Past("FY-Q1", None, "B", year=2025)]}
    assert len(evaluate([S1_4_UNFIT], [graded("卫四", "C")], history, period="FY-Q2", year=2025)) == 1


def test_it_refuses_same_year_when_a_period_has_no_known_year() -> None:
    history = {"卫四": past_grades(("FY-Q1", "C"))}
    with pytest.raises(RulesError, match="FY-Q1"):
        evaluate([S1_4_UNFIT], [graded("卫四", "C")], history, period="2025-Q2")


# --- configs ----------------------------------------------------------------------------------


def test_it_normalises_a_rule_with_its_defaults() -> None:
    rule: dict[str, Any] = {"code": " unfit ", "kind": "count_in_window", "outcome": "unfit"}
    rule["config"] = {"count": "2", "of_last": 4, "condition": {"grade_in": ["C"]}}
    assert validate_rule(rule) == {
        "code": "unfit",
        "name": "unfit",
        "kind": "count_in_window",
        "config": {
            "count": 2,
            "of_last": 4,
            "condition": {"grade_in": ["C"]},
            "same_year": False,
            "current_must_meet": True,
        },
        "outcome": "unfit",
    }
    assert validate_rule(bottom(3))["config"] == {"n": 3, "min_population": None}
    assert validate_rule(S0_5_RULE)["config"]["condition"] == {"score_below": "80"}


def field_of(rule: object) -> str:
    with pytest.raises(ConfigError) as error:
        validate_rule(rule)
    return error.value.field


def test_it_names_a_missing_count_in_its_config_path() -> None:
    assert field_of({"code": "b", "kind": "bottom_n", "config": {}, "outcome": "x"}) == "config.n"


def test_it_refuses_a_float_threshold_naming_the_condition_field() -> None:
    rule = {**S0_5_RULE, "config": {"periods": 3, "condition": {"score_below": 80.0}}}
    assert field_of(rule) == "config.condition.score_below"


def test_it_refuses_a_condition_with_two_keys() -> None:
    rule = {**S0_5_RULE, "config": {"periods": 3, "condition": {"score_below": "80", "grade_in": ["C"]}}}
    assert field_of(rule) == "config.condition"


def test_it_refuses_a_grade_listed_twice_naming_its_index() -> None:
    rule = {**S1_9_UP, "config": {"periods": 2, "condition": {"grade_in": ["A", "A"]}}}
    assert field_of(rule) == "config.condition.grade_in[1]"


def test_it_refuses_an_unknown_kind() -> None:
    assert field_of({**S0_5_RULE, "kind": "moving_average"}) == "kind"


def test_it_refuses_an_unknown_config_key() -> None:
    assert field_of({**S0_5_RULE, "config": {"periodz": 3, "condition": {"score_below": "80"}}}) == "config.periodz"


def test_it_refuses_a_window_smaller_than_the_count() -> None:
    rule = {**S1_4_UNFIT, "config": {"count": 3, "of_last": 2, "condition": {"grade_in": ["C"]}}}
    assert field_of(rule) == "config.of_last"


def test_it_refuses_a_yes_no_value_as_a_count() -> None:
    assert field_of(bottom(True)) == "config.n"  # type: ignore[arg-type]


def test_it_refuses_a_rule_without_an_outcome() -> None:
    assert field_of({"code": "b", "kind": "bottom_n", "config": {"n": 3}}) == "outcome"


def test_it_names_the_rule_index_and_a_duplicate_code() -> None:
    with pytest.raises(ConfigError) as error:
        validate_rules([S0_5_RULE, {**S1_9_UP, "code": "s0_5"}])
    assert error.value.field == "rules[1].code"
    with pytest.raises(ConfigError) as error:
        evaluate([S0_5_RULE, bottom(0)], [], {}, period="2025-03")
    assert error.value.field == "rules[1].config.n"


# --- inputs -----------------------------------------------------------------------------------


def test_it_refuses_a_subject_listed_twice() -> None:
    with pytest.raises(RulesError, match="综合部"):
        evaluate([bottom(1)], [scored("综合部", "80"), scored("综合部", "70")], {}, period="2025-03")


def test_it_refuses_an_unknown_status() -> None:
    with pytest.raises(RulesError, match="sick"):
        evaluate([bottom(1)], [scored("综合部", "80", status="sick")], {}, period="2025-03")


def test_it_refuses_a_history_that_repeats_the_current_period() -> None:
    history = {"后勤服务中心": past_scores(("2025-02", "70"), ("2025-03", "70"))}
    with pytest.raises(RulesError, match="2025-03"):
        evaluate([S0_5_RULE], [scored("后勤服务中心", "70")], history, period="2025-03")


def test_it_evaluates_every_rule_in_order() -> None:
    current = [scored(key, score) for key, score in S0_2_MONTH]
    history = {"综合部": past_scores(("2025-01", "79.00"), ("2025-02", "75.00"))}
    flags = evaluate([S0_5_RULE, bottom(1)], current, history, period="2025-03")
    assert [(flag.rule_code, flag.key) for flag in flags] == [("s0_5", "综合部"), ("bottom", "综合部")]


# --- defects of issue #15, pinned -------------------------------------------------------------


def test_it_counts_a_score_exactly_at_the_threshold_as_at_least_it() -> None:
    rule = {
        "code": "top",
        "kind": "streak",
        "config": {"periods": 2, "condition": {"score_at_least": "90"}},
        "outcome": "salary_up",
    }
    history = {"甲": past_scores(("2025-Q1", "90.00")), "乙": past_scores(("2025-Q1", "89.99"))}
    with translation.override("en"):
        flags = evaluate([rule], [scored("甲", "90.00"), scored("乙", "95.00")], history, period="2025-Q2")
    assert [(flag.key, flag.message) for flag in flags] == [
        ("甲", "90 or above for 2 consecutive periods (2025-Q1 90.00, 2025-Q2 90.00)")
    ]


def test_it_does_not_count_a_c_quarter_just_outside_the_window() -> None:
    # Two C quarters, but the first is five quarters back: the last four are 2024-Q3 … 2025-Q2.
    rule = {**S1_4_UNFIT, "config": {**S1_4_UNFIT["config"], "same_year": False}}
    history = {"褚五": past_grades(("2024-Q2", "C"), ("2024-Q3", "B"), ("2024-Q4", "B"), ("2025-Q1", "B"))}
    assert evaluate([rule], [graded("褚五", "C")], history, period="2025-Q2") == []


def test_it_counts_a_c_quarter_at_the_far_edge_of_the_window() -> None:
    rule = {**S1_4_UNFIT, "config": {**S1_4_UNFIT["config"], "same_year": False}}
    history = {"褚五": past_grades(("2024-Q2", "B"), ("2024-Q3", "C"), ("2024-Q4", "B"), ("2025-Q1", "B"))}
    flags = evaluate([rule], [graded("褚五", "C")], history, period="2025-Q2")
    assert [flag.periods for flag in flags] == [("2024-Q3", "2025-Q2")]


def test_it_does_not_count_a_c_quarter_of_the_same_year_outside_the_window() -> None:
    # Monthly periods, two C months in 2025 but five months apart: the window is the last four.
    rule = {**S1_4_UNFIT, "config": {**S1_4_UNFIT["config"], "same_year": True}}
    history = {"褚五": past_grades(("2025-01", "C"), ("2025-02", "B"), ("2025-03", "B"), ("2025-04", "B"))}
    assert evaluate([rule], [graded("褚五", "C")], history, period="2025-05") == []


THREE_SHIFTS = [("运行一值", "104.02"), ("运行二值", "98.50"), ("运行三值", "97.75")]


def test_it_flags_nobody_when_the_ranking_is_no_larger_than_the_bottom_n() -> None:
    current = [scored(key, score) for key, score in THREE_SHIFTS]
    assert evaluate([bottom(3)], current, {}, period="2025-03") == []


def test_it_says_the_population_is_too_small_for_the_bottom_n() -> None:
    current = [scored(key, score) for key, score in THREE_SHIFTS]
    with translation.override("en"):
        flags = evaluate([{**bottom(3), "name": "末三名"}], current, {}, period="2025-03")
    assert flags.notices == [
        Notice(
            rule_code="bottom",
            outcome="not_advanced",
            message="only 3 subjects ranked, but the bottom 3 needs at least 4: the population is too small for "
            "this rule, nobody is flagged",
            rule_name="末三名",
        )
    ]


def test_it_says_so_for_a_single_subject_ranked() -> None:
    with translation.override("en"):
        flags = evaluate([bottom(1)], [scored("独一部", "88.00")], {}, period="2025-03")
    assert [notice.message for notice in flags.notices] == [
        "only 1 subject ranked, but the bottom 1 needs at least 2: the population is too small for this rule, "
        "nobody is flagged"
    ]


def test_it_counts_only_ranked_subjects_towards_the_population() -> None:
    # Four departments, but one exempt: three ranked are not enough for the bottom 3.
    current = [scored(key, score) for key, score in THREE_SHIFTS] + [scored("新建部", "40.00", status="exempt")]
    flags = evaluate([bottom(3)], current, {}, period="2025-03")
    assert flags == []
    assert [notice.rule_code for notice in flags.notices] == ["bottom"]


def test_it_flags_the_bottom_n_once_the_ranking_is_larger_than_n() -> None:
    current = [scored(key, score) for key, score in [*THREE_SHIFTS, ("运行四值", "99.00")]]
    flags = evaluate([bottom(3)], current, {}, period="2025-03")
    assert [flag.key for flag in flags] == ["运行二值", "运行三值", "运行四值"]
    assert flags.notices == []


def test_it_gives_the_minimum_population_in_the_notice() -> None:
    current = [scored(key, score) for key, score in S0_2_MONTH[:4]]
    with translation.override("en"):
        flags = evaluate([bottom(2, min_population=5)], current, {}, period="2025-03")
    assert flags == []
    assert [notice.message for notice in flags.notices] == [
        "only 4 subjects ranked, but the bottom 2 needs at least 5: the population is too small for this rule, "
        "nobody is flagged"
    ]


def test_it_leaves_no_notice_when_nobody_is_ranked() -> None:
    current = [scored("新建部", "40.00", status="exempt"), scored("筹备组", None, status="not_assessed")]
    flags = evaluate([bottom(3)], current, {}, period="2025-03")
    assert (flags, flags.notices) == ([], [])


def test_it_keeps_the_notices_in_rule_order_beside_the_other_rules_flags() -> None:
    current = [scored(key, score) for key, score in THREE_SHIFTS]
    rules = [
        bottom(3),
        {**bottom(5), "code": "bottom5"},
        {**S0_5_RULE, "config": {"periods": 1, "condition": {"score_below": "98"}}},
    ]
    flags = evaluate(rules, current, {}, period="2025-03")
    assert [(flag.rule_code, flag.key) for flag in flags] == [("s0_5", "运行三值")]
    assert [notice.rule_code for notice in flags.notices] == ["bottom", "bottom5"]


# --- refusals and inputs, pinned ----------------------------------------------------------------


def test_it_refuses_rules_that_are_not_a_list() -> None:
    with translation.override("en"), pytest.raises(ConfigError) as error:
        validate_rules(S0_5_RULE)
    assert (error.value.field, error.value.message) == ("rules", "Enter a list (it may be empty).")


def test_it_names_the_rule_that_already_uses_a_code() -> None:
    with translation.override("en"), pytest.raises(ConfigError) as error:
        validate_rules([S1_9_UP, S0_5_RULE, {**S1_9_DOWN, "code": "s0_5"}])
    assert error.value.message == 'The code "s0_5" is already used by rule 2.'


@pytest.mark.parametrize("period", ["", "   ", None])
def test_it_refuses_to_evaluate_without_the_period_that_closes(period: Any) -> None:
    with pytest.raises(RulesError):
        evaluate([S0_5_RULE], [scored("综合部", "70")], {}, period=period)


def test_it_refuses_a_current_score_that_is_not_a_number() -> None:
    current = [Outcome(key="综合部", score="七十", grade=None, rank=None, population=0)]  # type: ignore[arg-type]
    with pytest.raises(RulesError, match=r"综合部\.score"):
        evaluate([S0_5_RULE], current, {}, period="2025-03")


def test_it_refuses_a_history_entry_that_is_not_a_past_naming_it() -> None:
    history: dict[str, Any] = {"综合部": [Past("2025-01", D(70), None), ("2025-02", D(70), None)]}
    with translation.override("en"), pytest.raises(RulesError) as error:
        evaluate([S0_5_RULE], [scored("综合部", "70")], history, period="2025-03")
    assert str(error.value) == "综合部: history entry 2 is not a Past."


def test_it_refuses_a_yes_no_setting_given_as_text() -> None:
    rule = {**S1_4_UNFIT, "config": {**S1_4_UNFIT["config"], "same_year": "yes"}}
    assert field_of(rule) == "config.same_year"


@pytest.mark.parametrize("grades", [[], "C", None])
def test_it_refuses_grade_in_without_a_list_of_grades(grades: Any) -> None:
    rule = {**S1_9_UP, "config": {"periods": 2, "condition": {"grade_in": grades}}}
    with translation.override("en"), pytest.raises(ConfigError) as error:
        validate_rule(rule)
    assert (error.value.field, error.value.message) == (
        "config.condition.grade_in",
        "Enter a non-empty list of grades.",
    )


def test_it_asks_for_the_threshold_of_a_score_condition() -> None:
    rule = {**S0_5_RULE, "config": {"periods": 3, "condition": {"score_below": None}}}
    with translation.override("en"), pytest.raises(ConfigError) as error:
        validate_rule(rule)
    assert (error.value.field, error.value.message) == ("config.condition.score_below", "This setting is required.")


def test_it_accepts_a_window_exactly_as_large_as_the_count() -> None:
    rule = {**S1_4_UNFIT, "config": {"count": 2, "of_last": 2, "condition": {"grade_in": ["C"]}}}
    assert validate_rule(rule)["config"]["of_last"] == 2


def test_it_never_marks_a_streak_or_window_flag_as_tied() -> None:
    history = {"膳食科": past_scores(("2025-01", "70"), ("2025-02", "71"))}
    rules = [S0_5_RULE, {**S1_4_UNFIT, "config": {"count": 1, "of_last": 1, "condition": {"score_below": "80"}}}]
    flags = evaluate(rules, [scored("膳食科", "72")], history, period="2025-03")
    assert [(flag.rule_code, flag.tied) for flag in flags] == [("s0_5", False), ("unfit", False)]
