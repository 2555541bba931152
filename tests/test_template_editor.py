"""The structured template editor: parts with weights in percent, lines picked from the catalogue and
raters build the same template as the JSON page, with running totals and every problem listed."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from indicators.models import Template, TemplateLine, TemplatePart, TemplateRater
from organizations.models import User
from tests.conftest import World
from tests.test_appraisal_pages import HTMX, Scheme, build_scheme

HEADER = {"code": "MGR", "name": "管理人员考核", "subject_kind": "person", "base_score": "100", "rounding": "line",
          "department_type": "", "position": "", "team_kind": ""}
PARTS = [{"code": "kpi", "name": "指标", "weight": "60", "full_marks": "100"},
         {"code": "work", "name": "工作表现", "weight": "40", "full_marks": "100"}]
LINES = [{"part": "kpi", "indicator": "OUTPUT", "max_points": "100", "source": "data"},
         {"part": "work", "indicator": "WORK", "max_points": "100", "source": "raters"}]
RATERS = [{"role": "self", "weight": "20", "missing_counts_as_zero": "on"}, {"role": "supervisor", "weight": "80"}]
SPEC = {"code": "MGR", "name": "管理人员考核", "subject_kind": "person", "base_score": "100",
        "parts": [{"code": "kpi", "name": "指标", "weight": "0.6", "full_marks": "100",
                   "lines": [{"indicator": "OUTPUT", "max_points": "100"}]},
                  {"code": "work", "name": "工作表现", "weight": "0.4", "full_marks": "100",
                   "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]}],
        "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
                   {"role": "supervisor", "weight": "0.8"}]}


def editor_post(*, parts: list[dict[str, str]] = PARTS, lines: list[dict[str, str]] = LINES,
                raters: list[dict[str, str]] = RATERS, **header: str) -> dict[str, str]:
    data = {**HEADER, **header}
    for prefix, rows in (("parts", parts), ("lines", lines), ("raters", raters)):
        data[f"{prefix}-TOTAL_FORMS"], data[f"{prefix}-INITIAL_FORMS"] = str(len(rows)), "0"
        for n, row in enumerate(rows):
            data.update({f"{prefix}-{n}-{name}": value for name, value in row.items()})
    return data


@pytest.fixture
def scheme(world_a: World, hr: User, head: User, employee: User) -> Scheme:
    return build_scheme(world_a)


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _shape(template: Template) -> dict[str, Any]:
    """What a template is made of, without ids: to compare two templates."""
    parts = [(p.code, p.name, p.weight, p.full_marks, p.cap_positive, p.per_person,
              [(line.indicator.code, line.max_points, line.source, line.config_override)
               for line in TemplateLine.objects.filter(part=p).order_by("sort_order")])
             for p in TemplatePart.objects.filter(template=template).order_by("sort_order")]
    raters = sorted((r.role, r.weight, r.missing_counts_as_zero, r.group_id, r.department_id)
                    for r in TemplateRater.objects.filter(template=template))
    return {"fields": (template.name, template.subject_kind, template.base_score, template.rounding,
                       template.applies_to), "parts": parts, "raters": raters}


def test_it_builds_the_same_template_as_the_json_page(client: Client, hr: User, scheme: Scheme) -> None:
    signed_in = _signed_in(client, hr)
    response = signed_in.post(reverse("template-editor-create"), editor_post())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert signed_in.post(reverse("template-create"), {"spec": json.dumps({**SPEC, "code": "MGRJ"})}).status_code == 302
    with scope(organization=scheme.world.org):
        from_form, from_json = Template.objects.get(code="MGR"), Template.objects.get(code="MGRJ")
        assert response["Location"] == reverse("template-detail", args=[from_form.pk])
        assert _shape(from_form) == _shape(from_json)
        assert from_form.history.get().history_user == hr


def test_it_lists_every_problem_and_saves_nothing(client: Client, hr: User, scheme: Scheme) -> None:
    parts = [{**PARTS[0], "weight": "50"}, PARTS[1]]
    response = _signed_in(client, hr).post(reverse("template-editor-create"), editor_post(parts=parts))
    assert response.status_code == 400
    html = response.content.decode()
    problems = html[html.index('id="template-problems"'):]
    assert "0.9" in problems  # the part weights, as build_template words it
    with scope(organization=scheme.world.org):
        assert not Template.objects.filter(code="MGR").exists()


def test_it_shows_a_line_without_a_part_on_its_row(client: Client, hr: User, scheme: Scheme) -> None:
    lines = [LINES[0], {**LINES[1], "part": "nope"}]
    response = _signed_in(client, hr).post(reverse("template-editor-create"), editor_post(lines=lines))
    assert response.status_code == 400
    html = response.content.decode()
    row = re.search(r'<tr id="lines-row-1".*?</tr>', html, re.S)
    assert row is not None and "field-error" in row.group(0)
    with scope(organization=scheme.world.org):
        assert not Template.objects.filter(code="MGR").exists()


def test_it_shows_running_totals_that_do_not_add_up(client: Client, hr: User, scheme: Scheme) -> None:
    parts = [{**PARTS[0], "weight": "50"}, PARTS[1]]
    lines = [{**LINES[0], "max_points": "90"}, LINES[1]]
    data = {**editor_post(parts=parts, lines=lines), "only": "totals"}
    html = _signed_in(client, hr).post(reverse("template-editor-rows"), data, headers=HTMX).content.decode()
    assert "<html" not in html and "<ul" in html
    off = re.findall(r'total-off">\s*([^<]*)<span class="total-value">([^<]*)<', html)
    assert [value for _label, value in off] == ["90%", "90"]  # part weights, then the kpi part's lines


def test_it_adds_a_rater_row_through_htmx(client: Client, hr: User, scheme: Scheme) -> None:
    data = {**editor_post(), "editor_action": "add:raters"}
    html = _signed_in(client, hr).post(reverse("template-editor-rows"), data, headers=HTMX).content.decode()
    assert 'id="raters-row-2"' in html and 'name="raters-TOTAL_FORMS" value="3"' in html


def test_it_starts_a_new_version_from_the_stored_template(client: Client, hr: User, scheme: Scheme) -> None:
    signed_in = _signed_in(client, hr)
    html = signed_in.get(reverse("template-editor-edit", args=[scheme.template.pk])).content.decode()
    assert 'name="parts-0-weight" value="60"' in html and 'name="raters-1-weight" value="80"' in html
    response = signed_in.post(reverse("template-editor-edit", args=[scheme.template.pk]),
                              editor_post(code="STAFF", name="员工月度考核"))
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        assert Template.objects.get(code="STAFF", version=2).parts.count() == 2


def test_it_returns_404_for_another_organizations_template(client: Client, hr: User, world_b: World) -> None:
    theirs = build_scheme(world_b).template
    assert _signed_in(client, hr).get(reverse("template-editor-edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("template-editor-edit", args=[theirs.pk]), editor_post()).status_code == 404


def test_it_forbids_the_editor_to_an_employee(client: Client, employee: User) -> None:
    assert _signed_in(client, employee).get(reverse("template-editor-create")).status_code == 403


def test_it_saves_the_share_of_the_units_result_typed_as_a_percentage(client: Client, hr: User,
                                                                      scheme: Scheme) -> None:
    """S1-4's deputies: 60 (%) of the department's result → unit_share 0.6, shown on the template's page."""
    signed_in = _signed_in(client, hr)
    response = signed_in.post(reverse("template-editor-create"), editor_post(unit_share="60", unit="department"))
    assert response.status_code == 302, response.content.decode()[:2000]
    with scope(organization=scheme.world.org):
        template = Template.objects.get(code="MGR")
    assert (template.unit_share, template.unit) == (Decimal("0.6"), "department")
    assert 'id="template-unit-share"' in signed_in.get(response["Location"]).content.decode()
    again = signed_in.get(reverse("template-editor-edit", args=[template.pk])).content.decode()
    assert 'name="unit_share" value="60"' in again
