"""The template editor's live preview: the draft (the editor's form as posted, never saved) applied to
a real sheet's recorded data, beside the sheet's saved score.

The scheme, worked out by hand: a person template STAFF2 with
* part kpi, weight 60 %: OUTPUT 60 points (completion against a target of 200) and CHECK 40 points
  (deductions, 2 points an occurrence);
* part work, weight 40 %: WORK 100 points, rated by self 20 % and the supervisor 80 %.
The employee's sheet: OUTPUT 180 (90 % → 54.00), CHECK two occurrences (40 − 4 = 36.00), WORK self
优秀 100 and supervisor 良好 80 (0.2 × 100 + 0.8 × 80 = 84.00). Saved score: 100 × (0.6 × 90/100 +
0.4 × 84/100) = 87.60. With OUTPUT 70 and CHECK 30 in the draft: 63.00 + 26.00 = 89 → 100 × (0.6 ×
89/100 + 0.4 × 84/100) = 53.40 + 33.60 = 87.00.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Sheet, SheetLine
from indicators.editors.template import initial_from
from indicators.models import Indicator, Template
from indicators.services import add_benchmark, build_template, create_indicator
from organizations.models import User
from tests.conftest import World
from tests.test_appraisal_pages import HTMX, WORK_SCALE, open_period

SPEC = {
    "code": "STAFF2", "name": "员工月度考核", "subject_kind": "person",
    "parts": [
        {"code": "kpi", "name": "指标", "weight": "0.6",
         "lines": [{"indicator": "OUTPUT", "max_points": "60"}, {"indicator": "CHECK", "max_points": "40"}]},
        {"code": "work", "name": "工作表现", "weight": "0.4",
         "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
    ],
    "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
               {"role": "supervisor", "weight": "0.8"}],
}


def build(world: World, *, entered: bool = True) -> tuple[Template, Sheet]:
    """The scheme above, with the employee's sheet entered and scored as the pages would (the raters
    need the head's membership: ``entered=False`` leaves the sheet as generated)."""
    org = world.org
    with scope(organization=org):
        output = create_indicator(organization=org, acting_user=None, code="OUTPUT", name="产量", unit="吨",
                                  method="completion", config={"cap_rate": "1.2"})
        add_benchmark(indicator=output, acting_user=None, value="200")
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作表现", method="rating",
                         config=WORK_SCALE)
        create_indicator(organization=org, acting_user=None, code="CHECK", name="检查扣分", method="deduction",
                         config={"items": [{"code": "c", "name": "现场检查", "points": "2"}]})
        template = build_template(organization=org, acting_user=None, spec=SPEC)
        period = open_period(org, [template])
        sheet = Sheet.objects.get(period=period, person=world.people["employee"])
        if not entered:
            return template, sheet
        lines = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=sheet).select_related(
            "indicator", "sheet")}
        services.update_line(line_id=lines["OUTPUT"].pk, expected_version=lines["OUTPUT"].version,
                             acting_user=None, actual=Decimal("180"))
        services.record_deduction(line=lines["CHECK"], acting_user=None, item_code="c", count=2,
                                  occurred_on=period.start)
        for role, rating in (("self", "优秀"), ("supervisor", "良好")):
            services.rate_line(line=SheetLine.objects.get(pk=lines["WORK"].pk),
                               rater=Rater.objects.get(sheet=sheet, role=role), acting_user=None, rating=rating)
        sheet.refresh_from_db()
    assert sheet.score == Decimal("87.60")  # the hand calculation above, by the close's engine
    return template, sheet


@pytest.fixture
def scheme(world_a: World, hr: User, head: User, employee: User) -> tuple[Template, Sheet]:
    return build(world_a)


def draft_of(template: Template, **changes: str) -> dict[str, str]:
    """The editor's form for a new version of ``template`` as the browser posts it, with ``changes``
    ({"lines-0-max_points": "70"}) applied."""
    with scope(organization=template.organization):
        header, rows = initial_from(template)
    data = {name: "" if value is None else str(value) for name, value in header.items()}
    for prefix, table in rows.items():
        data[f"{prefix}-TOTAL_FORMS"], data[f"{prefix}-INITIAL_FORMS"] = str(len(table)), "0"
        for n, row in enumerate(table):
            for name, value in row.items():
                if value is True:
                    data[f"{prefix}-{n}-{name}"] = "on"
                elif value not in (None, False):
                    data[f"{prefix}-{n}-{name}"] = str(value)
    return {**data, **changes}


def _preview(client: Client, template: Template, sheet: Sheet, data: dict[str, str]) -> Any:
    url = reverse("template-editor-preview", args=[template.pk])
    return client.post(url, {**data, "preview_sheet": str(sheet.pk)}, headers=HTMX)


def _score(html: str, element: str) -> str:
    found = re.search(rf'id="{element}" data-score="([^"]*)"', html)
    assert found is not None, html[:3000]
    return found.group(1)


def _line_scores(html: str) -> list[str]:
    return re.findall(r'class="text-end text-nowrap line-score" data-score="([^"]*)"', html)


def _written(sheet: Sheet) -> tuple[Any, ...]:
    """What a preview must leave alone: templates, the sheet and its lines, with their history."""
    with scope(organization=sheet.organization):
        fresh = Sheet.objects.get(pk=sheet.pk)
        lines = list(SheetLine.objects.filter(sheet=sheet).order_by("pk").values_list(
            "max_points", "score", "explanation", "part_code", "version"))
        return (Template.objects.count(), fresh.score, fresh.explanation, lines, Sheet.history.count(),
                SheetLine.history.count())


def test_it_offers_the_sheets_of_the_template_beside_the_editor(client: Client, hr: User,
                                                                scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(hr)
    html = client.get(reverse("template-editor-edit", args=[template.pk])).content.decode()
    panel = html[html.index('id="template-preview"'):]
    assert f'hx-post="{reverse("template-editor-preview", args=[template.pk])}"' in panel
    assert re.search(rf'<option value="{sheet.pk}"[^>]*>[^<]*87.60', panel)


def test_it_previews_the_unchanged_template_at_the_saved_score(client: Client, hr: User,
                                                               scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(hr)
    response = _preview(client, template, sheet, draft_of(template))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert _score(html, "template-preview-score") == _score(html, "template-preview-saved") == "87.60"
    assert _line_scores(html) == ["54.00", "36.00", "84.00"]
    assert 'id="template-preview-difference">+0.00<' in html or 'id="template-preview-difference">0.00<' in html


def test_it_scores_the_sheet_with_the_drafts_line_weights(client: Client, hr: User,
                                                          scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(hr)
    draft = draft_of(template, **{"lines-0-max_points": "70", "lines-1-max_points": "30"})
    html = _preview(client, template, sheet, draft).content.decode()
    assert _score(html, "template-preview-score") == "87.00"  # by hand: 100 × (0.6 × 89/100 + 0.4 × 84/100)
    assert _score(html, "template-preview-saved") == "87.60"
    assert _line_scores(html) == ["63.00", "26.00", "84.00"]


def test_it_weighs_the_raters_as_the_draft_says(client: Client, hr: User, scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(hr)
    draft = draft_of(template, **{"raters-0-weight": "50", "raters-1-weight": "50"})
    html = _preview(client, template, sheet, draft).content.decode()
    # WORK: 0.5 × 100 + 0.5 × 80 = 90; 100 × (0.6 × 90/100 + 0.4 × 90/100) = 90.00
    assert _line_scores(html) == ["54.00", "36.00", "90.00"]
    assert _score(html, "template-preview-score") == "90.00"


def test_it_leaves_out_a_line_the_draft_drops(client: Client, hr: User, scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(hr)
    # CHECK removed (the rows below move up), OUTPUT takes the part's 100 points: 100 × 90 % = 90.00.
    draft = draft_of(template, **{"lines-TOTAL_FORMS": "2", "lines-0-max_points": "100", "lines-1-part": "work",
                                  "lines-1-indicator": "WORK", "lines-1-max_points": "100", "lines-1-source": "raters"})
    html = _preview(client, template, sheet, draft).content.decode()
    assert re.findall(r'data-state="(\w+)"', html) == ["kept", "removed", "kept"]
    assert _line_scores(html) == ["90.00", "", "84.00"]
    assert _score(html, "template-preview-score") == "87.60"  # 100 × (0.6 × 90/100 + 0.4 × 84/100)


def test_it_writes_nothing(client: Client, hr: User, scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    before = _written(sheet)
    client.force_login(hr)
    draft = draft_of(template, **{"lines-0-max_points": "70", "lines-1-max_points": "30"})
    assert _preview(client, template, sheet, draft).status_code == 200
    assert _written(sheet) == before


def test_it_shows_the_errors_of_a_draft_that_does_not_add_up(client: Client, hr: User,
                                                             scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    before = _written(sheet)
    client.force_login(hr)
    html = _preview(client, template, sheet, draft_of(template, **{"parts-0-weight": "50"})).content.decode()
    problems = html[html.index('id="template-preview-problems"'):]
    assert "0.9" in problems  # the part weights, as build_template words it
    assert 'id="template-preview-score"' not in html
    assert _written(sheet) == before


def test_it_shows_a_fields_error_with_its_row(client: Client, hr: User, scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(hr)
    html = _preview(client, template, sheet, draft_of(template, **{"lines-1-indicator": "NOPE"})).content.decode()
    problems = html[html.index('id="template-preview-problems"'):]
    # One error, on row 2 of the lines (in Chinese 第 2 行: no word boundary around the digit there).
    assert len(re.findall(r"<li>[^<]*(?<!\d)2(?!\d)[^<]*</li>", problems)) == 1
    assert 'id="template-preview-score"' not in html


def test_it_refuses_another_organisations_sheet(client: Client, hr: User, outsider: User, world_b: World,
                                                scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    theirs, their_sheet = build(world_b, entered=False)
    client.force_login(hr)
    assert _preview(client, template, their_sheet, draft_of(template)).status_code == 404
    # Nor may B's HR try A's template or A's sheet.
    client.force_login(outsider)
    assert _preview(client, template, their_sheet, draft_of(theirs)).status_code == 404
    assert _preview(client, theirs, sheet, draft_of(theirs)).status_code == 404


def test_it_is_refused_to_those_who_do_not_keep_templates(client: Client, head: User,
                                                          scheme: tuple[Template, Sheet]) -> None:
    template, sheet = scheme
    client.force_login(head)
    assert _preview(client, template, sheet, draft_of(template)).status_code == 403


def _with_more_lines(template: Template, world: World, count: int) -> dict[str, str]:
    """The draft with a third part of ``count`` lines (indicators the sheet has no line for)."""
    org = world.org
    with scope(organization=org):
        for n in range(count):
            if not Indicator.objects.filter(code=f"EXTRA{n}").exists():
                create_indicator(organization=org, acting_user=None, code=f"EXTRA{n}", name=f"附加{n}",
                                 method="completion", config={})
    draft = draft_of(template, **{"parts-0-weight": "40", "parts-1-weight": "30", "parts-TOTAL_FORMS": "3",
                                  "parts-2-code": "more", "parts-2-name": "附加", "parts-2-weight": "30",
                                  "parts-2-full_marks": "100", "lines-TOTAL_FORMS": str(3 + count)})
    points = Decimal(100) / count
    for n in range(count):
        draft.update({f"lines-{3 + n}-part": "more", f"lines-{3 + n}-indicator": f"EXTRA{n}",
                      f"lines-{3 + n}-max_points": str(points), f"lines-{3 + n}-source": "data"})
    return draft


def test_it_reads_as_many_queries_whatever_the_size_of_the_template(
        client: Client, hr: User, world_a: World, scheme: tuple[Template, Sheet],
        django_assert_max_num_queries: Any) -> None:
    template, sheet = scheme
    client.force_login(hr)
    small, large = _with_more_lines(template, world_a, 1), _with_more_lines(template, world_a, 20)
    with CaptureQueriesContext(connection) as few:
        html = _preview(client, template, sheet, small).content.decode()
    assert 'id="template-preview-score"' in html, html[:2000]
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = _preview(client, template, sheet, large).content.decode()
    assert html.count('data-state="added"') == 20
    # The twenty new lines have no data here: counted 0, and said so.
    assert 'id="template-preview-provisional"' in html


def test_it_offers_any_sheet_for_a_new_template(client: Client, hr: User, scheme: tuple[Template, Sheet]) -> None:
    _template, sheet = scheme
    client.force_login(hr)
    html = client.get(reverse("template-editor-create")).content.decode()
    panel = html[html.index('id="template-preview"'):]
    assert f'hx-post="{reverse("template-editor-preview-new")}"' in panel
    assert f'<option value="{sheet.pk}"' in panel
    with scope(organization=sheet.organization):
        assert Period.objects.filter(pk=sheet.period_id).exclude(state=Period.State.DRAFT).exists()
