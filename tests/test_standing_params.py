"""Standing, effective-dated parameters of people and departments (issue #12 item 4, #17 item 5):
entered once, in force from a date; a new value closes the old one; pay formulas read a person's
by its name and a department's as dept_param_<name>, the value in force at the period's end, and a
pay input of the period with the same name overrides it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from organizations import standing_selectors
from organizations.models import Person, User
from organizations.standing import StandingParameter
from organizations.standing_services import end_standing_parameter, set_standing_parameter
from payroll import services as pay_services
from tests.closing import add_people
from tests.conftest import World
from tests.paying import closed_period, compute, save_policy, slips

D = Decimal
date = dt.date


def put(world: World, name: str, value: str, start: dt.date, *, person: Person | None = None,
        department: Any = None, acting_user: User | None = None) -> StandingParameter:
    with scope(organization=world.org):
        return set_standing_parameter(organization=world.org, acting_user=acting_user, name=name, value=D(value),
                                      effective_from=start, person=person, department=department)


def ranges(world: World, person: Person, name: str) -> list[tuple[dt.date, dt.date | None, Decimal]]:
    with scope(organization=world.org):
        return list(StandingParameter.objects.filter(person=person, name=name).order_by("effective_from")
                    .values_list("effective_from", "effective_to", "value"))


def on(world: World, day: dt.date, person: Person, name: str) -> Decimal | None:
    with scope(organization=world.org):
        people, _departments = standing_selectors.values_on(day, person_names=[name])
    return people.get(person.pk, {}).get(name)


# --- effective dating ----------------------------------------------------------------------------


def test_it_gives_the_value_in_force_on_a_date(world_a):
    clerk = world_a.people["colleague"]
    put(world_a, "skill", "1.1", date(2025, 1, 1), person=clerk)
    put(world_a, "skill", "1.3", date(2025, 7, 1), person=clerk)
    assert [on(world_a, day, clerk, "skill") for day in (date(2024, 12, 31), date(2025, 6, 30), date(2025, 7, 1))] \
        == [None, D("1.1"), D("1.3")]


def test_it_closes_the_previous_value_the_day_before_a_new_one(world_a):
    clerk = world_a.people["colleague"]
    put(world_a, "skill", "1.1", date(2025, 1, 1), person=clerk)
    put(world_a, "skill", "1.3", date(2025, 7, 1), person=clerk)
    assert ranges(world_a, clerk, "skill") == [(date(2025, 1, 1), date(2025, 6, 30), D("1.1")),
                                               (date(2025, 7, 1), None, D("1.3"))]


def test_it_ends_a_value_inserted_before_a_later_one_the_day_before_it(world_a):
    clerk = world_a.people["colleague"]
    put(world_a, "skill", "1.3", date(2025, 7, 1), person=clerk)
    put(world_a, "skill", "1.1", date(2025, 1, 1), person=clerk)
    assert ranges(world_a, clerk, "skill") == [(date(2025, 1, 1), date(2025, 6, 30), D("1.1")),
                                               (date(2025, 7, 1), None, D("1.3"))]


def test_it_writes_nothing_when_the_value_in_force_is_set_again(world_a):
    clerk = world_a.people["colleague"]
    first = put(world_a, "skill", "1.1", date(2025, 1, 1), person=clerk)
    again = put(world_a, "skill", "1.1", date(2025, 3, 1), person=clerk)
    with scope(organization=world_a.org):
        assert again.pk == first.pk and StandingParameter.history.count() == 1  # type: ignore[attr-defined]


def test_it_ends_a_value_with_an_audit_row_naming_who(world_a, hr):
    clerk = world_a.people["colleague"]
    row = put(world_a, "seniority", "300", date(2025, 1, 1), person=clerk, acting_user=hr)
    with scope(organization=world_a.org):
        end_standing_parameter(parameter=row, acting_user=hr, effective_to=date(2025, 9, 30))
        assert [(h.history_user, h.effective_to) for h in row.history.order_by("history_date")] == [
            (hr, None), (hr, date(2025, 9, 30))]
    assert on(world_a, date(2025, 10, 1), clerk, "seniority") is None


def test_it_refuses_an_end_before_the_start(world_a):
    row = put(world_a, "seniority", "300", date(2025, 1, 1), person=world_a.people["colleague"])
    with scope(organization=world_a.org), pytest.raises(ValidationError) as refused:
        end_standing_parameter(parameter=row, acting_user=None, effective_to=date(2024, 12, 31))
    assert "effective_to" in refused.value.message_dict


@pytest.mark.parametrize("name", ["score", "years_of_service", "dept_score", "line_WORK_money", "1st", "技能",
                                  "dept_param_x", "IF", "class"])
def test_it_refuses_a_name_pay_cannot_read_as_a_persons_parameter(world_a, name):
    with pytest.raises(ValidationError) as refused:
        put(world_a, name, "1", date(2025, 1, 1), person=world_a.people["colleague"])
    assert "name" in refused.value.message_dict
    with scope(organization=world_a.org):
        assert not StandingParameter.objects.exists()


def test_it_refuses_a_parameter_of_both_a_person_and_a_department(world_a):
    with pytest.raises(ValidationError):
        put(world_a, "skill", "1", date(2025, 1, 1), person=world_a.people["colleague"],
            department=world_a.back_office)


# --- pay -----------------------------------------------------------------------------------------


PERF = [{"code": "perf", "name": "绩效工资", "kind": "formula",
         "config": {"expression": "1000 * dept_param_business * skill + seniority"}}]


def _standing(world: World, clerk: Person) -> None:
    put(world, "business", "1.15", date(2025, 1, 1), department=world.back_office)
    put(world, "skill", "1.0", date(2025, 1, 1), person=clerk)
    put(world, "skill", "1.2345", date(2025, 10, 15), person=clerk)
    put(world, "skill", "2", date(2025, 11, 1), person=clerk)  # after October: not read
    put(world, "seniority", "120", date(2024, 1, 1), person=clerk)


def test_it_pays_a_persons_and_a_departments_parameter_in_force_at_the_periods_end(world_a):
    """October 2025, 综合办 business 1.15; skill 1.2345 from 15 October (1.0 before, 2 from
    November); seniority 120: 1000 × 1.15 × 1.2345 + 120 = 1419.675 + 120 = 1539.675 → 1539.68."""
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    _standing(world_a, clerk)
    save_policy(world_a.org, PERF)
    found = slips(compute(closed_period(world_a.org, {clerk: "80"})))[clerk.name]
    assert found.amount("perf") == D("1539.68")


def test_it_lets_a_pay_input_of_the_period_override_a_persons_parameter(world_a):
    """A period's skill 1.5 for the clerk: 1000 × 1.15 × 1.5 + 120 = 1845.00."""
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    _standing(world_a, clerk)
    save_policy(world_a.org, PERF)  # no need to declare skill: a standing parameter's name is an input
    closed = closed_period(world_a.org, {clerk: "80"})
    with scope(organization=world_a.org):
        pay_services.save_pay_input(organization=world_a.org, acting_user=None, period=closed, name="skill",
                                    person=clerk, value=D("1.5"))
    assert slips(compute(closed))[clerk.name].amount("perf") == D("1845.00")


def test_it_lets_a_departments_pay_input_of_the_period_override_its_parameter(world_a):
    """综合办's business for the period 1.3: 1000 × 1.3 × 1.2345 + 120 = 1604.85 + 120 = 1724.85."""
    (clerk,) = add_people(world_a.org, world_a.back_office, 1)
    _standing(world_a, clerk)
    save_policy(world_a.org, PERF)
    closed = closed_period(world_a.org, {clerk: "80"})
    with scope(organization=world_a.org):
        pay_services.save_pay_input(organization=world_a.org, acting_user=None, period=closed,
                                    name="dept_param_business", department=world_a.back_office, value=D("1.3"))
    assert slips(compute(closed))[clerk.name].amount("perf") == D("1724.85")


def test_it_names_the_parameter_a_person_lacks_in_the_failed_run(world_a):
    (clerk, newcomer) = add_people(world_a.org, world_a.back_office, 2)
    _standing(world_a, clerk)
    save_policy(world_a.org, PERF)
    closed = closed_period(world_a.org, {clerk: "80", newcomer: "80"})
    with pytest.raises(pay_services.PayRunFailed) as failed:
        compute(closed)
    assert "skill" in str(failed.value) and newcomer.employee_no in str(failed.value)


def _queries(world: World, count: int) -> int:
    people = add_people(world.org, world.back_office, count, prefix=f"q{world.org.slug}")
    put(world, "business", "1.15", date(2025, 1, 1), department=world.back_office)
    for person in people:
        put(world, "skill", "1.2", date(2025, 1, 1), person=person)
        put(world, "seniority", "100", date(2025, 1, 1), person=person)
    save_policy(world.org, PERF)
    period = closed_period(world.org, {p: "80" for p in people})
    ContentType.objects.clear_cache()
    with scope(organization=world.org), CaptureQueriesContext(connection) as captured:
        run = pay_services.compute_pay_run(period=period, acting_user=None, reason="closed")
    assert run is not None and run.people == count
    return len(captured.captured_queries)


def test_it_reads_everyones_parameters_in_a_fixed_number_of_queries(world_a, world_b):
    assert _queries(world_a, 2) == _queries(world_b, 9)


# --- API -----------------------------------------------------------------------------------------


def test_it_sets_a_value_through_the_api_closing_the_old_one(world_a, hr, api_for):
    clerk = world_a.people["colleague"]
    put(world_a, "skill", "1.1", date(2025, 1, 1), person=clerk)
    api = api_for(hr)
    created = api.post("/api/standing-parameters/", {"person": clerk.pk, "name": "skill", "value": "1.3",
                                                    "effective_from": "2025-07-01"}, format="json")
    assert created.status_code == 201 and created.json()["pay_name"] == "skill"
    listed = api.get("/api/standing-parameters/", {"person": clerk.pk, "on": "2025-06-30"}).json()
    assert [(row["value"], row["effective_to"]) for row in listed["results"]] == [("1.1000", "2025-06-30")]


def test_it_answers_404_for_another_organisations_parameter(world_a, world_b, hr, api_for):
    theirs = put(world_b, "business", "1.2", date(2025, 1, 1), department=world_b.back_office)
    api = api_for(hr)
    assert api.get(f"/api/standing-parameters/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/standing-parameters/{theirs.pk}/end/", {"effective_to": "2025-12-31"},
                    format="json").status_code == 404
    refused = api.post("/api/standing-parameters/", {"department": world_b.back_office.pk, "name": "business",
                                                    "value": "2", "effective_from": "2025-01-01"}, format="json")
    assert refused.status_code == 400 and "department" in refused.json()


def test_it_keeps_parameters_from_a_head(world_a, head, api_for):
    assert api_for(head).get("/api/standing-parameters/").status_code == 403


# --- pages ---------------------------------------------------------------------------------------


def test_it_lists_a_persons_parameters_on_their_page(client: Client, world_a, hr):
    clerk = world_a.people["colleague"]
    put(world_a, "seniority", "120", date(2025, 1, 1), person=clerk)
    client.force_login(hr)
    page = client.get(reverse("person-detail", args=[clerk.pk])).content.decode()
    assert 'id="standing-parameters"' in page and 'data-parameter="seniority"' in page and ">120<" in page
    assert reverse("person-parameter-new", args=[clerk.pk]) in page


def test_it_hides_a_persons_parameters_from_their_head(client: Client, world_a, head):
    put(world_a, "seniority", "120", date(2025, 1, 1), person=world_a.people["employee"])
    client.force_login(head)
    page = client.get(reverse("person-detail", args=[world_a.people["employee"].pk]))
    assert page.status_code == 200 and b'id="standing-parameters"' not in page.content


def test_it_adds_a_persons_parameter_from_their_page(client: Client, world_a, hr):
    clerk = world_a.people["colleague"]
    client.force_login(hr)
    response = client.post(reverse("person-parameter-new", args=[clerk.pk]),
                           {"name": "skill", "value": "1.25", "effective_from": "2025-01-01"})
    assert response.status_code == 302
    assert ranges(world_a, clerk, "skill") == [(date(2025, 1, 1), None, D("1.25"))]


def test_it_shows_the_field_a_bad_name_is_refused_on(client: Client, world_a, hr):
    client.force_login(hr)
    response = client.post(reverse("person-parameter-new", args=[world_a.people["colleague"].pk]),
                           {"name": "score", "value": "1", "effective_from": "2025-01-01"})
    assert response.status_code == 400 and response.context["form"].errors.get("name")


def test_it_ends_a_department_parameter_from_its_page(client: Client, world_a, hr):
    row = put(world_a, "business", "1.15", date(2025, 1, 1), department=world_a.back_office)
    client.force_login(hr)
    page = client.get(reverse("department-parameters")).content.decode()
    assert 'data-parameter="business"' in page and "dept_param_business" in page
    response = client.post(reverse("standing-parameter-end", args=[row.pk]), {"effective_to": "2025-12-31"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert StandingParameter.objects.get(pk=row.pk).effective_to == date(2025, 12, 31)


def test_it_answers_404_for_another_organisations_parameter_page(client: Client, world_a, world_b, hr):
    theirs = put(world_b, "business", "1.2", date(2025, 1, 1), department=world_b.back_office)
    client.force_login(hr)
    assert client.post(reverse("standing-parameter-end", args=[theirs.pk]),
                       {"effective_to": "2025-12-31"}).status_code == 404
    assert client.get(reverse("person-parameter-new", args=[world_b.people["colleague"].pk])).status_code == 404


def test_it_adds_a_department_parameter_from_its_page(client: Client, world_a, hr):
    client.force_login(hr)
    response = client.post(reverse("department-parameter-new"), {
        "department": world_a.back_office.pk, "name": "business", "value": "1.15", "effective_from": "2025-01-01"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert list(StandingParameter.objects.values_list("department_id", "name", "value")) == [
            (world_a.back_office.pk, "business", D("1.15"))]


def test_it_corrects_a_value_in_place_through_the_api(world_a, hr, api_for):
    row = put(world_a, "business", "1.15", date(2025, 1, 1), department=world_a.back_office)
    api = api_for(hr)
    assert api.patch(f"/api/standing-parameters/{row.pk}/", {"value": "1.2"}, format="json").status_code == 200
    moved = api.patch(f"/api/standing-parameters/{row.pk}/", {"effective_from": "2025-02-01"}, format="json")
    assert moved.status_code == 400 and "effective_from" in moved.json()
    with scope(organization=world_a.org):
        assert list(StandingParameter.objects.values_list("effective_from", "value")) == [(date(2025, 1, 1),
                                                                                            D("1.2"))]
