"""The structured grading policy editor: bands, quotas and rules as rows build the very policy the
service builds from the same spec, a saved policy opens as its rows and saves unchanged without a
new version, a problem is shown on its field with nothing saved, and the draft previews its grade
counts on a closed period."""

from __future__ import annotations

import json
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import grading
from appraisal.models import GradingPolicy
from organizations.models import User
from tests.closing import S14_SCALE, add_people, close, make_policy, scored_period
from tests.conftest import World

HEADER = {"code": "ED", "name": "等级评定", "boundary": "lower_inclusive", "population": "organization",
          "rounding": "half_up", "calibration_share": "5", "exempt_grade": "B", "long_leave_grade": "",
          "appeal_group": "", "untold_extension_days": "0"}
BANDS = [{"grade": "S", "label": "优秀", "lower": "90", "upper": "120", "coefficient": "1.2"},
         {"grade": "A", "label": "良好", "lower": "80", "coefficient": "1.1"},
         {"grade": "B", "label": "合格", "lower": "70", "coefficient": "1.0"},
         {"grade": "C", "label": "待改进", "lower": "", "coefficient": "0.8"}]
QUOTAS = [{"grade": "S", "op": "<=", "unit": "share", "value": "5"},
          {"grade": "A", "op": "<=", "unit": "share", "value": "15"},
          {"grade": "B", "op": ">=", "unit": "share", "value": "70"},
          {"grade": "C", "op": "<=", "unit": "share", "value": "10"}]
RULES = [{"code": "two_c", "name": "两次C", "kind": "count_in_window", "n": "2", "of_last": "4", "same_year": "on",
          "current_must_meet": "on", "condition": "grade_in", "value": "C", "outcome": "unfit"},
         {"code": "leave", "kind": "streak", "n": "1", "condition": "fact:above", "fact": "line:LEAVE.actual",
          "value": "20", "outcome": "set_grade", "grade": "C"},
         {"code": "last", "kind": "bottom_n", "n": "1", "min_population": "5", "outcome": "eliminated"}]
# S1-4's quotas as the rows say them (70 %: "0.7"; the service keeps a share's digits as written).
SPEC_QUOTAS = [{"grade": "S", "op": "<=", "share": "0.05"}, {"grade": "A", "op": "<=", "share": "0.15"},
               {"grade": "B", "op": ">=", "share": "0.7"}, {"grade": "C", "op": "<=", "share": "0.1"}]
SPEC_RULES = [{"code": "two_c", "name": "两次C", "kind": "count_in_window",
               "config": {"count": 2, "of_last": 4, "same_year": True, "condition": {"grade_in": ["C"]}},
               "outcome": "unfit"},
              {"code": "leave", "kind": "streak",
               "config": {"periods": 1, "condition": {"fact": "line:LEAVE.actual", "above": "20"}},
               "outcome": "set_grade", "grade": "C"},
              {"code": "last", "kind": "bottom_n", "config": {"n": 1, "min_population": 5}, "outcome": "eliminated"}]


def editor_post(*, bands: list[dict[str, str]] = BANDS, quotas: list[dict[str, str]] = QUOTAS,
                rules: list[dict[str, str]] = RULES, **header: str) -> dict[str, str]:
    data = {**HEADER, **header}
    for prefix, rows in (("bands", bands), ("quotas", quotas), ("rules", rules)):
        data[f"{prefix}-TOTAL_FORMS"], data[f"{prefix}-INITIAL_FORMS"] = str(len(rows)), "0"
        for n, row in enumerate(rows):
            data.update({f"{prefix}-{n}-{name}": value for name, value in row.items()})
    return data


class _FormFields(HTMLParser):
    """What a browser would post from the page's editor form: inputs, checked boxes, selected options."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.data: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[name] = "on"
            else:
                self.data[name] = a.get("value") or ""
        elif tag == "select" and name:
            self.select, self.first_option = name, None
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value") or ""
                self.data.setdefault(self.select, self.first_option)
            if "selected" in a:
                self.data[self.select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def page_form(html: str, form_id: str = "grading-policy-editor") -> dict[str, str]:
    parser = _FormFields(form_id)
    parser.feed(html)
    return parser.data


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _policy_fields(policy: GradingPolicy) -> tuple[Any, ...]:
    return (policy.name, policy.scale, policy.quotas, policy.rounding, policy.population, policy.calibration_share,
            policy.status_grades, policy.rules, policy.appeal_group_id, policy.untold_extension_days)


def _from_service(org: Any) -> GradingPolicy:
    return make_policy(org, code="SV", name="等级评定", scale=S14_SCALE, quotas=SPEC_QUOTAS,
                       status_grades={"exempt": "B"}, rules=SPEC_RULES)


def test_it_saves_the_policy_the_service_builds_from_the_same_spec(client: Client, world_a: World, hr: User) -> None:
    response = _signed_in(client, hr).post(reverse("grading-policy-editor-create"), editor_post())
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("grading-policies")
    service = _from_service(world_a.org)
    with scope(organization=world_a.org):
        edited = GradingPolicy.objects.get(code="ED")
        assert _policy_fields(edited) == _policy_fields(service)
        assert edited.history.get().history_user == hr


def test_it_grades_the_same_as_the_service_built_policy(client: Client, world_a: World, hr: User) -> None:
    _signed_in(client, hr).post(reverse("grading-policy-editor-create"), editor_post())
    service = _from_service(world_a.org)
    scores = [(n, Decimal(s)) for n, s in enumerate(["98", "96", "93", "89", "88", "79.5", "75", "72", "71", "60"])]
    with scope(organization=world_a.org):
        edited = GradingPolicy.objects.get(code="ED")
    graded = [grading.distribute(scores, p.scale, p.quotas, rounding=p.rounding) for p in (edited, service)]
    assert [s.final_grade.code for s in graded[0].subjects] == [s.final_grade.code for s in graded[1].subjects]
    assert {s.final_grade.code for s in graded[0].subjects} == {"S", "A", "B", "C"}


def test_it_opens_a_saved_policy_as_its_rows(client: Client, world_a: World, hr: User) -> None:
    policy = _from_service(world_a.org)
    response = _signed_in(client, hr).get(reverse("grading-policy-editor-edit", args=[policy.pk]))
    assert response.status_code == 200
    fields = page_form(response.content.decode())
    assert [fields[f"bands-{n}-grade"] for n in range(4)] == ["S", "A", "B", "C"]
    assert [fields[f"bands-{n}-lower"] for n in range(4)] == ["90", "80", "70", ""]
    assert fields["bands-0-upper"] == "120"
    assert [(fields[f"quotas-{n}-op"], fields[f"quotas-{n}-value"]) for n in range(4)] == [
        ("<=", "5"), ("<=", "15"), (">=", "70"), ("<=", "10")]
    assert (fields["rules-1-condition"], fields["rules-1-fact"], fields["rules-1-value"]) == (
        "fact:above", "line:LEAVE.actual", "20")
    assert fields["exempt_grade"] == "B"
    assert fields["calibration_share"] == "5"


def test_it_offers_the_json_tab_of_the_same_policy(client: Client, world_a: World, hr: User) -> None:
    policy = _from_service(world_a.org)
    signed_in = _signed_in(client, hr)
    page = signed_in.get(reverse("grading-policy-editor-edit", args=[policy.pk])).content.decode()
    assert f'href="{reverse("grading-policy-json-edit", args=[policy.pk])}"' in page
    shown = signed_in.get(reverse("grading-policy-json-edit", args=[policy.pk])).context["form"]["policy"].value()
    assert json.loads(shown)["quotas"] == policy.quotas


def test_it_writes_no_version_when_a_saved_policy_is_saved_unchanged(client: Client, world_a: World,
                                                                       hr: User) -> None:
    policy = make_policy(world_a.org, code="RT", name="往返", rules=SPEC_RULES, status_grades={"exempt": "B",
                                                                                            "long_leave": None},
                         quotas=[{"grade": "S", "op": "<=", "count": 2}, {"grade": "A", "min_count": 1,
                                                                          "max_count": 3}],
                         population="department", rounding="down", calibration_share=Decimal("0.1"),
                         untold_extension_days=3)
    signed_in = _signed_in(client, hr)
    page = signed_in.get(reverse("grading-policy-editor-edit", args=[policy.pk])).content.decode()
    response = signed_in.post(reverse("grading-policy-editor-edit", args=[policy.pk]), page_form(page))
    assert response.status_code == 302, response.content.decode()[:3000]
    with scope(organization=world_a.org):
        assert list(GradingPolicy.objects.filter(code="RT").values_list("version", flat=True)) == [1]


def test_it_saves_a_changed_policy_as_the_next_version(client: Client, world_a: World, hr: User) -> None:
    policy = _from_service(world_a.org)
    signed_in = _signed_in(client, hr)
    fields = page_form(signed_in.get(reverse("grading-policy-editor-edit", args=[policy.pk])).content.decode())
    fields["quotas-0-value"] = "10"
    assert signed_in.post(reverse("grading-policy-editor-edit", args=[policy.pk]), fields).status_code == 302
    with scope(organization=world_a.org):
        latest = GradingPolicy.objects.filter(code="SV").order_by("-version").first()
        assert latest is not None and latest.version == 2
        assert latest.quotas[0] == {"grade": "S", "op": "<=", "share": "0.1"}


def _refused(client: Client, hr: User, data: dict[str, str]) -> Any:
    response = _signed_in(client, hr).post(reverse("grading-policy-editor-create"), data)
    assert response.status_code == 400
    assert not GradingPolicy.objects.filter(code=data["code"]).exists()
    return response.context["editor"]


def test_it_shows_overlapping_bands_on_the_lower_bound(client: Client, world_a: World, hr: User) -> None:
    bands = [BANDS[0], {**BANDS[1], "lower": "95"}, BANDS[2], BANDS[3]]  # A from 95 reaches into S (90 …)
    with scope(organization=world_a.org):
        editor = _refused(client, hr, editor_post(bands=bands))
    row = editor.rows["bands"].forms[1]
    assert "lower" in row.errors and "90" in row.errors["lower"][0]
    assert "bands[1]" not in row.errors["lower"][0]  # the config path is not shown to HR


def test_it_shows_two_bands_at_the_same_lower_bound_on_the_second(client: Client, world_a: World,
                                                                    hr: User) -> None:
    bands = [BANDS[0], BANDS[1], {**BANDS[2], "lower": "80"}, BANDS[3]]
    with scope(organization=world_a.org):
        editor = _refused(client, hr, editor_post(bands=bands))
    assert list(editor.rows["bands"].forms[2].errors) == ["lower"]
    assert not editor.rows["bands"].forms[1].errors


def test_it_shows_a_quota_for_an_unknown_grade_on_its_grade(client: Client, world_a: World, hr: User) -> None:
    quotas = [QUOTAS[0], {"grade": "Z", "op": "<=", "unit": "count", "value": "2"}]
    with scope(organization=world_a.org):
        editor = _refused(client, hr, editor_post(quotas=quotas))
    assert list(editor.rows["quotas"].forms[1].errors) == ["grade"]
    assert "S, A, B, C" in editor.rows["quotas"].forms[1].errors["grade"][0]


def test_it_shows_a_set_grade_outside_the_scale_on_its_field(client: Client, world_a: World, hr: User) -> None:
    with scope(organization=world_a.org):
        editor = _refused(client, hr, editor_post(exempt_grade="Z"))
    assert list(editor.header.errors) == ["exempt_grade"]


def test_it_shows_a_rule_missing_its_grade_on_the_rule(client: Client, world_a: World, hr: User) -> None:
    rules = [{**RULES[1], "grade": ""}]
    with scope(organization=world_a.org):
        editor = _refused(client, hr, editor_post(rules=rules))
    assert list(editor.rows["rules"].forms[0].errors) == ["grade"]


def test_it_shows_a_rule_without_its_condition_on_the_condition(client: Client, world_a: World, hr: User) -> None:
    rules = [{**RULES[0], "condition": "", "value": ""}]
    with scope(organization=world_a.org):
        editor = _refused(client, hr, editor_post(rules=rules))
    assert list(editor.rows["rules"].forms[0].errors) == ["condition"]


def test_it_adds_and_removes_rows(client: Client, world_a: World, hr: User) -> None:
    signed_in = _signed_in(client, hr)
    added = signed_in.post(reverse("grading-policy-editor-rows"), {**editor_post(), "editor_action": "add:bands"})
    assert page_form(f'<form id="f">{added.content.decode()}</form>', "f")["bands-TOTAL_FORMS"] == "5"
    removed = signed_in.post(reverse("grading-policy-editor-rows"),
                             {**editor_post(), "editor_action": "remove:quotas:0"})
    fields = page_form(f'<form id="f">{removed.content.decode()}</form>', "f")
    assert (fields["quotas-TOTAL_FORMS"], fields["quotas-0-grade"]) == ("3", "A")


def test_it_saves_the_json_tab_through_the_same_check(client: Client, world_a: World, hr: User) -> None:
    signed_in = _signed_in(client, hr)
    spec = {"code": "JS", "name": "等级评定", "scale": S14_SCALE, "quotas": SPEC_QUOTAS, "rules": SPEC_RULES,
            "status_grades": {"exempt": "B"}}
    bad = {**spec, "quotas": [{"grade": "Z", "op": "<=", "share": "0.1"}]}
    refused = signed_in.post(reverse("grading-policy-json-create"), {"policy": json.dumps(bad)})
    assert refused.status_code == 400
    assert any("quotas[0].grade" in problem for problem in refused.context["problems"])
    assert signed_in.post(reverse("grading-policy-json-create"), {"policy": json.dumps(spec)}).status_code == 302
    signed_in.post(reverse("grading-policy-editor-create"), editor_post())
    with scope(organization=world_a.org):
        assert not GradingPolicy.objects.filter(code="Z").exists()
        from_json, from_editor = GradingPolicy.objects.get(code="JS"), GradingPolicy.objects.get(code="ED")
        assert _policy_fields(from_json) == _policy_fields(from_editor)


@pytest.mark.parametrize("name", ["grading-policy-editor-edit", "grading-policy-json-edit"])
def test_it_answers_404_for_another_organisations_policy(client: Client, world_a: World, outsider: User,
                                                         name: str) -> None:
    policy = make_policy(world_a.org)
    signed_in = _signed_in(client, outsider)
    assert signed_in.get(reverse(name, args=[policy.pk])).status_code == 404
    assert signed_in.post(reverse(name, args=[policy.pk]), editor_post(code="S14")).status_code == 404
    with scope(organization=world_a.org):
        assert GradingPolicy.objects.filter(code="S14").count() == 1


def test_it_refuses_an_employee(client: Client, world_a: World, employee: User) -> None:
    signed_in = _signed_in(client, employee)
    assert signed_in.get(reverse("grading-policy-editor-create")).status_code == 403
    assert signed_in.post(reverse("grading-policy-editor-create"), editor_post()).status_code == 403
    assert signed_in.post(reverse("grading-policy-json-create"), {"policy": "{}"}).status_code == 403
    with scope(organization=world_a.org):
        assert not GradingPolicy.objects.exists()


def test_it_puts_the_policies_in_hrs_menu_only(client: Client, world_a: World, hr: User, employee: User) -> None:
    url = reverse("grading-policies")
    assert f'href="{url}"' in _signed_in(client, hr).get(reverse("home")).content.decode()
    assert f'href="{url}"' not in _signed_in(Client(), employee).get(reverse("home")).content.decode()


def _closed(world: World, scores: list[str], number: int) -> Any:
    people = add_people(world.org, world.production, len(scores), prefix=f"p{number}")
    period = scored_period(world.org, dict(zip(people, scores, strict=True)), policy=make_policy(world.org),
                           number=number)
    close(period)
    return period


def test_it_previews_the_drafts_counts_on_a_closed_period(client: Client, world_a: World, hr: User) -> None:
    period = _closed(world_a, ["95", "92", "85", "75", "60"], 10)
    quotas = [{"grade": "S", "op": "<=", "unit": "count", "value": "1"}]
    data = {**editor_post(quotas=quotas, rules=[]), "preview_period": str(period.pk)}
    response = _signed_in(client, hr).post(reverse("grading-policy-editor-preview"), data)
    assert response.status_code == 200
    rows = {row.grade: (row.by_band, row.draft) for row in response.context["preview"].rows}
    # S ≤ 1 person: 92 falls to A. Everyone else in the organisation is exempt: the draft's B.
    assert rows == {"S": (2, 1), "A": (1, 2), "B": (1, 1 + 5), "C": (1, 1)}
    with scope(organization=world_a.org):
        assert not GradingPolicy.objects.filter(code="ED").exists()


def test_it_previews_with_the_same_queries_whatever_the_head_count(client: Client, world_a: World,
                                                                    hr: User) -> None:
    small, large = _closed(world_a, ["95", "60"], 10), _closed(world_a, ["95", "92", "85", "75", "60", "88"], 11)
    signed_in = _signed_in(client, hr)
    counts = []
    for period in (small, small, large):  # the first request also reads the session and the membership
        with CaptureQueriesContext(connection) as queries:
            signed_in.post(reverse("grading-policy-editor-preview"),
                           {**editor_post(), "preview_period": str(period.pk)})
        counts.append(len(queries))
    assert counts[1] == counts[2]


def test_it_previews_nothing_of_another_organisations_period(client: Client, world_a: World, outsider: User) -> None:
    period = _closed(world_a, ["95"], 10)
    response = _signed_in(client, outsider).post(reverse("grading-policy-editor-preview"),
                                                 {**editor_post(), "preview_period": str(period.pk)})
    assert response.status_code == 404
