"""A department's or team's result reaches its people's pay (#12, item 1): the standard inputs
dept_*, team_*, unit_*, dept_up<n>_* and dept_type_<TYPE>_* (score, coefficient, rank, grade),
read for the whole period at once, refused when misspelt, never another organisation's."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from organizations import services as org_services
from organizations.models import DepartmentType
from payroll import services
from tests.closing import person_template
from tests.paying import closed_period, compute, save_policy, slips, unit_template

D = Decimal


def person(world: Any, number: str, department: Any, *, team: Any = None, base_pay: str = "3000") -> Any:
    with scope(organization=world.org):
        return org_services.create_person(organization=world.org, acting_user=None, employee_no=number,
                                          name=f"员工{number}", department=department, team=team,
                                          base_pay=D(base_pay))


def templates(world: Any, *kinds: str) -> list[Any]:
    chosen = [person_template(world.org)]
    with scope(organization=world.org):
        chosen += [unit_template(world.org, kind) for kind in kinds]
    return chosen


def test_it_pays_a_shift_by_its_shift_score_and_others_by_their_department_score(world_a):
    """S0-2 (热电二厂): pay coefficient = the unit's score / 100; a shift (运行值) is paid on its shift
    score, the staff of a department on the department's.

    甲 (运行一值, base 2345.67): shift score 96.5 → 2345.67 × 96.5 / 100 = 2263.57155 → 2263.57;
    his department 运行部 scores 104 → dept part 2345.67 × 104 / 100 = 2439.4968 → 2439.50.
    乙 (生产部, no shift, base 3000): unit = his department, 88.8 → 3000 × 0.888 = 2664.00."""
    save_policy(world_a.org, [
        {"code": "perf", "name": "绩效工资", "kind": "formula",
         "config": {"expression": "base_salary * unit_score / 100"}},
        {"code": "dept_part", "name": "部门系数工资", "kind": "formula", "pays": False,
         "config": {"expression": "base_salary * dept_score / 100"}}])
    jia = person(world_a, "J1", world_a.shift_dept, team=world_a.shift, base_pay="2345.67")
    yi = person(world_a, "Y1", world_a.production)
    period = closed_period(world_a.org, {jia: "80", yi: "80", world_a.shift: "96.5", world_a.shift_dept: "104",
                                         world_a.production: "88.8"}, templates=templates(world_a, "team",
                                                                                           "department"))
    found = slips(compute(period))
    assert found[jia.name].amount("perf") == D("2263.57")
    assert next(line["amount"] for line in found[jia.name].lines if line["code"] == "dept_part") == "2439.50"
    assert found[yi.name].amount("perf") == D("2664.00")


def test_it_pays_by_the_departments_grade_coefficient_and_grade(world_a):
    """S1-5 (balanced scorecard): the department's score drives its people's performance pay. The
    department scores 85 → grade A (S1-4 bands) → coefficient 1.1: quota 1800 × 1.1 = 1980.00;
    the same by the grade table read with dept_grade: A → 1.05 → 1800 × 1.05 = 1890.00."""
    save_policy(world_a.org, [
        {"code": "perf", "kind": "grade_coefficient", "config": {"coefficient": "dept_coefficient", "quota": "1800"}},
        {"code": "by_grade", "kind": "grade_coefficient", "pays": False,
         "config": {"grade_input": "dept_grade", "coefficients": {"S": "1.1", "A": "1.05", "B": "1", "C": "0.9"},
                    "quota": "1800"}}])
    doctor = person(world_a, "D1", world_a.back_office)
    period = closed_period(world_a.org, {doctor: "75", world_a.back_office: "85"},
                           templates=templates(world_a, "department"))
    slip = slips(compute(period))[doctor.name]
    assert slip.amount("perf") == D("1980.00")
    assert next(line["amount"] for line in slip.lines if line["code"] == "by_grade") == "1890.00"


def test_it_reads_ancestors_by_level_and_by_department_type(world_a):
    """S1-8 (bank): an outlet (网点) under the sub-branch's 生产部 (type production). The outlet
    scores 95, 生产部 90. Pay = 1000 × (0.6 × own outlet + 0.4 × the production ancestor) / 100
    = 1000 × (57 + 36) / 100 = 930.00; dept_up1_score (the parent) is 生产部's 90 → 900.00."""
    with scope(organization=world_a.org):
        outlet_type = DepartmentType.objects.get(code="outlet")
        outlet = org_services.create_department(organization=world_a.org, acting_user=None, code="OUT-1",
                                                name="城东网点", parent=world_a.production,
                                                department_type=outlet_type)
    save_policy(world_a.org, [
        {"code": "perf", "kind": "formula", "config": {
            "expression": "1000 * (0.6 * dept_type_outlet_score + 0.4 * dept_type_production_score) / 100"}},
        {"code": "parent", "kind": "formula", "pays": False, "config": {"expression": "1000 * dept_up1_score / 100"}},
    ])
    teller = person(world_a, "T1", outlet)
    period = closed_period(world_a.org, {teller: "80", outlet: "95", world_a.production: "90"},
                           templates=templates(world_a, "department"))
    slip = slips(compute(period))[teller.name]
    assert slip.amount("perf") == D("930.00")
    assert next(line["amount"] for line in slip.lines if line["code"] == "parent") == "900.00"


def test_it_feeds_the_departments_score_into_its_pool(world_a):
    """S1-6 (分类目标考核法): the department's pool = 9000 × its score 92.35 / 100 = 8311.50, split
    equally among its three people: 2770.50 each, adding up to the pool to the fen."""
    save_policy(world_a.org, [
        {"code": "pool", "kind": "formula", "pays": False, "config": {"expression": "9000 * dept_score / 100"}},
        {"code": "share", "kind": "pool_split", "config": {"pool": "pool"}}])
    people = [person(world_a, f"N{i}", world_a.back_office) for i in range(3)]
    period = closed_period(world_a.org, {**{p: "80" for p in people}, world_a.back_office: "92.35"},
                           templates=templates(world_a, "department"))
    found = slips(compute(period))
    assert [found[p.name].amount("share") for p in people] == [D("2770.50")] * 3


def test_it_reads_the_units_rank(world_a):
    """Rank within the departments of the period: 生产部 95 first, 综合办 70 second."""
    save_policy(world_a.org, [{"code": "rank_bonus", "kind": "formula",
                               "config": {"expression": "IF(dept_rank == 1, 500, 0)"}}])
    first, second = person(world_a, "R1", world_a.production), person(world_a, "R2", world_a.back_office)
    period = closed_period(world_a.org, {first: "80", second: "80", world_a.production: "95",
                                         world_a.back_office: "70"}, templates=templates(world_a, "department"))
    found = slips(compute(period))
    assert (found[first.name].amount("rank_bonus"), found[second.name].amount("rank_bonus")) == (D("500.00"),
                                                                                                 D("0.00"))


def test_it_names_the_person_and_the_input_when_their_unit_has_no_result(world_a):
    save_policy(world_a.org, [{"code": "perf", "kind": "formula", "config": {"expression": "10 * dept_score"}}])
    lone = person(world_a, "L1", world_a.back_office)
    period = closed_period(world_a.org, {lone: "80"})  # no department template: no department results
    with scope(organization=world_a.org), pytest.raises(services.PayRunFailed) as caught:
        services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert "L1" in str(caught.value) and "dept_score" in str(caught.value)


@pytest.mark.parametrize("expression", ["dept_scroe / 100", "dept_type_nosuch_score / 100", "dept_up9_score"])
def test_it_refuses_a_misspelt_unit_name_when_the_policy_is_saved(world_a, expression):
    with pytest.raises(services.PolicyRejected) as caught:
        save_policy(world_a.org, [{"code": "perf", "kind": "formula", "config": {"expression": expression}}])
    assert caught.value.field == "components[0].config.expression"


def test_it_refuses_another_organisations_department_type(world_a, world_b):
    with scope(organization=world_b.org):
        DepartmentType.objects.create(organization=world_b.org, code="b_only", name="乙方专有")
    save_policy(world_b.org, [{"code": "perf", "kind": "formula", "config": {"expression": "dept_type_b_only_score"}}])
    with pytest.raises(services.PolicyRejected):
        save_policy(world_a.org, [{"code": "perf", "kind": "formula",
                                   "config": {"expression": "dept_type_b_only_score"}}])


def test_it_pays_each_organisation_from_its_own_unit_results(world_a, world_b):
    """Both organisations close the same month; their departments score 90 and 60."""
    paid = {}
    for world, score in ((world_a, "90"), (world_b, "60")):
        save_policy(world.org, [{"code": "perf", "kind": "formula", "config": {"expression": "10 * dept_score"}}])
        someone = person(world, f"{world.org.slug}-I1", world.back_office)
        period = closed_period(world.org, {someone: "80", world.back_office: score},
                               templates=templates(world, "department"))
        paid[world.org.slug] = slips(compute(period))[someone.name].amount("perf")
    assert paid == {world_a.org.slug: D("900.00"), world_b.org.slug: D("600.00")}


def _queries(world: Any, count: int) -> int:
    chosen = templates(world, "team", "department")  # the indicators whose line names the policy reads
    save_policy(world.org, [{"code": "perf", "kind": "formula", "config": {
        "expression": "team_score + dept_score + dept_up1_score + unit_score + dept_type_production_score"
                      " + days_worked + years_of_service + is_quarter_end + line_WORK_points + sheet_money"}}])
    people = [person(world, f"Q{world.org.slug}-{i}", world.shift_dept, team=world.shift) for i in range(count)]
    with scope(organization=world.org):
        type(people[0]).objects.filter(pk__in=[p.pk for p in people]).update(hire_date="2020-03-01")
    period = closed_period(world.org, {**{p: "80" for p in people}, world.shift: "90", world.shift_dept: "95",
                                       world.production: "85"}, templates=chosen)
    ContentType.objects.clear_cache()  # both measured runs look their content type up once
    with scope(organization=world.org), CaptureQueriesContext(connection) as captured:
        run = services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None and run.people == count
    return len(captured.captured_queries)


def test_it_reads_everyones_unit_results_in_a_fixed_number_of_queries(world_a, world_b):
    """The same policy (unit results, sheet lines, period and person facts) for 2 people and for 9:
    the same number of queries (each organisation's first period: no balances carried over)."""
    assert _queries(world_a, 2) == _queries(world_b, 9)


def test_it_compiles_the_callers_standard_names_as_standard_inputs() -> None:
    """The engine knows the pay run's names only when told (standard=): unknown without, and once
    known a component may not take one as its code."""
    from core.configs import ConfigError
    from payroll.engine import compile_policy

    reads = [{"code": "perf", "kind": "formula", "config": {"expression": "10 * dept_score"}}]
    with pytest.raises(ConfigError):
        compile_policy(reads)
    assert compile_policy(reads, standard=["dept_score"]).required_inputs == {"dept_score"}
    with pytest.raises(ConfigError) as caught:
        compile_policy([{"code": "dept_grade", "kind": "fixed", "config": {"amount": "1"}}],
                       standard_texts=["dept_grade"])
    assert caught.value.field == "components[0].code" and "dept_grade" in caught.value.message
