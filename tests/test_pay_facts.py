"""Time and people reach pay policies (#12, item 3): the pay run supplies period facts (month,
quarter, half, quarter/half/year end, period kind, days in the period) and person facts (days
worked from the hire and leave dates, left in the period / year, years of service, level,
position, salary band); a leaver is appraised and paid for the days worked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appraisal.models import Period, Sheet
from core.configs import ConfigError
from organizations.models import Person
from payroll import services
from payroll.engine import PayError, compile_policy, evaluate_person
from payroll.standard import FIXED_NUMBERS, FIXED_TEXTS, period_facts, person_facts, year_start
from tests.closing import add_people
from tests.paying import closed_period, compute, save_policy, slips

D = Decimal
date = dt.date


def period(kind: str, year: int, number: int, start: dt.date, end: dt.date, start_month: int = 1) -> Period:
    return Period(kind=kind, year=year, number=number, start=start, end=end, start_month=start_month, start_day=1)


def facts(found: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(found[name] for name in names)


def test_it_knows_a_month_that_ends_a_quarter_half_and_year():
    december = period_facts(period("monthly", 2025, 12, date(2025, 12, 1), date(2025, 12, 31)))
    assert facts(december, "month", "quarter", "half", "is_quarter_end", "is_half_end", "is_year_end",
                 "period_months", "days_in_period", "period_kind") == (12, 4, 2, 1, 1, 1, 1, 31, "monthly")


def test_it_knows_a_month_inside_a_quarter():
    october = period_facts(period("monthly", 2025, 10, date(2025, 10, 1), date(2025, 10, 31)))
    assert facts(october, "month", "quarter", "half", "is_quarter_end", "is_half_end", "is_year_end") == (
        10, 4, 2, 0, 0, 0)


def test_it_counts_a_fiscal_years_quarters_from_its_first_month():
    """A school year from September (S1-7): its quarter 2 runs December 2026 to February 2027, the
    6th month of the year (a half-year end), 31 + 31 + 28 = 90 days, ending in calendar month 2."""
    second = period_facts(period("quarterly", 2026, 2, date(2026, 12, 1), date(2027, 2, 28), start_month=9))
    assert facts(second, "month", "calendar_month", "quarter", "half", "is_quarter_end", "is_half_end",
                 "is_year_end", "period_months", "days_in_period") == (6, 2, 2, 1, 1, 1, 0, 3, 90)


OCTOBER = period("monthly", 2025, 10, date(2025, 10, 1), date(2025, 10, 31))


def person(hire: dt.date | None = None, leave: dt.date | None = None, within: Period = OCTOBER) -> dict[str, Any]:
    return person_facts(within, year_start(within), hire=hire, leave=leave, position="教练", band="B",
                        salary_grade=None)


def test_it_counts_the_days_worked_between_the_hire_and_leave_dates():
    assert person()["days_worked"] == 31
    assert person(hire=date(2025, 10, 20))["days_worked"] == 12
    assert person(leave=date(2025, 10, 15))["days_worked"] == 15
    assert person(hire=date(2025, 10, 10), leave=date(2025, 10, 10))["days_worked"] == 1
    assert person(hire=date(2025, 11, 1))["days_worked"] == 0


def test_it_says_whether_the_person_left_in_the_period_or_the_year():
    assert facts(person(leave=date(2025, 10, 31)), "left_in_period", "left_in_year") == (1, 1)
    assert facts(person(leave=date(2025, 3, 1)), "left_in_period", "left_in_year") == (0, 1)
    assert facts(person(leave=date(2025, 11, 1)), "left_in_period", "left_in_year") == (0, 0)
    assert facts(person(leave=date(2024, 12, 31)), "left_in_period", "left_in_year") == (0, 0)
    assert facts(person(), "left_in_period", "left_in_year") == (0, 0)


def test_it_counts_whole_years_of_service_at_the_periods_end():
    assert person(hire=date(2015, 10, 31))["years_of_service"] == 10
    assert person(hire=date(2015, 11, 1))["years_of_service"] == 9
    assert "years_of_service" not in person()


def test_it_gives_a_leaver_whose_status_is_left_a_sheet_in_the_month_they_left(world_a):
    left_now, left_before = add_people(world_a.org, world_a.back_office, 2)
    with scope(organization=world_a.org):
        Person.objects.filter(pk=left_now.pk).update(status=Person.Status.LEFT, leave_date=date(2025, 10, 15))
        Person.objects.filter(pk=left_before.pk).update(status=Person.Status.LEFT, leave_date=date(2025, 9, 30))
    closed = closed_period(world_a.org, {left_now: "80"})
    with scope(organization=world_a.org):
        assert set(Sheet.objects.filter(period=closed, person__in=[left_now, left_before]).values_list(
            "person_id", flat=True)) == {left_now.pk}


def test_it_pays_a_coach_by_the_days_worked_and_forfeits_a_leavers_accrual(world_a):
    """S1-2 (驾校): base 1400 by days worked; safety bonus 300 a month accrued, paid at year end,
    lost entirely when the coach leaves. October has 31 days.
    Stays all month: 1400.00, 300.00 accrued. Left on 15 October (status "left"): 1400 × 15 / 31 =
    677.419… → 677.42, the accrual forfeited (closing 0.00). Hired on 20 October: 1400 × 12 / 31 =
    541.935… → 541.94."""
    save_policy(world_a.org, [
        {"code": "base", "name": "基本工资", "kind": "formula",
         "config": {"expression": "1400 * days_worked / days_in_period"}},
        {"code": "safety", "name": "安全奖", "kind": "accrual",
         "config": {"amount": "300", "pay_when": "is_year_end == 1", "forfeit_when": "left_in_year == 1"}}])
    stays, leaves, joins = add_people(world_a.org, world_a.back_office, 3)
    with scope(organization=world_a.org):
        Person.objects.filter(pk=leaves.pk).update(status=Person.Status.LEFT, hire_date=date(2020, 1, 1),
                                                   leave_date=date(2025, 10, 15))
        Person.objects.filter(pk=joins.pk).update(hire_date=date(2025, 10, 20))
    found = slips(compute(closed_period(world_a.org, {stays: "80", leaves: "80", joins: "80"})))
    assert [found[p.name].amount("base") for p in (stays, leaves, joins)] == [D("1400.00"), D("677.42"),
                                                                              D("541.94")]
    assert (found[stays.name].balances, found[leaves.name].balances) == ({"safety": "300.00"}, {"safety": "0.00"})


def test_it_pays_the_year_end_award_and_the_quarters_accrual_in_december(world_a):
    """S0-4 (assessed monthly, paid quarterly): 500 a month accrued and paid at a quarter's end:
    December pays its own 500 (no balance before). A year-end award of 1000 only in December."""
    save_policy(world_a.org, [
        {"code": "quarterly", "kind": "accrual", "config": {"amount": "500", "pay_when": "is_quarter_end == 1"}},
        {"code": "award", "kind": "fixed", "when": "is_year_end == 1 and month == 12 and quarter == 4",
         "config": {"amount": "1000"}}])
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    found = slips(compute(closed_period(world_a.org, {clerk: "80"}, number=12)))[clerk.name]
    assert (found.amount("quarterly"), found.amount("award"), found.total) == (D("500.00"), D("1000.00"),
                                                                               D("1500.00"))


def test_it_pays_seniority_by_whole_years_of_service(world_a):
    """S1-2 seniority pay, 20 a year of service: hired 31 October 2015 → 10 years at 31 October
    2025 → 200.00; hired a day later → 9 → 180.00."""
    save_policy(world_a.org, [{"code": "seniority", "name": "工龄工资", "kind": "formula",
                               "config": {"expression": "20 * years_of_service"}}])
    ten, nine = add_people(world_a.org, world_a.back_office, 2)
    with scope(organization=world_a.org):
        Person.objects.filter(pk=ten.pk).update(hire_date=date(2015, 10, 31))
        Person.objects.filter(pk=nine.pk).update(hire_date=date(2015, 11, 1))
    found = slips(compute(closed_period(world_a.org, {ten: "80", nine: "80"})))
    assert (found[ten.name].amount("seniority"), found[nine.name].amount("seniority")) == (D("200.00"),
                                                                                             D("180.00"))


def test_it_reads_the_salary_band_and_position_as_texts(world_a):
    """S1-9: the quota by salary band (一档 200, 二档 400, 三档 600) × the coefficient 1.0 of grade B."""
    save_policy(world_a.org, [
        {"code": "quota", "kind": "grade_coefficient", "pays": False,
         "config": {"grade_input": "salary_band", "coefficients": {"一档": "200", "二档": "400", "三档": "600"},
                    "quota": "1"}},
        {"code": "perf", "kind": "formula", "config": {"expression": "quota * grade_coefficient"}},
        {"code": "post", "kind": "grade_coefficient",
         "config": {"grade_input": "position", "coefficients": {"班长": "1.5", "组员": "1"}, "quota": "100"}}])
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    with scope(organization=world_a.org):
        Person.objects.filter(pk=clerk.pk).update(salary_band="二档", position="班长")
    found = slips(compute(closed_period(world_a.org, {clerk: "75"})))[clerk.name]
    assert (found.amount("perf"), found.amount("post")) == (D("400.00"), D("150.00"))


def test_it_lets_a_pay_input_of_the_period_override_the_days_worked(world_a):
    """HR's attendance beats the dates when the policy declares days_worked: 20 of October's 31
    days → 1400 × 20 / 31 = 903.2258… → 903.23."""
    save_policy(world_a.org, [{"code": "base", "kind": "formula",
                               "config": {"expression": "1400 * days_worked / days_in_period"}}],
                inputs=["days_worked"])
    (coach,) = add_people(world_a.org, world_a.back_office, 1)
    closed = closed_period(world_a.org, {coach: "80"})
    with scope(organization=world_a.org):
        services.save_pay_input(organization=world_a.org, acting_user=None, period=closed, name="days_worked",
                                person=coach, value=D("20"))
    assert slips(compute(closed))[coach.name].amount("base") == D("903.23")


# S1-2's seniority pay follows a "工龄参照表" the article does not print; a plausible one:
# under 3 years 0, 3–5 years 100, 6–10 years 200, more than 10 years 300.
SENIORITY = {"code": "seniority", "name": "年功工资", "kind": "lookup",
             "config": {"input": "years_of_service", "bands": [{"from": "0", "value": "0"},
                                                                {"from": "3", "value": "100"},
                                                                {"from": "6", "value": "200"},
                                                                {"from": "11", "value": "300"}]}}


def lookup_amount(component: dict[str, Any], **inputs: Any) -> Decimal:
    policy = compile_policy([component], text_inputs=["band"], standard=FIXED_NUMBERS, standard_texts=FIXED_TEXTS)
    return evaluate_person(policy, inputs, subject="1001 张三").amount(component["code"])


def test_it_looks_seniority_pay_up_by_years_of_service_band_edges_included():
    assert [lookup_amount(SENIORITY, years_of_service=str(years)) for years in (0, 2, 3, 5, 6, 10, 11, 30)] == [
        D("0.00"), D("0.00"), D("100.00"), D("100.00"), D("200.00"), D("200.00"), D("300.00"), D("300.00")]


def test_it_looks_a_value_up_by_a_text_with_a_default():
    component = {"code": "quota", "kind": "lookup",
                 "config": {"input": "band", "values": {"一档": "200", "二档": "400"}, "default": "100"}}
    assert (lookup_amount(component, band="二档"), lookup_amount(component, band="五档")) == (D("400.00"),
                                                                                          D("100.00"))


def test_it_names_the_person_and_the_value_not_in_the_table():
    component = {"code": "quota", "kind": "lookup", "config": {"input": "band", "values": {"一档": "200"}}}
    with pytest.raises(PayError) as caught:
        lookup_amount(component, band="九档")
    assert "1001 张三" in caught.value.message and "九档" in caught.value.message and "quota" in caught.value.message


def test_it_refuses_a_lookup_table_that_is_not_one():
    for config, field in [({"input": "score", "bands": [{"from": "0", "value": "1"}], "values": {"A": "1"}},
                           "components[0].config"),
                          ({"input": "score", "bands": [{"from": "5", "value": "1"}, {"from": "5", "value": "2"}]},
                           "components[0].config.bands[1].from"),
                          ({"input": "scroe", "bands": [{"from": "0", "value": "1"}]}, "components[0].config.input")]:
        with pytest.raises(ConfigError) as caught:
            lookup_amount({"code": "c", "kind": "lookup", "config": config})
        assert caught.value.field == field


def test_it_pays_seniority_from_the_table_in_a_pay_run(world_a):
    """S1-2: hired 1 March 2020 → 5 whole years at 31 October 2025 → 100.00; hired 1 October 2014 →
    11 years → 300.00."""
    save_policy(world_a.org, [SENIORITY])
    five, eleven = add_people(world_a.org, world_a.back_office, 2)
    with scope(organization=world_a.org):
        Person.objects.filter(pk=five.pk).update(hire_date=date(2020, 3, 1))
        Person.objects.filter(pk=eleven.pk).update(hire_date=date(2014, 10, 1))
    found = slips(compute(closed_period(world_a.org, {five: "80", eleven: "80"})))
    assert (found[five.name].amount("seniority"), found[eleven.name].amount("seniority")) == (D("100.00"),
                                                                                               D("300.00"))
