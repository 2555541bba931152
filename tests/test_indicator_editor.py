"""The structured indicator editor: each method's settings as fields and rows build the very config
the JSON page saves, a bad row is refused on that row with nothing written, rows are added and
removed by htmx, and the live preview scores the draft on a real sheet line."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from indicators.forms import METHOD_EXAMPLES
from indicators.models import Indicator
from organizations.models import User
from tests.conftest import World
from tests.test_appraisal_pages import HTMX, Scheme, build_scheme

DETAILS = {"name": "销售额", "unit": "万元", "dimension": "财务", "direction": "higher", "baseline_source": "",
           "description": ""}
RATES = {"basis": "target", "lower_mode": "ratio", "zero_target": "met_full", "rate_places": ""}

# Each method's documented example (METHOD_EXAMPLES, what the JSON page offers) as HR fills in the editor.
EDITOR_EXAMPLES: dict[str, tuple[dict[str, str], dict[str, list[dict[str, Any]]]]] = {
    "completion": ({**RATES, "basis": "benchmark", "floor_rate": "0", "cap_rate": "120"}, {}),
    "banded": ({**RATES, "measure": "actual", "boundary": "lower_inclusive", "unit": "points", "otherwise": ""},
               {"bands": [{"low": "", "high": "60", "value": "0"}, {"low": "60", "high": "80", "value": "6"},
                          {"low": "80", "high": "", "value": "10"}]}),
    "deduction": ({"money_per_point": "20", "total_cap_points": "", "total_cap_money": "300", "floor": "0"},
                  {"items": [{"code": "smoke", "name": "柜台内烟头", "points": "5"}],
                   "tiers": [{"item": "smoke", "from_count": "4", "points": "8"}]}),
    "bonus": ({"money_per_point": "", "total_cap_points": "6", "total_cap_money": ""},
              {"items": [{"code": "praise", "name": "媒体表扬", "points": "3", "money": "0"}], "tiers": []}),
    "rating": ({"unit": "points"}, {"scale": [{"label": "优秀", "value": "10"}, {"label": "良好", "value": "8"},
                                             {"label": "合格", "value": "6"}, {"label": "差", "value": "0"}]}),
    "pass_fail": ({"fail_share": "0"}, {"rounds": [{"share": "100"}, {"share": "80"}, {"share": "60"}]}),
    "formula": ({"expression": "MIN(actual / target, 1.2) * max_points", "inputs": ""}, {}),
}


def editor_post(code: str, method: str, settings: dict[str, str], rows: dict[str, list[dict[str, Any]]],
                **details: str) -> dict[str, str]:
    """What the editor's form posts: the indicator's fields, the method's settings and its rows."""
    data = {**DETAILS, **details, "code": code, "method": method, "shown_method": method}
    data.update({f"cfg-{name}": value for name, value in settings.items()})
    for prefix, listed in rows.items():
        data[f"{prefix}-TOTAL_FORMS"] = str(len(listed))
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        for n, row in enumerate(listed):
            data.update({f"{prefix}-{n}-{name}": str(value) for name, value in row.items()})
    return data


@pytest.fixture
def scheme(world_a: World, hr: User, head: User, employee: User) -> Scheme:
    return build_scheme(world_a)


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _row(html: str, prefix: str, n: int) -> str:
    match = re.search(rf'<tr id="{prefix}-row-{n}(-errors)?".*?</tr>\s*(<tr id="{prefix}-row-{n}-errors".*?</tr>)?',
                      html, re.S)
    assert match is not None, f"no row {prefix}-{n}"
    return match.group(0)


@pytest.mark.parametrize("method", sorted(EDITOR_EXAMPLES))
def test_it_saves_the_same_config_as_the_json_page(client: Client, hr: User, world_a: World, method: str) -> None:
    settings, rows = EDITOR_EXAMPLES[method]
    signed_in = _signed_in(client, hr)
    response = signed_in.post(reverse("indicator-editor-create"), editor_post("FORM", method, settings, rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    json_post = {**DETAILS, "code": "JSON", "method": method, "config": json.dumps(METHOD_EXAMPLES[method])}
    assert signed_in.post(reverse("indicator-create"), json_post).status_code == 302
    with scope(organization=world_a.org):
        from_form, from_json = Indicator.objects.get(code="FORM"), Indicator.objects.get(code="JSON")
        assert from_form.method == method
        assert from_form.config == from_json.config
        assert from_form.history.get().history_user == hr


def test_it_shows_a_bad_tier_on_its_row_in_chinese_and_saves_nothing(client: Client, hr: User,
                                                                      world_a: World) -> None:
    settings, rows = EDITOR_EXAMPLES["deduction"]
    tiers = [{"item": "smoke", "from_count": "4", "points": "8"}, {"item": "smoke", "from_count": "3", "points": "9"}]
    data = editor_post("BAD", "deduction", settings, {**rows, "tiers": tiers})
    response = _signed_in(client, hr).post(reverse("indicator-editor-create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    second = _row(html, "tiers", 1)
    assert "field-error" in second and "3" in second and "4" in second
    assert "次数须逐档递增" in second or "递增" in second  # the zh-Hans message of the scoring check
    assert "field-error" not in _row(html, "tiers", 0)
    with scope(organization=world_a.org):
        assert not Indicator.objects.filter(code="BAD").exists()


def test_it_shows_a_gap_between_bands_on_the_band_that_starts_late(client: Client, hr: User,
                                                                     world_a: World) -> None:
    settings, _rows = EDITOR_EXAMPLES["banded"]
    bands = [{"low": "", "high": "60", "value": "0"}, {"low": "70", "high": "", "value": "10"}]
    response = _signed_in(client, hr).post(reverse("indicator-editor-create"),
                                           editor_post("GAP", "banded", settings, {"bands": bands}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "空档" in _row(html, "bands", 1) and "空档" not in _row(html, "bands", 0)
    with scope(organization=world_a.org):
        assert not Indicator.objects.filter(code="GAP").exists()


def test_it_shows_a_bad_setting_on_its_field_without_the_config_key(client: Client, hr: User) -> None:
    settings, rows = EDITOR_EXAMPLES["completion"]
    data = editor_post("CAP", "completion", {**settings, "cap_rate": "0"}, rows)
    html = _signed_in(client, hr).post(reverse("indicator-editor-create"), data).content.decode()
    field = html[html.index('id="field-cfg-cap_rate"'):]
    error = re.search(r'field-error">([^<]*)<', field)
    assert error is not None and "0" in error.group(1) and "cap_rate" not in error.group(1)
    assert "field-error" not in html[html.index('id="field-cfg-floor_rate"'):html.index('id="field-cfg-cap_rate"')]


def test_it_adds_a_band_row_through_htmx(client: Client, hr: User) -> None:
    settings, rows = EDITOR_EXAMPLES["banded"]
    data = {**editor_post("X", "banded", settings, rows), "editor_action": "add:bands"}
    response = _signed_in(client, hr).post(reverse("indicator-editor-settings-new"), data, headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'id="bands-row-3"' in html
    assert 'name="bands-TOTAL_FORMS" value="4"' in html and 'name="bands-1-low" value="60"' in html


def test_it_removes_a_band_row_keeping_the_others(client: Client, hr: User) -> None:
    settings, rows = EDITOR_EXAMPLES["banded"]
    data = {**editor_post("X", "banded", settings, rows), "editor_action": "remove:bands:0"}
    html = _signed_in(client, hr).post(reverse("indicator-editor-settings-new"), data, headers=HTMX).content.decode()
    assert 'name="bands-TOTAL_FORMS" value="2"' in html and 'id="bands-row-2"' not in html
    assert 'name="bands-0-low" value="60"' in html and 'name="bands-1-low" value="80"' in html


def test_it_offers_the_new_methods_example_when_the_method_changes(client: Client, hr: User) -> None:
    settings, rows = EDITOR_EXAMPLES["completion"]
    data = {**editor_post("X", "completion", settings, rows), "method": "rating"}
    html = _signed_in(client, hr).post(reverse("indicator-editor-settings-new"), data, headers=HTMX).content.decode()
    assert 'name="shown_method" value="rating"' in html and 'value="优秀"' in html


def test_it_fills_the_editor_from_a_stored_indicator(client: Client, hr: User, scheme: Scheme) -> None:
    with scope(organization=scheme.world.org):
        work = Indicator.objects.get(code="WORK")
    html = _signed_in(client, hr).get(reverse("indicator-editor-edit", args=[work.pk])).content.decode()
    assert 'name="scale-3-label" value="差"' in html and 'name="scale-1-value" value="80"' in html


def test_it_edits_an_indicator_keeping_who_changed_it(client: Client, hr: User, scheme: Scheme) -> None:
    with scope(organization=scheme.world.org):
        output = Indicator.objects.get(code="OUTPUT")
    settings = {**RATES, "floor_rate": "0", "cap_rate": "150"}
    data = editor_post("OUTPUT", "completion", settings, {}, name="月产量", is_active="on")
    response = _signed_in(client, hr).post(reverse("indicator-editor-edit", args=[output.pk]), data)
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        saved = Indicator.objects.get(pk=output.pk)
        assert (saved.name, saved.config["cap_rate"]) == ("月产量", "1.5")
        assert saved.history.order_by("-history_date").first().history_user == hr


def test_it_previews_the_draft_on_a_real_line(client: Client, hr: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "OUTPUT")
    with scope(organization=scheme.world.org):
        line.actual = 250
        line.save()
        output = Indicator.objects.get(code="OUTPUT")
    # Target 200, actual 250: 125 % capped at the draft's 110 % of 100 points.
    data = {**editor_post("OUTPUT", "completion", {**RATES, "floor_rate": "0", "cap_rate": "110"}, {}),
            "sample_line": str(line.pk)}
    html = _signed_in(client, hr).post(reverse("indicator-editor-preview", args=[output.pk]), data,
                                       headers=HTMX).content.decode()
    score = re.search(r'id="preview-score">([^<]*)<', html)
    assert score is not None and score.group(1) == "110.00"
    assert "125.00%" in html and "110.00%" in html
    with scope(organization=scheme.world.org):
        assert Indicator.objects.get(pk=output.pk).config["cap_rate"] == "1.2"  # nothing saved


def test_it_offers_the_indicators_own_lines_for_the_preview(client: Client, hr: User, scheme: Scheme) -> None:
    with scope(organization=scheme.world.org):
        output = Indicator.objects.get(code="OUTPUT")
    html = _signed_in(client, hr).get(reverse("indicator-editor-edit", args=[output.pk])).content.decode()
    select = html[html.index('id="sample-line"'):html.index("</select>", html.index('id="sample-line"'))]
    assert str(scheme.line("employee", "OUTPUT").pk) in select and "产量" in select


@pytest.mark.parametrize("name", ["indicator-editor-edit", "indicator-editor-settings", "indicator-editor-preview"])
def test_it_returns_404_for_another_organizations_indicator(client: Client, hr: User, world_b: World,
                                                            name: str) -> None:
    scheme_b = build_scheme(world_b)
    with scope(organization=scheme_b.world.org):
        theirs = Indicator.objects.get(code="OUTPUT")
    method = "get" if name == "indicator-editor-edit" else "post"
    response = getattr(_signed_in(client, hr), method)(reverse(name, args=[theirs.pk]))
    assert response.status_code == 404


def test_it_does_not_preview_another_organizations_line(client: Client, hr: User, world_a: World,
                                                        world_b: World) -> None:
    scheme_b = build_scheme(world_b)
    data = {**editor_post("X", "completion", {**RATES, "floor_rate": "0", "cap_rate": "120"}, {}),
            "sample_line": str(scheme_b.line("employee", "OUTPUT").pk)}
    html = _signed_in(client, hr).post(reverse("indicator-editor-preview-new"), data, headers=HTMX).content.decode()
    assert 'id="preview-score"' not in html


def test_it_forbids_the_editor_to_an_employee(client: Client, employee: User) -> None:
    assert _signed_in(client, employee).get(reverse("indicator-editor-create")).status_code == 403
