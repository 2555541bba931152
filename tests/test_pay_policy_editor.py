"""The structured pay policy editor: every kind's settings as fields and rows, a policy built from
rows saved equal to the same policy saved as JSON (the one service both go through), a stored
version opened as rows and saved again unchanged, a refused row shown on that row with nothing
written, a formula checked as typed naming the unknown name, and the live preview paying one person
what a real pay run pays them, in a fixed number of queries; another organisation's policy or
period is 404 and a reader without the change right gets 403.

Elements are found by their names, ids and data attributes; amounts compared as Decimals.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal.models import Period
from core.formula import FUNCTIONS
from organizations.models import Person, User
from payroll.engine import compile_policy
from payroll.models import PayPolicy
from payroll.policy_editor.draft import ComponentDraft, safe
from payroll.policy_editor.specs import SPECS
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World
from tests.test_pay_runs import S19, closed_period, compute, pay_policy, slips

D = Decimal
HEADER = {"code": "ED", "name": "绩效工资办法", "department_type": "", "effective_from": "2025-01-01",
          "effective_to": "", "period_kind": "", "inputs": "trips", "text_inputs": ""}
PERF = {"code": "perf", "name": "绩效工资", "kind": "grade_coefficient", "rounding": "half_up", "places": "2",
        "pays": "true", "s-quota_bands__input": "base_salary", "s-quota_bands__to_inclusive": "true",
        "t-coefficients": [{"key": "S", "value": "1.2"}, {"key": "A", "value": "1.1"}, {"key": "B", "value": "1.0"},
                           {"key": "C", "value": "0.8"}],
        "t-quota_bands__bands": [{"to": "1500", "quota": "200"}, {"to": "2500", "quota": "400"},
                                 {"to": "", "quota": "600"}]}
POST = {"code": "post", "name": "岗位津贴", "kind": "fixed", "s-amount": "150"}
TRIPS = {"code": "trip", "name": "出车补贴", "kind": "tiered", "s-quantity": "trips", "s-mode": "whole",
         "s-boundary": "upper_inclusive", "t-tiers": [{"from": "0", "rate": "30"}, {"from": "10", "rate": "50"}]}
TIERED_JSON = {"code": "trip", "name": "出车补贴", "kind": "tiered",
               "config": {"quantity": "trips", "mode": "whole", "boundary": "upper_inclusive",
                          "tiers": [{"from": "0", "rate": "30"}, {"from": "10", "rate": "50"}]}}


def editor_post(*components: dict[str, Any], **header: str) -> dict[str, str]:
    """The editor's form as the browser posts it: the header, then each component's fields and rows."""
    data = {**HEADER, **header, "components-total": str(len(components))}
    for n, component in enumerate(components):
        for key, value in component.items():
            if key.startswith("t-"):
                data[f"c{n}-{key}-total"] = str(len(value))
                for row, cells in enumerate(value):
                    data.update({f"c{n}-{key}-{row}-{column}": text for column, text in cells.items()})
            else:
                data[f"c{n}-{key}"] = value
    return data


def value_of(html: str, name: str) -> str | None:
    """The value of the input called ``name`` on the page (None: there is none)."""
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def policies(world: World) -> list[PayPolicy]:
    with scope(organization=world.org):
        return list(PayPolicy.objects.order_by("code", "version"))


def test_it_shows_each_kinds_settings_and_rows_as_fields(client: Client, hr: User) -> None:
    for kind, spec in SPECS.items():
        data = editor_post({"code": "x", "kind": kind}, editor_action="kind:0")
        html = signed_in(client, hr).post(reverse("pay-policy-editor-rows"), data).content.decode()
        for setting in spec.settings:
            assert f'name="c0-s-{safe(setting.key)}"' in html, (kind, setting.key)
        for table in spec.tables:
            assert f'id="add-c0-{safe(table.key)}"' in html, (kind, table.key)
            if table.start_rows:
                for column in table.columns:
                    assert f'name="c0-t-{safe(table.key)}-0-{column.key}"' in html, (kind, table.key, column.key)


def test_it_opens_a_new_policy_with_the_example_components_as_rows(client: Client, hr: User) -> None:
    response = signed_in(client, hr).get(reverse("pay-policy-editor-create"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<option value="grade_coefficient" selected', html)
    assert value_of(html, "c0-t-coefficients-3-value") == "0.8"
    assert value_of(html, "c1-s-amount") == "150"


def test_it_saves_rows_equal_to_the_same_policy_saved_as_json(client: Client, hr: User, world_a: World) -> None:
    response = signed_in(client, hr).post(reverse("pay-policy-editor-create"), editor_post(PERF, TRIPS))
    assert response.status_code == 302, unescape(response.content.decode())
    (saved,) = policies(world_a)
    as_json = {**HEADER, "components": json.dumps([S19[0], TIERED_JSON], ensure_ascii=False)}
    response = client.post(reverse("pay-policy-new-version", args=[saved.pk]), as_json)
    assert response.status_code == 302
    first, second = policies(world_a)
    assert (first.version, second.version) == (1, 2)
    assert first.components == second.components
    assert first.inputs == second.inputs == ["trips"]


def _as_posted(html: str) -> dict[str, str]:
    """What the browser would post of the editor page as it stands."""
    posted = {key: unescape(value) for key, value in re.findall(
        r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)}
    posted.update({name: value for name, value in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>.*?<option value="([^"]*)"[^>]*selected', html, re.S)})
    return posted


def test_it_writes_no_version_when_a_stored_version_is_saved_unchanged(client: Client, hr: User,
                                                                       world_a: World) -> None:
    stored = pay_policy(world_a.org, [S19[0], TIERED_JSON], inputs=["trips"])
    html = signed_in(client, hr).get(reverse("pay-policy-editor-edit", args=[stored.pk])).content.decode()
    response = client.post(reverse("pay-policy-editor-edit", args=[stored.pk]), _as_posted(html))
    assert response.status_code == 302
    assert [p.version for p in policies(world_a)] == [1]


def test_it_saves_a_stored_version_opened_as_rows_as_the_next_version(client: Client, hr: User,
                                                                      world_a: World) -> None:
    stored = pay_policy(world_a.org, [S19[0], TIERED_JSON], inputs=["trips"])
    html = signed_in(client, hr).get(reverse("pay-policy-editor-edit", args=[stored.pk])).content.decode()
    assert value_of(html, "c1-s-quantity") == "trips"
    posted = {**_as_posted(html), "effective_from": "2025-07-01"}  # a later start: a real change
    response = client.post(reverse("pay-policy-editor-edit", args=[stored.pk]), posted)
    assert response.status_code == 302, unescape(response.content.decode())
    first, second = policies(world_a)
    assert second.version == 2 and second.components == first.components


def test_it_shows_a_falling_tier_on_its_row_and_writes_nothing(client: Client, hr: User, world_a: World) -> None:
    falling = {**TRIPS, "t-tiers": [{"from": "10", "rate": "30"}, {"from": "5", "rate": "50"}]}
    response = signed_in(client, hr).post(reverse("pay-policy-editor-create"), editor_post(PERF, falling))
    html = response.content.decode()
    assert response.status_code == 400
    row = re.search(r'<tr id="c1-t-tiers-row-1".*?</tr>', html, re.S)
    assert row is not None and "table-danger" in row.group(0)
    assert re.search(r'name="c1-t-tiers-1-from"[^>]*>.*?field-error', row.group(0), re.S)
    assert "field-error" not in re.search(r'<tr id="c1-t-tiers-row-0".*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert policies(world_a) == []


def test_it_refuses_a_required_setting_left_empty_on_its_field(client: Client, hr: User, world_a: World) -> None:
    response = signed_in(client, hr).post(reverse("pay-policy-editor-create"),
                                          editor_post({**TRIPS, "s-quantity": ""}))
    field = re.search(r'id="field-c0-s-quantity".*?</div>\s*</div>', response.content.decode(), re.S)
    assert response.status_code == 400 and field is not None and "field-error" in field.group(0)
    assert policies(world_a) == []


def test_it_names_an_unknown_name_when_a_formula_is_checked(client: Client, hr: User) -> None:
    data = editor_post(POST, {"code": "bonus", "kind": "formula", "s-expression": "post * 2 + bonuss"},
                       check="c1-s-expression")
    html = signed_in(client, hr).post(reverse("pay-policy-editor-check"), data).content.decode()
    assert "formula-problem" in html and "bonuss" in html


def test_it_accepts_an_earlier_components_code_in_a_formula(client: Client, hr: User) -> None:
    data = editor_post(POST, {"code": "bonus", "kind": "formula", "s-expression": "post * 2"},
                       check="c1-s-expression")
    html = signed_in(client, hr).post(reverse("pay-policy-editor-check"), data).content.decode()
    assert "formula-ok" in html and "formula-problem" not in html


def test_it_refuses_a_later_components_code_in_a_formula(client: Client, hr: User) -> None:
    data = editor_post({"code": "bonus", "kind": "formula", "s-expression": "post * 2"}, POST,
                       check="c0-s-expression")
    html = signed_in(client, hr).post(reverse("pay-policy-editor-check"), data).content.decode()
    assert "formula-problem" in html


def _preview(client: Client, period: Period, person: Person, data: dict[str, str]) -> str:
    posted = {**data, "preview_period": str(period.pk), "preview_person": str(person.pk)}
    response = client.post(reverse("pay-policy-editor-preview"), posted)
    assert response.status_code == 200
    return response.content.decode()


def _amounts(html: str) -> dict[str, Decimal]:
    return {code: D(amount.replace(",", "")) for code, amount in re.findall(
        r'<tr data-code="([^"]+)".*?class="[^"]*line-amount">([^<]+)<', html, re.S)}


def test_it_previews_the_amounts_a_pay_run_pays(client: Client, hr: User, world_a: World) -> None:
    period, people = closed_period(world_a, ["95", "85", "75", "65"], quotas=[])
    draft = editor_post(PERF, POST)
    html = _preview(signed_in(client, hr), period, people[1], draft)
    assert _amounts(html) == {"perf": D("660.00"), "post": D("150.00")}  # 600 × 1.1; the allowance
    assert re.search(r'id="pay-preview-total">810\.00<', html)
    assert policies(world_a) == []  # nothing saved
    pay_policy(world_a.org, S19)
    slip = slips(compute(period))[people[1].name]
    assert _amounts(html) == {code: slip.amount(code) for code in ("perf", "post")}


def test_it_names_the_first_problem_of_an_incomplete_draft_in_the_preview(client: Client, hr: User,
                                                                          world_a: World) -> None:
    period, people = closed_period(world_a, ["95"], quotas=[])
    html = _preview(signed_in(client, hr), period, people[0], editor_post(PERF, {**TRIPS, "s-quantity": ""}))
    assert "pay-preview-error" in html and "pay-preview-table" not in html
    assert f'<option value="{people[0].pk}" selected' in html  # the person stays chosen


def _preview_queries(world: World, hr: User, count: int, prefix: str, number: int) -> int:
    """The preview's queries for a period of ``count`` people scored 95, 85, 75, 65, … (with no
    earlier closed period, so no opening balances are read either time)."""
    people = add_people(world.org, world.production, count, prefix=prefix)
    with scope(organization=world.org):
        Person.objects.filter(pk__in=[p.pk for p in people]).update(base_pay=D("3000"))
    period = scored_period(world.org, dict(zip(people, ["95", "85", "75", "65"] * 3, strict=False)),
                           policy=make_policy(world.org, quotas=[]), number=number)
    close(period)
    client = signed_in(Client(), hr)
    with CaptureQueriesContext(connection) as queries:
        assert "pay-preview-table" in _preview(client, period, people[0], editor_post(PERF, POST))
    return len(queries)


def test_it_previews_with_as_many_queries_for_12_people_as_for_3(hr: User, world_a: World) -> None:
    few = _preview_queries(world_a, hr, 3, "f", 11)  # the later period first: neither has an earlier one closed
    many = _preview_queries(world_a, hr, 12, "m", 10)
    assert many == few


def test_it_answers_404_for_another_organisations_policy(client: Client, hr: User, world_b: World) -> None:
    theirs = pay_policy(world_b.org)
    signed_in(client, hr)
    assert client.get(reverse("pay-policy-editor-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("pay-policy-editor-edit", args=[theirs.pk]), editor_post(POST)).status_code == 404


def test_it_answers_404_for_another_organisations_period_in_the_preview(client: Client, hr: User,
                                                                         world_b: World) -> None:
    period, _people = closed_period(world_b, ["95"], quotas=[])
    data = {**editor_post(POST), "preview_period": str(period.pk)}
    assert signed_in(client, hr).post(reverse("pay-policy-editor-preview"), data).status_code == 404


def test_it_refuses_the_editor_to_whom_may_only_read_pay_policies(client: Client, finance: User) -> None:
    signed_in(client, finance)
    assert client.get(reverse("pay-policy-editor-create")).status_code == 403
    assert client.post(reverse("pay-policy-editor-preview"), editor_post(POST)).status_code == 403


def test_it_links_the_editor_from_the_list_and_the_detail(client: Client, hr: User, world_a: World) -> None:
    stored = pay_policy(world_a.org)
    signed_in(client, hr)
    listed = client.get(reverse("pay-policies")).content.decode()
    assert f'href="{reverse("pay-policy-editor-create")}" id="pay-policy-editor-link"' in listed
    detail = client.get(reverse("pay-policy-detail", args=[stored.pk])).content.decode()
    assert f'href="{reverse("pay-policy-editor-edit", args=[stored.pk])}" id="pay-policy-editor-link"' in detail


def test_it_adds_and_removes_a_tier_row(client: Client, hr: User) -> None:
    signed_in(client, hr)
    added = client.post(reverse("pay-policy-editor-rows"),
                        editor_post(TRIPS, editor_action="add-row:0:tiers")).content.decode()
    assert value_of(added, "c0-t-tiers-total") == "3"
    removed = client.post(reverse("pay-policy-editor-rows"),
                          editor_post(TRIPS, editor_action="remove-row:0:tiers:0")).content.decode()
    assert value_of(removed, "c0-t-tiers-total") == "1"
    assert value_of(removed, "c0-t-tiers-0-from") == "10"


def _gallery_policies() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{path.parent.name}:{policy['code']}", policy)
            for path in sorted(Path(settings.BASE_DIR, "fixtures", "schemes").glob("*/package.json"))
            for policy in json.loads(path.read_text(encoding="utf-8"))["pay_policies"]]


@pytest.mark.parametrize("name,policy", _gallery_policies(), ids=[name for name, _p in _gallery_policies()])
def test_it_opens_and_saves_every_gallery_policys_components_unchanged(name: str, policy: dict[str, Any]) -> None:
    """Every component of the fifteen schemes reads into fields and rows and back into the very
    component the engine normalises: the editor can say whatever the gallery says."""
    declared = {"inputs": policy.get("inputs", []), "text_inputs": policy.get("text_inputs", [])}
    words = set(re.findall(r"[A-Za-z_]\w*", json.dumps(policy["components"])))
    # Every other word may be a standard name here: the gallery's organisations supply them.
    standard = words - set(FUNCTIONS) - {c["code"] for c in policy["components"]} - set(declared["inputs"]) \
        - set(declared["text_inputs"])
    stored = compile_policy(policy["components"], **declared, standard=standard, standard_texts=standard).normalised
    drafts = [ComponentDraft.from_component(component) for component in stored]
    rebuilt = [draft.component() for draft in drafts]
    assert all(component is not None for component in rebuilt), [d.errors for d in drafts]
    again = compile_policy(rebuilt, **declared, standard=standard, standard_texts=standard).normalised
    assert again == stored
