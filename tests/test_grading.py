"""appraisal.grading: grade scales, S1-4 forced distribution, ties, S1-9 calibration cap."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from appraisal.grading import (
    CalibrationError,
    ConfigError,
    GradeScale,
    GradingError,
    check_calibration,
    distribute,
    validate_quotas,
    validate_scale,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


# S1-4 (恒盛地产): S 90–100 ×1.2 ≤5 %; A 80–89 ×1.1 ≤15 %; B 70–79 ×1.0 ≥70 %; C <70 ×0.8 ≤10 %.
S1_4_SCALE: dict[str, Any] = {
    "bands": [
        {"grade": "S", "label": "卓越", "from": "90", "max": "100", "coefficient": "1.2"},
        {"grade": "A", "label": "优秀", "from": "80", "coefficient": "1.1"},
        {"grade": "B", "label": "合格", "from": "70", "coefficient": "1.0"},
        {"grade": "C", "label": "待改进", "from": None, "coefficient": "0.8"},
    ]
}
S1_4_QUOTAS = [
    {"grade": "S", "op": "<=", "share": "0.05"},
    {"grade": "A", "op": "<=", "share": "0.15"},
    {"grade": "B", "op": ">=", "share": "0.70"},
    {"grade": "C", "op": "<=", "share": "0.10"},
]

# 30 people. Allowed counts, by hand (half up): S 30×5% = 1.5 → 2; A 30×15% = 4.5 → 5;
# B 30×70% = 21 (minimum); C 30×10% = 3.
# Four score 90 or more: p01, p02 keep S; p03, p04 fall to A.
# A then has p03, p04 + five band-A people = 7 > 5: p08 (82.50, 6th) and p09 (81.00, 7th) fall to B.
# B: 19 band-B people (70.00 … 79.00) + p08 + p09 = 21. C: 69.99 and 55.00 = 2.
TOP = ["98.00", "95.00", "92.00", "90.50", "88.00", "86.00", "84.00", "82.50", "81.00"]
BAND_B = [str(D(70) + D("0.5") * i) for i in range(19)]  # 70.0 … 79.0
BAND_C = ["69.99", "55.00"]
THIRTY = [(f"p{index:02d}", D(score)) for index, score in enumerate(TOP + BAND_B + BAND_C, start=1)]


def grades(distribution: Any) -> Counter[str]:
    return Counter(subject.final_grade.code for subject in distribution.subjects)


def test_it_grades_the_thirty_person_example_to_the_hand_counts() -> None:
    assert len(THIRTY) == 30
    result = distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS)
    assert grades(result) == {"S": 2, "A": 5, "B": 21, "C": 2}
    assert [result.result(key).final_grade.code for key in ("p01", "p02", "p03", "p04")] == ["S", "S", "A", "A"]
    assert result.is_final
    assert not result.shortfalls


def test_it_demotes_the_lowest_of_an_over_full_grade_by_one_grade() -> None:
    result = distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS)
    demoted = {
        subject.key: (subject.band_grade.code, subject.final_grade.code)
        for subject in result.subjects
        if subject.demoted
    }
    assert demoted == {"p03": ("S", "A"), "p04": ("S", "A"), "p08": ("A", "B"), "p09": ("A", "B")}
    assert result.result("p08").coefficient == D("1.0")
    assert result.result("p03").coefficient == D("1.1")


def test_it_explains_a_demotion_with_the_quota_arithmetic_and_the_position() -> None:
    subject = distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS).result("p08")
    assert subject.rank == 8
    assert subject.explanation == (
        "82.50 points → A (80 and above); "
        "A quota ≤15% × 30 = 4.5 → 5 (rounded half up), position 6 of 7 → falls to B; "
        "final grade B, coefficient 1.0"
    )


def test_it_reports_allowed_and_actual_counts_per_grade_for_the_chart() -> None:
    counts = {bar.grade: bar for bar in distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS).counts}
    assert [(g, counts[g].op, counts[g].allowed, counts[g].band_count, counts[g].actual) for g in "SABC"] == [
        ("S", "<=", 2, 4, 2),
        ("A", "<=", 5, 5, 5),
        ("B", ">=", 21, 19, 21),
        ("C", "<=", 3, 2, 2),
    ]
    assert counts["S"].exact == D("1.5")
    assert counts["S"].label == "卓越"


def test_it_rounds_counts_down_when_asked() -> None:
    result = distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS, rounding="down")
    counts = {bar.grade: bar.allowed for bar in result.counts}
    assert counts == {"S": 1, "A": 4, "B": 21, "C": 3}
    assert [s.key for s in result.subjects if s.final_grade.code == "S"] == ["p01"]


def test_it_rounds_counts_up_when_asked() -> None:
    result = distribute(THIRTY[:28], S1_4_SCALE, S1_4_QUOTAS, rounding="up")  # 28 × 5% = 1.4 → 2
    assert {bar.grade: bar.allowed for bar in result.counts}["S"] == 2
    assert {bar.grade: bar.allowed for bar in distribute(THIRTY[:28], S1_4_SCALE, S1_4_QUOTAS).counts}["S"] == 1


def test_it_refuses_an_unknown_rounding_mode() -> None:
    with pytest.raises(ConfigError) as error:
        distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS, rounding="bankers")
    assert error.value.field == "rounding"


def test_it_reports_a_tie_at_the_cap_line_instead_of_breaking_it() -> None:
    scores = [*THIRTY]
    scores[1] = ("p02", D("95.00"))
    scores[2] = ("p03", D("95.00"))  # p02 and p03 tie for the second and last S place
    result = distribute(scores, S1_4_SCALE, S1_4_QUOTAS)
    assert len(result.ties) == 1
    tie = result.ties[0]
    assert (tie.grade, tie.score, tie.keys, tie.places) == ("S", D("95.00"), ("p02", "p03"), 1)
    assert result.result("p02").final_grade.code == "S"
    assert result.result("p03").final_grade.code == "S"
    assert result.result("p03").needs_calibration
    assert not result.result("p01").needs_calibration
    assert not result.is_final
    assert "kept at S provisionally, needs calibration" in result.result("p03").explanation


def test_it_does_not_report_a_tie_that_fits_inside_the_cap() -> None:
    scores = [*THIRTY]
    scores[0] = ("p01", D("95.00"))
    scores[1] = ("p02", D("95.00"))  # both fit in S's two places
    result = distribute(scores, S1_4_SCALE, S1_4_QUOTAS)
    assert result.ties == ()
    assert result.is_final
    assert result.result("p02").rank == 1


def test_it_reports_a_b_shortfall_without_moving_anyone_up() -> None:
    scores = [*THIRTY]
    scores[9] = ("p10", D("60.00"))  # a third C: B now holds 20, one short of 21
    result = distribute(scores, S1_4_SCALE, S1_4_QUOTAS)
    assert grades(result) == {"S": 2, "A": 5, "B": 20, "C": 3}
    assert [(s.grade, s.required, s.actual) for s in result.shortfalls] == [("B", 21, 20)]
    assert "1 short" in result.shortfalls[0].message
    assert result.is_final


def test_it_reports_a_cap_the_lowest_grade_cannot_enforce() -> None:
    scores = [(f"c{index}", D(50 + index)) for index in range(4)] + [(f"b{index}", D(75)) for index in range(16)]
    result = distribute(scores, S1_4_SCALE, S1_4_QUOTAS)  # C ≤10% × 20 = 2, four score below 70
    assert grades(result)["C"] == 4
    assert [(issue.grade, issue.required, issue.actual) for issue in result.unenforced] == [("C", 2, 4)]
    assert not result.is_final


def test_it_lets_a_demoted_subject_fall_again_only_when_the_next_cap_excludes_them() -> None:
    quotas = [{"grade": "S", "op": "<=", "share": "0"}, {"grade": "A", "op": "=", "share": "0"}]
    result = distribute([("x", D("95")), ("y", D("75"))], S1_4_SCALE, quotas)
    assert result.result("x").final_grade.code == "B"
    assert "falls to A" in result.result("x").explanation
    assert "falls to B" in result.result("x").explanation


def test_it_refuses_a_key_listed_twice() -> None:
    with pytest.raises(GradingError):
        distribute([("p", D(80)), ("p", D(81))], S1_4_SCALE, S1_4_QUOTAS)


# --- scales -----------------------------------------------------------------------------------


def test_it_puts_exactly_90_in_s_and_89_99_in_a() -> None:
    scale = GradeScale.from_config(S1_4_SCALE)
    assert scale.grade_for(D("90.00")).code == "S"
    assert scale.grade_for(D("89.99")).code == "A"
    assert scale.grade_for(D("89.50")).code == "A"  # "80–89" written as bands would leave this out


def test_it_leaves_the_bottom_band_open_below_and_the_top_closed_at_max() -> None:
    scale = GradeScale.from_config(S1_4_SCALE)
    assert scale.grade_for(D("-5")).code == "C"
    assert scale.grade_for(D("100")).code == "S"
    with pytest.raises(GradingError, match=r"100\.01"):
        scale.grade_for(D("100.01"))


def test_it_returns_the_grade_with_label_coefficient_and_rank() -> None:
    grade = GradeScale.from_config(S1_4_SCALE).grade_for("85")
    assert (grade.code, grade.label, grade.coefficient, grade.rank) == ("A", "优秀", D("1.1"), 1)


def test_it_can_make_the_upper_bound_inclusive() -> None:
    scale = GradeScale.from_config({**S1_4_SCALE, "boundary": "upper_inclusive"})
    assert scale.grade_for(D("90")).code == "A"
    assert scale.grade_for(D("90.01")).code == "S"


def test_it_grades_the_s1_9_a_to_e_scale() -> None:
    scale = GradeScale.from_config(
        {
            "bands": [
                {"grade": "A", "label": "优秀", "from": "90", "max": "100"},
                {"grade": "B", "label": "良好", "from": "80"},
                {"grade": "C", "label": "合格", "from": "70"},
                {"grade": "D", "label": "较差", "from": "60"},
                {"grade": "E", "label": "不合格", "from": "0"},
            ]
        }
    )
    samples = ["95", "90", "89.99", "80", "79.99", "70", "69.99", "60", "59.99", "59", "0"]
    assert [scale.grade_for(D(s)).code for s in samples] == ["A", "A", "B", "B", "C", "C", "D", "D", "E", "E", "E"]
    with pytest.raises(GradingError):
        scale.grade_for(D("-1"))


def test_it_grades_the_s0_3_scale_with_chinese_labels() -> None:
    scale = GradeScale.from_config(
        {
            "bands": [
                {"grade": "excellent", "label": "优秀", "from": "90"},
                {"grade": "qualified", "label": "合格", "from": "70"},
                {"grade": "basic", "label": "基本合格", "from": "60"},
                {"grade": "failed", "label": "不合格", "from": None},
            ]
        }
    )
    assert [scale.grade_for(D(s)).label for s in ("90", "89.99", "70", "69.99", "60", "59.99")] == [
        "优秀",
        "合格",
        "合格",
        "基本合格",
        "基本合格",
        "不合格",
    ]
    assert scale.grade_for(D("59.99")).coefficient is None


def test_it_refuses_bands_that_are_not_best_first() -> None:
    config = {"bands": [{"grade": "B", "from": "70"}, {"grade": "A", "from": "80"}, {"grade": "C", "from": None}]}
    with pytest.raises(ConfigError) as error:
        validate_scale(config)
    assert error.value.field == "bands[1].from"


def test_it_refuses_a_duplicate_grade() -> None:
    config = {"bands": [{"grade": "A", "from": "80"}, {"grade": "A", "from": "70"}]}
    with pytest.raises(ConfigError) as error:
        validate_scale(config)
    assert error.value.field == "bands[1].grade"


def test_it_refuses_a_float_coefficient() -> None:
    config = {"bands": [{"grade": "S", "from": "90", "coefficient": 1.2}, {"grade": "A", "from": None}]}
    with pytest.raises(ConfigError, match="float") as error:
        validate_scale(config)
    assert error.value.field == "bands[0].coefficient"


def test_it_refuses_an_open_lower_bound_above_the_bottom_band() -> None:
    config = {"bands": [{"grade": "S", "from": None}, {"grade": "A", "from": "80"}]}
    with pytest.raises(ConfigError) as error:
        validate_scale(config)
    assert error.value.field == "bands[0].from"


def test_it_refuses_a_max_below_the_top_band() -> None:
    config = {"bands": [{"grade": "S", "from": "90"}, {"grade": "A", "from": "80", "max": "89"}]}
    with pytest.raises(ConfigError) as error:
        validate_scale(config)
    assert error.value.field == "bands[1].max"


def test_it_normalises_a_scale_config() -> None:
    normal = validate_scale(S1_4_SCALE)
    assert normal["boundary"] == "lower_inclusive"
    assert normal["bands"][1] == {"grade": "A", "label": "优秀", "from": "80", "max": None, "coefficient": "1.1"}
    assert GradeScale.from_config(normal).to_config() == normal


def test_it_refuses_quotas_for_unknown_grades_and_bad_operators() -> None:
    with pytest.raises(ConfigError) as unknown:
        validate_quotas([{"grade": "X", "op": "<=", "share": "0.1"}], S1_4_SCALE)
    assert unknown.value.field == "quotas[0].grade"
    with pytest.raises(ConfigError) as operator:
        validate_quotas([{"grade": "S", "op": "<", "share": "0.1"}], S1_4_SCALE)
    assert operator.value.field == "quotas[0].op"


def test_it_refuses_a_float_share() -> None:
    with pytest.raises(ConfigError) as error:
        validate_quotas([{"grade": "S", "op": "<=", "share": 0.05}], S1_4_SCALE)
    assert error.value.field == "quotas[0].share"


# --- calibration (S1-9: ±5 %) -----------------------------------------------------------------


def test_it_allows_a_calibration_of_exactly_five_percent() -> None:
    check_calibration(D("80.00"), D("84.00"), D("0.05"))
    check_calibration(D("80.00"), D("76.00"), D("0.05"))


def test_it_refuses_a_calibration_beyond_five_percent_naming_the_range() -> None:
    # 80.00 × 5.01 % = 4.008 → 84.01 is more than 5 % away.
    with pytest.raises(CalibrationError) as error:
        check_calibration(D("80.00"), D("84.01"), D("0.05"))
    assert error.value.message == (
        "The calibrated score 84.01 is outside the allowed range: ±5% of 80.00 = 76.00–84.00."
    )
    assert (error.value.low, error.value.high) == (D("76.00"), D("84.00"))
    with pytest.raises(CalibrationError):
        check_calibration(D("80.00"), D("84.008"), D("0.05"))  # exactly 5.01 %


def test_it_refuses_a_downward_calibration_beyond_the_range() -> None:
    with pytest.raises(CalibrationError, match=r"75\.99"):
        check_calibration(D("80.00"), D("75.99"), D("0.05"))


# --- defects of issue #15, pinned -------------------------------------------------------------


def test_it_grades_a_score_of_exactly_zero_as_the_lowest_band_when_upper_inclusive() -> None:
    config = {
        "boundary": "upper_inclusive",
        "bands": [
            {"grade": "A", "from": "90", "max": "100"},
            {"grade": "D", "from": "60"},
            {"grade": "E", "from": "0"},
        ],
    }
    scale = GradeScale.from_config(config)
    assert scale.grade_for(D("0")).code == "E"
    assert scale.grade_for(D("0.00")).code == "E"
    assert distribute([("zero", D("0.00"))], config).result("zero").final_grade.code == "E"


def test_it_refuses_two_bands_starting_at_the_same_score_naming_the_band() -> None:
    config = {"bands": [{"grade": "S", "from": "90"}, {"grade": "A", "from": "80"}, {"grade": "B", "from": "80.00"}]}
    with pytest.raises(ConfigError, match="80") as error:
        validate_scale(config)
    assert error.value.field == "bands[2].from"


def test_it_refuses_a_second_quota_for_the_same_grade_naming_it() -> None:
    quotas = [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "S", "op": "<=", "share": "0.50"}]
    with pytest.raises(ConfigError, match='"S"') as error:
        validate_quotas(quotas, S1_4_SCALE)
    assert error.value.field == "quotas[1].grade"


def test_it_refuses_to_distribute_with_a_second_quota_for_the_same_grade() -> None:
    quotas = [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "S", "op": "<=", "share": "0.50"}]
    with pytest.raises(ConfigError) as error:
        distribute(THIRTY, S1_4_SCALE, quotas)
    assert error.value.field == "quotas[1].grade"


def test_it_keeps_whoever_is_over_the_lowest_grades_cap_flagged_for_calibration() -> None:
    scores = [(f"c{index}", D(50 + index)) for index in range(4)] + [(f"b{index}", D(75)) for index in range(16)]
    result = distribute(scores, S1_4_SCALE, S1_4_QUOTAS)  # C ≤10% × 20 = 2: c1 and c0 are over the cap
    assert [(key, result.result(key).needs_calibration) for key in ("c3", "c2", "c1", "c0")] == [
        ("c3", False),
        ("c2", False),
        ("c1", True),
        ("c0", True),
    ]
    assert {result.result(key).final_grade.code for key in ("c3", "c2", "c1", "c0")} == {"C"}
    assert result.result("c0").explanation.endswith(
        "C quota ≤10% × 20 = 2 → 2 (rounded half up), position 4 of 4, over the cap but C is the lowest grade → "
        "stays, needs calibration; final grade C, coefficient 0.8"
    )
    assert result.unenforced[0].message == (
        "4 people hold C, more than its 2 places, but C is the lowest grade: calibrate scores before the results "
        "are final."
    )


# --- refusals, each with the field HR must fix ------------------------------------------------


def scale_field(config: object) -> tuple[str, str]:
    with pytest.raises(ConfigError) as error:
        validate_scale(config)
    return error.value.field, error.value.message


def quota_field(quotas: object) -> tuple[str, str]:
    with pytest.raises(ConfigError) as error:
        validate_quotas(quotas, S1_4_SCALE)
    return error.value.field, error.value.message


def test_it_refuses_a_scale_without_bands() -> None:
    assert scale_field({"bands": []}) == ("bands", "Enter a non-empty list.")


def test_it_refuses_bands_that_are_not_a_list() -> None:
    assert scale_field({"bands": {"grade": "S", "from": "90"}}) == ("bands", "Enter a non-empty list.")


def test_it_refuses_an_unknown_boundary() -> None:
    field, message = scale_field({**S1_4_SCALE, "boundary": "both_inclusive"})
    assert field == "boundary"
    assert message == '"both_inclusive" is not one of lower_inclusive, upper_inclusive.'


def test_it_asks_for_the_from_of_a_band_above_the_bottom() -> None:
    config = {"bands": [{"grade": "S"}, {"grade": "A", "from": "80"}]}
    assert scale_field(config) == ("bands[0].from", "This setting is required.")


def test_it_lets_only_the_lowest_band_be_open_below() -> None:
    config = {"bands": [{"grade": "S", "from": None}, {"grade": "A", "from": "80"}]}
    assert scale_field(config) == ("bands[0].from", "Only the lowest band may be open below (from: null).")


def test_it_reads_a_bottom_band_without_from_as_open_below() -> None:
    scale = GradeScale.from_config({"bands": [{"grade": "S", "from": "90"}, {"grade": "A"}]})
    assert scale.grade_for("-1000").code == "A"
    assert validate_scale({"bands": [{"grade": "S", "from": "90"}, {"grade": "A"}]})["bands"][1]["from"] is None


def test_it_names_the_band_that_already_uses_a_grade() -> None:
    config = {"bands": [{"grade": "S", "from": "90"}, {"grade": "A", "from": "80"}, {"grade": "S", "from": "70"}]}
    assert scale_field(config) == ("bands[2].grade", 'Grade "S" is already used by band 1.')


MAX_EDGES = [("90.01", True), ("90", False), ("89.99", False)]


@pytest.mark.parametrize(("top", "accepted"), MAX_EDGES)
def test_it_wants_the_max_above_the_best_bands_start(top: str, accepted: bool) -> None:
    config = {"bands": [{"grade": "S", "from": "90", "max": top}, {"grade": "A", "from": None}]}
    if accepted:
        assert validate_scale(config)["bands"][0]["max"] == top
    else:
        assert scale_field(config) == (
            "bands[0].max",
            f"The max {top} must be above the band's start 90.",
        )


def test_it_refuses_quotas_that_are_not_a_list() -> None:
    assert quota_field({"grade": "S", "op": "<=", "share": "0.05"}) == ("quotas", "Enter a list (it may be empty).")


@pytest.mark.parametrize("quota", [{"grade": "S", "op": "<="}, {"grade": "S", "op": "<=", "share": None}])
def test_it_asks_for_the_share_of_a_quota(quota: dict[str, Any]) -> None:
    assert quota_field([quota]) == ("quotas[0].share", "This setting is required.")


SHARE_EDGES = [("1.01", False), ("1", True), ("0.99", True), ("0", True), ("-0.01", False)]


@pytest.mark.parametrize(("share", "accepted"), SHARE_EDGES)
def test_it_takes_a_share_from_zero_to_the_whole_population(share: str, accepted: bool) -> None:
    quotas = [{"grade": "S", "op": "<=", "share": share}]
    if accepted:
        assert validate_quotas(quotas, S1_4_SCALE) == [{"grade": "S", "op": "<=", "share": share}]
    else:
        assert quota_field(quotas)[0] == "quotas[0].share"


MINIMUM_SUMS = [("0.30", True), ("0.31", False), ("0.29", True)]


@pytest.mark.parametrize(("c_share", "accepted"), MINIMUM_SUMS)
def test_it_refuses_minimums_that_add_up_to_more_than_everyone(c_share: str, accepted: bool) -> None:
    quotas = [{"grade": "B", "op": ">=", "share": "0.70"}, {"grade": "C", "op": "=", "share": c_share}]
    if accepted:
        assert len(validate_quotas(quotas, S1_4_SCALE)) == 2
    else:
        assert quota_field(quotas) == (
            "quotas",
            "The minimum shares add up to 101%, more than the whole population.",
        )


def test_it_does_not_count_caps_towards_the_minimums() -> None:
    quotas = [{"grade": "B", "op": ">=", "share": "0.70"}, {"grade": "C", "op": "<=", "share": "0.50"}]
    assert len(validate_quotas(quotas, S1_4_SCALE)) == 2


# --- grading errors ----------------------------------------------------------------------------


def test_it_refuses_a_score_that_is_not_a_number_in_a_distribution() -> None:
    with pytest.raises(GradingError, match=r"scores\[1\]"):
        distribute([("p", D(80)), ("q", "eighty")], S1_4_SCALE)


def test_it_names_the_subject_whose_score_is_outside_the_scale() -> None:
    with pytest.raises(GradingError) as error:
        distribute([("p", D(80)), ("q", D("100.50"))], S1_4_SCALE)
    assert str(error.value) == "q: The score 100.50 is outside the grade scale (−∞ to 100)."


def test_it_refuses_a_score_that_is_not_a_number() -> None:
    with pytest.raises(GradingError, match="eighty"):
        GradeScale.from_config(S1_4_SCALE).grade_for("eighty")


def test_it_names_both_closed_ends_of_the_scale_when_a_score_is_outside() -> None:
    scale = GradeScale.from_config({"bands": [{"grade": "P", "from": "60", "max": "100"}, {"grade": "F", "from": "0"}]})
    with pytest.raises(GradingError) as error:
        scale.grade_for(D("-0.01"))
    assert str(error.value) == "The score -0.01 is outside the grade scale (0 to 100)."


def test_it_names_an_open_top_as_infinity_when_a_score_is_below_the_scale() -> None:
    scale = GradeScale.from_config({"bands": [{"grade": "P", "from": "60"}, {"grade": "F", "from": "0"}]})
    with pytest.raises(GradingError) as error:
        scale.grade_for(D("-1"))
    assert str(error.value) == "The score -1.00 is outside the grade scale (0 to ∞)."


def test_it_finds_a_grade_of_the_scale_by_its_code() -> None:
    scale = GradeScale.from_config(S1_4_SCALE)
    assert [scale.grade(code).rank for code in ("S", "A", "B", "C")] == [0, 1, 2, 3]
    with pytest.raises(KeyError):
        scale.grade("X")


# --- how a band is described in an explanation ------------------------------------------------

DESCRIPTIONS = [
    (
        "lower_inclusive",
        [{"grade": "S", "from": "90", "max": "100"}, {"grade": "C", "from": None}],
        ["90 to 100", "below 90"],
    ),
    (
        "upper_inclusive",
        [{"grade": "S", "from": "90", "max": "100"}, {"grade": "C", "from": None}],
        ["above 90 up to 100", "90 and below"],
    ),
    (
        "lower_inclusive",
        [{"grade": "S", "from": "90"}, {"grade": "A", "from": "80"}, {"grade": "C", "from": "0"}],
        ["90 and above", "80 and above", "0 and above"],
    ),
    (
        "upper_inclusive",
        [{"grade": "S", "from": "90"}, {"grade": "A", "from": "80"}, {"grade": "C", "from": "0"}],
        ["above 90", "above 80", "0 and above"],
    ),
    ("lower_inclusive", [{"grade": "P", "from": None}], ["any score"]),
    ("lower_inclusive", [{"grade": "P", "from": None, "max": "100"}], ["100 and below"]),
    ("lower_inclusive", [{"grade": "P", "from": "0", "max": "100"}], ["0 to 100"]),
]


@pytest.mark.parametrize(("boundary", "bands", "described"), DESCRIPTIONS)
def test_it_describes_each_band_as_the_explanation_shows_it(
    boundary: str, bands: list[dict[str, Any]], described: list[str]
) -> None:
    scale = GradeScale.from_config({"boundary": boundary, "bands": bands})
    assert [grade.describe() for grade in scale.grades] == described


# --- results, ties and shortfalls -------------------------------------------------------------


def test_it_looks_up_a_result_and_a_count_only_for_what_was_distributed() -> None:
    result = distribute(THIRTY, S1_4_SCALE, S1_4_QUOTAS)
    assert (result.result("p30").score, result.count("B"), result.count("C")) == (D("55.00"), 21, 2)
    with pytest.raises(KeyError):
        result.result("p31")
    with pytest.raises(KeyError):
        result.count("X")


def test_it_reports_a_tie_for_a_single_place() -> None:
    scores = [("x", D(95)), ("y", D(95))] + [(f"b{index}", D(75)) for index in range(8)]  # S ≤ 10 % of 10 = 1
    result = distribute(scores, S1_4_SCALE, [{"grade": "S", "op": "<=", "share": "0.10"}])
    assert [(tie.grade, tie.keys, tie.places) for tie in result.ties] == [("S", ("x", "y"), 1)]
    assert [result.result(key).final_grade.code for key in ("x", "y")] == ["S", "S"]


def test_it_drops_everyone_tied_when_a_cap_leaves_no_place() -> None:
    scores = [("x", D(95)), ("y", D(95))]
    result = distribute(scores, S1_4_SCALE, [{"grade": "S", "op": "<=", "share": "0"}])
    assert result.ties == ()
    assert [result.result(key).final_grade.code for key in ("x", "y")] == ["A", "A"]
    assert result.is_final


def test_it_says_how_many_are_missing_from_a_minimum() -> None:
    scores = [(f"a{index}", D(85)) for index in range(7)] + [(f"b{index}", D(75)) for index in range(3)]
    result = distribute(scores, S1_4_SCALE, [{"grade": "B", "op": ">=", "share": "0.70"}])
    assert [issue.message for issue in result.shortfalls] == [
        "B needs ≥70% × 10 = 7 → 7 people (rounded half up) but has 3: 4 short, for calibration."
    ]
