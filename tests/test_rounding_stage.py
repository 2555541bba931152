"""Where scores are rounded (Template.rounding): each line before the sum (the default), each part,
or only the final score (S0-2: a shift's score is the weighted sum of its unrounded completion
rates, rounded once). Lines always show their rounded score; the total is the same whichever path
computes it (an entry, the streamed rescoring of a period, a close that counts missing lines as 0).

Worked by hand (shift sheet, base 100, one part kpi of weight 1 and full marks 100, lower is
better, score = full marks × benchmark ÷ actual):

    COAL  40 × 290 / 290   = 40       shown 40.00
    WATER 30 × 1.50 / 1.60 = 28.125   shown 28.13
    STEAM 30 × 1.50 / 1.60 = 28.125   shown 28.13

    rounding "line":  40.00 + 28.13 + 28.13 = 96.26
    rounding "final": 40 + 28.125 + 28.125  = 96.25   (0.01 less)
    rounding "part":  round(96.25)          = 96.25

Two parts of weight 0.5 (full marks 100 each):

    part a: WATER 28.125 + FLAT 70 (actual = benchmark)   = 98.125   (lines shown 28.13 + 70.00)
    part b: OUT 100 × 98115 / 100000 (higher is better)   = 98.115   (shown 98.12)

    "line":  0.5 × 98.13 + 0.5 × 98.12 = 98.125 → 98.13
    "part":  0.5 × round(98.125) + 0.5 × round(98.115) = 0.5 × 98.13 + 0.5 × 98.12 → 98.13
    "final": 0.5 × 98.125 + 0.5 × 98.115 = 98.12  → 98.12
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Sheet, SheetLine
from appraisal.services.scoring import score_sheet
from indicators.models import Template, TemplatePart
from indicators.services import TemplateRejected, add_benchmark, build_template, create_indicator
from tests.conftest import World

LOWER = {"basis": "benchmark", "lower_mode": "ratio", "cap_rate": "1.2"}
D = Decimal


def _indicators(org) -> None:
    for code, benchmark, direction in [("COAL", "290", "lower"), ("WATER", "1.50", "lower"),
                                       ("STEAM", "1.50", "lower"), ("FLAT", "10", "lower"),
                                       ("OUT", "100000", "higher")]:
        config = LOWER if direction == "lower" else {"cap_rate": "1.2"}
        indicator = create_indicator(organization=org, acting_user=None, code=code, name=code, method="completion",
                                     config=config, direction=direction)
        add_benchmark(indicator=indicator, acting_user=None, value=benchmark, kind="benchmark")


def _one_part(org, rounding: str | None) -> Template:
    spec = {"code": f"SHIFT-{rounding}", "name": f"运行值 {rounding}", "subject_kind": "team",
            "parts": [{"code": "kpi", "name": "指标", "weight": "1", "full_marks": "100", "lines": [
                {"indicator": "COAL", "max_points": "40"}, {"indicator": "WATER", "max_points": "30"},
                {"indicator": "STEAM", "max_points": "30"}]}]}
    if rounding is not None:
        spec["rounding"] = rounding
    return build_template(organization=org, acting_user=None, spec=spec)


def _two_parts(org, rounding: str) -> Template:
    return build_template(organization=org, acting_user=None, spec={
        "code": f"TWO-{rounding}", "name": f"两部分 {rounding}", "subject_kind": "team", "rounding": rounding,
        "parts": [
            {"code": "a", "name": "甲", "weight": "0.5", "full_marks": "100", "lines": [
                {"indicator": "WATER", "max_points": "30"}, {"indicator": "FLAT", "max_points": "70"}]},
            {"code": "b", "name": "乙", "weight": "0.5", "full_marks": "100", "lines": [
                {"indicator": "OUT", "max_points": "100"}]},
        ]})


ACTUALS = {"COAL": "290", "WATER": "1.60", "STEAM": "1.60", "FLAT": "10", "OUT": "98115"}


def _scored_sheet(world: World, template: Template) -> Sheet:
    """The shift's sheet of a new period with only ``template``, every actual entered (by the service)."""
    period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                    number=Period.objects.count() + 1, templates=[template])
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    sheet = Sheet.objects.get(period=period, team=world.shift)
    for line in SheetLine.objects.filter(sheet=sheet).select_related("indicator"):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                             actual=D(ACTUALS[line.indicator.code]))
    return Sheet.objects.get(pk=sheet.pk)


def _shown(sheet: Sheet) -> dict[str, Decimal | None]:
    return dict(SheetLine.objects.filter(sheet=sheet).values_list("indicator__code", "score"))


@pytest.fixture
def org(world_a: World) -> World:
    with scope(organization=world_a.org):
        _indicators(world_a.org)
    return world_a


@pytest.mark.parametrize("rounding,total", [(None, "96.26"), ("line", "96.26"), ("part", "96.25"),
                                            ("final", "96.25")])
def test_it_rounds_where_the_template_says(org: World, rounding: str | None, total: str) -> None:
    with scope(organization=org.org):
        sheet = _scored_sheet(org, _one_part(org.org, rounding))
        assert sheet.score == D(total)
        # Each line shows its rounded score, whatever the template's rounding.
        assert _shown(sheet) == {"COAL": D("40.00"), "WATER": D("28.13"), "STEAM": D("28.13")}


def test_it_keeps_each_lines_unrounded_score(org: World) -> None:
    with scope(organization=org.org):
        sheet = _scored_sheet(org, _one_part(org.org, "final"))
        raw = dict(SheetLine.objects.filter(sheet=sheet).values_list("indicator__code", "raw_score"))
    assert raw == {"COAL": D("40"), "WATER": D("28.125"), "STEAM": D("28.125")}


@pytest.mark.parametrize("rounding,total", [("line", "98.13"), ("part", "98.13"), ("final", "98.12")])
def test_it_rounds_parts_before_their_weights(org: World, rounding: str, total: str) -> None:
    with scope(organization=org.org):
        sheet = _scored_sheet(org, _two_parts(org.org, rounding))
        assert sheet.score == D(total)
        assert _shown(sheet) == {"WATER": D("28.13"), "FLAT": D("70.00"), "OUT": D("98.12")}


def test_it_says_how_the_total_was_rounded(org: World) -> None:
    with scope(organization=org.org):
        sheet = _scored_sheet(org, _one_part(org.org, "final"))
    assert sheet.explanation.startswith("100.00 × (指标 96.25/100.00 × 1) = 96.25")


@pytest.mark.parametrize("rounding,total", [("line", "96.26"), ("final", "96.25")])
def test_every_path_computes_the_same_total(org: World, rounding: str, total: str) -> None:
    with scope(organization=org.org):
        template = _one_part(org.org, rounding)
        sheet = _scored_sheet(org, template)
        # 1. the entry service (each update_line rescored the sheet)
        by_entry = sheet.score
        # 2. the streamed rescoring of a period (what the close runs), after the sheet went stale
        Sheet.objects.filter(pk=sheet.pk).update(score=None, data_version=F("data_version") + 1)
        services.rescore_period(period=sheet.period, acting_user=None, reason="again")
        by_period = Sheet.objects.get(pk=sheet.pk).score
        # 3. score_sheet over the stored lines (what a close that counts missing lines as 0 reads)
        lines = list(SheetLine.objects.filter(sheet=sheet).select_related("indicator"))
        parts = list(TemplatePart.objects.filter(template=template))
        by_stored = score_sheet(template.base_score, lines, parts, missing_as_zero=True,
                                rounding=template.rounding).score
    assert by_entry == by_period == by_stored == D(total)


def test_changing_the_rounding_makes_the_sheets_stale(org: World) -> None:
    with scope(organization=org.org):
        template = _one_part(org.org, "line")
        sheet = _scored_sheet(org, template)
        assert sheet.score == D("96.26") and not sheet.is_stale
        # Behind the services' back, as the admin or SQL would: the trigger marks the sheet stale.
        Template.objects.filter(pk=template.pk).update(rounding="final")
        assert Sheet.objects.get(pk=sheet.pk).is_stale
        services.rescore_period(period=sheet.period, acting_user=None, reason="rounding changed")
        assert Sheet.objects.get(pk=sheet.pk).score == D("96.25")


def test_the_stale_triggers_still_watch_lines_records_and_ratings(org: World) -> None:
    # The migration rebuilt the line table on SQLite: its triggers must be back.
    with scope(organization=org.org):
        sheet = _scored_sheet(org, _one_part(org.org, "line"))
        line = SheetLine.objects.get(sheet=sheet, indicator__code="WATER")
        SheetLine.objects.filter(pk=line.pk).update(actual=D("1.50"))
        assert Sheet.objects.get(pk=sheet.pk).is_stale


def test_it_refuses_an_unknown_rounding(org: World) -> None:
    with scope(organization=org.org), pytest.raises(TemplateRejected) as refused:
        _one_part(org.org, "cell")
    assert any("rounding" in problem for problem in refused.value.problems)


def test_the_api_takes_and_shows_the_rounding(org: World, hr, api_for) -> None:
    spec = {"code": "API-R", "name": "舍入", "subject_kind": "team", "rounding": "final",
            "parts": [{"code": "kpi", "name": "指标", "weight": "1", "full_marks": "100",
                       "lines": [{"indicator": "COAL", "max_points": "100"}]}]}
    response = api_for(hr).post("/api/templates/", spec, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["rounding"] == "final"


def test_the_template_page_shows_the_rounding(org: World, hr, client) -> None:
    with scope(organization=org.org):
        template = _one_part(org.org, "final")
    client.force_login(hr)
    html = client.get(reverse("template-detail", args=[template.pk])).content.decode()
    assert 'id="template-rounding"' in html
    assert "仅最终得分" in html  # "only the final score"
