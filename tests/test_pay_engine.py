"""payroll.engine: pay components as data, with worked examples from the seed schemes.

Every amount below is worked out by hand in the comment above its assertion.
"""

from __future__ import annotations

import gc
import json
from decimal import Decimal as D
from decimal import localcontext
from functools import partial
from typing import Any

import pytest
from django.utils import translation

from core.configs import ConfigError
from core.formula import CONTEXT, Formula, FormulaError
from payroll.engine import (
    PayError,
    PersonInput,
    Policy,
    compile_policy,
    evaluate_person,
    evaluate_population,
    split_fen,
    validate_policy,
)


def one(kind: str, config: dict[str, Any], *, inputs: tuple[str, ...] = (), **envelope: Any) -> Any:
    """A policy of one component "c"."""
    return compile_policy([{"code": "c", "kind": kind, "config": config, **envelope}], inputs=inputs)


def amount(policy: Any, code: str = "c", **inputs: Any) -> D:
    return evaluate_person(policy, inputs, subject="1001 张三").amount(code)


def config_error(components: list[dict[str, Any]], **kwargs: Any) -> ConfigError:
    with translation.override("en"), pytest.raises(ConfigError) as caught:
        compile_policy(components, **kwargs)
    return caught.value


def refusal(kind: str, config: dict[str, Any], **kwargs: Any) -> tuple[str, str]:
    """The path and the message (in English) a one-component policy "c" is refused with."""
    error = config_error([{"code": "c", "kind": kind, "config": config}], **kwargs)
    return error.field, error.message


def stored(policy: Policy, inputs: tuple[str, ...] = ()) -> Policy:
    """The policy rebuilt from what save_pay_policy stores: its normalised components, through JSON."""
    return compile_policy(json.loads(json.dumps(policy.normalised)), inputs=inputs)


def explained(policy: Policy, code: str = "c", balances: dict[str, str] | None = None, **inputs: Any) -> str:
    with translation.override("en"):
        return evaluate_person(policy, inputs, subject="1001 张三", balances=balances).line(code).explanation


def pay_error(policy: Policy, inputs: dict[str, Any], balances: dict[str, str] | None = None) -> PayError:
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, inputs, subject="1001 张三", balances=balances)
    return caught.value


# --- validation ---------------------------------------------------------------------------------


def test_it_refuses_an_unknown_kind_naming_the_path() -> None:
    error = config_error([{"code": "a", "kind": "fixed", "config": {"amount": "1"}}, {"code": "b", "kind": "bonus"}])
    assert error.field == "components[1].kind"
    assert "per_unit" in error.message


def test_it_refuses_an_unknown_setting_inside_a_config() -> None:
    error = config_error([{"code": "a", "kind": "per_unit", "config": {"rates": [], "rate": "1"}}])
    assert error.field == "components[0].config.rate"


def test_it_refuses_a_float_in_a_config() -> None:
    error = config_error(
        [
            {
                "code": "a",
                "kind": "tiered",
                "config": {"quantity": "1", "mode": "whole", "tiers": [{"from": 0, "rate": 0.3}]},
            }
        ]
    )
    assert error.field == "components[0].config.tiers[0].rate"
    assert "float" in error.message


def test_it_refuses_two_components_with_the_same_code() -> None:
    fixed = {"kind": "fixed", "config": {"amount": "1"}}
    error = config_error([{"code": "a", **fixed}, {"code": "a", **fixed}])
    assert error.field == "components[1].code"
    assert "already used" in error.message


def test_it_refuses_a_formula_that_uses_a_later_component() -> None:
    error = config_error(
        [
            {"code": "a", "kind": "formula", "config": {"expression": "b * 2"}},
            {"code": "b", "kind": "fixed", "config": {"amount": "1"}},
        ]
    )
    assert error.field == "components[0].config.expression"
    assert 'Unknown name "b"' in error.message


def test_it_refuses_a_formula_with_a_syntax_error() -> None:
    error = config_error([{"code": "a", "kind": "formula", "config": {"expression": "(score * 2"}}])
    assert error.field == "components[0].config.expression"
    assert "Syntax error" in error.message


def test_it_refuses_a_number_where_a_condition_is_needed() -> None:
    error = config_error([{"code": "a", "kind": "fixed", "config": {"amount": "1"}, "when": "score"}])
    assert error.field == "components[0].when"
    assert "not a yes/no condition" in error.message


def test_it_refuses_an_undeclared_input() -> None:
    error = config_error([{"code": "a", "kind": "per_unit", "config": {"rates": [{"input": "grads", "rate": "1"}]}}])
    assert error.field == "components[0].config.rates[0].input"
    # Declared, it is accepted.
    compile_policy(
        [{"code": "a", "kind": "per_unit", "config": {"rates": [{"input": "grads", "rate": "1"}]}}], inputs=["grads"]
    )


def test_it_refuses_a_factor_on_a_balance_kind() -> None:
    error = config_error(
        [{"code": "a", "kind": "accrual", "config": {"amount": "300", "pay_when": "score > 0"}, "factor": "2"}]
    )
    assert error.field == "components[0].factor"


def test_it_refuses_more_than_two_places_on_a_paid_amount() -> None:
    error = config_error([{"code": "a", "kind": "formula", "config": {"expression": "score / 100"}, "places": 4}])
    assert error.field == "components[0].places"
    # Unpaid (a coefficient) it may keep four places.
    compile_policy(
        [{"code": "a", "kind": "formula", "config": {"expression": "score / 100"}, "places": 4, "pays": False}]
    )


def test_it_refuses_tiers_that_do_not_rise() -> None:
    tiers = [{"from": "10", "rate": "300"}, {"from": "10", "rate": "500"}]
    error = config_error(
        [{"code": "a", "kind": "tiered", "config": {"quantity": "1", "mode": "whole", "tiers": tiers}}]
    )
    assert error.field == "components[0].config.tiers[1].from"


def test_it_refuses_a_signal_named_like_an_input() -> None:
    error = config_error([{"code": "a", "kind": "fixed", "config": {"amount": "1"}, "signals": {"score": "a > 0"}}])
    assert error.field == "components[0].signals.score"


def test_it_normalises_a_policy_with_every_default() -> None:
    normalised = validate_policy([{"code": "base", "kind": "fixed", "config": {"amount": "1400"}}])
    assert normalised == [
        {
            "code": "base",
            "name": "base",
            "kind": "fixed",
            "config": {"amount": "1400", "combine": "sum", "deductions": []},
            "rounding": "half_up",
            "places": 2,
            "when": None,
            "factor": None,
            "signals": {},
            "pays": True,
        }
    ]


def test_it_lists_the_inputs_a_policy_reads() -> None:
    policy = compile_policy(
        [
            {"code": "a", "kind": "formula", "config": {"expression": "score / 100"}, "pays": False, "places": 4},
            {"code": "b", "kind": "formula", "config": {"expression": "a * bonus_base"}},
        ],
        inputs=["bonus_base", "unused"],
    )
    assert policy.required_inputs == {"score", "bonus_base"}


# --- the envelope: rounding, when, factor, pays -------------------------------------------------


def test_it_rounds_each_component_with_its_own_mode() -> None:
    # 1234.565: half up → 1234.57; down → 1234.56; up → 1234.57; half even → 1234.56 (6 is even).
    values = {
        mode: amount(one("formula", {"expression": "1234.565"}, rounding=mode))
        for mode in ("half_up", "down", "up", "half_even")
    }
    assert values == {"half_up": D("1234.57"), "down": D("1234.56"), "up": D("1234.57"), "half_even": D("1234.56")}


def test_it_pays_nothing_when_the_condition_does_not_hold() -> None:
    policy = one("fixed", {"amount": "200"}, when="score >= 100")
    with translation.override("en"):
        pay = evaluate_person(policy, {"score": "99"}, subject="1001 张三")
    line = pay.line("c")
    assert (line.amount, line.applies, pay.total) == (D("0.00"), False, D("0.00"))
    assert "score >= 100" in line.explanation
    assert amount(policy, score="100") == D("200.00")


def test_it_prorates_a_leaver_by_days_worked_with_a_factor() -> None:
    # S1-2 leavers are paid by days worked: 1400 × 13 / 30 = 606.666… → 606.67.
    policy = one("fixed", {"amount": "1400"}, factor="days_worked / days_in_period")
    assert amount(policy, days_worked="13", days_in_period="30") == D("606.67")


def test_it_leaves_unpaid_components_out_of_the_total() -> None:
    policy = compile_policy(
        [
            {"code": "pool", "kind": "fixed", "config": {"amount": "5000"}, "pays": False},
            {"code": "share", "kind": "formula", "config": {"expression": "pool * 0.1"}},
        ]
    )
    pay = evaluate_person(policy, {}, subject="1001")
    # Only the share is paid: 5000 × 0.1 = 500.00.
    assert pay.total == D("500.00")
    assert pay.line("pool").paid is False


# --- 1. grade_coefficient (S1-9) ----------------------------------------------------------------

S1_9_BANDS = {
    "input": "base_salary",
    "bands": [{"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"}, {"to": None, "quota": "600"}],
}
S1_9_GRADES = {"A": "1.2", "B": "1.1", "C": "1.0", "D": "0.8", "E": "0"}


def test_it_picks_the_quota_by_salary_band_with_inclusive_ends() -> None:
    policy = one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota_bands": S1_9_BANDS})
    # "1500元以下(含1500)": 1500 → 200 × 1.1 (B) = 220; 1500.01 → 400 × 1.1 = 440; 2600 → 600 × 1.1 = 660.
    assert amount(policy, base_salary="1500", grade="B") == D("220.00")
    assert amount(policy, base_salary="1500.01", grade="B") == D("440.00")
    assert amount(policy, base_salary="2600", grade="B") == D("660.00")


def test_it_can_make_band_ends_exclusive() -> None:
    bands = {**S1_9_BANDS, "to_inclusive": False}
    policy = one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota_bands": bands})
    # 1500 is no longer "up to 1500": it falls in the 400 band; × 1.0 (C) = 400.
    assert amount(policy, base_salary="1500", grade="C") == D("400.00")


def test_it_pays_nothing_to_a_failed_grade() -> None:
    policy = one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota_bands": S1_9_BANDS})
    # S1-9: fail (E) → no performance pay: 600 × 0 = 0.
    assert amount(policy, base_salary="3000", grade="E") == D("0.00")


def test_it_takes_the_coefficient_from_a_formula() -> None:
    # S1-9's own example: score 85 → coefficient 0.85; quota 500 × 0.85 = 425.
    policy = one("grade_coefficient", {"coefficient": "score / 100", "quota": "500"})
    assert amount(policy, score="85") == D("425.00")


def test_it_names_an_unknown_grade() -> None:
    policy = one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota": "200"})
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, {"grade": "S"}, subject="1001 张三")
    assert 'Unknown grade "S"' in caught.value.message
    assert "1001 张三" in caught.value.message


# --- 2. fixed_floating_split (S1-4) ---------------------------------------------------------------

S1_4_SPLITS = {"总裁": "4:6", "总监": "5:5", "副总监": "6:4", "经理": "75:25", "员工": "85:15"}


def test_it_splits_pay_fixed_to_floating_by_level() -> None:
    policy = one(
        "fixed_floating_split", {"total": "base_salary", "splits": S1_4_SPLITS, "coefficient": "grade_coefficient"}
    )
    # 总裁 4:6 of 10000: fixed 4000 + floating 6000 × 1.2 = 7200 → 11200.
    assert amount(policy, base_salary="10000", level="总裁", grade_coefficient="1.2") == D("11200.00")
    # 员工 85:15 of 5000: fixed 4250 + floating 750 × 0.8 = 600 → 4850.
    assert amount(policy, base_salary="5000", level="员工", grade_coefficient="0.8") == D("4850.00")


def test_it_can_pay_the_floating_part_alone() -> None:
    config = {"total": "base_salary", "splits": S1_4_SPLITS, "coefficient": "grade_coefficient", "part": "floating"}
    # 经理 75:25 of 8000: floating 2000 × 1.1 = 2200.
    assert amount(one("fixed_floating_split", config), base_salary="8000", level="经理", grade_coefficient="1.1") == D(
        "2200.00"
    )


# --- 3. per_unit (S1-2, S1-6) -------------------------------------------------------------------

S1_2_RATES = [
    {"label": "B2", "input": "grads_b2", "rate": "1000"},
    {"label": "A3", "input": "grads_a3", "rate": "800"},
    {"label": "A1", "input": "grads_a1", "rate": "700"},
    {"label": "C1/C2", "input": "grads_c", "rate": "600"},
]
S1_2_INPUTS = ("grads_b2", "grads_a3", "grads_a1", "grads_c")


def test_it_pays_a_rate_per_graduate_by_licence_class() -> None:
    policy = one("per_unit", {"rates": S1_2_RATES}, inputs=S1_2_INPUTS)
    # 2 B2 × 1000 + 1 A3 × 800 + 0 A1 + 5 C × 600 = 2000 + 800 + 0 + 3000 = 5800.
    assert amount(policy, grads_b2=2, grads_a3=1, grads_a1=0, grads_c=5) == D("5800.00")


def test_it_names_a_missing_count() -> None:
    policy = one("per_unit", {"rates": S1_2_RATES}, inputs=S1_2_INPUTS)
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, {"grads_b2": "1", "grads_a3": "0", "grads_c": "2"}, subject="1001 张三")
    assert caught.value.inputs["grads_a1"] is None
    assert 'Missing input "grads_a1"' in caught.value.message


# --- 4. tiered (S1-2 over-target bonus, S1-6 decreasing progression) --------------------------------

S1_2_TIERS = [{"from": "0", "rate": "300"}, {"from": "10", "rate": "500"}]


def test_it_pays_marginal_tiers_band_by_band() -> None:
    policy = one(
        "tiered", {"quantity": "MAX(0, grads - 30)", "mode": "marginal", "tiers": S1_2_TIERS}, inputs=("grads",)
    )
    # 43 graduates, target 30: 13 over. First 10 × 300 = 3000, next 3 × 500 = 1500 → 4500.
    assert amount(policy, grads="43") == D("4500.00")


def test_it_pays_whole_tiers_at_the_reached_rate_for_every_unit() -> None:
    policy = one("tiered", {"quantity": "MAX(0, grads - 30)", "mode": "whole", "tiers": S1_2_TIERS}, inputs=("grads",))
    # Same 13 over, but every unit at the reached tier's 500: 13 × 500 = 6500 (not 4500).
    assert amount(policy, grads="43") == D("6500.00")


def test_it_keeps_a_quantity_on_the_boundary_in_the_lower_tier_when_upper_inclusive() -> None:
    config = {"quantity": "grads - 30", "mode": "whole", "tiers": S1_2_TIERS}
    # "0~10人(含10人)": exactly 10 over stays at 300 → 3000; lower_inclusive moves it to 500 → 5000.
    inclusive = one("tiered", {**config, "boundary": "upper_inclusive"}, inputs=("grads",))
    assert amount(inclusive, grads="40") == D("3000.00")
    assert amount(one("tiered", config, inputs=("grads",)), grads="40") == D("5000.00")


def test_it_pays_progressive_decreasing_rates() -> None:
    # S1-6 超额累进递减 on a per-capita bonus: ≤3000 at 100 %, 3000–5000 at 80 %, above 5000 at 50 %.
    tiers = [{"from": "0", "rate": "1"}, {"from": "3000", "rate": "0.8"}, {"from": "5000", "rate": "0.5"}]
    marginal = one("tiered", {"quantity": "per_capita", "mode": "marginal", "tiers": tiers}, inputs=("per_capita",))
    whole = one("tiered", {"quantity": "per_capita", "mode": "whole", "tiers": tiers}, inputs=("per_capita",))
    # 6000: 3000 × 1 + 2000 × 0.8 + 1000 × 0.5 = 3000 + 1600 + 500 = 5100; whole: 6000 × 0.5 = 3000.
    assert amount(marginal, per_capita="6000") == D("5100.00")
    assert amount(whole, per_capita="6000") == D("3000.00")


def test_it_pays_nothing_below_the_first_tier() -> None:
    policy = one("tiered", {"quantity": "grads - 30", "mode": "marginal", "tiers": S1_2_TIERS}, inputs=("grads",))
    # 25 graduates: 5 under target, below tier "from 0".
    assert amount(policy, grads="25") == D("0.00")


# --- 5. quota_saving (S1-2 fuel and repairs) -------------------------------------------------------

FUEL = {"quota": "grads * 45", "actual": "fuel_litres", "price": "fuel_price", "reward_share": "0.8"}


def test_it_rewards_a_share_of_the_fuel_saved() -> None:
    policy = one("quota_saving", FUEL, inputs=("grads", "fuel_litres", "fuel_price"))
    # 20 graduates × 45 L = 900 L quota; 850 L used: 50 L saved × 7.50 = 375.00 × 80 % = 300.00.
    assert amount(policy, grads="20", fuel_litres="850", fuel_price="7.50") == D("300.00")


def test_it_deducts_fuel_used_beyond_the_quota() -> None:
    policy = one("quota_saving", FUEL, inputs=("grads", "fuel_litres", "fuel_price"))
    # 960 L used: 60 L over × 7.50 = 450.00 deducted in full.
    assert amount(policy, grads="20", fuel_litres="960", fuel_price="7.50") == D("-450.00")


def test_it_applies_the_same_rule_to_the_repair_quota() -> None:
    repair = {"quota": "grads * 80", "actual": "repair_cost", "reward_share": "0.8", "excess_rate": "0.5"}
    policy = one("quota_saving", repair, inputs=("grads", "repair_cost"))
    # 20 × 80 = 1600 quota; 1750 spent: 150 over, deducted at a configured 50 % → −75.00.
    assert amount(policy, grads="20", repair_cost="1750") == D("-75.00")


# --- 6. penalty_points (S1-1, S1-10) ----------------------------------------------------------------


def test_it_deducts_twenty_yuan_a_point() -> None:
    policy = one(
        "penalty_points", {"items": [{"label": "扣分", "input": "points", "amount": "20"}]}, inputs=("points",)
    )
    # S1-1: 7 points × 20 = 140 off.
    assert amount(policy, points="7") == D("-140.00")


S1_10_ITEMS = [
    {"label": "一档", "input": "tier1", "amount": "300"},
    {"label": "二档", "input": "tier2", "amount": "200"},
    {"label": "三档", "input": "tier3", "amount": "100"},
    {"label": "四档", "input": "tier4_points", "amount": "10"},
]
S1_10_INPUTS = ("tier1", "tier2", "tier3", "tier4_points")
NO_EVENTS: dict[str, Any] = {"tier1": "0", "tier2": "0", "tier3": "0", "tier4_points": "0"}


def test_it_caps_quality_deductions_at_three_hundred_a_month() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS, "cap": "300"}, inputs=S1_10_INPUTS)
    # One tier-2 (200) + one tier-3 (100) + 4 tier-4 points (40) = 340 → capped at 300.
    assert amount(policy, **{**NO_EVENTS, "tier2": "1", "tier3": "1", "tier4_points": "4"}) == D("-300.00")
    # Under the cap: 3 tier-4 points × 10 = 30.
    assert amount(policy, **{**NO_EVENTS, "tier4_points": "3"}) == D("-30.00")


S1_10_POLICY = [
    {
        "code": "quality",
        "name": "质量扣罚",
        "kind": "penalty_points",
        "config": {"items": S1_10_ITEMS, "cap": "300"},
        "signals": {"standby": "tier1 >= 2"},
        "pays": False,
    },
    {
        "code": "base",
        "name": "基本工资",
        "kind": "fixed",
        "config": {"amount": "base_salary"},
        "factor": "IF(standby == 1, 0.6, 1)",
    },
    {
        "code": "bonus",
        "name": "加奖",
        "kind": "formula",
        "config": {"expression": "300 + quality"},
        "when": "standby == 0",
    },
]


def test_it_puts_a_person_with_two_tier_one_deductions_on_stand_by() -> None:
    policy = compile_policy(S1_10_POLICY, inputs=S1_10_INPUTS)
    pay = evaluate_person(policy, {**NO_EVENTS, "tier1": "2", "base_salary": "3000"}, subject="1001")
    # Two tier-1 events: stand-by → 60 % of base pay (3000 × 0.6 = 1800) and no bonus at all.
    assert pay.values["standby"] == 1
    assert pay.amount("base") == D("1800.00")
    assert pay.amount("bonus") == D("0.00")
    assert pay.total == D("1800.00")


def test_it_pays_the_bonus_less_deductions_without_stand_by() -> None:
    policy = compile_policy(S1_10_POLICY, inputs=S1_10_INPUTS)
    pay = evaluate_person(policy, {**NO_EVENTS, "tier1": "1", "base_salary": "3000"}, subject="1001")
    # One tier-1 event: −300, bonus 300 − 300 = 0; base pay in full; no stand-by.
    assert (pay.values["standby"], pay.amount("base"), pay.amount("bonus")) == (0, D("3000.00"), D("0.00"))


# --- 7. withheld (S1-2 base pay) ----------------------------------------------------------------------

WITHHELD = [
    {"code": "base", "kind": "fixed", "config": {"amount": "1400"}},
    {
        "code": "held",
        "name": "暂扣底薪",
        "kind": "withheld",
        "config": {
            "amount": "400",
            "release_when": "year_end == 1 and target_met == 1",
            "forfeit_when": "year_end == 1 and target_met == 0",
        },
    },
]


def test_it_withholds_part_of_the_monthly_base() -> None:
    policy = compile_policy(WITHHELD, inputs=("year_end", "target_met"))
    pay = evaluate_person(policy, {"year_end": 0, "target_met": 0}, subject="1001", balances={"held": "1200"})
    # 1400 − 400 withheld = 1000 paid; balance 1200 → 1600.
    assert pay.total == D("1000.00")
    assert pay.movement("held").closing == D("1600.00")


def test_it_returns_everything_withheld_when_the_year_target_is_met() -> None:
    policy = compile_policy(WITHHELD, inputs=("year_end", "target_met"))
    pay = evaluate_person(policy, {"year_end": 1, "target_met": 1}, subject="1001", balances={"held": "4400"})
    # December: withhold 400 → 4800, all released: line −400 + 4800 = 4400; total 1400 + 4400 = 5800.
    assert pay.amount("held") == D("4400.00")
    assert pay.total == D("5800.00")
    movement = pay.movement("held")
    assert (movement.opening, movement.added, movement.paid, movement.closing) == (
        D("4400"),
        D("400.00"),
        D("4800.00"),
        D("0.00"),
    )


def test_it_forfeits_everything_withheld_when_the_year_target_is_missed() -> None:
    policy = compile_policy(WITHHELD, inputs=("year_end", "target_met"))
    pay = evaluate_person(policy, {"year_end": 1, "target_met": 0}, subject="1001", balances={"held": "4400"})
    # 4400 + 400 = 4800 forfeited; the month pays 1400 − 400 = 1000.
    assert pay.total == D("1000.00")
    assert (pay.movement("held").forfeited, pay.movement("held").closing) == (D("4800.00"), D("0.00"))


# --- 8. accrual (S1-2 safety bonus, S0-4 paid quarterly) ------------------------------------------------

SAFETY = {
    "amount": "300",
    "skip_when": "accident == 1 or idle_days >= 20",
    "pay_when": "year_end == 1",
    "forfeit_when": "leaving == 1",
}
SAFETY_INPUTS = ("accident", "idle_days", "year_end", "leaving")
CALM_MONTH: dict[str, Any] = {"accident": 0, "idle_days": 0, "year_end": 0, "leaving": 0}


def test_it_accrues_the_safety_bonus_without_paying_it() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    pay = evaluate_person(policy, CALM_MONTH, subject="1001", balances={"c": "900"})
    # 900 + 300 = 1200 kept; nothing paid this month.
    assert (pay.total, pay.movement("c").closing) == (D("0.00"), D("1200.00"))


def test_it_loses_the_month_with_an_accident() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    pay = evaluate_person(policy, {**CALM_MONTH, "accident": 1}, subject="1001", balances={"c": "900"})
    # This month's 300 is forfeited, the 900 stays.
    assert (pay.movement("c").forfeited, pay.movement("c").closing) == (D("300.00"), D("900"))


def test_it_loses_the_month_with_twenty_idle_days() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    pay = evaluate_person(policy, {**CALM_MONTH, "idle_days": 20}, subject="1001", balances={"c": "900"})
    assert pay.movement("c").closing == D("900")


def test_it_pays_the_safety_bonus_at_year_end() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    pay = evaluate_person(policy, {**CALM_MONTH, "year_end": 1}, subject="1001", balances={"c": "3000"})
    # 3000 (ten months) + 300 = 3300 paid.
    assert pay.amount("c") == D("3300.00")
    assert pay.movement("c").closing == D("0.00")


def test_it_forfeits_the_whole_safety_balance_when_the_coach_leaves() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    pay = evaluate_person(policy, {**CALM_MONTH, "leaving": 1}, subject="1001", balances={"c": "2700"})
    # 2700 + 300 = 3000 forfeited; nothing paid.
    assert (pay.amount("c"), pay.movement("c").forfeited, pay.movement("c").closing) == (
        D("0.00"),
        D("3000.00"),
        D("0.00"),
    )


def test_it_pays_monthly_assessed_pay_at_quarter_end() -> None:
    # S0-4 按月考核, 逐季兑现: each month accrues 500 × coefficient, the third month pays the quarter.
    policy = one(
        "accrual",
        {"amount": "500 * grade_coefficient", "pay_when": "month_in_quarter == 3"},
        inputs=("month_in_quarter",),
    )
    month_2 = evaluate_person(
        policy, {"grade_coefficient": "1.1", "month_in_quarter": 2}, subject="1001", balances={"c": "450"}
    )
    # Month 1 accrued 450 (× 0.9); month 2: 450 + 550 = 1000, nothing paid.
    assert (month_2.amount("c"), month_2.movement("c").closing) == (D("0.00"), D("1000.00"))
    month_3 = evaluate_person(
        policy, {"grade_coefficient": "1", "month_in_quarter": 3}, subject="1001", balances={"c": "1000"}
    )
    # Month 3: 1000 + 500 = 1500 paid.
    assert month_3.amount("c") == D("1500.00")


def test_it_leaves_a_balance_untouched_when_the_component_does_not_apply() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS, when="leaving == 0")
    pay = evaluate_person(policy, {**CALM_MONTH, "leaving": 1}, subject="1001", balances={"c": "900"})
    movement = pay.movement("c")
    assert (movement.opening, movement.added, movement.closing) == (D("900"), D("0"), D("900"))


def test_it_refuses_to_pay_and_forfeit_a_balance_at_once() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, {**CALM_MONTH, "year_end": 1, "leaving": 1}, subject="1001 张三")
    assert "paid and forfeited" in caught.value.message


# --- 9. quarter_true_up (S1-4) ------------------------------------------------------------------------


def test_it_trues_up_the_quarter_in_the_next_quarters_first_month() -> None:
    policy = one(
        "quarter_true_up", {"base": "monthly_perf", "coefficient": "grade_coefficient"}, inputs=("monthly_perf",)
    )
    # A (1.1): 3000 + 3000 × (1.1 − 1) × 3 = 3000 + 900 = 3900; C (0.8): 3000 − 1800 = 1200.
    assert amount(policy, monthly_perf="3000", grade_coefficient="1.1") == D("3900.00")
    assert amount(policy, monthly_perf="3000", grade_coefficient="0.8") == D("1200.00")


# --- 10. weighted_annual (S1-4, S1-9) ---------------------------------------------------------------


def test_it_weights_the_quarters_average_and_the_year_end() -> None:
    config = {
        "parts": [
            {"label": "季度平均", "weight": "0.8", "average": ["q1", "q2", "q3", "q4"]},
            {"label": "年终", "weight": "0.2", "value": "year_end"},
        ],
        "base": "annual_base",
    }
    policy = one("weighted_annual", config, inputs=("q1", "q2", "q3", "q4", "year_end", "annual_base"))
    # S1-4: average(1.1, 1.0, 1.2, 1.0) = 1.075 × 0.8 = 0.86; 1.2 × 0.2 = 0.24; 1.10 × 20000 = 22000.
    assert amount(policy, q1="1.1", q2="1.0", q3="1.2", q4="1.0", year_end="1.2", annual_base="20000") == D("22000.00")


def test_it_computes_the_s1_9_annual_score_for_staff() -> None:
    config = {
        "parts": [
            {"weight": "0.6", "average": ["q1", "q2", "q3", "q4"]},
            {"weight": "0.4", "value": "year_end"},
        ]
    }
    policy = one("weighted_annual", config, inputs=("q1", "q2", "q3", "q4", "year_end"), pays=False)
    # 60 % × (85 + 90 + 80 + 75) / 4 = 0.6 × 82.5 = 49.5; 40 % × 88 = 35.2 → 84.7.
    assert amount(policy, q1="85", q2="90", q3="80", q4="75", year_end="88") == D("84.70")


# --- 12. revenue_pool (S1-10) ---------------------------------------------------------------------------

REVENUE = {
    "revenue": ["insured", "cash"],
    "costs": ["staff_base", "provisions", "depreciation", "repairs", "materials", "energy"],
    "rate": "0.05",
}
REVENUE_INPUTS = ("insured", "cash", "staff_base", "provisions", "depreciation", "repairs", "materials", "energy")
DEPARTMENT: dict[str, Any] = {
    "insured": "500000",
    "cash": "300000",
    "staff_base": "200000",
    "provisions": "50000",
    "depreciation": "30000",
    "repairs": "20000",
    "materials": "100000",
    "energy": "40000",
}


def test_it_takes_a_rate_of_net_revenue() -> None:
    policy = one("revenue_pool", REVENUE, inputs=REVENUE_INPUTS)
    # (500000 + 300000) − (200000 + 50000 + 30000 + 20000 + 100000 + 40000) = 800000 − 440000 = 360000 × 5 %.
    assert amount(policy, **DEPARTMENT) == D("18000.00")


def test_it_gives_no_pool_without_net_revenue() -> None:
    policy = one("revenue_pool", REVENUE, inputs=REVENUE_INPUTS)
    # 800000 − 840000 < 0: nothing (not a negative pool).
    assert amount(policy, **{**DEPARTMENT, "materials": "500000"}) == D("0.00")


# --- 15. fixed (S1-3, S1-10) ------------------------------------------------------------------------

ALLOWANCE = {
    "amount": "1000",
    "deductions": [
        {"label": "增长不足10%", "when": "0 <= growth < 0.10", "percent": "10"},
        {"label": "负增长5%以内", "when": "-0.05 <= growth < 0", "percent": "20"},
        {"label": "减少5%以上", "when": "growth < -0.05", "percent": "30"},
        {"label": "一般差错", "when": "general_errors > 0", "percent": "50"},
        {"label": "重大差错", "when": "major_errors > 0", "percent": "100"},
    ],
}
ALLOWANCE_INPUTS = ("growth", "general_errors", "major_errors")


def test_it_adds_up_percentage_deductions_from_an_allowance() -> None:
    policy = one("fixed", ALLOWANCE, inputs=ALLOWANCE_INPUTS)
    # Growth −3 % (−20 %) and a general error (−50 %): 1000 × (100 − 70) % = 300.
    assert amount(policy, growth="-0.03", general_errors="1", major_errors="0") == D("300.00")
    # A major error on top: 20 + 50 + 100 = 170 %, capped at 100 % → 0.
    assert amount(policy, growth="-0.03", general_errors="1", major_errors="1") == D("0.00")


def test_it_can_apply_only_the_largest_deduction() -> None:
    policy = one("fixed", {**ALLOWANCE, "combine": "max"}, inputs=ALLOWANCE_INPUTS)
    # −20 % and −50 %: only 50 % applies → 500.
    assert amount(policy, growth="-0.03", general_errors="1", major_errors="0") == D("500.00")


def test_it_pays_a_fixed_award_only_when_earned() -> None:
    # S1-3: full attendance award 100.
    policy = one("fixed", {"amount": "100"}, inputs=("absences",), when="absences == 0")
    assert (amount(policy, absences="0"), amount(policy, absences="1")) == (D("100.00"), D("0.00"))


# --- 16. formula --------------------------------------------------------------------------------------


def test_it_explains_a_formula_with_the_values_put_in() -> None:
    policy = one("formula", {"expression": "MIN(score / 100, 1.2) * quota"}, inputs=("quota",))
    with translation.override("en"):
        pay = evaluate_person(policy, {"score": "95", "quota": "400"}, subject="1001")
    # 95 / 100 = 0.95 × 400 = 380.
    assert pay.amount("c") == D("380.00")
    assert pay.line("c").explanation == "MIN(score / 100, 1.2) * quota = MIN(95 / 100, 1.2) * 400 = 380.00"
    assert pay.line("c").inputs == {"score": D("95"), "quota": D("400")}


def run(formula: Formula, values: dict[str, D]) -> D:
    """The formula evaluated as the pay engine does: Formula.run inside the language's context."""
    with localcontext(CONTEXT):
        return formula.run(values)


def test_it_evaluates_formulas_in_the_formula_language() -> None:
    cases = [
        ("ROUND(x * 1.005, 2)", {"x": D("2.5")}, "2.51"),  # 2.5125 → 2.51
        ("ROUND(-x)", {"x": D("2.5")}, "-3"),  # half up: away from zero
        ("IF(x > 1, x / 3, 0)", {"x": D("2")}, "0.6666666666666666666666666667"),  # 28 digits
        ("IF(0 <= x < 10 and not x == 5, MIN(x, 3, 4), MAX(x, 7))", {"x": D("5")}, "7"),
        ("ABS(-x) ** 2 + 0.1 + 0.2", {"x": D("1.5")}, "2.55"),
        ("x / 7", {"x": D("1")}, "0.1428571428571428571428571429"),
    ]
    for text, values, expected in cases:
        formula = Formula.compile(text, names=values)
        assert str(run(formula, values)) == expected, text
        assert str(formula.evaluate(values)) == expected, text


def test_it_reports_formula_errors_in_the_formula_languages_words() -> None:
    formula = Formula.compile("x / y", names=["x", "y"])
    with translation.override("en"), pytest.raises(FormulaError) as caught:
        run(formula, {"x": D(1), "y": D(0)})
    assert caught.value.message == 'Division by zero in formula "x / y"'


# --- 11. pool_split (S1-6) ----------------------------------------------------------------------------

WARD_ROLES = [
    {"role": "主任", "ratio": "1", "coefficient": "lead_coefficient"},
    {"role": "护士长", "ratio": "0.7", "coefficient": "lead_coefficient"},
    {"role": "医师", "ratio": "1"},
    {"role": "护士", "ratio": "0.7"},
]


def ward() -> list[PersonInput]:
    def person(subject: str, role: str, factor: str = "1", lead: str = "1") -> PersonInput:
        return PersonInput(subject, {"role": role, "factor": factor, "lead_coefficient": lead}, unit="内科")

    return [
        person("d01", "主任", lead="1.5"),
        person("h01", "护士长", lead="1.5"),
        person("m01", "医师", factor="1.2"),
        person("m02", "医师", factor="0.8"),
        person("n01", "护士"),
        person("n02", "护士"),
        person("n03", "护士"),
    ]


def ward_policy() -> Any:
    return compile_policy(
        [
            {"code": "pool", "kind": "fixed", "config": {"amount": "ward_pool"}, "pays": False},
            {
                "code": "bonus",
                "kind": "pool_split",
                "config": {"pool": "pool", "roles": WARD_ROLES, "factor": "factor"},
            },
        ],
        inputs=("ward_pool", "factor", "lead_coefficient"),
    )


def test_it_splits_a_ward_pool_in_two_levels() -> None:
    results = evaluate_population(ward_policy(), ward(), units={"内科": {"ward_pool": "10000"}})
    amounts = {pay.subject: pay.amount("bonus") for pay in results}
    # Level 1 weights: 主任 1 × 1.5 = 1.5; 护士长 0.7 × 1.5 = 1.05; 医师 2 × 1 = 2; 护士 3 × 0.7 = 2.1;
    # total 6.65. Exact parts in fen: 1000000 × 1.5 / 6.65 = 225563.91; × 1.05 / 6.65 = 157894.74;
    # × 2 / 6.65 = 300751.88; × 2.1 / 6.65 = 315789.47. Floors add up to 999997: 3 fen left go to the
    # largest remainders .91 (主任), .88 (医师), .74 (护士长) → 2255.64, 1578.95, 3007.52, 3157.89.
    # Level 2, 医师 by factor 1.2 : 0.8 of 300752 fen: 180451.2 and 120300.8 → 1804.51 and 1203.01.
    # 护士 3 equal factors: 315789 / 3 = 105263 each → 1052.63.
    assert amounts == {
        "d01": D("2255.64"),
        "h01": D("1578.95"),
        "m01": D("1804.51"),
        "m02": D("1203.01"),
        "n01": D("1052.63"),
        "n02": D("1052.63"),
        "n03": D("1052.63"),
    }
    assert sum(amounts.values()) == D("10000.00")


def test_it_gives_the_leftover_fen_to_the_smaller_subject_code_whatever_the_order() -> None:
    policy = compile_policy([{"code": "c", "kind": "pool_split", "config": {"pool": "pool"}}], inputs=("pool",))
    people = [PersonInput(subject, {"pool": "100"}) for subject in ("c", "a", "b")]
    # 10000 fen / 3 = 3333 each, 1 fen left; remainders tie: "a" gets it → 33.34, 33.33, 33.33.
    forward = {pay.subject: pay.amount("c") for pay in evaluate_population(policy, people)}
    backward = {pay.subject: pay.amount("c") for pay in evaluate_population(policy, people[::-1])}
    assert forward == backward == {"a": D("33.34"), "b": D("33.33"), "c": D("33.33")}


def test_it_splits_only_among_the_people_the_component_applies_to() -> None:
    policy = compile_policy(
        [{"code": "c", "kind": "pool_split", "config": {"pool": "pool"}, "when": "on_leave == 0"}],
        inputs=("pool", "on_leave"),
    )
    people = [PersonInput(s, {"pool": "900", "on_leave": leave}) for s, leave in (("a", 0), ("b", 1), ("c", 0))]
    # b is on leave: 900 / 2 = 450 each for a and c.
    assert [pay.amount("c") for pay in evaluate_population(policy, people)] == [D("450.00"), D("0.00"), D("450.00")]


def test_it_refuses_a_pool_that_differs_within_a_unit() -> None:
    policy = compile_policy([{"code": "c", "kind": "pool_split", "config": {"pool": "pool"}}], inputs=("pool",))
    people = [PersonInput("a", {"pool": "100"}, unit="u"), PersonInput("b", {"pool": "120"}, unit="u")]
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_population(policy, people)
    assert "differs" in caught.value.message


def test_it_splits_a_negative_total_exactly_too() -> None:
    # −1.00 by 1 : 2: −33.33… and −66.66… fen → −33 and −66, one fen left to the larger remainder (.67).
    assert split_fen(D("-1.00"), [D(1), D(2)], ["a", "b"]) == [D("-0.33"), D("-0.67")]


# --- 13. population_average (S1-10) -------------------------------------------------------------------


def test_it_pays_a_non_revenue_department_the_hospital_average_times_its_coefficient() -> None:
    policy = compile_policy(
        [
            {"code": "benefit", "kind": "formula", "config": {"expression": "own_bonus"}, "when": "revenue_dept == 1"},
            {
                "code": "average",
                "kind": "population_average",
                "config": {"source": "benefit", "among": "revenue_dept == 1", "coefficient": "dept_coefficient"},
                "when": "revenue_dept == 0",
            },
        ],
        inputs=("own_bonus", "revenue_dept", "dept_coefficient"),
    )
    people = [
        PersonInput("a", {"own_bonus": "3000", "revenue_dept": 1}),
        PersonInput("b", {"own_bonus": "2000", "revenue_dept": 1}),
        PersonInput("c", {"own_bonus": "1000", "revenue_dept": 1}),
        PersonInput("d", {"own_bonus": "0", "revenue_dept": 0, "dept_coefficient": "0.8"}),
    ]
    results = evaluate_population(policy, people)
    # Average of the revenue departments (3000 + 2000 + 1000) / 3 = 2000 × 0.8 = 1600.
    assert results[3].total == D("1600.00")
    assert results[0].total == D("3000.00")


# --- 14. leader_bonus (S1-2) -----------------------------------------------------------------------


def test_it_pays_a_group_leader_twenty_yuan_per_member_graduate_but_not_their_own() -> None:
    policy = compile_policy(
        [{"code": "lead", "kind": "leader_bonus", "config": {"source": "grads", "rate": "20"}}], inputs=("grads",)
    )
    people = [
        PersonInput("L", {"grads": "4"}, unit="g1", leads=("g1",)),
        PersonInput("m1", {"grads": "5"}, unit="g1"),
        PersonInput("m2", {"grads": "3"}, unit="g1"),
        PersonInput("x", {"grads": "9"}, unit="g2"),
    ]
    results = evaluate_population(policy, people)
    # (5 + 3) × 20 = 160; the leader's own 4 and the other group's 9 do not count; members get nothing.
    assert [pay.total for pay in results] == [D("160.00"), D("0.00"), D("0.00"), D("0.00")]


def test_it_refuses_a_group_component_for_a_single_person() -> None:
    policy = compile_policy(
        [{"code": "lead", "kind": "leader_bonus", "config": {"source": "grads", "rate": "20"}}], inputs=("grads",)
    )
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, {"grads": "4"}, subject="1001")
    assert "evaluate the whole population" in caught.value.message


# --- a whole policy -------------------------------------------------------------------------------

COACH = [
    {"code": "base", "name": "基本工资", "kind": "fixed", "config": {"amount": "1400"}},
    {
        "code": "held",
        "name": "暂扣底薪",
        "kind": "withheld",
        "config": {"amount": "400", "release_when": "year_end == 1 and target_met == 1"},
    },
    {"code": "commission", "name": "绩效提成", "kind": "per_unit", "config": {"rates": S1_2_RATES}},
    {
        "code": "gradient",
        "name": "梯度绩效",
        "kind": "tiered",
        "config": {"quantity": "grads_c - 30", "mode": "marginal", "tiers": S1_2_TIERS},
    },
    {"code": "safety", "name": "安全奖", "kind": "accrual", "config": SAFETY},
    {
        "code": "fuel",
        "name": "油料奖惩",
        "kind": "quota_saving",
        "config": {**FUEL, "quota": "(grads_b2 + grads_c) * 45"},
    },
    {
        "code": "repair",
        "name": "修理费奖惩",
        "kind": "quota_saving",
        "config": {"quota": "(grads_b2 + grads_c) * 80", "actual": "repair_cost", "reward_share": "0.8"},
    },
]
COACH_INPUTS = (*S1_2_INPUTS, *SAFETY_INPUTS, "target_met", "fuel_litres", "fuel_price", "repair_cost")
DECEMBER: dict[str, Any] = {
    "grads_b2": "2",
    "grads_a3": "0",
    "grads_a1": "0",
    "grads_c": "33",
    "accident": 0,
    "idle_days": 0,
    "year_end": 1,
    "leaving": 0,
    "target_met": 1,
    "fuel_litres": "1500.5",
    "fuel_price": "7.35",
    "repair_cost": "2900",
}


def test_it_pays_a_coach_lines_that_add_up_exactly_to_the_total() -> None:
    policy = compile_policy(COACH, inputs=COACH_INPUTS)
    pay = evaluate_person(policy, DECEMBER, subject="1001 张三", balances={"held": "4400", "safety": "3000"})
    amounts = {line.code: line.amount for line in pay.lines}
    # base 1400; held −400 + (4400 + 400) = 4400; commission 2 × 1000 + 33 × 600 = 21800;
    # gradient 33 − 30 = 3 × 300 = 900; safety 3000 + 300 = 3300 paid at year end;
    # fuel (35 × 45 = 1575 − 1500.5) = 74.5 L × 7.35 = 547.575 × 0.8 = 438.06;
    # repair 35 × 80 = 2800 − 2900 = −100 deducted.
    assert amounts == {
        "base": D("1400.00"),
        "held": D("4400.00"),
        "commission": D("21800.00"),
        "gradient": D("900.00"),
        "safety": D("3300.00"),
        "fuel": D("438.06"),
        "repair": D("-100.00"),
    }
    # 1400 + 4400 + 21800 + 900 + 3300 + 438.06 − 100 = 32138.06.
    assert pay.total == sum(amounts.values()) == D("32138.06")


def test_it_names_the_person_the_component_and_the_inputs_in_a_pay_error() -> None:
    policy = compile_policy(
        [{"code": "perf", "name": "绩效工资", "kind": "formula", "config": {"expression": "bonus_pool / headcount"}}],
        inputs=("bonus_pool", "headcount"),
    )
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, {"bonus_pool": "5000", "headcount": "0"}, subject="1001 张三")
    error = caught.value
    assert (error.subject, error.component, error.inputs) == (
        "1001 张三",
        "perf",
        {"bonus_pool": D(5000), "headcount": D(0)},
    )
    assert "1001 张三" in error.message
    assert "perf (绩效工资)" in error.message
    assert "Division by zero" in error.message
    assert "headcount = 0" in error.message


def test_it_explains_a_line_with_inputs_rule_and_result_in_the_active_language() -> None:
    policy = one("per_unit", {"rates": S1_2_RATES}, inputs=S1_2_INPUTS)
    with translation.override("en"):
        pay = evaluate_person(policy, {"grads_b2": 2, "grads_a3": 1, "grads_a1": 0, "grads_c": 5}, subject="1001")
    assert pay.line("c").explanation == "B2 2 × 1000.00 + A3 1 × 800.00 + A1 0 × 700.00 + C1/C2 5 × 600.00 = 5800.00"


def test_it_evaluates_two_thousand_people() -> None:
    policy = compile_policy(COACH, inputs=COACH_INPUTS)
    people = [
        PersonInput(f"{index:05d}", {**DECEMBER, "grads_c": str(25 + index % 20)}, balances={"held": "4400"})
        for index in range(2000)
    ]
    results = evaluate_population(policy, people)
    assert len(results) == 2000
    assert all(pay.total == sum(line.amount for line in pay.lines if line.paid) for pay in results)
    # Person 7: 32 C graduates → commission 2000 + 19200 = 21200; gradient 2 × 300 = 600.
    assert (results[7].amount("commission"), results[7].amount("gradient")) == (D("21200.00"), D("600.00"))


# --- formulas as the pay engine evaluates them: results and errors --------------------------------


# Formulas over x and y, each with its outcome for the value sets below: arithmetic, precedence,
# powers, ROUND, MIN/MAX, IF, comparisons and the errors (division by zero, a missing value,
# overflow). An outcome is the result's repr-exact text (1.0 is not 1.00 in an explanation) or the
# error's message.
VALUE_SETS: list[dict[str, D]] = [
    {"x": D("85.50"), "y": D("2")},
    {"x": D("-0.005"), "y": D("0")},
    {"x": D("1E+30"), "y": D("99")},
    {"x": D("70"), "y": D("4.999")},
    {"x": D("3")},
]
LARGE = 'A number grows too large in formula "{}"'
NO_Y = 'Missing input "y" for formula "{}"'
BY_ZERO = 'Division by zero in formula "{}"'
COMPILED_FORMULAS: list[tuple[str, list[str]]] = [
    ("x + y * 2", ["89.50", "-0.005", LARGE, "79.998", NO_Y]),
    ("(x - y) / 3", ["27.83333333333333333333333333", "-0.001666666666666666666666666667", LARGE, "21.667", NO_Y]),
    ("x ** 2 - y", ["7308.2500", "0.000025", LARGE, "4895.001", NO_Y]),
    ("ROUND(x / 3, 2)", ["28.50", "0.00", LARGE, "23.33", "1.00"]),
    ("ROUND(x * 1.005, 2)", ["85.93", "-0.01", LARGE, "70.35", "3.02"]),
    ("MIN(x, y, 0.5)", ["0.5", "-0.005", "0.5", "0.5", NO_Y]),
    ("MAX(x, -y)", ["85.50", "0", LARGE, "70", NO_Y]),
    ("IF(x > y, x - y, 0)", ["83.50", "0", LARGE, "65.001", NO_Y]),
    ("IF(x >= 70 and y < 5, 1.2, 0.8)", ["1.2", "0.8", "0.8", "1.2", NO_Y]),
    ("-(70 - x) * 5", ["77.50", "-350.025", LARGE, "0", "-335"]),
    ("x / y", ["42.75", BY_ZERO, LARGE, "14.00280056011202240448089618", NO_Y]),
    ("x ** y", ["7310.2500", "1", LARGE, "1673574700.664313975711369862", NO_Y]),
    ("IF(1 < x <= 100, x, 0)", ["85.50", "0", "0", "70", "3"]),
    ("IF(not x > y, 1, 2)", ["2", "1", "2", "2", NO_Y]),
    ("ROUND(x, 0) * 0.01", ["0.86", "0.00", LARGE, "0.70", "0.03"]),
]


def test_its_formulas_give_exact_results_and_the_formula_languages_errors() -> None:
    def outcome(evaluate: Any, values: dict[str, D]) -> str:
        try:
            return str(evaluate(values))  # str keeps the exponent: 1.0 is not 1.00 in an explanation
        except FormulaError as error:
            return error.message

    with translation.override("en"):
        for text, expected in COMPILED_FORMULAS:
            formula = Formula.compile(text, names=["x", "y"])
            for values, wanted in zip(VALUE_SETS, expected, strict=True):
                wanted = wanted.format(text)
                assert outcome(partial(run, formula), values) == wanted, (text, values)
                assert outcome(formula.evaluate, values) == wanted, (text, values)


def test_it_puts_values_into_a_formula_whole_names_only() -> None:
    cases = [
        ("x * x_rate + rate_x - x", {"x": D("2.50"), "x_rate": D("0.3"), "rate_x": D("1")}, "2.50 * 0.3 + 1 - 2.50"),
        ("IF(x > 1, y, 0)", {"x": D("2")}, "IF(2 > 1, y, 0)"),  # y has no value: it stays as written
        ("42", {}, "42"),
    ]
    for text, values, expected in cases:
        formula = Formula.compile(text, names=["x", "y", "x_rate", "rate_x"])
        assert formula.substitute(values, str) == expected, text


def test_it_explains_in_the_language_of_each_evaluation() -> None:
    # Phrases that depend only on the config (a grade's coefficient, a band, a tier) are made once
    # per language and reused: one policy evaluated in English, Chinese and English again.
    policy = compile_policy(
        [
            {
                "code": "perf",
                "kind": "grade_coefficient",
                "config": {"coefficients": {"C": "0.8"}, "quota_bands": S1_9_BANDS},
            },
            {
                "code": "bonus",
                "kind": "tiered",
                "config": {
                    "quantity": "score",
                    "mode": "whole",
                    "tiers": [{"from": "85", "rate": "2"}, {"from": "95", "rate": "3"}],
                },
            },
        ]
    )
    inputs = {"grade": "C", "score": "99.18", "base_salary": "2600"}
    explanations: dict[str, set[tuple[str, ...]]] = {}
    for language in ("en", "zh-hans", "en"):
        with translation.override(language):
            pay = evaluate_person(policy, inputs, subject="1001")
        explanations.setdefault(language, set()).add(tuple(line.explanation for line in pay.lines))
    assert explanations["en"] == {
        (
            "grade C → coefficient 0.8; quota 600.00 for base_salary 2600 (above 2500); 600.00 × 0.8 = 480.00",
            "quantity score = 99.18; tier 2 reached: every unit at 3; 99.18 × 3 = 297.54",
        )
    }
    assert explanations["zh-hans"] != explanations["en"]


def test_it_shows_the_rounded_amount_only_when_it_reads_differently() -> None:
    def explanation(rounding: str) -> str:
        with translation.override("en"):
            pay = evaluate_person(one("formula", {"expression": "1234.565"}, rounding=rounding), {}, subject="1")
        return pay.line("c").explanation

    # Half up to the fen is how the explanation shows money already; rounding down reads differently.
    assert explanation("half_up") == "1234.565 = 1234.57"
    assert explanation("down") == "1234.565 = 1234.57 → 1234.56"


def test_it_turns_the_cyclic_garbage_collector_back_on_even_after_an_error() -> None:
    policy = compile_policy([{"code": "c", "kind": "formula", "config": {"expression": "1 / score"}}])
    with pytest.raises(PayError):
        evaluate_population(policy, [PersonInput("a", {"score": "0"})])
    assert gc.isenabled()


# --- saved configs, refusals and edges pinned (issue #15) ------------------------------------------


def test_it_refuses_a_quota_band_table_of_one_open_band() -> None:
    # One open band is no band at all (it crashed while explaining the band): a "quota" formula says it.
    bands = {"input": "base_salary", "bands": [{"to": None, "quota": "600"}]}
    assert refusal("grade_coefficient", {"coefficient": "1", "quota_bands": bands}) == (
        "components[0].config.quota_bands.bands",
        "Enter at least 2 entries.",
    )


def test_it_shows_an_accrual_that_pays_nothing_to_the_fen() -> None:
    # Issue #12 item 14: nothing paid is 0.00 on the line and on the slip (format "f"), not 0.
    policy = one("accrual", {"amount": "0", "pay_when": "pay == 1"}, inputs=("pay",))
    with translation.override("en"):
        line = evaluate_person(policy, {"pay": 0}, subject="1001").line("c")
    assert (format(line.amount, "f"), line.explanation) == (
        "0.00",
        "accrued 0.00 (balance 0.00 → 0.00); nothing paid this period",
    )


def test_it_keeps_a_whole_tier_boundary_in_the_stored_policy() -> None:
    config = {"quantity": "grads - 30", "mode": "whole", "boundary": "upper_inclusive", "tiers": S1_2_TIERS}
    fresh = one("tiered", config, inputs=("grads",))
    # Exactly 10 over the target of 30 stays in the first tier ("0~10人(含10人)"): 10 × 300 = 3000, fresh and saved.
    assert amount(fresh, grads="40") == amount(stored(fresh, ("grads",)), grads="40") == D("3000.00")


def test_it_keeps_weighted_annual_averages_in_the_stored_policy() -> None:
    config = {
        "parts": [
            {"label": "季度平均", "weight": "0.8", "average": ["q1", "q2"]},
            {"weight": "0.2", "value": "year_end"},
        ]
    }
    inputs = ("q1", "q2", "year_end")
    saved = stored(one("weighted_annual", config, inputs=inputs), inputs)
    # 0.8 × average(1.1, 0.9) = 0.8 × 1 = 0.8; 0.2 × 1.2 = 0.24 → 1.04.
    assert amount(saved, q1="1.1", q2="0.9", year_end="1.2") == D("1.04")
    assert explained(saved, q1="1.1", q2="0.9", year_end="1.2") == (
        "季度平均 0.8 × average(1.1, 0.9) = 1 + 0.2 × 1.2 = 1.04"
    )


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("withheld", {"amount": "hold", "release_when": "hold > 1000"}),
        ("accrual", {"amount": "hold", "pay_when": "hold > 1000"}),
    ],
)
def test_it_refuses_a_negative_amount_to_set_aside(kind: str, config: dict[str, Any]) -> None:
    error = pay_error(one(kind, config, inputs=("hold",)), {"hold": "-5"})
    assert error.message == (
        "Pay for 1001 张三, component c: The amount to set aside cannot be negative: -5.00 (inputs: hold = -5)"
    )


def test_it_withholds_an_amount_of_exactly_zero() -> None:
    policy = one("withheld", {"amount": "0", "release_when": "year_end == 1"}, inputs=("year_end",))
    with translation.override("en"):
        pay = evaluate_person(policy, {"year_end": 0}, subject="1001")
    # Nothing withheld, nothing released: the line is 0.00 and the balance stays 0.00.
    assert (format(pay.amount("c"), "f"), pay.movement("c")) == ("0.00", ("c", D(0), D(0), D(0), D(0), D(0)))
    assert pay.line("c").explanation == "withheld 0.00 (balance 0.00 → 0.00); 0.00 − 0.00 = 0.00"


def test_it_refuses_band_ends_that_fall_back_below_an_earlier_one() -> None:
    ends = ["10", "30", "20", None]
    bands = {"input": "base_salary", "bands": [{"to": end, "quota": "1"} for end in ends]}
    # 20 rises above the first end (10) but not above the one before it (30).
    assert refusal("grade_coefficient", {"coefficient": "1", "quota_bands": bands}) == (
        "components[0].config.quota_bands.bands[2].to",
        "Band ends must rise from band to band: 20 is not above 30.",
    )


def test_it_refuses_tiers_that_fall_back_below_an_earlier_one() -> None:
    tiers = [{"from": start, "rate": "1"} for start in ("10", "30", "20")]
    assert refusal("tiered", {"quantity": "score", "mode": "whole", "tiers": tiers}) == (
        "components[0].config.tiers[2].from",
        "Tiers must rise: 20 is not above 30.",
    )


def test_it_names_the_person_and_the_input_when_a_band_input_is_missing() -> None:
    error = pay_error(one("grade_coefficient", {"coefficient": "1.2", "quota_bands": S1_9_BANDS}), {})
    assert error.message == (
        'Pay for 1001 张三, component c: Missing input "base_salary" (inputs: base_salary = missing)'
    )


def test_it_names_the_person_and_the_input_when_a_grade_is_missing() -> None:
    error = pay_error(one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota": "200"}), {})
    assert (error.subject, error.component, error.inputs) == ("1001 张三", "c", {"grade": None})
    assert 'Missing input "grade"' in error.message


def test_it_names_the_person_and_the_input_when_a_penalty_count_is_missing() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS}, inputs=S1_10_INPUTS)
    error = pay_error(policy, {"tier1": "0", "tier2": "1", "tier4_points": "0"})
    assert error.message == (
        'Pay for 1001 张三, component c: Missing input "tier3" '
        "(inputs: tier1 = 0, tier2 = 1, tier3 = missing, tier4_points = 0)"
    )


def test_it_takes_an_input_given_as_none_for_a_missing_one() -> None:
    # A pay input saved without a value arrives as None: the component names it missing, as if not given.
    policy = one("penalty_points", {"items": S1_10_ITEMS}, inputs=S1_10_INPUTS)
    error = pay_error(policy, {**NO_EVENTS, "tier3": None})
    assert (error.component, error.problem, error.inputs["tier3"]) == ("c", 'Missing input "tier3"', None)


def test_it_shows_a_reward_share_as_a_percentage() -> None:
    policy = one("quota_saving", FUEL, inputs=("grads", "fuel_litres", "fuel_price"))
    # 20 × 45 = 900 L quota, 850 L used: 50 L × 7.50 = 375.00 × 80 % = 300.00.
    assert explained(policy, grads="20", fuel_litres="850", fuel_price="7.50") == (
        "quota 900 − actual 850 = 50, × price 7.5 = 375.00; saving rewarded at 80%: 300.00"
    )


def test_it_shows_an_excess_rate_as_a_percentage() -> None:
    policy = one("quota_saving", {**FUEL, "excess_rate": "0.5"}, inputs=("grads", "fuel_litres", "fuel_price"))
    # 960 L used: 60 L × 7.50 = −450.00 × 50 % = −225.00.
    assert explained(policy, grads="20", fuel_litres="960", fuel_price="7.50") == (
        "quota 900 − actual 960 = -60, × price 7.5 = -450.00; excess deducted at 50%: -225.00"
    )


def test_it_shows_a_revenue_rate_as_a_percentage() -> None:
    policy = one("revenue_pool", REVENUE, inputs=REVENUE_INPUTS)
    assert explained(policy, **DEPARTMENT) == (
        "net revenue (500000.00 + 300000.00) − (200000.00 + 50000.00 + 30000.00 + 20000.00 + 100000.00 + 40000.00)"
        " = 360000.00; 360000.00 × 5% = 18000.00"
    )


@pytest.mark.parametrize("cap", ["0", "-300"])
def test_it_refuses_a_penalty_cap_of_zero_or_less(cap: str) -> None:
    field, message = refusal("penalty_points", {"items": S1_10_ITEMS, "cap": cap}, inputs=S1_10_INPUTS)
    assert (field, message) == (
        "components[0].config.cap",
        f"A cap must be more than 0, not {cap}; leave it out for no cap.",
    )


def test_it_refuses_a_split_whose_shares_are_both_zero() -> None:
    assert refusal("fixed_floating_split", {"total": "1", "splits": {"员工": "0:0"}}) == (
        "components[0].config.splits.员工",
        "The two shares cannot both be zero.",
    )


def test_it_refuses_a_split_of_more_than_two_shares() -> None:
    assert refusal("fixed_floating_split", {"total": "1", "splits": {"员工": "4:6:1"}}) == (
        "components[0].config.splits.员工",
        'Write the split as fixed:floating, e.g. "4:6", not "4:6:1".',
    )


def test_it_refuses_a_split_of_one_share() -> None:
    assert refusal("fixed_floating_split", {"total": "1", "splits": {"员工": "10"}}) == (
        "components[0].config.splits.员工",
        'Write the split as fixed:floating, e.g. "4:6", not "10".',
    )


# --- each kind's refusals name the setting ------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        (
            {"coefficients": {"A": "1"}, "coefficient": "1", "quota": "1"},
            "coefficients",
            'Give either "coefficients" (a grade table) or "coefficient" (a formula).',
        ),
        (
            {"quota": "1"},
            "coefficients",
            'Give either "coefficients" (a grade table) or "coefficient" (a formula).',
        ),
        ({"coefficients": {}, "quota": "1"}, "coefficients", "Enter at least 1 entries."),
        ({"coefficient": "1", "grade_input": "grade", "quota": "1"}, "grade_input",
         '"grade_input" goes with a "coefficients" table.'),
        ({"coefficient": "1", "quota": "1", "quota_bands": S1_9_BANDS}, "quota",
         'Give either "quota" (a formula) or "quota_bands".'),
        ({"coefficient": "1"}, "quota", 'Give either "quota" (a formula) or "quota_bands".'),
        (
            {"coefficient": "1", "quota_bands": {"input": "base_salary", "bands": [
                {"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"}]}},
            "quota_bands.bands[1].to",
            "The last band is open above: leave its end empty (null).",
        ),
        (
            {"coefficient": "1", "quota_bands": {"input": "base_salary", "bands": [
                {"to": None, "quota": "200"}, {"quota": "400"}]}},
            "quota_bands.bands[0].to",
            "Only the last band may be open above.",
        ),
        (
            {"coefficient": "1", "quota_bands": {"input": "base_salary", "bands": [
                {"to": "1500", "quota": "200"}, {"to": "1500", "quota": "300"}, {"quota": "400"}]}},
            "quota_bands.bands[1].to",
            "Band ends must rise from band to band: 1500 is not above 1500.",
        ),
    ],
)
def test_it_refuses_a_grade_coefficient_setting_naming_it(config: dict[str, Any], field: str, message: str) -> None:
    assert refusal("grade_coefficient", config) == (f"components[0].config.{field}", message)


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"total": "1", "splits": {}}, "splits", "Enter at least 1 entries."),
        ({"total": "1", "splits": {"员工": "4:6"}, "part": "bonus"}, "part",
         '"bonus" is not one of: total, fixed, floating'),
        ({"total": "1", "splits": {"员工": "4:6"}, "level_input": "rank"}, "level_input",
         'Unknown text input "rank"; the text inputs are: grade, level, role'),
    ],
)
def test_it_refuses_a_fixed_floating_setting_naming_it(config: dict[str, Any], field: str, message: str) -> None:
    assert refusal("fixed_floating_split", config) == (f"components[0].config.{field}", message)


def test_it_refuses_a_count_listed_twice_in_per_unit_rates() -> None:
    rates = [{"input": "grads_b2", "rate": "1000"}, {"input": "grads_b2", "rate": "800"}]
    assert refusal("per_unit", {"rates": rates}, inputs=S1_2_INPUTS) == (
        "components[0].config.rates[1].input",
        '"grads_b2" is listed twice.',
    )


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"quantity": "score", "mode": "marginal", "boundary": "lower_inclusive", "tiers": S1_2_TIERS}, "boundary",
         "Marginal tiers have no boundary question; leave it out."),
        ({"quantity": "score", "mode": "steps", "tiers": S1_2_TIERS}, "mode", '"steps" is not one of: whole, marginal'),
        ({"quantity": "score", "mode": "whole", "boundary": "inclusive", "tiers": S1_2_TIERS}, "boundary",
         '"inclusive" is not one of: lower_inclusive, upper_inclusive'),
        ({"quantity": "score", "mode": "whole", "tiers": []}, "tiers", "Enter at least 1 entries."),
    ],
)
def test_it_refuses_a_tier_setting_naming_it(config: dict[str, Any], field: str, message: str) -> None:
    assert refusal("tiered", config) == (f"components[0].config.{field}", message)


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"parts": [{"weight": "1", "value": "score", "average": ["score"]}]}, "parts[0].value",
         'Give either "value" or "average".'),
        ({"parts": [{"weight": "1"}]}, "parts[0].value", 'Give either "value" or "average".'),
        ({"parts": [{"weight": "1", "average": []}]}, "parts[0].average", "Enter at least 1 entries."),
        ({"parts": [{"weight": None, "value": "score"}]}, "parts[0].weight", "This setting is required."),
    ],
)
def test_it_refuses_a_weighted_annual_setting_naming_it(config: dict[str, Any], field: str, message: str) -> None:
    assert refusal("weighted_annual", config) == (f"components[0].config.{field}", message)


def test_it_refuses_a_fixed_combination_it_does_not_know() -> None:
    assert refusal("fixed", {"amount": "1", "combine": "min"}) == (
        "components[0].config.combine",
        '"min" is not one of: sum, max',
    )


def test_it_refuses_a_places_setting_on_a_kind_that_works_to_the_fen() -> None:
    error = config_error([{"code": "c", "kind": "accrual", "config": SAFETY, "places": 0}], inputs=SAFETY_INPUTS)
    assert (error.field, error.message) == ("components[0].places", "This kind works to the fen: places must be 2.")


# --- each kind's explanation: what finance and the employee read ------------------------------------


def test_it_explains_a_coefficient_from_a_formula_and_a_quota_from_a_formula() -> None:
    policy = one("grade_coefficient", {"coefficient": "score / 100", "quota": "500"})
    assert explained(policy, score="85") == "coefficient score / 100 = 0.85; quota 500 = 500.00; 500.00 × 0.85 = 425.00"


def test_it_names_the_grades_of_the_table_for_an_unknown_grade() -> None:
    error = pay_error(one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota": "200"}), {"grade": "S"})
    assert (error.problem, error.inputs) == ('Unknown grade "S"; the grades are: A, B, C, D, E', {"grade": "S"})


def test_it_lists_a_grade_as_the_only_input_of_a_line_that_reads_no_number() -> None:
    policy = one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota": "200"})
    assert evaluate_person(policy, {"grade": "B"}, subject="1001").line("c").inputs == {"grade": "B"}


def test_it_explains_a_fixed_floating_split() -> None:
    policy = one(
        "fixed_floating_split", {"total": "base_salary", "splits": S1_4_SPLITS, "coefficient": "grade_coefficient"}
    )
    assert explained(policy, base_salary="10000", level="总裁", grade_coefficient="1.2") == (
        "level 总裁 splits 10000.00 4:6 → fixed 4000.00, floating 6000.00 × coefficient 1.2 = 7200.00; "
        "fixed + floating = 11200.00"
    )


def test_it_can_pay_the_fixed_part_alone() -> None:
    config = {"total": "base_salary", "splits": S1_4_SPLITS, "coefficient": "grade_coefficient", "part": "fixed"}
    policy = one("fixed_floating_split", config)
    # 经理 75:25 of 8000: fixed 6000, whatever the coefficient.
    assert amount(policy, base_salary="8000", level="经理", grade_coefficient="1.1") == D("6000.00")
    assert explained(policy, base_salary="8000", level="经理", grade_coefficient="1.1").endswith(
        "; fixed part = 6000.00"
    )


def test_it_explains_the_floating_part_alone() -> None:
    config = {"total": "base_salary", "splits": S1_4_SPLITS, "coefficient": "grade_coefficient", "part": "floating"}
    assert explained(
        one("fixed_floating_split", config), base_salary="8000", level="经理", grade_coefficient="1.1"
    ).endswith("floating 2000.00 × coefficient 1.1 = 2200.00; floating part = 2200.00")


def test_it_names_the_levels_of_the_splits_for_an_unknown_level() -> None:
    error = pay_error(one("fixed_floating_split", {"total": "1", "splits": S1_4_SPLITS}), {"level": "董事"})
    assert error.problem == 'Unknown level "董事"; the levels are: 总裁, 总监, 副总监, 经理, 员工'


def test_it_explains_whole_tiers_with_the_tier_reached() -> None:
    policy = one("tiered", {"quantity": "MAX(0, grads - 30)", "mode": "whole", "tiers": S1_2_TIERS}, inputs=("grads",))
    assert explained(policy, grads="43") == (
        "quantity MAX(0, grads - 30) = 13; tier 2 reached: every unit at 500; 13 × 500 = 6500.00"
    )


def test_it_explains_marginal_tiers_band_by_band() -> None:
    policy = one("tiered", {"quantity": "grads - 30", "mode": "marginal", "tiers": S1_2_TIERS}, inputs=("grads",))
    assert explained(policy, grads="43") == "quantity grads - 30 = 13; tier 1: 10 × 300 + tier 2: 3 × 500 = 4500.00"


@pytest.mark.parametrize("mode", ["whole", "marginal"])
def test_it_explains_a_quantity_below_the_first_tier(mode: str) -> None:
    policy = one("tiered", {"quantity": "grads - 30", "mode": mode, "tiers": S1_2_TIERS}, inputs=("grads",))
    assert explained(policy, grads="25") == "quantity grads - 30 = -5; below the first tier: nothing"


def test_it_explains_tiers_by_their_labels() -> None:
    tiers = [{"label": "基础", "from": "0", "rate": "300"}, {"label": "超额", "from": "10", "rate": "500"}]
    policy = one("tiered", {"quantity": "grads", "mode": "marginal", "tiers": tiers}, inputs=("grads",))
    assert explained(policy, grads="12") == "quantity grads = 12; tier 基础: 10 × 300 + tier 超额: 2 × 500 = 4000.00"


def test_it_stores_a_boundary_for_whole_tiers_only() -> None:
    config = {"quantity": "grads", "tiers": S1_2_TIERS}
    whole = one("tiered", {**config, "mode": "whole"}, inputs=("grads",)).normalised[0]["config"]
    marginal = one("tiered", {**config, "mode": "marginal"}, inputs=("grads",)).normalised[0]["config"]
    assert (whole["boundary"], "boundary" in marginal) == ("lower_inclusive", False)


def test_it_explains_penalty_points_item_by_item_leaving_out_the_zeros() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS, "cap": "300"}, inputs=S1_10_INPUTS)
    assert explained(policy, **{**NO_EVENTS, "tier2": "1", "tier4_points": "3"}) == (
        "二档 1 × 200.00 + 四档 3 × 10.00 = 230.00 → -230.00"
    )


def test_it_explains_a_capped_deduction() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS, "cap": "300"}, inputs=S1_10_INPUTS)
    assert explained(policy, **{**NO_EVENTS, "tier2": "1", "tier3": "1", "tier4_points": "4"}) == (
        "二档 1 × 200.00 + 三档 1 × 100.00 + 四档 4 × 10.00 = 340.00; capped at 300.00 a period → -300.00"
    )


def test_it_explains_a_period_without_deductions() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS}, inputs=S1_10_INPUTS)
    assert (amount(policy, **NO_EVENTS), explained(policy, **NO_EVENTS)) == (D("0.00"), "no deductions")


def test_it_refuses_a_negative_penalty_count() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS}, inputs=S1_10_INPUTS)
    assert pay_error(policy, {**NO_EVENTS, "tier2": "-1"}).problem == '"tier2" cannot be negative.'


def test_it_stores_no_cap_when_none_is_given() -> None:
    policy = one("penalty_points", {"items": S1_10_ITEMS}, inputs=S1_10_INPUTS)
    assert policy.normalised[0]["config"]["cap"] is None
    # 3 tier-1 events: 900, not capped at anything.
    assert amount(stored(policy, S1_10_INPUTS), **{**NO_EVENTS, "tier1": "3"}) == D("-900.00")


def test_it_explains_a_release_of_everything_withheld() -> None:
    policy = compile_policy(WITHHELD, inputs=("year_end", "target_met"))
    assert explained(policy, "held", balances={"held": "4400"}, year_end=1, target_met=1) == (
        "withheld 400.00 (balance 4400.00 → 4800.00); released 4800.00 because year_end == 1 and target_met == 1; "
        "4800.00 − 400.00 = 4400.00"
    )


def test_it_explains_a_forfeit_of_everything_withheld() -> None:
    policy = compile_policy(WITHHELD, inputs=("year_end", "target_met"))
    assert explained(policy, "held", balances={"held": "4400"}, year_end=1, target_met=0) == (
        "withheld 400.00 (balance 4400.00 → 4800.00); forfeited 4800.00 because year_end == 1 and target_met == 0; "
        "0.00 − 400.00 = -400.00"
    )


def test_it_refuses_to_release_and_forfeit_a_withheld_balance_at_once() -> None:
    policy = one(
        "withheld", {"amount": "400", "release_when": "year_end == 1", "forfeit_when": "year_end == 1"},
        inputs=("year_end",),
    )
    assert pay_error(policy, {"year_end": 1}).problem == (
        "Both release_when and forfeit_when hold; the balance cannot be paid and forfeited at once"
    )


def test_it_keeps_withholding_when_no_forfeit_condition_is_given() -> None:
    policy = one("withheld", {"amount": "400", "release_when": "year_end == 1"}, inputs=("year_end",))
    pay = evaluate_person(policy, {"year_end": 0}, subject="1001", balances={"c": "800.00"})
    # 800 + 400 = 1200 kept, −400 on the line.
    assert (pay.amount("c"), pay.movement("c").closing) == (D("-400.00"), D("1200.00"))
    assert policy.normalised[0]["config"]["forfeit_when"] is None


@pytest.mark.parametrize(("rounding", "added"), [("half_up", "400.01"), ("down", "400.00")])
def test_it_rounds_the_amount_to_set_aside_to_the_fen_with_the_components_rounding(rounding: str, added: str) -> None:
    policy = one("accrual", {"amount": "400.005", "pay_when": "score > 100"}, rounding=rounding)
    pay = evaluate_person(policy, {"score": "0"}, subject="1001")
    assert format(pay.movement("c").added, "f") == added


def test_it_explains_an_accrual_paid_out() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    assert explained(policy, balances={"c": "3000.00"}, **{**CALM_MONTH, "year_end": 1}) == (
        "accrued 300.00 (balance 3000.00 → 3300.00); paid 3300.00 because year_end == 1"
    )


def test_it_explains_a_month_not_accrued() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    assert explained(policy, balances={"c": "900.00"}, **{**CALM_MONTH, "accident": 1}) == (
        "300.00 not accrued because accident == 1 or idle_days >= 20; nothing paid this period"
    )


def test_it_explains_a_forfeited_accrual_balance() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    assert explained(policy, balances={"c": "2700.00"}, **{**CALM_MONTH, "leaving": 1}) == (
        "accrued 300.00 (balance 2700.00 → 3000.00); balance 3000.00 forfeited because leaving == 1"
    )


def test_it_forfeits_both_the_month_and_the_balance_when_a_leaver_has_an_accident() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS)
    pay = evaluate_person(policy, {**CALM_MONTH, "accident": 1, "leaving": 1}, subject="1001", balances={"c": "900"})
    # This month's 300 and the 900 kept: 1200 forfeited, nothing left.
    assert (pay.movement("c").forfeited, pay.movement("c").closing) == (D("1200.00"), D("0.00"))


def test_it_explains_a_quarter_true_up() -> None:
    policy = one(
        "quarter_true_up", {"base": "monthly_perf", "coefficient": "grade_coefficient"}, inputs=("monthly_perf",)
    )
    assert explained(policy, monthly_perf="3000", grade_coefficient="1.1") == (
        "3000.00 + 3000.00 × (1.1 − 1) × 3 = 3900.00"
    )


def test_it_trues_up_over_the_months_configured() -> None:
    policy = one(
        "quarter_true_up", {"base": "monthly_perf", "coefficient": "grade_coefficient", "months": "6"},
        inputs=("monthly_perf",),
    )
    # Half-yearly: 3000 + 3000 × 0.1 × 6 = 4800.
    assert amount(policy, monthly_perf="3000", grade_coefficient="1.1") == D("4800.00")


def test_it_explains_weighted_annual_parts_and_the_base() -> None:
    config = {
        "parts": [
            {"label": "季度平均", "weight": "0.8", "average": ["q1", "q2", "q3", "q4"]},
            {"label": "年终", "weight": "0.2", "value": "year_end"},
        ],
        "base": "annual_base",
    }
    policy = one("weighted_annual", config, inputs=("q1", "q2", "q3", "q4", "year_end", "annual_base"))
    assert explained(policy, q1="1.1", q2="1.0", q3="1.2", q4="1.0", year_end="1.2", annual_base="20000") == (
        "季度平均 0.8 × average(1.1, 1, 1.2, 1) = 1.075 + 年终 0.2 × 1.2 = 1.1; 20000.00 × 1.1 = 22000.00"
    )


def test_it_stores_weighted_annual_parts_with_every_default() -> None:
    config = {"parts": [{"weight": "0.6", "average": ["q1", "q2"]}, {"weight": "0.4", "value": "year_end"}]}
    policy = one("weighted_annual", config, inputs=("q1", "q2", "year_end"))
    assert policy.normalised[0]["config"] == {
        "parts": [
            {"label": None, "weight": "0.6", "average": ["q1", "q2"]},
            {"label": None, "weight": "0.4", "value": "year_end"},
        ],
        "base": None,
    }


def test_it_explains_revenue_without_costs() -> None:
    policy = one("revenue_pool", {"revenue": ["insured"], "rate": "0.05"}, inputs=REVENUE_INPUTS)
    assert explained(policy, insured="1000") == "net revenue (1000.00) − (0) = 1000.00; 1000.00 × 5% = 50.00"


def test_it_explains_why_there_is_no_pool() -> None:
    policy = one("revenue_pool", REVENUE, inputs=REVENUE_INPUTS)
    assert explained(policy, **{**DEPARTMENT, "materials": "500000"}).endswith(
        " = -40000.00; no net revenue: no pool"
    )


def test_it_explains_percentage_deductions_with_their_labels() -> None:
    policy = one("fixed", ALLOWANCE, inputs=ALLOWANCE_INPUTS)
    assert explained(policy, growth="-0.03", general_errors="1", major_errors="0") == (
        "1000.00 less 70% (负增长5%以内 20%, 一般差错 50%) = 300.00"
    )


def test_it_explains_an_award_without_deductions_as_its_amount() -> None:
    policy = one("fixed", ALLOWANCE, inputs=ALLOWANCE_INPUTS)
    assert explained(policy, growth="0.2", general_errors="0", major_errors="0") == "1000.00"


def test_it_names_a_deduction_by_its_condition_without_a_label() -> None:
    policy = one("fixed", {"amount": "1000", "deductions": [{"when": "errors > 0", "percent": "25"}]},
                 inputs=("errors",))
    assert explained(policy, errors="2") == "1000.00 less 25% (errors > 0 25%) = 750.00"


def test_it_explains_the_largest_deduction_only() -> None:
    policy = one("fixed", {**ALLOWANCE, "combine": "max"}, inputs=ALLOWANCE_INPUTS)
    assert explained(policy, growth="-0.03", general_errors="1", major_errors="0") == (
        "1000.00 less 50% (负增长5%以内 20%, 一般差错 50%) = 500.00"
    )


def test_it_explains_a_formula_without_names_once() -> None:
    assert explained(one("formula", {"expression": "42"})) == "42 = 42.00"


# --- reading configs: the envelope and the names --------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({"code": "1st", "kind": "fixed", "config": {"amount": "1"}}, "code",
         '"1st" cannot be used as a name: use letters, digits and _, not starting with a digit, '
         "and avoid the function names"),
        ({"code": "lambda", "kind": "fixed", "config": {"amount": "1"}}, "code",
         '"lambda" cannot be used as a name: use letters, digits and _, not starting with a digit, '
         "and avoid the function names"),
        ({"code": "MAX", "kind": "fixed", "config": {"amount": "1"}}, "code",
         '"MAX" cannot be used as a name: use letters, digits and _, not starting with a digit, '
         "and avoid the function names"),
        ({"code": "score", "kind": "fixed", "config": {"amount": "1"}}, "code",
         'The name "score" is already used by a standard input.'),
        ({"code": "c", "kind": "fixed", "config": {"amount": "1"}, "rounding": "bankers"}, "rounding",
         '"bankers" is not one of: half_up, down, up, half_even'),
        ({"code": "c", "kind": "fixed", "config": {"amount": True}}, "config.amount", "Enter a formula or a number."),
        ({"code": "c", "kind": "fixed", "config": {"amount": None}}, "config.amount", "This setting is required."),
        ({"code": "c", "kind": "fixed_floating_split", "config": {"total": "1", "splits": {"A": "1:1"},
                                                                  "coefficient": None}},
         "config.coefficient", "Enter a formula or a number."),
        ({"code": "c", "kind": "fixed", "config": {"amount": "  "}}, "config.amount", "Enter a formula or a number."),
        ({"code": "c", "kind": "fixed", "config": {"amount": ["1"]}}, "config.amount", "Enter a formula or a number."),
        ({"code": "c", "kind": "fixed", "config": {"amount": "1"}, "when": "score >"}, "when",
         'Syntax error in formula "score >": it ends too early (invalid syntax)'),
        ({"code": "c", "kind": "pool_split", "config": {"pool": "score"}, "factor": "2"}, "factor",
         'A pool_split component cannot be scaled by a factor; use "when" or a later formula component.'),
        ({"code": "c", "kind": "quota_saving", "config": {"quota": "1", "actual": "1", "reward_share": None}},
         "config.reward_share", "This setting is required."),
        # An optional setting written as null has no default to fall back on.
        ({"code": "c", "kind": "quota_saving", "config": {"quota": "1", "actual": "1", "reward_share": "1",
                                                          "excess_rate": None}},
         "config.excess_rate", "This setting is required."),
    ],
)
def test_it_refuses_an_envelope_or_config_setting_naming_it(entry: dict[str, Any], field: str, message: str) -> None:
    error = config_error([entry])
    assert (error.field, error.message) == (f"components[0].{field}", message)


@pytest.mark.parametrize(
    ("places", "pays", "refused"),
    [
        (True, True, "Enter a whole number of decimal places from 0 to 6."),
        ("2", True, "Enter a whole number of decimal places from 0 to 6."),
        (-1, False, "Enter a whole number of decimal places from 0 to 6."),
        (7, False, "Enter a whole number of decimal places from 0 to 6."),
        (6, False, None),
        (0, True, None),
        (2, True, None),
        (3, True, "A paid amount is money: at most 2 decimal places (the fen)."),
        (3, False, None),
    ],
)
def test_it_takes_places_from_0_to_6_and_at_most_2_for_money(places: Any, pays: bool, refused: str | None) -> None:
    entry = {"code": "c", "kind": "formula", "config": {"expression": "score / 7"}, "places": places, "pays": pays}
    if refused is None:
        assert compile_policy([entry]).components[0].places == places
    else:
        assert (config_error([entry]).field, config_error([entry]).message) == ("components[0].places", refused)


def test_it_refuses_an_input_declared_under_a_standard_text_inputs_name() -> None:
    error = config_error([{"code": "c", "kind": "fixed", "config": {"amount": "1"}}], inputs=["grade"])
    assert (error.field, error.message) == ("inputs[0]", 'The name "grade" is already used by a standard input.')


def test_it_accepts_a_standard_input_declared_again() -> None:
    policy = compile_policy([{"code": "c", "kind": "formula", "config": {"expression": "score"}}], inputs=["score"])
    assert amount(policy, score="7") == D("7.00")


def test_it_refuses_a_text_input_used_as_a_number_name() -> None:
    error = config_error([{"code": "c", "kind": "per_unit", "config": {"rates": [{"input": "grade", "rate": "1"}]}}])
    assert error.message == (
        'Unknown name "grade"; the names you can use here are: '
        "base_salary, days_in_period, days_worked, grade_coefficient, score"
    )


def test_it_refuses_a_name_used_by_a_signal() -> None:
    components = [
        {"code": "a", "kind": "fixed", "config": {"amount": "1"}, "signals": {"big": "a > 0"}},
        {"code": "big", "kind": "fixed", "config": {"amount": "1"}},
    ]
    error = config_error(components)
    assert (error.field, error.message) == (
        "components[1].code",
        'The name "big" is already used by a signal of component a.',
    )


def test_it_refuses_a_name_used_by_a_declared_input() -> None:
    error = config_error([{"code": "bonus", "kind": "fixed", "config": {"amount": "1"}}], inputs=["bonus"])
    assert error.message == 'The name "bonus" is already used by input bonus.'


def test_it_refuses_a_name_used_by_an_earlier_component() -> None:
    fixed = {"kind": "fixed", "config": {"amount": "1"}}
    error = config_error([{"code": "a", **fixed}, {"code": "b", **fixed, "signals": {"a": "b > 0"}}])
    assert (error.field, error.message) == ("components[1].signals.a", 'The name "a" is already used by component a.')


def test_it_leaves_codes_and_signals_out_of_the_inputs_a_policy_reads() -> None:
    policy = compile_policy(
        [
            {"code": "a", "kind": "formula", "config": {"expression": "score"}, "signals": {"high": "a > bar"}},
            {"code": "b", "kind": "formula", "config": {"expression": "a * high"}},
        ],
        inputs=["bar"],
    )
    assert (policy.required_inputs, policy.components[0].uses) == ({"score", "bar"}, ("bar", "score"))


def test_it_stores_the_when_the_factor_and_the_signals_as_written() -> None:
    policy = one("fixed", {"amount": "1"}, when="score  >=  60", factor="days_worked / 30", signals={"paid": "c > 0"})
    entry = policy.normalised[0]
    assert (entry["when"], entry["factor"], entry["signals"]) == ("score >= 60", "days_worked / 30", {"paid": "c > 0"})


def test_it_defaults_a_component_to_paid() -> None:
    assert one("fixed", {"amount": "1"}).components[0].pays is True


# --- evaluating: inputs, conditions, factors, signals and errors -----------------------------------------


def test_it_names_the_person_and_the_input_that_is_not_a_number() -> None:
    policy = one("formula", {"expression": "score"})
    error = pay_error(policy, {"score": "八十"})
    assert error.message == (
        'Pay for 1001 张三: score: "八十" is not a number. (inputs: score = 八十)'
    )


def test_it_names_the_person_and_the_component_of_a_balance_that_is_not_a_number() -> None:
    policy = one("accrual", {"amount": "1", "pay_when": "score > 1"})
    error = pay_error(policy, {"score": "0"}, balances={"c": "many"})
    assert (error.subject, error.component) == ("1001 张三", "c")
    assert error.problem.startswith("balances.c:")


def test_it_writes_a_text_input_given_as_a_number_as_text() -> None:
    policy = one("grade_coefficient", {"coefficients": {"1": "1.2", "2": "1.0"}, "quota": "500"})
    # A grade "1" that came in as the number 1 still finds its coefficient: 500 × 1.2 = 600.
    assert amount(policy, grade=1) == D("600.00")


def test_it_lists_the_text_inputs_a_line_read_beside_the_numbers() -> None:
    policy = one("grade_coefficient", {"coefficients": S1_9_GRADES, "quota_bands": S1_9_BANDS})
    pay = evaluate_person(policy, {"grade": "B", "base_salary": "1500", "score": "90"}, subject="1001")
    assert pay.line("c").inputs == {"base_salary": D("1500"), "grade": "B"}


def test_it_ignores_inputs_the_policy_does_not_know() -> None:
    pay = evaluate_person(one("formula", {"expression": "score"}), {"score": "5", "bonus": "x"}, subject="1001")
    assert "bonus" not in pay.values


def test_it_explains_a_factor_and_the_amount_it_scales() -> None:
    policy = one("fixed", {"amount": "1400"}, factor="days_worked / days_in_period")
    assert explained(policy, days_worked="13", days_in_period="30") == (
        "1400.00; × factor days_worked / days_in_period = 0.4333333333333333333333333333 → 606.67"
    )


def test_it_sets_a_signal_to_zero_when_its_component_does_not_apply() -> None:
    policy = one("fixed", {"amount": "200"}, when="score >= 60", signals={"paid": "c >= 0"})
    values = [evaluate_person(policy, {"score": score}, subject="1").values["paid"] for score in ("59", "60")]
    assert values == [D(0), D(1)]


def test_it_explains_a_component_that_does_not_apply() -> None:
    assert explained(one("fixed", {"amount": "200"}, when="score >= 60"), score="59") == (
        "not applicable: score >= 60 does not hold"
    )


def test_it_moves_no_balance_for_a_kind_without_one_that_does_not_apply() -> None:
    pay = evaluate_person(one("fixed", {"amount": "200"}, when="score >= 60"), {"score": "59"}, subject="1")
    assert pay.movements == ()


def test_it_takes_a_number_written_as_a_number_where_a_formula_goes() -> None:
    assert amount(one("fixed", {"amount": 400})) == D("400.00")
    assert amount(one("fixed", {"amount": D("400.5")})) == D("400.50")


def test_it_refuses_a_float_where_a_formula_goes() -> None:
    field, message = refusal("fixed", {"amount": 400.5})
    assert (field, "float" in message) == ("components[0].config.amount", True)


def test_it_refuses_a_condition_that_would_change_meaning_once_wrapped() -> None:
    # Alone it does not parse; wrapped in IF((…), 1, 0) it would, as something else: refused as written.
    when = "score > 1), 1, 0) * IF((score > 2"
    error = config_error([{"code": "c", "kind": "fixed", "config": {"amount": "1"}, "when": when}])
    assert (error.field, error.message.startswith(f'Syntax error in formula "{when}"')) == (
        "components[0].when",
        True,
    )


def test_it_leaves_a_balance_without_an_opening_at_zero_when_the_component_does_not_apply() -> None:
    policy = one("accrual", SAFETY, inputs=SAFETY_INPUTS, when="leaving == 0")
    pay = evaluate_person(policy, {**CALM_MONTH, "leaving": 1}, subject="1001")
    assert [format(value, "f") for value in pay.movement("c")[1:]] == ["0.00"] * 5
    assert format(pay.amount("c"), "f") == "0.00"


def test_it_rounds_an_unpaid_intermediate_to_its_places() -> None:
    policy = compile_policy(
        [
            {"code": "k", "kind": "formula", "config": {"expression": "score / 7"}, "places": 4, "pays": False},
            {"code": "c", "kind": "formula", "config": {"expression": "k * 7000"}},
        ]
    )
    pay = evaluate_person(policy, {"score": "1"}, subject="1")
    # 1 / 7 = 0.142857… → 0.1429; × 7000 = 1000.30 (the next component sees the rounded amount).
    assert (pay.amount("k"), pay.amount("c"), pay.total) == (D("0.1429"), D("1000.30"), D("1000.30"))


def test_it_shows_an_intermediates_rounding_beyond_the_fen() -> None:
    policy = one("formula", {"expression": "score / 7"}, places=4, pays=False)
    assert explained(policy, score="1") == "score / 7 = 1 / 7 = 0.14 → 0.1429"


def test_it_shows_no_rounding_of_an_intermediate_that_is_exact() -> None:
    assert explained(one("formula", {"expression": "score / 4"}, places=4, pays=False), score="1") == (
        "score / 4 = 1 / 4 = 0.25"
    )


def test_it_shows_no_rounding_up_that_reads_as_the_fen_already_shown() -> None:
    # Rounded up, 1234.566 is 1234.57: the amount shown to the fen already says so.
    assert explained(one("formula", {"expression": "1234.566"}, rounding="up")) == "1234.566 = 1234.57"


def test_it_shows_a_rounding_to_whole_yuan() -> None:
    assert explained(one("formula", {"expression": "1234.5"}, places=0)) == "1234.5 = 1234.50 → 1235"


def test_it_adds_only_paid_lines_to_an_empty_total_written_to_the_fen() -> None:
    policy = one("fixed", {"amount": "5"}, pays=False)
    assert format(evaluate_person(policy, {}, subject="1").total, "f") == "0.00"


def test_it_finds_a_line_and_a_movement_by_code_or_says_which_is_missing() -> None:
    pay = evaluate_person(compile_policy(WITHHELD, inputs=("year_end", "target_met")), {"year_end": 0,
                          "target_met": 0}, subject="1")
    assert (pay.line("held").code, pay.movement("held").code) == ("held", "held")
    with pytest.raises(KeyError):
        pay.line("bonus")
    with pytest.raises(KeyError):
        pay.movement("base")


def test_it_names_a_person_twice_in_the_population() -> None:
    policy = one("fixed", {"amount": "1"})
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_population(policy, [PersonInput("1001 张三", {}), PersonInput("1001 张三", {})])
    assert caught.value.message == "Pay for 1001 张三: appears twice in the population"


def test_it_lets_a_persons_own_input_win_over_their_units() -> None:
    policy = one("formula", {"expression": "bonus"}, inputs=("bonus",))
    people = [PersonInput("a", {}, unit="u"), PersonInput("b", {"bonus": "7"}, unit="u"), PersonInput("c", {})]
    results = evaluate_population(policy, people[:2], units={"u": {"bonus": "5"}, "v": {"bonus": "9"}})
    assert [pay.total for pay in results] == [D("5.00"), D("7.00")]
    with translation.override("en"), pytest.raises(PayError):
        evaluate_population(policy, people[2:], units={"u": {"bonus": "5"}})


def test_it_pays_each_person_of_a_population_by_their_own_condition() -> None:
    policy = one("fixed", {"amount": "100"}, when="score >= 60")
    people = [PersonInput(s, {"score": score}) for s, score in (("a", "59"), ("b", "60"))]
    assert [(pay.amount("c"), pay.line("c").applies) for pay in evaluate_population(policy, people)] == [
        (D("0.00"), False),
        (D("100.00"), True),
    ]


def test_it_says_who_first_needs_the_population_for_a_group_component() -> None:
    policy = compile_policy([{"code": "avg", "kind": "population_average", "config": {"source": "score"}}])
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_person(policy, {"score": "80"}, subject="1001 张三")
    assert caught.value.message == (
        "Pay for 1001 张三, component avg: this component needs everyone's results; evaluate the whole population"
    )


def test_it_names_the_component_by_code_and_name_in_an_error() -> None:
    policy = compile_policy(
        [{"code": "perf", "name": "绩效", "kind": "formula", "config": {"expression": "1 / score"}}]
    )
    # The input is shown as written in explanations: 0.00 reads 0.
    assert pay_error(policy, {"score": "0.00"}).message == (
        'Pay for 1001 张三, component perf (绩效): Division by zero in formula "1 / score" (inputs: score = 0)'
    )


def test_it_writes_a_dash_for_an_error_without_a_subject() -> None:
    with translation.override("en"):
        assert PayError("no people").message == "Pay for —: no people"
        assert PayError("no people", component="c").message == "Pay for —, component c: no people"


def test_it_refuses_to_run_a_kind_that_does_not_say_how() -> None:
    from payroll.engine.common import Kind, Scope

    class Unfinished(Kind):
        code = "unfinished"

        def __init__(self) -> None:  # reads nothing
            pass

    with pytest.raises(NotImplementedError):
        Unfinished().run(None, None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        Unfinished().run_group([], [], None)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        Kind({}, Scope(frozenset(), frozenset()), "config")


# --- the group kinds: refusals, errors and explanations ---------------------------------------------------


def pool_policy(config: dict[str, Any], **envelope: Any) -> Policy:
    return compile_policy(
        [{"code": "c", "kind": "pool_split", "config": {"pool": "pool", **config}, **envelope}],
        inputs=("pool", "factor", "lead_coefficient"),
    )


def split(policy: Policy, people: list[PersonInput]) -> dict[str, D]:
    return {pay.subject: pay.amount("c") for pay in evaluate_population(policy, people)}


def population_error(policy: Policy, people: list[PersonInput]) -> PayError:
    with translation.override("en"), pytest.raises(PayError) as caught:
        evaluate_population(policy, people)
    return caught.value


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"role_input": "role"}, "role_input", '"role_input" goes with "roles".'),
        ({"roles": [{"role": "医师", "ratio": "1"}, {"role": "医师", "ratio": "0.7"}]}, "roles[1].role",
         '"医师" is listed twice.'),
        ({"roles": []}, "roles", "Enter at least 1 entries."),
    ],
)
def test_it_refuses_a_pool_split_setting_naming_it(config: dict[str, Any], field: str, message: str) -> None:
    error = config_error([{"code": "c", "kind": "pool_split", "config": {"pool": "score", **config}}])
    assert (error.field, error.message) == (f"components[0].config.{field}", message)


def test_it_refuses_a_population_average_over_anything_but_the_population_or_a_unit() -> None:
    error = config_error([{"code": "c", "kind": "population_average", "config": {"source": "score", "over": "team"}}])
    assert (error.field, error.message) == ("components[0].config.over", '"team" is not one of: population, unit')


def test_it_explains_a_two_level_split() -> None:
    with translation.override("en"):
        results = evaluate_population(ward_policy(), ward(), units={"内科": {"ward_pool": "10000"}})
    assert results[2].line("bonus").explanation == (
        "pool 10000.00 of unit 内科; 医师 part 3007.52 (weight 2 of 6.65); factor 1.2 of 2 → 1804.51"
    )


def test_it_explains_a_split_without_roles_for_people_without_a_unit() -> None:
    policy = pool_policy({})
    with translation.override("en"):
        results = evaluate_population(policy, [PersonInput("a", {"pool": "100"}), PersonInput("b", {"pool": "100"})])
    assert results[0].line("c").explanation == "pool 100.00 of unit —; factor 1 of 2 → 50.00"


def test_it_rounds_a_pool_to_the_fen_with_the_components_rounding_before_splitting_it() -> None:
    people = [PersonInput("a", {"pool": "100.019"}), PersonInput("b", {"pool": "100.019"})]
    # Down: 100.01 split 50.01 + 50.00 (the leftover fen to a); half up: 100.02 → 50.01 each.
    assert split(pool_policy({}, rounding="down"), people) == {"a": D("50.01"), "b": D("50.00")}
    assert split(pool_policy({}), people) == {"a": D("50.01"), "b": D("50.01")}


def test_it_names_both_people_whose_pools_differ() -> None:
    people = [PersonInput("a", {"pool": "100"}, unit="u"), PersonInput("b", {"pool": "120"}, unit="u")]
    error = population_error(pool_policy({}), people)
    assert (error.subject, error.problem) == (
        "b",
        'The pool "pool" of unit u differs between its people: a has 100.00, b has 120.00',
    )


def test_it_splits_each_unit_on_its_own() -> None:
    people = [PersonInput("a", {"pool": "100"}, unit="u"), PersonInput("b", {"pool": "300"}, unit="v"),
              PersonInput("c", {"pool": "300"}, unit="v")]
    assert split(pool_policy({}), people) == {"a": D("100.00"), "b": D("150.00"), "c": D("150.00")}


def test_it_names_a_role_the_split_does_not_know() -> None:
    people = [PersonInput("a", {"pool": "100", "role": "药师"}, unit="u")]
    error = population_error(pool_policy({"roles": [{"role": "医师", "ratio": "1"}]}), people)
    assert error.problem == 'Unknown role "药师"; the roles are: 医师'


@pytest.mark.parametrize(
    ("config", "inputs", "problem"),
    [
        ({"factor": "factor"}, {"factor": "-1"}, "The factor cannot be negative: -1"),
        ({"roles": [{"role": "医师", "ratio": "1", "coefficient": "lead_coefficient"}]},
         {"role": "医师", "lead_coefficient": "-0.5"}, "The coefficient cannot be negative: -0.5"),
    ],
)
def test_it_refuses_a_negative_weight(config: dict[str, Any], inputs: dict[str, str], problem: str) -> None:
    error = population_error(pool_policy(config), [PersonInput("a", {"pool": "100", **inputs})])
    assert error.problem == problem


def test_it_splits_by_a_zero_factor_beside_others() -> None:
    people = [PersonInput(s, {"pool": "100", "factor": f}) for s, f in (("a", "0"), ("b", "1"), ("c", "3"))]
    assert split(pool_policy({"factor": "factor"}), people) == {"a": D("0.00"), "b": D("25.00"), "c": D("75.00")}


def test_it_refuses_a_pool_nobody_weighs_anything_for() -> None:
    config = {"roles": [{"role": "医师", "ratio": "0"}]}
    error = population_error(pool_policy(config), [PersonInput("a", {"pool": "100", "role": "医师"}, unit="u")])
    assert error.problem == "Nobody in unit u has a weight"


def test_it_splits_an_empty_pool_among_people_without_weight_as_nothing() -> None:
    config = {"roles": [{"role": "医师", "ratio": "0"}], "factor": "factor"}
    people = [PersonInput(s, {"pool": "0", "role": "医师", "factor": "0"}) for s in ("a", "b")]
    with translation.override("en"):
        results = evaluate_population(pool_policy(config), people)
    assert [format(pay.amount("c"), "f") for pay in results] == ["0.00", "0.00"]
    assert results[0].line("c").explanation == (
        "pool 0.00 of unit —; 医师 part 0.00 (weight 0 of 0); factor 0 of 0 → 0.00"
    )


def test_it_refuses_factors_that_add_up_to_zero() -> None:
    people = [PersonInput(s, {"pool": "100", "factor": "0"}, unit="u") for s in ("a", "b")]
    error = population_error(pool_policy({"factor": "factor"}), people)
    assert (error.subject, error.problem) == ("a", "The factors in unit u add up to zero")


def test_it_gives_a_role_nobody_holds_no_part() -> None:
    config = {"roles": [{"role": "主任", "ratio": "1.5"}, {"role": "医师", "ratio": "1"}]}
    people = [PersonInput(s, {"pool": "100", "role": "医师"}) for s in ("a", "b")]
    assert split(pool_policy(config), people) == {"a": D("50.00"), "b": D("50.00")}


def test_it_refuses_a_split_not_to_the_fen_or_without_weights() -> None:
    with pytest.raises(ValueError, match=r"1\.005 is not to the fen"):
        split_fen(D("1.005"), [D(1)], ["a"])
    with pytest.raises(ValueError, match="weights add up to zero"):
        split_fen(D("1.00"), [D(0), D(0)], ["a", "b"])


def test_it_splits_by_weights_with_decimals_exactly() -> None:
    # 1.00 by 0.25 : 0.5 : 0.25 = 25, 50 and 25 fen.
    assert split_fen(D("1.00"), [D("0.25"), D("0.5"), D("0.25")], ["a", "b", "c"]) == [
        D("0.25"),
        D("0.50"),
        D("0.25"),
    ]


def test_it_gives_every_leftover_fen_to_the_largest_remainders_first() -> None:
    # 0.05 by 1 : 1 : 1 : 3 = 5/6 fen each, 2.5 for d: floors 0, 0, 0, 2 (2 fen); 3 left go to the
    # remainders 5 (a, b, c: 5/6) before d's 3/6.
    assert split_fen(D("0.05"), [D(1), D(1), D(1), D(3)], ["d", "c", "b", "a"]) == [
        D("0.01"),
        D("0.01"),
        D("0.01"),
        D("0.02"),
    ]


def test_it_averages_over_the_persons_unit() -> None:
    policy = compile_policy(
        [{"code": "c", "kind": "population_average", "config": {"source": "score", "over": "unit"}}]
    )
    people = [PersonInput("a", {"score": "80"}, unit="u"), PersonInput("b", {"score": "90"}, unit="u"),
              PersonInput("c", {"score": "60"}, unit="v")]
    assert [pay.total for pay in evaluate_population(policy, people)] == [D("85.00"), D("85.00"), D("60.00")]


def test_it_explains_an_average_over_everyone() -> None:
    policy = compile_policy([{"code": "c", "kind": "population_average", "config": {"source": "score",
                                                                                     "coefficient": "0.5"}}])
    with translation.override("en"):
        results = evaluate_population(policy, [PersonInput("a", {"score": "80"}), PersonInput("b", {"score": "95"})])
    assert results[0].line("c").explanation == (
        "average score of 2 people (everyone) = 175.00 / 2 = 87.50; × coefficient 0.5 = 43.75"
    )


def test_it_refuses_an_average_over_nobody() -> None:
    policy = compile_policy([{"code": "c", "kind": "population_average", "config": {"source": "score",
                                                                                     "among": "score > 100"}}])
    error = population_error(policy, [PersonInput("a", {"score": "80"})])
    assert error.problem == "Nobody to average score over (score > 100)"


def test_it_leaves_people_the_average_does_not_apply_to_at_nothing() -> None:
    policy = compile_policy([{"code": "c", "kind": "population_average", "config": {"source": "score"},
                              "when": "score < 90"}])
    people = [PersonInput("a", {"score": "80"}), PersonInput("b", {"score": "100"})]
    assert [pay.total for pay in evaluate_population(policy, people)] == [D("90.00"), D("0.00")]


def leader_policy(**config: Any) -> Policy:
    return compile_policy(
        [{"code": "lead", "kind": "leader_bonus", "config": {"source": "grads", "rate": "20", **config},
          "when": "grads >= 0"}],
        inputs=("grads",),
    )


def test_it_counts_the_leaders_own_result_when_asked() -> None:
    people = [PersonInput("L", {"grads": "4"}, unit="g1", leads=("g1",)), PersonInput("m", {"grads": "5"}, unit="g1")]
    # (4 + 5) × 20 = 180.
    assert evaluate_population(leader_policy(include_self=True), people)[0].total == D("180.00")


def test_it_counts_a_group_led_twice_once() -> None:
    people = [PersonInput("L", {"grads": "0"}, leads=("g1", "g1")), PersonInput("m", {"grads": "5"}, unit="g1")]
    assert evaluate_population(leader_policy(), people)[0].total == D("100.00")


def test_it_explains_a_leader_bonus_member_by_member() -> None:
    people = [PersonInput("L", {"grads": "4"}, unit="g1", leads=("g1", "g2")),
              PersonInput("m1", {"grads": "5"}, unit="g1"), PersonInput("m2", {"grads": "3"}, unit="g2")]
    with translation.override("en"):
        lines = [pay.line("lead") for pay in evaluate_population(leader_policy(), people)]
    assert [line.explanation for line in lines] == [
        "20.00 × grads of 2 members (m1 5, m2 3) = 20.00 × 8 = 160.00",
        "leads no group",
        "leads no group",
    ]


def test_it_explains_a_leader_of_an_empty_group() -> None:
    with translation.override("en"):
        pay = evaluate_population(leader_policy(), [PersonInput("L", {"grads": "3"}, leads=("g9",))])[0]
    assert pay.line("lead").explanation == "20.00 × grads of 0 members (—) = 20.00 × 0 = 0.00"


def test_it_pays_no_leader_bonus_where_it_does_not_apply() -> None:
    people = [PersonInput("L", {"grads": "-1"}, leads=("g",)), PersonInput("m", {"grads": "5"}, unit="g")]
    line = evaluate_population(leader_policy(), people)[0].line("lead")
    assert (line.amount, line.applies) == (D("0.00"), False)
