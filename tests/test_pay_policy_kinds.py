"""Pay policies that need no grade (#12, item 11: piece rates, S1-2, S1-6) and pay policies per
period kind (#12, item 5: a quarterly and an annual policy for the same people, S1-4).

A policy that needs no grade pays everyone it applies to who has a result; one that needs a grade
names, in the run's notes, who lacks one. For one department type a policy of the period's kind
wins over one of any kind; two equally specific are refused when saved and, for data saved before
that check, fail the run.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal.models import Period, Result
from organizations import services as org_services
from organizations.models import DepartmentType, Person, User
from payroll import services
from payroll.models import PayPolicy, PayRun
from tests.conftest import World
from tests.paying import closed_period, compute, slips
from tests.test_pay_runs import S19

D = Decimal
# S1-2-like piece rate: 12.35 CNY a piece, no grade read.
PIECES = [{"code": "piece", "name": "计件工资", "kind": "formula", "config": {"expression": "pieces * 12.35"}}]


def production(world: World) -> DepartmentType:
    with scope(organization=world.org):
        return DepartmentType.objects.get(code="production")


def fixed(amount: str) -> list[dict[str, Any]]:
    return [{"code": "bonus", "name": "奖金", "kind": "fixed", "config": {"amount": amount}}]


def save(world: World, code: str, components: list[dict[str, Any]], **kwargs: Any) -> PayPolicy:
    kwargs.setdefault("department_type", production(world))
    with scope(organization=world.org):
        return services.save_pay_policy(organization=world.org, acting_user=None, code=code, name=f"办法{code}",
                                        components=components,
                                        effective_from=kwargs.pop("effective_from", dt.date(2025, 1, 1)), **kwargs)


def add_jia(world: World) -> Person:
    """甲, in production."""
    with scope(organization=world.org):
        return org_services.create_person(organization=world.org, acting_user=None, employee_no="J1", name="甲",
                                          department=world.production, base_pay=D("3000"))


def set_pieces(period: Period, pieces: dict[Any, str]) -> None:
    with scope(organization=period.organization):
        for person, value in pieces.items():
            services.save_pay_input(organization=period.organization, acting_user=None, period=period,
                                    name="pieces", person=person, value=D(value))


def piece_period(world: World, **policy: Any) -> tuple[Period, Person]:
    """A closed monthly period: 甲 (production) scores 95 (graded S); the world's people are exempt
    (a result without a grade). A piece-rate policy for production; pieces for everyone it applies to:
    甲 40, head-a 0, employee-a (运行部, production type) 37."""
    save(world, "PIECE", PIECES, inputs=["pieces"], **policy)
    jia = add_jia(world)
    period = closed_period(world.org, {jia: "95"})
    set_pieces(period, {jia: "40", world.people["head"]: "0", world.people["employee"]: "37"})
    return period, jia


# --- pay without grades ---------------------------------------------------------------------------


def test_it_pays_an_ungraded_person_when_the_policy_needs_no_grade(world_a):
    """甲 40 × 12.35 = 494.00; employee-a (exempt, no grade) 37 × 12.35 = 456.95; head-a 0.00."""
    period, jia = piece_period(world_a, requires_grade=False)
    run = compute(period)
    found = slips(run)
    employee = world_a.people["employee"].name
    assert {name: slip.amount("piece") for name, slip in found.items()} == {
        jia.name: D("494.00"), employee: D("456.95"), world_a.people["head"].name: D("0.00")}
    assert found[employee].grade == ""
    assert run.total == D("950.95")


def test_it_names_and_does_not_pay_an_ungraded_person_when_the_policy_needs_a_grade(world_a):
    period, jia = piece_period(world_a)  # requires_grade: True by default
    run = compute(period)
    assert set(slips(run)) == {jia.name}
    with scope(organization=world_a.org):
        policy = PayPolicy.objects.get(code="PIECE")
    noted = [line for line in run.notes.splitlines() if "a-employee employee-a" in line]
    assert len(noted) == 1 and str(policy) in noted[0]


def test_it_fails_naming_the_person_and_the_grade_when_a_component_reads_a_missing_grade(world_a):
    save(world_a, "S19", S19, requires_grade=False)
    jia = add_jia(world_a)
    period = closed_period(world_a.org, {jia: "95"})
    with pytest.raises(services.PayRunFailed) as failed:
        compute(period)
    # Ordered by department then employee number: head-a (exempt, production) is the first without a grade.
    assert "a-head head-a" in failed.value.args[0] and "grade = " in failed.value.args[0]
    with scope(organization=world_a.org):
        assert not PayRun.objects.filter(period=period).exists()


def test_it_shows_hr_the_people_left_out_on_the_pay_run_page(client: Client, hr: User, world_a: World) -> None:
    period, _jia = piece_period(world_a)
    run = compute(period)
    client.force_login(hr)
    response = client.get(reverse("pay-run-detail", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    notes = html[html.index('id="pay-run-notes"'):]
    notes = notes[:notes.index("</div>")]
    assert "a-employee employee-a" in notes and "办法PIECE v1" in notes  # who, and the policy that needs a grade


def _piece_queries(world: World, count: int) -> int:
    save(world, "PIECE", PIECES, inputs=["pieces"], requires_grade=False, department_type=None)
    with scope(organization=world.org):
        people = [org_services.create_person(organization=world.org, acting_user=None, employee_no=f"Q{i}",
                                             name=f"计件{i}", department=world.production) for i in range(count)]
    period = closed_period(world.org, dict.fromkeys(people, "80"))
    with scope(organization=world.org):
        everyone = [r.person for r in Result.objects.filter(period=period).select_related("person")]
    set_pieces(period, dict.fromkeys(everyone, "3"))
    ContentType.objects.clear_cache()
    with scope(organization=world.org), CaptureQueriesContext(connection) as captured:
        run = services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None and run.people == count + len(world.people)  # the ungraded world is paid too
    return len(captured.captured_queries)


def test_it_pays_ungraded_people_in_a_fixed_number_of_queries(world_a, world_b):
    assert _piece_queries(world_a, 2) == _piece_queries(world_b, 8)


# --- policies per period kind ---------------------------------------------------------------------


def kinds_world(world: World) -> Person:
    """A quarterly (1234.56), an annual (9876.54) and an any-kind (100.00) policy for production,
    and 甲 in production."""
    save(world, "PQ", fixed("1234.56"), period_kind="quarterly")
    save(world, "PA", fixed("9876.54"), period_kind="annual")
    save(world, "PX", fixed("100.00"))
    return add_jia(world)


def test_it_saves_a_quarterly_and_an_annual_policy_for_one_department_type(world_a):
    kinds_world(world_a)
    with scope(organization=world_a.org):
        saved = list(PayPolicy.objects.order_by("code").values_list("code", "period_kind", "department_type__code"))
    assert saved == [("PA", "annual", "production"), ("PQ", "quarterly", "production"), ("PX", "", "production")]


def test_it_pays_a_quarterly_period_by_the_quarterly_policy(world_a):
    jia = kinds_world(world_a)
    run = compute(closed_period(world_a.org, {jia: "95"}, kind="quarterly", number=4))
    assert slips(run)[jia.name].amount("bonus") == D("1234.56")
    assert run.policies == {"production": "PQ v1"}


def test_it_pays_an_annual_period_by_the_annual_policy(world_a):
    jia = kinds_world(world_a)
    run = compute(closed_period(world_a.org, {jia: "95"}, kind="annual", number=1))
    assert slips(run)[jia.name].amount("bonus") == D("9876.54")
    assert run.policies == {"production": "PA v1"}


def test_it_pays_a_monthly_period_by_the_policy_of_any_kind(world_a):
    jia = kinds_world(world_a)
    run = compute(closed_period(world_a.org, {jia: "95"}, kind="monthly", number=10))
    assert slips(run)[jia.name].amount("bonus") == D("100.00")


def test_it_refuses_to_save_a_second_quarterly_policy_for_the_same_people_and_days(world_a):
    save(world_a, "PQ", fixed("1234.56"), period_kind="quarterly")
    with pytest.raises(services.PolicyRejected) as refused:
        save(world_a, "PQ2", fixed("1.00"), period_kind="quarterly", effective_from=dt.date(2025, 7, 1))
    assert refused.value.field == "period_kind" and "PQ v1" in refused.value.message
    with scope(organization=world_a.org):
        assert not PayPolicy.objects.filter(code="PQ2").exists()


def test_it_saves_a_second_quarterly_policy_on_days_the_first_is_not_in_force(world_a):
    save(world_a, "PQ", fixed("1234.56"), period_kind="quarterly")
    earlier = save(world_a, "PQ-OLD", fixed("1.00"), period_kind="quarterly", effective_from=dt.date(2024, 1, 1),
                   effective_to=dt.date(2024, 12, 31))
    assert earlier.pk is not None


def test_it_judges_a_clash_by_the_version_in_force_not_by_an_older_one(world_a):
    """PQ v2 made PQ annual: a new quarterly policy no longer clashes, a new annual one does."""
    save(world_a, "PQ", fixed("1234.56"), period_kind="quarterly")
    save(world_a, "PQ", fixed("1234.56"), period_kind="annual")
    assert save(world_a, "NEWQ", fixed("1.00"), period_kind="quarterly").pk is not None
    with pytest.raises(services.PolicyRejected) as refused:
        save(world_a, "NEWA", fixed("1.00"), period_kind="annual")
    assert "PQ v2" in refused.value.message


def test_it_fails_the_run_when_two_quarterly_policies_saved_before_the_check_apply(world_a):
    jia = kinds_world(world_a)
    with scope(organization=world_a.org):
        first = PayPolicy.objects.get(code="PQ")
        PayPolicy.objects.create(organization=world_a.org, code="PQ2", name="办法PQ2", department_type=production(
            world_a), effective_from=dt.date(2025, 1, 1), period_kind="quarterly", components=fixed("1.00"))
    period = closed_period(world_a.org, {jia: "95"}, kind="quarterly", number=4)
    with pytest.raises(services.PayRunFailed) as failed:
        compute(period)
    assert str(first) in failed.value.args[0] and "办法PQ2 v1" in failed.value.args[0]


def test_it_takes_a_code_off_a_kind_when_its_latest_version_is_for_another_kind(world_a):
    """P v1 (any kind) and P v2 (annual only), same dates: a monthly period has no policy."""
    save(world_a, "P", fixed("100.00"))
    save(world_a, "P", fixed("200.00"), period_kind="annual")
    with scope(organization=world_a.org):
        monthly = Period(organization=world_a.org, kind="monthly", start=dt.date(2025, 10, 1),
                         end=dt.date(2025, 10, 31))
        annual = Period(organization=world_a.org, kind="annual", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
        assert services.policies_for(monthly) == []
        assert [(p.code, p.version) for p in services.policies_for(annual)] == [("P", 2)]


# --- form, page and API ---------------------------------------------------------------------------


def policy_post(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"code": "PQ", "name": "季度奖", "department_type": production(world).pk,
                            "effective_from": "2025-01-01", "effective_to": "", "period_kind": "quarterly",
                            "components": json.dumps(fixed("1234.56")), "inputs": "", "text_inputs": ""}
    data.update(overrides)
    return data


def test_it_saves_the_period_kind_and_pays_ungraded_from_the_form(client: Client, hr: User, world_a: World) -> None:
    client.force_login(hr)
    response = client.post(reverse("pay-policy-new"), policy_post(world_a, pays_ungraded="on"))
    with scope(organization=world_a.org):
        saved = PayPolicy.objects.get(code="PQ")
    assert response.status_code == 302
    assert (saved.period_kind, saved.requires_grade) == ("quarterly", False)


def test_it_keeps_requires_grade_when_the_form_is_posted_without_the_box(client: Client, hr: User,
                                                                          world_a: World) -> None:
    client.force_login(hr)
    client.post(reverse("pay-policy-new"), policy_post(world_a, period_kind=""))
    with scope(organization=world_a.org):
        assert PayPolicy.objects.values_list("period_kind", "requires_grade").get(code="PQ") == ("", True)


def test_it_shows_a_clash_on_the_period_kind_field_and_saves_nothing(client: Client, hr: User,
                                                                     world_a: World) -> None:
    save(world_a, "OTHER", fixed("1.00"), period_kind="quarterly")
    client.force_login(hr)
    response = client.post(reverse("pay-policy-new"), policy_post(world_a))
    html = response.content.decode()
    assert response.status_code == 400
    field = html[html.index('id="field-period_kind"'):html.index('id="field-pays_ungraded"')]
    assert "field-error" in field and "OTHER v1" in field
    with scope(organization=world_a.org):
        assert not PayPolicy.objects.filter(code="PQ").exists()


def test_it_shows_the_period_kind_and_grade_rule_on_the_policy_page(client: Client, hr: User,
                                                                    world_a: World) -> None:
    policy = save(world_a, "PQ", fixed("1.00"), period_kind="quarterly", requires_grade=False)
    client.force_login(hr)
    html = client.get(reverse("pay-policy-detail", args=[policy.pk])).content.decode()
    assert 'id="pay-policy-period-kind" data-kind="quarterly"' in html
    assert 'id="pay-policy-requires-grade" data-requires-grade="0"' in html
    edit = client.get(reverse("pay-policy-new-version", args=[policy.pk])).content.decode()
    assert 'value="quarterly" selected' in edit
    box = edit[edit.index('id="field-pays_ungraded"'):]
    assert "checked" in box[:box.index("</div>")]


def test_it_saves_and_shows_the_period_kind_and_requires_grade_through_the_api(api_for: Any, hr: User,
                                                                               world_a: World) -> None:
    body = {"code": "PA", "name": "年度奖", "effective_from": "2025-01-01", "department_type": production(world_a).pk,
            "period_kind": "annual", "requires_grade": False, "components": fixed("9876.54")}
    response = api_for(hr).post(reverse("api-payroll:pay-policy-list"), body, format="json")
    assert response.status_code == 201
    assert (response.json()["period_kind"], response.json()["requires_grade"]) == ("annual", False)


def test_it_refuses_a_clash_and_an_unknown_kind_through_the_api(api_for: Any, hr: User, world_a: World) -> None:
    save(world_a, "OTHER", fixed("1.00"), period_kind="annual")
    client = api_for(hr)
    body = {"code": "PA", "name": "年度奖", "effective_from": "2025-01-01", "department_type": production(world_a).pk,
            "period_kind": "annual", "components": fixed("9876.54")}
    clash = client.post(reverse("api-payroll:pay-policy-list"), body, format="json")
    assert clash.status_code == 400 and "OTHER v1" in clash.json()["period_kind"][0]
    unknown = client.post(reverse("api-payroll:pay-policy-list"), body | {"period_kind": "weekly"}, format="json")
    assert unknown.status_code == 400 and "period_kind" in unknown.json()
