"""The pay policy and pay input pages: who may open what, 404 across tenants on every page with an
id, a policy version saved from the form (or refused with the setting named and nothing written),
an input entered, changed and refused, the inputs list filtered and paged, and the links to them.

Elements are found by their ids; texts are compared by codes, paths and names, not the wording.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django_scopes import scope

from appraisal import services as appraisal_services
from appraisal.models import Period
from organizations.models import User
from organizations.permissions import MATRIX
from payroll import services, urls
from payroll.engine import compile_policy
from payroll.forms import EXAMPLE_COMPONENTS
from payroll.models import PayInput, PayPolicy
from tests.closing import person_template
from tests.conftest import World, add_member
from tests.test_pay_pages import PAGES as PAY_PAGES
from tests.test_pay_pages import _html, _nav, _signed_in
from tests.test_pay_runs import S19, closed_period, compute, pay_policy

PER_TRIP = [{"code": "avg", "name": "单车收入", "kind": "formula", "config": {"expression": "revenue / trips"}}]
BAD_COMPONENTS = [{"code": "x", "kind": "per_unit", "config": {"rates": [], "rate": "1"}}]


def _field(html: str, name: str) -> str:
    """The block of one form field (indicators/_field.html): label, widget, errors, help."""
    start = html.index(f'id="field-{name}"')
    ends = [i for i in (html.find('class="mb-3 form-field"', start), html.find("</form>", start)) if i != -1]
    return html[start:min(ends)]


def open_period(world: World, number: int = 10) -> Period:
    """A monthly period of 2025, open (inputs are entered while it runs)."""
    template = person_template(world.org)
    with scope(organization=world.org):
        period = appraisal_services.create_period(organization=world.org, acting_user=None, kind="monthly",
                                                  year=2025, number=number, templates=[template])
        appraisal_services.transition(period=period, to="open", acting_user=None)
        return Period.objects.get(pk=period.pk)


def policies(world: World) -> list[tuple[str, int]]:
    with scope(organization=world.org):
        return list(PayPolicy.objects.order_by("code", "version").values_list("code", "version"))


def inputs(world: World) -> list[tuple[str, Any, Decimal | None, str]]:
    with scope(organization=world.org):
        return list(PayInput.objects.order_by("pk").values_list("name", "person__employee_no", "value", "text"))


def policy_post(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"code": "P", "name": "绩效工资办法（修订）", "department_type": "",
                            "effective_from": "2025-06-01", "effective_to": "",
                            "components": json.dumps(S19, ensure_ascii=False), "inputs": "", "text_inputs": ""}
    data.update(overrides)
    return data


@pytest.fixture
def policy_a(world_a: World) -> PayPolicy:
    return pay_policy(world_a.org)


@pytest.fixture
def trips(world_a: World) -> tuple[Period, World]:
    """An open period of A with a policy reading the number inputs revenue and trips."""
    pay_policy(world_a.org, PER_TRIP, inputs=["revenue", "trips"], text_inputs=["route"])
    return open_period(world_a), world_a


@pytest.fixture
def input_a(trips: tuple[Period, World]) -> PayInput:
    period, world = trips
    with scope(organization=world.org):
        return services.save_pay_input(organization=world.org, acting_user=None, period=period, name="trips",
                                       person=world.people["employee"], value=Decimal("10"))


# --- who may open what --------------------------------------------------------------------------

# (url name, what its id is, who gets 200): everyone else in A gets 403, as on the pay run pages.
READERS = {"hr", "finance"}
WRITERS_OF_POLICIES = {"hr"}
WRITERS_OF_INPUTS = {"hr", "finance"}
GETS = [
    ("pay-policies", None, READERS),
    ("pay-policy-detail", "policy", READERS),
    ("pay-policy-new", None, WRITERS_OF_POLICIES),
    ("pay-policy-new-version", "policy", WRITERS_OF_POLICIES),
    ("pay-inputs", "period", READERS),
    ("pay-input-new", "period", WRITERS_OF_INPUTS),
    ("pay-input-edit", "input", WRITERS_OF_INPUTS),
]
ROLES = ["hr", "finance", "head", "employee", "supervisor"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,target,allowed", GETS, ids=[g[0] for g in GETS])
def test_it_opens_each_page_to_the_roles_the_matrix_allows_and_refuses_the_others(
        client: Client, request: Any, policy_a: PayPolicy, input_a: PayInput, name: str, target: str | None,
        allowed: set[str], role: str) -> None:
    ids = {"policy": policy_a.pk, "period": input_a.period_id, "input": input_a.pk}
    response = _signed_in(client, request.getfixturevalue(role)).get(
        reverse(name, args=[ids[target]] if target else []))
    assert response.status_code == (200 if role in allowed else 403)


def test_it_refuses_finance_to_save_a_policy_and_writes_nothing(client: Client, finance: User, policy_a: PayPolicy,
                                                                world_a: World) -> None:
    signed = _signed_in(client, finance)
    assert signed.post(reverse("pay-policy-new"), policy_post(code="Q")).status_code == 403
    assert signed.post(reverse("pay-policy-new-version", args=[policy_a.pk]), policy_post()).status_code == 403
    assert policies(world_a) == [("P", 1)]


def test_it_refuses_a_head_to_enter_an_input_and_writes_nothing(client: Client, head: User,
                                                                trips: tuple[Period, World]) -> None:
    period, world = trips
    response = _signed_in(client, head).post(reverse("pay-input-new", args=[period.pk]),
                                             {"person": "a-employee", "name": "trips", "value": "3"})
    assert response.status_code == 403 and inputs(world) == []


def test_it_keeps_the_unconditional_pay_links_within_what_pay_readers_may_open() -> None:
    # The pay overview and a period's runs link to the policies and the inputs without asking the
    # matrix: whoever may see pay must be allowed to read both.
    assert MATRIX["pay"]["view"] <= MATRIX["pay_policy"]["view"]
    assert MATRIX["pay"]["view"] <= MATRIX["pay_input"]["view"]


# --- tenancy: every page with an id -------------------------------------------------------------

# (method, url name, what its id is). With test_pay_pages.PAGES this must name every payroll page
# that takes an id: test_it_covers_every_payroll_page_with_an_id checks it.
PAGES = [("get", "pay-policy-detail", "policy"), ("get", "pay-policy-new-version", "policy"),
         ("post", "pay-policy-new-version", "policy"), ("get", "pay-inputs", "period"),
         ("get", "pay-input-new", "period"), ("post", "pay-input-new", "period"),
         ("get", "pay-input-edit", "input"), ("post", "pay-input-edit", "input"),
         ("get", "pay-input-upload", "period"), ("post", "pay-input-upload", "period"),
         ("get", "pay-budgets", "period"), ("post", "pay-budgets", "period"),
         ("get", "pay-policy-editor-edit", "policy"), ("post", "pay-policy-editor-edit", "policy")]


@pytest.fixture
def foreign(world_b: World) -> dict[str, int]:
    """B's policy, open period and input: the ids A's HR-and-finance admin tries."""
    policy = pay_policy(world_b.org, PER_TRIP, inputs=["revenue", "trips"])
    period = open_period(world_b)
    with scope(organization=world_b.org):
        entered = services.save_pay_input(organization=world_b.org, acting_user=None, period=period, name="trips",
                                          person=world_b.people["employee"], value=Decimal("4"))
    return {"policy": policy.pk, "period": period.pk, "input": entered.pk}


@pytest.mark.parametrize("method,name,target", PAGES, ids=[f"{p[0]}-{p[1]}" for p in PAGES])
def test_it_answers_404_for_another_tenants_object_on_every_policy_and_input_page(
        client: Client, world_a: World, foreign: dict[str, int], method: str, name: str, target: str) -> None:
    admin = add_member(world_a, "payadmin", person=None, hr=True, finance=True)
    data = {"person": "b-employee", "name": "trips", "value": "9", **policy_post()} if method == "post" else {}
    response = getattr(_signed_in(client, admin), method)(reverse(name, args=[foreign[target]]), data)
    assert response.status_code == 404
    with scope(organization=world_a.org):
        assert not PayPolicy.objects.exists() and not PayInput.objects.exists()


def test_it_covers_every_payroll_page_with_an_id() -> None:
    walked = {name for _method, name, _target in PAY_PAGES + PAGES}
    with_id = {p.name for p in urls.urlpatterns if isinstance(p, URLPattern) and "<int:pk>" in str(p.pattern)}
    assert with_id - walked == set()


# --- policies -----------------------------------------------------------------------------------


def test_it_lists_every_version_with_its_department_type_dates_and_component_count(
        client: Client, finance: User, policy_a: PayPolicy, world_a: World) -> None:
    second = pay_policy(world_a.org, PER_TRIP, inputs=["revenue", "trips"], effective_from=dt.date(2025, 7, 1),
                        effective_to=dt.date(2025, 12, 31))
    html = _html(_signed_in(client, finance).get(reverse("pay-policies")))
    rows = {int(pk): row for pk, row in re.findall(r'<tr id="pay-policy-(\d+)"(.*?)</tr>', html, re.S)}
    assert set(rows) == {policy_a.pk, second.pk}
    assert 'data-version="2"' in rows[second.pk] and "2025-07-01" in rows[second.pk]
    assert "2025-12-31" in rows[second.pk] and 'pay-policy-latest' in rows[second.pk]
    assert re.search(r'pay-policy-components">1<', rows[second.pk])
    assert re.search(r'pay-policy-components">2<', rows[policy_a.pk]) and "pay-policy-latest" not in rows[policy_a.pk]


def test_it_shows_each_component_with_its_kind_and_configuration_as_json(
        client: Client, finance: User, policy_a: PayPolicy, world_a: World) -> None:
    html = _html(_signed_in(client, finance).get(reverse("pay-policy-detail", args=[policy_a.pk])))
    sections = dict(re.findall(r'<section class="card mb-3 pay-policy-component" id="component-(\w+)">(.*?)</section>',
                               html, re.S))
    assert list(sections) == ["perf", "post"]
    assert "grade_coefficient" in sections["perf"] and "fixed" in sections["post"]
    config = re.search(r'<pre[^>]*component-config">(.*?)</pre>', sections["perf"], re.S)
    assert config is not None
    shown = json.loads(config.group(1).replace("&quot;", '"'))
    assert shown["quota_bands"]["bands"][0] == {"to": "1500", "quota": "200"}
    assert 'id="pay-policy-new-version-link"' not in html  # finance reads, HR writes


def test_it_prefills_a_new_version_from_the_latest_version(client: Client, hr: User, policy_a: PayPolicy,
                                                           world_a: World) -> None:
    pay_policy(world_a.org, PER_TRIP, inputs=["revenue", "trips"])  # v2 of P
    html = _html(_signed_in(client, hr).get(reverse("pay-policy-new-version", args=[policy_a.pk])))
    components = re.search(r'<textarea name="components"[^>]*>(.*?)</textarea>', html, re.S)
    assert components is not None and "revenue / trips" in components.group(1)
    assert re.search(r'name="inputs"[^>]*value="revenue, trips"', html)
    assert re.search(r'name="code"[^>]*value="P"[^>]*disabled', html)


def test_it_saves_version_n_plus_1_from_the_form(client: Client, hr: User, policy_a: PayPolicy,
                                                 world_a: World) -> None:
    signed = _signed_in(client, hr)
    data = policy_post(code="IGNORED", components=json.dumps(PER_TRIP), inputs="revenue，trips",
                       text_inputs='["route"]', effective_to="2025-12-31")
    response = signed.post(reverse("pay-policy-new-version", args=[policy_a.pk]), data)
    with scope(organization=world_a.org):
        saved = PayPolicy.objects.get(code="P", version=2)
    assert response.status_code == 302 and response["Location"] == reverse("pay-policy-detail", args=[saved.pk])
    assert policies(world_a) == [("P", 1), ("P", 2)]  # the code is the policy's, whatever is posted
    assert (saved.name, saved.effective_from, saved.effective_to) == ("绩效工资办法（修订）", dt.date(2025, 6, 1),
                                                                      dt.date(2025, 12, 31))
    assert [c["code"] for c in saved.components] == ["avg"]
    assert (saved.inputs, saved.text_inputs) == (["revenue", "trips"], ["route"])


def test_it_creates_a_new_policy_for_a_department_type(client: Client, hr: User, world_a: World) -> None:
    with scope(organization=world_a.org):
        production = world_a.production.department_type
    data = policy_post(code="PROD", department_type=str(production.pk) if production else "")
    response = _signed_in(client, hr).post(reverse("pay-policy-new"), data)
    assert response.status_code == 302
    with scope(organization=world_a.org):
        saved = PayPolicy.objects.get(code="PROD")
    assert (saved.version, saved.department_type) == (1, production)


def test_it_refuses_a_new_policy_with_an_existing_code(client: Client, hr: User, policy_a: PayPolicy,
                                                       world_a: World) -> None:
    response = _signed_in(client, hr).post(reverse("pay-policy-new"), policy_post(code="P"))
    assert response.status_code == 400 and "field-error" in _field(_html(response), "code")
    assert policies(world_a) == [("P", 1)]


def test_it_reshows_a_refused_component_with_the_setting_named_and_writes_nothing(
        client: Client, hr: User, policy_a: PayPolicy, world_a: World) -> None:
    response = _signed_in(client, hr).post(reverse("pay-policy-new-version", args=[policy_a.pk]),
                                           policy_post(components=json.dumps(BAD_COMPONENTS)))
    assert response.status_code == 400
    html = _html(response)
    errors = re.findall(r'field-error">([^<]*)<', _field(html, "components"))
    assert errors and "components[0].config.rate" in errors[0]
    assert '"rate": "1"' in _field(html, "components").replace("&quot;", '"')  # what was typed stays
    assert policies(world_a) == [("P", 1)]


def test_it_puts_an_end_before_the_start_on_the_end_date(client: Client, hr: User, policy_a: PayPolicy,
                                                         world_a: World) -> None:
    response = _signed_in(client, hr).post(reverse("pay-policy-new-version", args=[policy_a.pk]),
                                           policy_post(effective_to="2025-01-01"))
    assert response.status_code == 400 and "field-error" in _field(_html(response), "effective_to")
    assert policies(world_a) == [("P", 1)]


@pytest.mark.parametrize("components,why", [("[{", "not JSON"), ("{}", "not a list"), ("[]", "empty")])
def test_it_refuses_components_that_are_not_a_list_of_objects(client: Client, hr: User, world_a: World,
                                                              components: str, why: str) -> None:
    response = _signed_in(client, hr).post(reverse("pay-policy-new"), policy_post(components=components))
    assert response.status_code == 400 and "field-error" in _field(_html(response), "components"), why
    assert policies(world_a) == []


def test_it_offers_a_valid_example_for_a_new_policy(client: Client, hr: User, world_a: World) -> None:
    assert compile_policy(EXAMPLE_COMPONENTS).normalised
    html = _html(_signed_in(client, hr).get(reverse("pay-policy-new")))
    assert "grade_coefficient" in _field(html, "components")


# --- inputs -------------------------------------------------------------------------------------


def test_it_saves_an_input_and_updates_the_same_persons_input_on_a_second_save(
        client: Client, finance: User, trips: tuple[Period, World]) -> None:
    period, world = trips
    signed = _signed_in(client, finance)
    url = reverse("pay-input-new", args=[period.pk])
    first = signed.post(url, {"person": "a-employee", "name": "trips", "value": "10"})
    assert first.status_code == 302 and first["Location"] == reverse("pay-inputs", args=[period.pk])
    assert inputs(world) == [("trips", "a-employee", Decimal("10"), "")]
    signed.post(url, {"person": "a-employee", "name": "trips", "value": "12.5"})
    assert inputs(world) == [("trips", "a-employee", Decimal("12.5"), "")]


def test_it_saves_a_department_input_and_a_text_input(client: Client, hr: User,
                                                      trips: tuple[Period, World]) -> None:
    period, world = trips
    signed = _signed_in(client, hr)
    url = reverse("pay-input-new", args=[period.pk])
    assert signed.post(url, {"department": world.production.pk, "name": "revenue", "value": "80000"}).status_code \
        == 302
    assert signed.post(url, {"person": "a-employee", "name": "route", "text": "A线"}).status_code == 302
    with scope(organization=world.org):
        rows = list(PayInput.objects.order_by("pk").values_list("department_id", "name", "value", "text"))
    assert rows == [(world.production.pk, "revenue", Decimal("80000"), ""), (None, "route", None, "A线")]


def test_it_changes_an_inputs_value_from_its_own_page(client: Client, finance: User, input_a: PayInput,
                                                      trips: tuple[Period, World]) -> None:
    _period, world = trips
    signed = _signed_in(client, finance)
    html = _html(signed.get(reverse("pay-input-edit", args=[input_a.pk])))
    assert re.search(r'name="value"[^>]*value="10"', html)
    # Whom it is for and its name are fixed: what is posted for them is ignored.
    response = signed.post(reverse("pay-input-edit", args=[input_a.pk]),
                           {"person": "a-hr", "name": "revenue", "value": "11"})
    assert response.status_code == 302
    assert inputs(world) == [("trips", "a-employee", Decimal("11"), "")]


def test_it_refuses_a_name_no_policy_reads_on_the_name_field_and_writes_nothing(
        client: Client, finance: User, trips: tuple[Period, World]) -> None:
    period, world = trips
    response = _signed_in(client, finance).post(reverse("pay-input-new", args=[period.pk]),
                                                {"person": "a-employee", "name": "bonus", "value": "1"})
    assert response.status_code == 400
    errors = re.findall(r'field-error">([^<]*)<', _field(_html(response), "name"))
    assert errors and "bonus" in errors[0] and "trips" in errors[0]  # the known names are listed
    assert inputs(world) == []


@pytest.mark.parametrize("data,field", [
    ({"person": "a-employee", "name": "trips", "text": "ten"}, "value"),  # a number input without a value
    ({"person": "a-employee", "name": "route", "value": "3"}, "text"),  # a text input given a number
    ({"name": "trips", "value": "3"}, "person"),  # neither a person nor a department
    ({"person": "nobody", "name": "trips", "value": "3"}, "person"),  # no such employee number
])
def test_it_reshows_a_refused_input_with_the_error_on_the_field(client: Client, hr: User,
                                                                trips: tuple[Period, World], data: dict[str, str],
                                                                field: str) -> None:
    period, world = trips
    response = _signed_in(client, hr).post(reverse("pay-input-new", args=[period.pk]), data)
    assert response.status_code == 400 and "field-error" in _field(_html(response), field)
    assert inputs(world) == []


def test_it_offers_the_names_the_periods_policies_declare(client: Client, hr: User,
                                                          trips: tuple[Period, World]) -> None:
    period, _world = trips
    html = _html(_signed_in(client, hr).get(reverse("pay-input-new", args=[period.pk])))
    options = re.findall(r'<option value="([^"]*)"', _field(html, "name"))
    assert set(options) == {"", "base_salary", "revenue", "trips", "route"}


def _enter(world: World, period: Period, rows: list[tuple[str, str, str]]) -> None:
    with scope(organization=world.org):
        for person, name, value in rows:
            services.save_pay_input(organization=world.org, acting_user=None, period=period, name=name,
                                    person=world.people[person], value=Decimal(value))


def test_it_lists_a_periods_inputs_filtered_by_name_and_person(client: Client, finance: User,
                                                               trips: tuple[Period, World]) -> None:
    period, world = trips
    _enter(world, period, [("employee", "trips", "10"), ("employee", "revenue", "500"), ("hr", "trips", "7")])
    signed = _signed_in(client, finance)
    url = reverse("pay-inputs", args=[period.pk])
    everything = _html(signed.get(url))
    assert len(re.findall(r'<tr id="pay-input-\d+"', everything)) == 3
    assert sorted(re.findall(r'pay-input-value">([^<]*)<', everything)) == ["10", "500", "7"]
    by_name = _html(signed.get(url, {"name": "trips"}))
    assert re.findall(r'class="pay-input" data-name="(\w+)"', by_name) == ["trips", "trips"]
    by_person = _html(signed.get(url, {"q": "a-hr"}))
    assert len(re.findall(r'<tr id="pay-input-\d+"', by_person)) == 1 and "hr-a" in by_person
    by_department = _html(signed.get(url, {"department": world.back_office.pk}))
    assert len(re.findall(r'<tr id="pay-input-\d+"', by_department)) == 1  # hr works in the back office


def test_it_swaps_only_the_table_for_htmx(client: Client, finance: User, trips: tuple[Period, World]) -> None:
    period, world = trips
    _enter(world, period, [("employee", "trips", "10")])
    html = _html(_signed_in(client, finance).get(reverse("pay-inputs", args=[period.pk]), {"name": "trips"},
                                                 HTTP_HX_REQUEST="true"))
    assert 'id="pay-inputs"' in html and "<nav id=\"main-nav\"" not in html


def test_it_pages_the_inputs_keeping_the_filter(client: Client, finance: User, trips: tuple[Period, World],
                                                monkeypatch: Any) -> None:
    from payroll import policy_views

    period, world = trips
    _enter(world, period, [("employee", "trips", "10"), ("hr", "trips", "7"), ("finance", "trips", "3"),
                           ("employee", "revenue", "500")])
    monkeypatch.setattr(policy_views, "INPUTS_PER_PAGE", 2)
    signed = _signed_in(client, finance)
    url = reverse("pay-inputs", args=[period.pk])
    first = _html(signed.get(url, {"name": "trips"}))
    assert len(re.findall(r'<tr id="pay-input-\d+"', first)) == 2
    next_link = re.search(r'class="page-link page-next" href="([^"]*)"', first)
    assert next_link is not None and "name=trips" in next_link.group(1) and "page=2" in next_link.group(1)
    second = _html(signed.get(url + unescape(next_link.group(1))))  # the link as the browser follows it
    assert re.findall(r'class="pay-input" data-name="(\w+)"', second) == ["trips"]


def test_it_opens_the_newest_periods_inputs_from_the_pay_pages(client: Client, finance: User,
                                                                trips: tuple[Period, World]) -> None:
    period, world = trips
    later = open_period(world, number=11)
    response = _signed_in(client, finance).get(reverse("pay-inputs-latest"))
    assert response.status_code == 302 and response["Location"] == reverse("pay-inputs", args=[later.pk])
    assert period.pk != later.pk


# --- links --------------------------------------------------------------------------------------


def test_it_links_the_periods_inputs_from_its_pay_runs_page(client: Client, finance: User,
                                                            world_a: World) -> None:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95"], quotas=[])
    compute(period)
    html = _html(_signed_in(client, finance).get(reverse("period-pay-runs", args=[period.pk])))
    assert f'href="{reverse("pay-inputs", args=[period.pk])}"' in html


def test_it_links_the_policies_from_the_pay_overview_and_the_navigation(client: Client, hr: User) -> None:
    signed = _signed_in(client, hr)
    assert f'href="{reverse("pay-policies")}"' in _html(signed.get(reverse("pay-runs")))
    assert f'href="{reverse("pay-policies")}"' in _nav(signed.get(reverse("home")))


def test_it_hides_the_policies_from_a_heads_navigation(client: Client, head: User) -> None:
    assert f'href="{reverse("pay-policies")}"' not in _nav(_signed_in(client, head).get(reverse("home")))
