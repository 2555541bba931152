"""The pay API: policies, inputs, runs (slips, delta, confirm, exports), slips, pay jobs and the
period's pay-run action.

Tenancy first: every route of payroll.api_urls, detail and custom action, answers 404 for another
organisation's object and lists never show its rows (the walks read the router, so a new viewset
is covered without touching this file); listing follows the matrix for every role. Then the
behaviours. Assertions use codes, data and names, not the wording.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from openpyxl import load_workbook

from organizations import services as org_services
from organizations.models import Membership, User
from organizations.permissions import MATRIX
from payroll import api_urls, exports, services
from payroll.models import PayBudget, PayInput, PayRun, PaySlip
from payroll.tasks import compute_pay_run_task
from tests.conftest import World, add_member
from tests.test_pay_runs import closed_period, compute, pay_policy

NAMESPACE = "api-payroll"
ROUTES = [(prefix, viewset, basename) for prefix, viewset, basename in api_urls.router.registry]
LISTED = [route for route in ROUTES if hasattr(route[1], "list")]
DETAILED = [route for route in ROUTES if hasattr(route[1], "retrieve")]
ACTIONS = [
    (basename, viewset, extra)
    for _prefix, viewset, basename in api_urls.router.registry
    for extra in viewset.get_extra_actions()
    if getattr(extra, "detail", False)
]
ACTION_IDS = [f"{basename}-{getattr(extra, 'url_name', '')}" for basename, _viewset, extra in ACTIONS]
ROLE_FIXTURES = ["hr", "head", "employee", "finance", "supervisor"]


def url(name: str, *args: Any) -> str:
    return reverse(f"{NAMESPACE}:{name}", args=args)


def object_of(world: World, model: type[Any]) -> Any:
    with scope(organization=world.org):
        return model.objects.filter(organization=world.org).first()


def paid_world(world: World, django_capture_on_commit_callbacks: Any) -> PayRun:
    """A policy, a closed period with a computed run, an input, a budget, a computation job and a
    finished export: one row of every kind the pay API shows."""
    pay_policy(world.org)
    period, people = closed_period(world, ["95", "75"], quotas=[])
    run = compute(period)
    with scope(organization=world.org):
        PayInput.objects.create(organization=world.org, period=period, person=people[0], name="base_salary",
                                value=Decimal("3000"))
        PayBudget.objects.create(organization=world.org, period=period, department=world.production,
                                 amount=Decimal("100000"))
        compute_pay_run_task.apply(kwargs={"organization_id": world.org.pk, "period_id": period.pk,
                                           "reason": "rerun"})
        with django_capture_on_commit_callbacks(execute=True):
            exports.start_export(run=run, kind="pay_sheet", fmt="xlsx", acting_user=None)
    return run


@pytest.fixture
def pay_admin(world_a: World) -> User:
    """HR and finance at once in A: every pay permission there, none in B."""
    return add_member(world_a, "payadmin", person=None, hr=True, finance=True)


@pytest.fixture
def paid(world_a: World, world_b: World, django_capture_on_commit_callbacks: Any) -> tuple[PayRun, PayRun]:
    return paid_world(world_a, django_capture_on_commit_callbacks), paid_world(world_b,
                                                                                django_capture_on_commit_callbacks)


def member_for(world: World, user_name: str, person: Any, **roles: Any) -> User:
    user = User.objects.create_user(username=user_name, password="pw-" + user_name)
    with scope(organization=world.org):
        org_services.create_membership(organization=world.org, acting_user=None, user=user, person=person, **roles)
    return user


# --- tenancy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix,viewset,basename", DETAILED, ids=[r[2] for r in DETAILED])
@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_it_answers_404_for_another_tenants_object_on_every_detail_route(
    prefix: str, viewset: Any, basename: str, method: str, api_for: Any, pay_admin: User, paid: Any,
    world_a: World, world_b: World,
) -> None:
    target = object_of(world_b, viewset.model)
    assert target is not None, f"fixture has no {viewset.model.__name__} in org B"
    client = api_for(pay_admin)
    response = getattr(client, method)(url(f"{basename}-detail", target.pk), {}, format="json")
    # 405 where the route has no such method, 403 where nobody may write (pay slips): then A's own
    # row answers the same, so the answer never tells whether the id exists elsewhere.
    assert response.status_code in (404, 405, 403), response.content
    if response.status_code != 404:
        own = object_of(world_a, viewset.model)
        own_status = getattr(client, method)(url(f"{basename}-detail", own.pk), {}, format="json").status_code
        assert own_status == response.status_code


@pytest.mark.parametrize("prefix,viewset,basename", LISTED, ids=[r[2] for r in LISTED])
def test_it_never_lists_another_tenants_rows(
    prefix: str, viewset: Any, basename: str, api_for: Any, pay_admin: User, paid: Any, world_b: World
) -> None:
    foreign = object_of(world_b, viewset.model)
    response = api_for(pay_admin).get(url(f"{basename}-list"))
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids and foreign.pk not in ids


@pytest.mark.parametrize("basename,viewset,extra", ACTIONS, ids=ACTION_IDS)
def test_it_answers_404_for_another_tenants_object_on_every_custom_action(
    basename: str, viewset: Any, extra: Any, api_for: Any, pay_admin: User, paid: Any, world_b: World
) -> None:
    target = object_of(world_b, viewset.model)
    client = api_for(pay_admin)
    for method in extra.mapping:
        response = getattr(client, method)(url(f"{basename}-{extra.url_name}", target.pk), {}, format="multipart")
        assert response.status_code == 404, (method, response.content)


@pytest.mark.parametrize("prefix,viewset,basename", LISTED, ids=[r[2] for r in LISTED])
@pytest.mark.parametrize("role_fixture", ROLE_FIXTURES)
def test_it_allows_listing_exactly_as_the_matrix_says(
    prefix: str, viewset: Any, basename: str, role_fixture: str, request: Any, api_for: Any, db: None
) -> None:
    from organizations.context import build_context

    user = request.getfixturevalue(role_fixture)
    with scopes_disabled():
        membership = Membership.objects.get(user=user)
    with scope(organization=membership.organization):
        roles = build_context(membership).roles
    allowed = not roles.isdisjoint(MATRIX[viewset.permission_resource]["view"])
    assert api_for(user).get(url(f"{basename}-list")).status_code == (200 if allowed else 403)


def test_it_describes_every_pay_endpoint_in_the_schema(client: Any, db: None) -> None:
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for expected in ["/api/pay-policies/", "/api/pay-inputs/", "/api/pay-runs/{id}/", "/api/pay-runs/{id}/slips/",
                     "/api/pay-runs/{id}/delta/", "/api/pay-runs/{id}/confirm/", "/api/pay-runs/{id}/exports/",
                     "/api/pay-slips/{id}/", "/api/pay-jobs/{id}/", "/api/pay-jobs/{id}/download/",
                     "/api/periods/{id}/pay-run/"]:
        assert expected in paths, expected


# --- policies -----------------------------------------------------------------------------------

PER_TRIP = [{"code": "avg", "name": "单车收入", "kind": "formula", "config": {"expression": "revenue / trips"}}]


def test_it_lets_hr_create_a_pay_policy_version(api_for: Any, hr: User, world_a: World) -> None:
    body = {"code": "P", "name": "绩效工资办法", "effective_from": "2025-01-01",
            "components": [{"code": "post", "name": "岗位津贴", "kind": "fixed", "config": {"amount": "150"}}]}
    client = api_for(hr)
    assert client.post(url("pay-policy-list"), body, format="json").status_code == 201
    again = client.post(url("pay-policy-list"), body, format="json")
    assert again.status_code == 201 and again.json()["version"] == 2


def test_it_refuses_a_pay_policy_naming_the_wrong_setting(api_for: Any, hr: User, world_a: World) -> None:
    body = {"code": "X", "name": "x", "effective_from": "2025-01-01",
            "components": [{"code": "x", "kind": "per_unit", "config": {"rates": [], "rate": "1"}}]}
    response = api_for(hr).post(url("pay-policy-list"), body, format="json")
    assert response.status_code == 400
    assert "components[0].config.rate" in response.json()["components"][0]


def test_it_forbids_finance_to_write_a_pay_policy(api_for: Any, finance: User, world_a: World) -> None:
    assert api_for(finance).post(url("pay-policy-list"), {}, format="json").status_code == 403


# --- inputs -------------------------------------------------------------------------------------


@pytest.fixture
def trips_period(world_a: World) -> Any:
    pay_policy(world_a.org, PER_TRIP, inputs=["revenue", "trips"])
    period, people = closed_period(world_a, ["95", "85"], quotas=[])
    return period, people


def test_it_sets_a_pay_input_and_replaces_it_on_a_second_post(api_for: Any, finance: User, trips_period: Any,
                                                              world_a: World) -> None:
    period, people = trips_period
    client = api_for(finance)
    body = {"period": period.pk, "person": people[0].pk, "name": "trips", "value": "10"}
    assert client.post(url("pay-input-list"), body, format="json").status_code == 201
    second = client.post(url("pay-input-list"), body | {"value": "12"}, format="json")
    assert second.status_code == 200 and Decimal(second.json()["value"]) == Decimal("12")
    with scope(organization=world_a.org):
        assert PayInput.objects.get(period=period, person=people[0], name="trips").value == Decimal("12")


def test_it_refuses_an_input_no_policy_reads_naming_the_field(api_for: Any, hr: User, trips_period: Any) -> None:
    period, people = trips_period
    response = api_for(hr).post(url("pay-input-list"), {"period": period.pk, "person": people[0].pk,
                                                        "name": "bonus", "value": "1"}, format="json")
    assert response.status_code == 400 and "name" in response.json()


def test_it_refuses_an_input_for_a_person_and_a_department_at_once(api_for: Any, hr: User, trips_period: Any,
                                                                   world_a: World) -> None:
    period, people = trips_period
    response = api_for(hr).post(url("pay-input-list"), {"period": period.pk, "person": people[0].pk,
                                                        "department": world_a.production.pk, "name": "trips",
                                                        "value": "1"}, format="json")
    assert response.status_code == 400 and "person" in response.json()


def test_it_refuses_a_number_input_without_a_value(api_for: Any, hr: User, trips_period: Any) -> None:
    period, people = trips_period
    response = api_for(hr).post(url("pay-input-list"), {"period": period.pk, "person": people[0].pk,
                                                        "name": "trips", "text": "ten"}, format="json")
    assert response.status_code == 400 and "value" in response.json()


def test_it_refuses_another_tenants_period_for_an_input(api_for: Any, hr: User, trips_period: Any,
                                                         world_b: World) -> None:
    _period, people = trips_period
    foreign = closed_period(world_b, ["80"], quotas=[])[0]
    response = api_for(hr).post(url("pay-input-list"), {"period": foreign.pk, "person": people[0].pk,
                                                        "name": "trips", "value": "1"}, format="json")
    assert response.status_code == 400 and "period" in response.json()


# --- computing ----------------------------------------------------------------------------------


def test_it_computes_a_period_and_answers_the_same_version_when_nothing_changed(
        api_for: Any, finance: User, world_a: World) -> None:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "75"], quotas=[])
    client = api_for(finance)
    first = client.post(url("pay-period-pay-run", period.pk), {"reason": "月结"}, format="json")
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["reason"] == "月结"
    again = client.post(url("pay-period-pay-run", period.pk), {}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_it_answers_409_naming_person_component_and_inputs_when_the_computation_fails(
        api_for: Any, finance: User, trips_period: Any, world_a: World) -> None:
    period, people = trips_period
    with scope(organization=world_a.org):
        for person, trips in zip(people, ["10", "0"], strict=True):
            PayInput.objects.create(organization=world_a.org, period=period, person=person, name="revenue",
                                    value=Decimal("5000"))
            PayInput.objects.create(organization=world_a.org, period=period, person=person, name="trips",
                                    value=Decimal(trips))
    response = api_for(finance).post(url("pay-period-pay-run", period.pk), {}, format="json")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert people[1].name in detail and "avg" in detail and "trips" in detail
    with scope(organization=world_a.org):
        assert not PayRun.objects.exists()


def test_it_forbids_hr_to_compute_pay(api_for: Any, hr: User, world_a: World) -> None:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95"], quotas=[])
    assert api_for(hr).post(url("pay-period-pay-run", period.pk), {}, format="json").status_code == 403


# --- runs ---------------------------------------------------------------------------------------


@pytest.fixture
def run_a(world_a: World) -> PayRun:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85", "75"], quotas=[])
    return compute(period)


def test_it_lists_runs_filtered_by_period(api_for: Any, finance: User, run_a: PayRun) -> None:
    client = api_for(finance)
    rows = client.get(url("pay-run-list"), {"period": run_a.period_id}).json()["results"]
    assert [(r["id"], r["version"], Decimal(r["total"])) for r in rows] == [(run_a.pk, 1, run_a.total)]
    assert client.get(url("pay-run-list"), {"period": run_a.period_id + 1000}).json()["results"] == []


def test_it_pages_a_runs_slips(api_for: Any, hr: User, run_a: PayRun, monkeypatch: Any) -> None:
    from rest_framework.pagination import PageNumberPagination

    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    body = api_for(hr).get(url("pay-run-slips", run_a.pk)).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert {line["code"] for line in body["results"][0]["lines"]} == {"perf", "post"}


def test_it_confirms_a_run_and_answers_409_naming_the_state_the_second_time(
        api_for: Any, finance: User, run_a: PayRun) -> None:
    client = api_for(finance)
    first = client.post(url("pay-run-confirm", run_a.pk))
    assert first.status_code == 200 and first.json()["state"] == "confirmed"
    second = client.post(url("pay-run-confirm", run_a.pk))
    assert second.status_code == 409
    assert str(PayRun.State.CONFIRMED.label) in second.json()["detail"]


def test_it_forbids_hr_to_confirm_a_run(api_for: Any, hr: User, run_a: PayRun) -> None:
    assert api_for(hr).post(url("pay-run-confirm", run_a.pk)).status_code == 403


def test_it_shows_the_delta_after_a_late_input(api_for: Any, finance: User, run_a: PayRun, world_a: World) -> None:
    with scope(organization=world_a.org):
        slip = PaySlip.objects.filter(run=run_a).order_by("person_id").first()
        assert slip is not None
        PayInput.objects.create(organization=world_a.org, period_id=run_a.period_id, person_id=slip.person_id,
                                name="base_salary", value=Decimal("2000"))  # S: 600 × 1.2 → 400 × 1.2
    client = api_for(finance)
    second = client.post(url("pay-period-pay-run", run_a.period_id), {"reason": "late input"}, format="json")
    assert second.status_code == 201
    rows = client.get(url("pay-run-delta", second.json()["id"])).json()["results"]
    assert [(r["person"], r["changes"]) for r in rows] == [(slip.person_id, {"perf": "-240.00"})]


def test_it_exports_a_run_as_a_job_and_downloads_the_xlsx(api_for: Any, finance: User, run_a: PayRun,
                                                          django_capture_on_commit_callbacks: Any) -> None:
    client = api_for(finance)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(url("pay-run-exports", run_a.pk), {"kind": "pay_sheet", "format": "xlsx"},
                              format="json")
    assert started.status_code == 202
    job = client.get(url("pay-job-detail", started.json()["id"])).json()
    assert job["state"] == "done" and job["download"] == url("pay-job-download", job["id"])
    response = client.get(job["download"])
    assert response.status_code == 200
    assert f"pay_sheet-{run_a.period.code}-v1.xlsx" in response["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.getvalue()), read_only=True).active.iter_rows(
        values_only=True))
    assert Decimal(str(rows[-1][-1])) == run_a.total


def test_it_refuses_an_unknown_export_naming_the_field(api_for: Any, finance: User, run_a: PayRun) -> None:
    response = api_for(finance).post(url("pay-run-exports", run_a.pk), {"kind": "payroll", "format": "xlsx"},
                                     format="json")
    assert response.status_code == 400 and "kind" in response.json()


# --- slips --------------------------------------------------------------------------------------


def test_it_shows_an_employee_only_their_own_slip_of_a_confirmed_run(api_for: Any, world_a: World) -> None:
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95", "75"], quotas=[])
    run = compute(period)
    client = api_for(member_for(world_a, "paid", people[0]))
    assert client.get(url("pay-slip-list")).json()["results"] == []  # computed, not yet confirmed
    with scope(organization=world_a.org):
        services.confirm_pay_run(run=run, acting_user=None)
        own, colleague = (PaySlip.objects.get(run=run, person=p) for p in people)
    rows = client.get(url("pay-slip-list")).json()["results"]
    assert [r["id"] for r in rows] == [own.pk] and rows[0]["lines"][0]["explanation"]
    assert client.get(url("pay-slip-detail", colleague.pk)).status_code == 404
    assert client.get(url("pay-run-list")).status_code == 403
