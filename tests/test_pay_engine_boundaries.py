"""payroll.engine at its edges: every band, tier, threshold, quota, cap and limit of the component
kinds, on the edge and one fen or one unit either side. Each expected amount is worked out by hand
in the table's comment; an edge that decides nothing but the explanation says which phrase."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import translation

from core.configs import ConfigError
from payroll.engine import PersonInput, Policy, compile_policy, evaluate_person, evaluate_population, split_fen
from payroll.engine.common import PayError


def one(kind: str, config: dict[str, Any], *, inputs: tuple[str, ...] = (), **envelope: Any) -> Policy:
    return compile_policy([{"code": "c", "kind": kind, "config": config, **envelope}], inputs=inputs)


def line(policy: Policy, balances: dict[str, str] | None = None, **inputs: Any) -> tuple[str, str]:
    """The line's amount as written (to the fen) and its explanation, in English."""
    with translation.override("en"):
        pay = evaluate_person(policy, inputs, subject="1001", balances=balances).line("c")
    return format(pay.amount, "f"), pay.explanation


def refused(kind: str, config: dict[str, Any], **kwargs: Any) -> str | None:
    """The path a one-component policy is refused at, or None when it is accepted."""
    try:
        compile_policy([{"code": "c", "kind": kind, "config": config}], **kwargs)
    except ConfigError as error:
        return error.field
    return None


# --- grade_coefficient: quota bands by their upper ends (S1-9: ≤1500 → 200, ≤2500 → 400, above → 600) ----

BANDS = [{"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"}, {"to": None, "quota": "600"}]


@pytest.mark.parametrize(
    ("inclusive", "base", "quota", "band"),
    [
        # "1500元以下(含1500)": an end belongs to its band; one fen above is the next band.
        (True, "1499.99", "200.00", "≤ 1500"),
        (True, "1500", "200.00", "≤ 1500"),
        (True, "1500.01", "400.00", "≤ 2500"),
        (True, "2499.99", "400.00", "≤ 2500"),
        (True, "2500", "400.00", "≤ 2500"),
        (True, "2500.01", "600.00", "above 2500"),
        (True, "0", "200.00", "≤ 1500"),
        # Ends exclusive: the end itself opens the next band.
        (False, "1499.99", "200.00", "< 1500"),
        (False, "1500", "400.00", "< 2500"),
        (False, "1500.01", "400.00", "< 2500"),
        (False, "2499.99", "400.00", "< 2500"),
        (False, "2500", "600.00", "from 2500"),
        (False, "2500.01", "600.00", "from 2500"),
    ],
)
def test_it_picks_the_quota_band_at_each_end(inclusive: bool, base: str, quota: str, band: str) -> None:
    bands = {"input": "base_salary", "to_inclusive": inclusive, "bands": BANDS}
    policy = one("grade_coefficient", {"coefficient": "1", "quota_bands": bands})
    # Coefficient 1: the amount is the quota.
    assert line(policy, base_salary=base) == (
        quota,
        f"coefficient 1 = 1; quota {quota} for base_salary {base} ({band}); {quota} × 1 = {quota}",
    )


@pytest.mark.parametrize(("second_end", "refused_at"), [("1499.99", "bands[1].to"), ("1500", "bands[1].to"),
                                                        ("1500.01", None)])
def test_it_takes_band_ends_only_when_each_rises_above_the_last(second_end: str, refused_at: str | None) -> None:
    bands = {"input": "base_salary", "bands": [{"to": "1500", "quota": "200"}, {"to": second_end, "quota": "400"},
                                               {"to": None, "quota": "600"}]}
    field = refused("grade_coefficient", {"coefficient": "1", "quota_bands": bands})
    assert field == (None if refused_at is None else f"components[0].config.quota_bands.{refused_at}")


@pytest.mark.parametrize(("count", "refused_at"), [(1, "components[0].config.quota_bands.bands"), (2, None)])
def test_it_takes_two_bands_at_least(count: int, refused_at: str | None) -> None:
    bands = {"input": "base_salary", "bands": [{"to": "1500", "quota": "200"}, {"to": None, "quota": "400"}][-count:]}
    assert refused("grade_coefficient", {"coefficient": "1", "quota_bands": bands}) == refused_at


# --- tiered (S1-2 over-target bonus: tiers from 5 at 300 and from 10 at 500) -----------------------------

TIERS = [{"from": "5", "rate": "300"}, {"from": "10", "rate": "500"}]


@pytest.mark.parametrize(
    ("boundary", "quantity", "amount", "reached"),
    [
        # Lower-inclusive (default): a quantity equal to a tier's "from" reaches it; every unit at its rate.
        ("lower_inclusive", "4", "0.00", None),
        ("lower_inclusive", "5", "1500.00", 1),
        ("lower_inclusive", "6", "1800.00", 1),
        ("lower_inclusive", "9", "2700.00", 1),
        ("lower_inclusive", "10", "5000.00", 2),
        ("lower_inclusive", "11", "5500.00", 2),
        # Upper-inclusive ("0~10人(含10人)"): 10 stays in the tier below; the first tier is reached at its own from.
        ("upper_inclusive", "4", "0.00", None),
        ("upper_inclusive", "5", "1500.00", 1),
        ("upper_inclusive", "6", "1800.00", 1),
        ("upper_inclusive", "9", "2700.00", 1),
        ("upper_inclusive", "10", "3000.00", 1),
        ("upper_inclusive", "10.1", "5050.00", 2),
        ("upper_inclusive", "11", "5500.00", 2),
    ],
)
def test_it_reaches_whole_tiers_at_each_edge(boundary: str, quantity: str, amount: str, reached: int | None) -> None:
    policy = one("tiered", {"quantity": "q", "mode": "whole", "boundary": boundary, "tiers": TIERS}, inputs=("q",))
    paid, explanation = line(policy, q=quantity)
    assert paid == amount
    if reached is None:
        assert explanation == f"quantity q = {quantity}; below the first tier: nothing"
    else:
        rate = TIERS[reached - 1]["rate"]
        assert explanation == (
            f"quantity q = {quantity}; tier {reached} reached: every unit at {rate}; {quantity} × {rate} = {amount}"
        )


@pytest.mark.parametrize(
    ("quantity", "amount", "parts"),
    [
        # Marginal: units above 5 at 300, units above 10 at 500 (5 to 10 is the first band's 5 units).
        ("4", "0.00", None),
        ("5", "0.00", None),
        ("6", "300.00", "tier 1: 1 × 300"),
        ("9", "1200.00", "tier 1: 4 × 300"),
        ("10", "1500.00", "tier 1: 5 × 300"),
        ("11", "2000.00", "tier 1: 5 × 300 + tier 2: 1 × 500"),
    ],
)
def test_it_pays_marginal_tiers_at_each_edge(quantity: str, amount: str, parts: str | None) -> None:
    policy = one("tiered", {"quantity": "q", "mode": "marginal", "tiers": TIERS}, inputs=("q",))
    tail = "below the first tier: nothing" if parts is None else f"{parts} = {amount}"
    assert line(policy, q=quantity) == (amount, f"quantity q = {quantity}; {tail}")


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [
        # Three marginal tiers from 0 at 1, 3000 at 0.8, 5000 at 0.5 (S1-6 超额累进递减), at the two upper edges.
        ("2999", "2999.00"),
        ("3000", "3000.00"),
        ("3001", "3000.80"),
        ("4999", "4599.20"),
        ("5000", "4600.00"),
        ("5001", "4600.50"),
    ],
)
def test_it_pays_three_marginal_tiers_at_each_edge(quantity: str, amount: str) -> None:
    tiers = [{"from": "0", "rate": "1"}, {"from": "3000", "rate": "0.8"}, {"from": "5000", "rate": "0.5"}]
    policy = one("tiered", {"quantity": "q", "mode": "marginal", "tiers": tiers}, inputs=("q",))
    assert line(policy, q=quantity)[0] == amount


@pytest.mark.parametrize(("second", "refused_at"), [("4.9", "components[0].config.tiers[1].from"),
                                                    ("5", "components[0].config.tiers[1].from"), ("5.1", None)])
def test_it_takes_tiers_only_when_each_rises_above_the_last(second: str, refused_at: str | None) -> None:
    tiers = [{"from": "5", "rate": "300"}, {"from": second, "rate": "500"}]
    assert refused("tiered", {"quantity": "score", "mode": "whole", "tiers": tiers}) == refused_at


# --- quota_saving: the saving's zero (quota 900 L, price 1, 80 % of a saving, 50 % of an excess) ------------


@pytest.mark.parametrize(
    ("actual", "amount", "rule"),
    [
        # 0.01 saved × 80 % = 0.008 → 0.01; nothing saved rewards 0; 0.01 over × 50 % = −0.005 → −0.01 (half up).
        ("899.99", "0.01", "saving rewarded at 80%: 0.01"),
        ("900", "0.00", "saving rewarded at 80%: 0.00"),
        ("900.01", "-0.01", "excess deducted at 50%: -0.01"),
    ],
)
def test_it_rewards_or_deducts_at_the_quotas_edge(actual: str, amount: str, rule: str) -> None:
    config = {"quota": "900", "actual": "actual", "reward_share": "0.8", "excess_rate": "0.5"}
    paid, explanation = line(one("quota_saving", config, inputs=("actual",)), actual=actual)
    assert (paid, explanation.split("; ")[1]) == (amount, rule)


@pytest.mark.parametrize(
    ("setting", "value", "refused_at"),
    [
        ("reward_share", "-0.01", "components[0].config.reward_share"),
        ("reward_share", "0", None),
        ("reward_share", "1", None),
        ("reward_share", "1.01", "components[0].config.reward_share"),
        ("excess_rate", "-0.01", "components[0].config.excess_rate"),
        ("excess_rate", "0", None),
    ],
)
def test_it_takes_shares_and_rates_within_their_limits(setting: str, value: str, refused_at: str | None) -> None:
    config = {"quota": "900", "actual": "800", "reward_share": "0.8", setting: value}
    assert refused("quota_saving", config) == refused_at


# --- penalty_points: the cap (20 a point, capped at 300 a period) -------------------------------------------


@pytest.mark.parametrize(
    ("points", "amount", "explanation"),
    [
        ("14", "-280.00", "points 14 × 20.00 = 280.00 → -280.00"),
        ("15", "-300.00", "points 15 × 20.00 = 300.00 → -300.00"),
        ("16", "-300.00", "points 16 × 20.00 = 320.00; capped at 300.00 a period → -300.00"),
    ],
)
def test_it_caps_deductions_at_the_cap_and_not_before(points: str, amount: str, explanation: str) -> None:
    policy = one("penalty_points", {"items": [{"input": "points", "amount": "20"}], "cap": "300"}, inputs=("points",))
    assert line(policy, points=points) == (amount, explanation)


@pytest.mark.parametrize(("cap", "refused_at"), [("-0.01", "components[0].config.cap"),
                                                 ("0", "components[0].config.cap"), ("0.01", None)])
def test_it_takes_a_cap_above_zero_only(cap: str, refused_at: str | None) -> None:
    config = {"items": [{"input": "score", "amount": "20"}], "cap": cap}
    assert refused("penalty_points", config) == refused_at


@pytest.mark.parametrize(("each", "refused_at"), [("-0.01", "components[0].config.items[0].amount"), ("0", None)])
def test_it_takes_a_deduction_per_item_of_zero_or_more(each: str, refused_at: str | None) -> None:
    assert refused("penalty_points", {"items": [{"input": "score", "amount": each}]}) == refused_at


@pytest.mark.parametrize(
    ("points", "outcome"),
    [("-1", 'Pay for 1001, component c: "points" cannot be negative. (inputs: points = -1)'),
     ("0", "no deductions"), ("1", "points 1 × 20.00 = 20.00 → -20.00")],
)
def test_it_counts_points_from_zero(points: str, outcome: str) -> None:
    policy = one("penalty_points", {"items": [{"input": "points", "amount": "20"}]}, inputs=("points",))
    try:
        shown = line(policy, points=points)[1]
    except ValueError as error:
        shown = str(error)
    assert shown == outcome


# --- revenue_pool: no pool without net revenue (rate 50 %) ---------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "amount", "rule"),
    [
        ("1000.01", "0.00", "no net revenue: no pool"),
        ("1000", "0.00", "no net revenue: no pool"),
        # 0.01 net × 50 % = 0.005 → 0.01.
        ("999.99", "0.01", "0.01 × 50% = 0.01"),
    ],
)
def test_it_makes_a_pool_only_from_net_revenue_above_zero(cost: str, amount: str, rule: str) -> None:
    policy = one("revenue_pool", {"revenue": ["1000"], "costs": ["cost"], "rate": "0.5"}, inputs=("cost",))
    paid, explanation = line(policy, cost=cost)
    assert (paid, explanation.split("; ")[1]) == (amount, rule)


@pytest.mark.parametrize(("costs", "refused_at"), [([], None), (["1"], None), ("1", "components[0].config.costs")])
def test_it_takes_no_costs_or_a_list_of_them(costs: Any, refused_at: str | None) -> None:
    assert refused("revenue_pool", {"revenue": ["1"], "costs": costs, "rate": "0.05"}) == refused_at


# --- fixed: deductions add up to 100 % at most; their conditions' edges (S1-3 growth bands) -----------------


@pytest.mark.parametrize(
    ("second", "amount", "percent"),
    [
        # 1000 less 50 % and 49 % = 10; 50 + 50 = 100 % → 0; 50 + 51 = 101 % is capped at 100 % → 0, never negative.
        ("49", "10.00", "99"),
        ("50", "0.00", "100"),
        ("51", "0.00", "100"),
    ],
)
def test_it_caps_deductions_at_one_hundred_percent(second: str, amount: str, percent: str) -> None:
    deductions = [{"label": "a", "when": "score > 0", "percent": "50"},
                  {"label": "b", "when": "score > 0", "percent": second}]
    paid, explanation = line(one("fixed", {"amount": "1000", "deductions": deductions}), score="1")
    assert (paid, explanation) == (amount, f"1000.00 less {percent}% (a 50%, b {second}%) = {amount}")


GROWTH = [
    {"label": "增长不足10%", "when": "0 <= growth < 0.10", "percent": "10"},
    {"label": "负增长5%以内", "when": "-0.05 <= growth < 0", "percent": "20"},
    {"label": "减少5%以上", "when": "growth < -0.05", "percent": "30"},
]


@pytest.mark.parametrize(
    ("growth", "amount"),
    [
        # 10 % growth or more: no deduction; below it 10 %; below 0 20 %; below −5 % 30 %.
        ("0.1001", "1000.00"),
        ("0.10", "1000.00"),
        ("0.0999", "900.00"),
        ("0.0001", "900.00"),
        ("0", "900.00"),
        ("-0.0001", "800.00"),
        ("-0.05", "800.00"),
        ("-0.0501", "700.00"),
    ],
)
def test_it_deducts_by_growth_band_at_each_edge(growth: str, amount: str) -> None:
    policy = one("fixed", {"amount": "1000", "deductions": GROWTH}, inputs=("growth",))
    assert line(policy, growth=growth)[0] == amount


@pytest.mark.parametrize(("percent", "refused_at"), [("-0.01", "components[0].config.deductions[0].percent"),
                                                     ("0", None), ("100", None),
                                                     ("100.01", "components[0].config.deductions[0].percent")])
def test_it_takes_a_deduction_from_0_to_100_percent(percent: str, refused_at: str | None) -> None:
    config = {"amount": "1000", "deductions": [{"when": "score > 0", "percent": percent}]}
    assert refused("fixed", config) == refused_at


# --- withheld and accrual: the amount set aside, to the fen -------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("withheld", {"amount": "x", "release_when": "x > 1000"}),
        ("accrual", {"amount": "x", "pay_when": "x > 1000"}),
    ],
)
@pytest.mark.parametrize(
    ("given", "added"),
    [
        # Rounded to the fen first (half up), then checked: −0.005 is −0.01 and refused; −0.004 is 0.00.
        ("-0.01", None),
        ("-0.005", None),
        ("-0.004", "0.00"),
        ("0", "0.00"),
        ("0.004", "0.00"),
        ("0.005", "0.01"),
        ("0.01", "0.01"),
    ],
)
def test_it_sets_aside_zero_or_more_to_the_fen(
    kind: str, config: dict[str, str], given: str, added: str | None
) -> None:
    policy = one(kind, config, inputs=("x",))
    try:
        pay = evaluate_person(policy, {"x": given}, subject="1001")
    except ValueError:
        assert added is None
    else:
        assert format(pay.movement("c").added, "f") == added


@pytest.mark.parametrize(
    ("idle_days", "closing", "phrase"),
    [
        # S1-2 safety bonus: 20 idle days or more lose the month's 300; 19 do not.
        ("19", "1200.00", "accrued 300.00 (balance 900.00 → 1200.00)"),
        ("20", "900.00", "300.00 not accrued because idle_days >= 20"),
        ("21", "900.00", "300.00 not accrued because idle_days >= 20"),
    ],
)
def test_it_skips_a_months_accrual_from_twenty_idle_days(idle_days: str, closing: str, phrase: str) -> None:
    policy = one("accrual", {"amount": "300", "skip_when": "idle_days >= 20", "pay_when": "idle_days < 0"},
                 inputs=("idle_days",))
    with translation.override("en"):
        pay = evaluate_person(policy, {"idle_days": idle_days}, subject="1001", balances={"c": "900.00"})
    assert (format(pay.movement("c").closing, "f"), pay.line("c").explanation.split("; ")[0]) == (closing, phrase)


# --- quarter_true_up: months from 1 ------------------------------------------------------------------------


@pytest.mark.parametrize(("months", "refused_at"), [("0", "components[0].config.months"),
                                                    ("0.99", "components[0].config.months"), ("1", None)])
def test_it_trues_up_over_one_month_at_least(months: str, refused_at: str | None) -> None:
    assert refused("quarter_true_up", {"base": "1", "coefficient": "1", "months": months}) == refused_at


@pytest.mark.parametrize(
    ("coefficient", "amount"),
    [("0.99", "2910.00"), ("1", "3000.00"), ("1.01", "3090.00")],  # 3000 + 3000 × (c − 1) × 3
)
def test_it_trues_up_around_a_coefficient_of_one(coefficient: str, amount: str) -> None:
    policy = one("quarter_true_up", {"base": "3000", "coefficient": "grade_coefficient"})
    assert line(policy, grade_coefficient=coefficient)[0] == amount


# --- fixed_floating_split and pool_split: shares and ratios from zero ------------------------------------------


@pytest.mark.parametrize(
    ("split", "refused_at"),
    [("-0.1:1", "components[0].config.splits.A"), ("0:1", None), ("1:0", None),
     ("0:0", "components[0].config.splits.A"), ("0:0.1", None)],
)
def test_it_takes_a_split_of_shares_from_zero_not_both_zero(split: str, refused_at: str | None) -> None:
    assert refused("fixed_floating_split", {"total": "1", "splits": {"A": split}}) == refused_at


@pytest.mark.parametrize(("split", "amount"), [("0:1", "1200.00"), ("1:0", "1000.00")])
def test_it_pays_a_split_with_one_share_zero(split: str, amount: str) -> None:
    # 1000 all floating × 1.2 = 1200; all fixed = 1000 whatever the coefficient.
    policy = one("fixed_floating_split", {"total": "1000", "splits": {"A": split}, "coefficient": "1.2"})
    assert line(policy, level="A")[0] == amount


@pytest.mark.parametrize(("ratio", "refused_at"), [("-0.01", "components[0].config.roles[0].ratio"), ("0", None)])
def test_it_takes_a_role_ratio_from_zero(ratio: str, refused_at: str | None) -> None:
    config = {"pool": "score", "roles": [{"role": "医师", "ratio": ratio}]}
    assert refused("pool_split", config) == refused_at


@pytest.mark.parametrize(
    ("total", "shares"),
    [
        # One fen either side of an even split among three: the leftover fen go to the smallest codes.
        ("0.02", ["0.01", "0.01", "0.00"]),
        ("0.03", ["0.01", "0.01", "0.01"]),
        ("0.04", ["0.02", "0.01", "0.01"]),
        ("-0.04", ["-0.02", "-0.01", "-0.01"]),
        ("0.00", ["0.00", "0.00", "0.00"]),
    ],
)
def test_it_splits_to_the_fen_around_an_even_split(total: str, shares: list[str]) -> None:
    assert [format(share, "f") for share in split_fen(D(total), [D(1), D(1), D(1)], ["a", "b", "c"])] == shares


# --- the envelope: places and rounding at half a unit ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "value", "amount"),
    [
        ("half_up", "0.004999", "0.00"),
        ("half_up", "0.005", "0.01"),
        ("half_up", "-0.005", "-0.01"),
        ("down", "0.009999", "0.00"),
        ("down", "-0.009999", "0.00"),
        ("up", "0.000001", "0.01"),
        ("up", "-0.000001", "-0.01"),
        ("half_even", "0.005", "0.00"),
        ("half_even", "0.015", "0.02"),
        ("half_even", "0.015001", "0.02"),
    ],
)
def test_it_rounds_half_a_fen_by_the_components_rounding(rounding: str, value: str, amount: str) -> None:
    assert line(one("formula", {"expression": "x"}, inputs=("x",), rounding=rounding), x=value)[0] == amount


@pytest.mark.parametrize(("kind", "config"), [("accrual", {"amount": "1", "pay_when": "score > 1"}),
                                              ("pool_split", {"pool": "score"})])
@pytest.mark.parametrize(("places", "accepted"), [(1, False), (2, True), (3, False)])
def test_it_takes_places_of_two_only_for_kinds_that_work_to_the_fen(
    kind: str, config: dict[str, str], places: int, accepted: bool
) -> None:
    try:
        compile_policy([{"code": "c", "kind": kind, "config": config, "places": places, "pays": False}])
    except ConfigError as error:
        assert (accepted, error.field) == (False, "components[0].places")
    else:
        assert accepted


# --- leader_bonus: members named in an explanation (20 a graduate, one graduate each) ---------------------

NAMED = "m00 1, m01 1, m02 1, m03 1, m04 1, m05 1, m06 1, m07 1, m08 1"


@pytest.mark.parametrize(
    ("members", "listed"),
    [(9, NAMED), (10, f"{NAMED}, m09 1"), (11, f"{NAMED}, m09 1, …")],  # ten at most, then "…"
)
def test_it_names_at_most_ten_members_of_a_leaders_groups(members: int, listed: str) -> None:
    policy = compile_policy(
        [{"code": "c", "kind": "leader_bonus", "config": {"source": "grads", "rate": "20"}}], inputs=("grads",)
    )
    people = [PersonInput("L", {"grads": "0"}, leads=("g",))]
    people += [PersonInput(f"m{index:02d}", {"grads": "1"}, unit="g") for index in range(members)]
    with translation.override("en"):
        explanation = evaluate_population(policy, people)[0].line("c").explanation
    assert explanation == f"20.00 × grads of {members} members ({listed}) = 20.00 × {members} = {members * 20}.00"


# --- lookup: a table by a number (each band from its start, inclusive) or by a text -------------------

SENIORITY = {"input": "years", "bands": [{"from": "0", "value": "0"}, {"from": "3", "value": "50"},
                                         {"from": "10", "value": "150"}]}


@pytest.mark.parametrize(
    ("years", "pay"),
    [
        # A band's start belongs to it; one unit below is the band before.
        ("2.99", "0.00"), ("3", "50.00"), ("3.01", "50.00"), ("9.99", "50.00"), ("10", "150.00"), ("40", "150.00"),
        ("0", "0.00"),
    ],
)
def test_it_looks_a_number_up_in_the_band_it_falls_in(years: str, pay: str) -> None:
    assert line(one("lookup", SENIORITY, inputs=("years",)), years=D(years))[0] == pay


def test_it_takes_the_default_below_the_first_band_and_refuses_without_one() -> None:
    config = {"input": "years", "bands": [{"from": "1", "value": "30"}]}
    assert line(one("lookup", {**config, "default": "5"}, inputs=("years",)), years=D("0.99"))[0] == "5.00"
    with pytest.raises(PayError, match=r"0\.99 is not in the table") as refusal, translation.override("en"):
        evaluate_person(one("lookup", config, inputs=("years",)), {"years": D("0.99")}, subject="1001")
    assert refusal.value.subject == "1001"


def test_it_looks_a_text_up_and_refuses_one_not_in_the_table() -> None:
    policy = compile_policy([{"code": "c", "kind": "lookup",
                              "config": {"input": "band", "values": {"一档": "200", "二档": "400"}}}],
                            text_inputs=("band",))
    assert line(policy, band="二档")[0] == "400.00"
    with pytest.raises(PayError, match="三档"), translation.override("en"):
        evaluate_person(policy, {"band": "三档"}, subject="1001")


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"input": "years"}, "components[0].config"),  # neither a band table nor a value table
        # both tables
        ({"input": "years", "bands": [{"from": "0", "value": "1"}], "values": {"一档": "1"}}, "components[0].config"),
        ({"input": "years", "bands": []}, "components[0].config.bands"),
        ({"input": "band", "values": {}}, "components[0].config.values"),
        # Two bands may not start at the same number (the second could never be reached), nor go back.
        ({"input": "years", "bands": [{"from": "0", "value": "1"}, {"from": "0", "value": "2"}]},
         "components[0].config.bands[1].from"),
        ({"input": "years", "bands": [{"from": "5", "value": "1"}, {"from": "4.99", "value": "2"}]},
         "components[0].config.bands[1].from"),
    ],
)
def test_it_refuses_a_lookup_table_that_cannot_work(config: dict[str, Any], path: str) -> None:
    assert refused("lookup", config, inputs=("years",), text_inputs=("band",)) == path


def test_it_accepts_bands_one_unit_apart() -> None:
    bands = [{"from": "0", "value": "1"}, {"from": "0.01", "value": "2"}]
    assert refused("lookup", {"input": "years", "bands": bands}, inputs=("years",)) is None
