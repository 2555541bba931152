"""The appraisal pages: HR keeps indicators, templates and periods; heads enter data and rate;
employees see their own sheet and assess themselves. Through the test client, as each role.

The scheme used throughout (scores worked out by hand): a person template with
* part kpi, weight 0.6: OUTPUT, completion against an organisation-wide target of 200, 100 points;
* part work, weight 0.4: WORK, rated on a scale 优秀 100 / 良好 80 / 合格 60 / 差 0, 100 points,
  by self 0.2 (missing counts as zero) and the supervisor 0.8;
and a separate template for the back office with a deduction line CHECK (2 points an occurrence).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.forms import RecordForm
from appraisal.models import DeductionRecord, Period, Rater, Sheet, SheetLine
from indicators.models import Benchmark, Indicator, Template
from indicators.services import add_benchmark, build_template, create_indicator
from organizations import services as org_services
from organizations.models import User
from tests.closing import make_policy
from tests.conftest import World

WORK_SCALE = {"unit": "points", "scale": [{"label": "优秀", "points": "100"}, {"label": "良好", "points": "80"},
                                          {"label": "合格", "points": "60"}, {"label": "差", "points": "0"}]}
HTMX = {"HX-Request": "true"}


@dataclass
class Scheme:
    world: World
    template: Template
    period: Period

    def sheet(self, person: str) -> Sheet:
        with scope(organization=self.world.org):
            return Sheet.objects.get(period=self.period, person=self.world.people[person])

    def line(self, person: str, code: str) -> SheetLine:
        with scope(organization=self.world.org):
            return SheetLine.objects.get(sheet__period=self.period, sheet__person=self.world.people[person],
                                         indicator__code=code)


def open_period(org: Any, templates: list[Template], *, number: int = 10) -> Period:
    period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=number,
                                    templates=templates)
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))  # what the task does after commit
    return Period.objects.get(pk=period.pk)


def build_scheme(world: World, *, position: str = "") -> Scheme:
    org = world.org
    with scope(organization=org):
        output = create_indicator(organization=org, acting_user=None, code="OUTPUT", name="产量", unit="吨",
                                  method="completion", config={"cap_rate": "1.2"})
        add_benchmark(indicator=output, acting_user=None, value="200")
        create_indicator(organization=org, acting_user=None, code="WORK", name="工作表现", method="rating",
                         config=WORK_SCALE)
        create_indicator(organization=org, acting_user=None, code="CHECK", name="检查扣分", method="deduction",
                         config={"items": [{"code": "c", "name": "现场检查", "points": "2"}]}, evidence_required=True)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "STAFF", "name": "员工月度考核", "subject_kind": "person", "position": position,
            "parts": [
                {"code": "kpi", "name": "指标", "weight": "0.6",
                 "lines": [{"indicator": "OUTPUT", "max_points": "100"}]},
                {"code": "work", "name": "工作表现", "weight": "0.4",
                 "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]},
            ],
            "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
                       {"role": "supervisor", "weight": "0.8"}],
        })
        period = open_period(org, [template])
    return Scheme(world, template, period)


@pytest.fixture
def scheme(world_a: World, hr: User, head: User, employee: User) -> Scheme:
    return build_scheme(world_a)


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    return response.content.decode()


def _post_line(client: Client, line: SheetLine, **data: Any) -> Any:
    return client.post(reverse("line-update", args=[line.pk]), {"version": line.version, **data}, headers=HTMX)


def _input_value(html: str, name: str) -> str | None:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    return match.group(1) if match else None


# --- indicators ------------------------------------------------------------------------------------


INDICATOR_POST = {
    "code": "SALES", "name": "销售额", "unit": "万元", "dimension": "财务", "direction": "higher",
    "method": "completion", "config": json.dumps({"cap_rate": "1.2"}), "baseline_source": "", "description": "",
}


def test_it_creates_an_indicator_through_the_page(client: Client, hr: User, world_a: World) -> None:
    response = _signed_in(client, hr).post(reverse("indicator-create"), INDICATOR_POST)
    assert response.status_code == 302
    with scope(organization=world_a.org):
        indicator = Indicator.objects.get(code="SALES")
        assert indicator.config["cap_rate"] == "1.2"
        assert indicator.history.get().history_user == hr
    assert response["Location"] == reverse("indicator-detail", args=[indicator.pk])


def test_it_shows_a_bad_config_next_to_its_field_and_saves_nothing(client: Client, hr: User, world_a: World) -> None:
    bad = {**INDICATOR_POST, "config": json.dumps({"cap_rate": "lots"})}
    response = _signed_in(client, hr).post(reverse("indicator-create"), bad)
    assert response.status_code == 400
    error = re.search(r'id="config-error">([^<]*)<', _html(response))
    assert error is not None and error.group(1).startswith("cap_rate") and error.group(1).count("cap_rate") == 1
    with scope(organization=world_a.org):
        assert not Indicator.objects.filter(code="SALES").exists()


def test_it_offers_the_methods_documented_example_as_config(client: Client, hr: User) -> None:
    response = _signed_in(client, hr).get(reverse("indicator-config-example"), {"method": "rating"}, headers=HTMX)
    html = _html(response)
    assert 'id="config-field"' in html and "<html" not in html
    assert "优秀" in html and "&quot;scale&quot;" in html


def test_it_edits_an_indicator_keeping_who_changed_it(client: Client, hr: User, scheme: Scheme) -> None:
    with scope(organization=scheme.world.org):
        output = Indicator.objects.get(code="OUTPUT")
    data = {**INDICATOR_POST, "code": "OUTPUT", "name": "月产量", "is_active": "on"}
    response = _signed_in(client, hr).post(reverse("indicator-edit", args=[output.pk]), data)
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        assert Indicator.objects.get(pk=output.pk).name == "月产量"
        assert output.history.order_by("-history_date").first().history_user == hr


def test_it_adds_a_seasonal_benchmark_for_a_department(client: Client, hr: User, scheme: Scheme) -> None:
    world = scheme.world
    with scope(organization=world.org):
        output = Indicator.objects.get(code="OUTPUT")
    response = _signed_in(client, hr).post(reverse("benchmark-add", args=[output.pk]), {
        "value": "300", "kind": "benchmark", "months": "11, 12，1", "department": world.production.pk, "team": "",
    })
    assert response.status_code == 302
    with scope(organization=world.org):
        added = Benchmark.objects.get(indicator=output, kind="benchmark")
    assert (added.value, added.months, added.department_id) == (Decimal("300"), [11, 12, 1], world.production.pk)


def test_it_refuses_a_month_thirteen(client: Client, hr: User, scheme: Scheme) -> None:
    with scope(organization=scheme.world.org):
        output = Indicator.objects.get(code="OUTPUT")
    response = _signed_in(client, hr).post(reverse("benchmark-add", args=[output.pk]),
                                           {"value": "300", "kind": "target", "months": "13"})
    assert response.status_code == 400
    assert 'id="field-months"' in _html(response) and "13" in _html(response)
    with scope(organization=scheme.world.org):
        assert Benchmark.objects.filter(indicator=output).count() == 1


def test_it_forbids_the_indicator_form_to_an_employee(client: Client, employee: User) -> None:
    assert _signed_in(client, employee).get(reverse("indicator-create")).status_code == 403


def test_it_lists_the_catalogue_with_methods(client: Client, employee: User, scheme: Scheme) -> None:
    html = _html(_signed_in(client, employee).get(reverse("indicators")))
    table = html[html.index('id="indicator-table"'):]
    assert "OUTPUT" in table and "WORK" in table and "CHECK" in table
    assert reverse("indicator-create") not in html  # only HR keeps the catalogue


# --- templates -------------------------------------------------------------------------------------


def _spec(weight: str = "1") -> str:
    return json.dumps({
        "code": "MGR", "name": "管理人员考核", "subject_kind": "person",
        "parts": [{"code": "kpi", "name": "指标", "weight": weight,
                   "lines": [{"indicator": "OUTPUT", "max_points": "100"}]}],
    })


def test_it_builds_a_template_from_a_json_spec(client: Client, hr: User, scheme: Scheme) -> None:
    response = _signed_in(client, hr).post(reverse("template-create"), {"spec": _spec()})
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        template = Template.objects.get(code="MGR")
    assert response["Location"] == reverse("template-detail", args=[template.pk])
    detail = _html(client.get(response["Location"]))
    assert "管理人员考核" in detail and 'id="part-kpi"' in detail


def test_it_lists_every_problem_of_a_refused_template_and_saves_nothing(
    client: Client, hr: User, scheme: Scheme
) -> None:
    spec = json.loads(_spec(weight="0.9"))
    spec["parts"][0]["lines"].append({"indicator": "NOPE", "max_points": "10"})
    response = _signed_in(client, hr).post(reverse("template-create"), {"spec": json.dumps(spec)})
    assert response.status_code == 400
    html = _html(response)
    problems = html[html.index('id="template-problems"'):]
    assert "NOPE" in problems and "0.9" in problems  # the unknown indicator and the weights, both listed
    with scope(organization=scheme.world.org):
        assert not Template.objects.filter(code="MGR").exists()


def test_it_lists_shape_problems_of_a_template_with_their_place(client: Client, hr: User, scheme: Scheme) -> None:
    response = _signed_in(client, hr).post(reverse("template-create"), {"spec": json.dumps({"code": "X", "parts": {}})})
    assert response.status_code == 400
    assert "name:" in _html(response) and "parts:" in _html(response)


def test_it_shows_a_template_with_parts_lines_and_raters(client: Client, employee: User, scheme: Scheme) -> None:
    html = _html(_signed_in(client, employee).get(reverse("template-detail", args=[scheme.template.pk])))
    assert 'id="part-kpi"' in html and 'id="part-work"' in html
    raters = html[html.index('id="template-raters"'):]
    assert "20%" in raters and "80%" in raters  # weights read as percentages (GLOSSARY.md)


# --- periods ---------------------------------------------------------------------------------------


def test_it_creates_a_period_through_the_page(client: Client, hr: User, scheme: Scheme) -> None:
    response = _signed_in(client, hr).post(reverse("period-create"), {
        "kind": "monthly", "year": "2025", "number": "11", "start_day": "26", "name": "",
        "templates": [scheme.template.pk], "self_due": "2025-11-28T18:00",
    })
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        period = Period.objects.get(code="2025-11")
        assert (str(period.start), str(period.end), period.state) == ("2025-10-26", "2025-11-25", "draft")
        assert list(period.templates.all()) == [scheme.template]
        assert period.self_due is not None


def test_it_chooses_the_grading_policy_when_creating_a_period(client: Client, hr: User, scheme: Scheme) -> None:
    policy = make_policy(scheme.world.org)
    form = _html(_signed_in(client, hr).get(reverse("period-create")))
    assert 'name="grading_policy"' in form and f'value="{policy.pk}"' in form
    response = _signed_in(client, hr).post(reverse("period-create"), {
        "kind": "monthly", "year": "2025", "number": "11", "start_day": "26", "name": "",
        "templates": [scheme.template.pk], "grading_policy": policy.pk,
    })
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        assert Period.objects.get(code="2025-11").grading_policy == policy


def test_it_refuses_a_thirteenth_month(client: Client, hr: User, scheme: Scheme) -> None:
    response = _signed_in(client, hr).post(reverse("period-create"), {
        "kind": "monthly", "year": "2025", "number": "13", "start_day": "1", "templates": [scheme.template.pk],
    })
    assert response.status_code == 400
    assert 'id="field-number"' in _html(response)
    with scope(organization=scheme.world.org):
        assert Period.objects.count() == 1


def test_it_opens_a_period_from_the_page_and_generates_its_sheets(
    client: Client, hr: User, scheme: Scheme, django_capture_on_commit_callbacks: Any
) -> None:
    with scope(organization=scheme.world.org):
        draft = services.create_period(organization=scheme.world.org, acting_user=None, kind="monthly", year=2025,
                                       number=11, templates=[scheme.template])
    with django_capture_on_commit_callbacks(execute=True):
        response = _signed_in(client, hr).post(reverse("period-open", args=[draft.pk]))
    assert response.status_code == 302
    with scope(organization=scheme.world.org):
        assert Period.objects.get(pk=draft.pk).state == "open"
        assert Sheet.objects.filter(period=draft).count() == 5  # everyone in organisation A
    page = _html(client.get(response["Location"]))
    assert re.search(r'id="period-sheet-count">5<', page)


def test_it_says_why_a_period_cannot_be_opened_again(client: Client, hr: User, scheme: Scheme) -> None:
    response = _signed_in(client, hr).post(reverse("period-open", args=[scheme.period.pk]), follow=True)
    assert response.status_code == 200
    assert "alert-danger" in _html(response) and scheme.period.code in _html(response)


def test_it_forbids_opening_a_period_to_a_head(client: Client, head: User, scheme: Scheme) -> None:
    assert _signed_in(client, head).post(reverse("period-open", args=[scheme.period.pk])).status_code == 403


def test_it_lists_a_periods_sheets_with_score_and_progress(client: Client, hr: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "OUTPUT")
    with scope(organization=scheme.world.org):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, actual=Decimal("190"))
    html = _html(_signed_in(client, hr).get(reverse("period-detail", args=[scheme.period.pk])))
    # Entering the output rescored the employee's sheet: the work line too (its missing ratings count
    # as 0), so the sheet has a provisional total; but only the output is really entered: the work
    # line waits for its raters, and the supervisor's missing rating blocks the close. Nobody else's
    # sheet moved.
    row = re.search(rf'id="sheet-{scheme.sheet("employee").pk}".*?</tr>', html, re.S)
    assert row is not None and "1 / 2" in row.group(0) and "sheet-incomplete" in row.group(0)
    assert str(scheme.sheet("employee").score) in row.group(0)
    other = re.search(rf'id="sheet-{scheme.sheet("colleague").pk}".*?</tr>', html, re.S)
    assert other is not None and "0 / 2" in other.group(0)


def test_it_renders_the_period_with_a_fixed_number_of_queries(client: Client, hr: User, world_a: World) -> None:
    def operators(n: int, start: int) -> None:
        with scope(organization=world_a.org):
            for i in range(start, start + n):
                org_services.create_person(organization=world_a.org, acting_user=None, employee_no=f"op-{i}",
                                           name=f"操作员{i}", department=world_a.shift_dept, position="operator")

    operators(3, 0)
    scheme = build_scheme(world_a, position="operator")
    operators(27, 3)
    with scope(organization=world_a.org):
        bigger = open_period(world_a.org, [scheme.template], number=11)
        assert Sheet.objects.filter(period=scheme.period).count() == 3
        assert Sheet.objects.filter(period=bigger).count() == 30
    _signed_in(client, hr).get(reverse("home"))  # the first request also settles the session

    def count(period: Period) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("period-detail", args=[period.pk]))
        assert response.status_code == 200
        return len(queries)

    assert count(bigger) == count(scheme.period)


# --- sheets: lists, visibility ------------------------------------------------------------------------


def test_it_lists_the_sheets_of_a_heads_departments(client: Client, head: User, scheme: Scheme) -> None:
    html = _html(_signed_in(client, head).get(reverse("sheets"), {"period": scheme.period.pk}))
    table = html[html.index('id="sheet-table"'):]
    assert "employee-a" in table and "head-a" in table
    assert "colleague-a" not in table  # the back office is not theirs


def test_it_shows_an_employee_their_own_sheet_first(client: Client, employee: User, scheme: Scheme) -> None:
    html = _html(_signed_in(client, employee).get(reverse("sheets")))
    mine = html[html.index('id="my-sheets"'):html.index('id="sheet-filter"')]
    assert reverse("sheet-detail", args=[scheme.sheet("employee").pk]) in mine


def test_it_returns_404_when_an_employee_opens_a_colleagues_sheet(
    client: Client, employee: User, scheme: Scheme
) -> None:
    response = _signed_in(client, employee).get(reverse("sheet-detail", args=[scheme.sheet("colleague").pk]))
    assert response.status_code == 404


def test_it_shows_an_employee_every_line_with_its_explanation(client: Client, employee: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "OUTPUT")
    with scope(organization=scheme.world.org):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, actual=Decimal("190"))
    html = _html(_signed_in(client, employee).get(reverse("sheet-detail", args=[scheme.sheet("employee").pk])))
    explanation = re.search(rf'id="line-{line.pk}-explanation">([^<]*)<', html)
    assert explanation is not None and "95.00" in explanation.group(1)
    assert 'class="row g-2 align-items-start line-form"' not in html  # no data entry for the employee
    assert f'action="{reverse("line-rate", args=[scheme.line("employee", "WORK").pk])}"' in html  # self-assessment


# --- sheets: entering data ----------------------------------------------------------------------------


def test_it_saves_an_actual_and_answers_with_the_new_score(client: Client, head: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "OUTPUT")
    response = _post_line(_signed_in(client, head), line, actual="190", target="200")
    assert response.status_code == 200
    html = _html(response)
    assert re.search(rf'id="line-{line.pk}-score">95.00<', html)  # 190 / 200 × 100
    assert _input_value(html, "version") == str(line.version + 1)
    assert 'id="sheet-total" class="sheet-total text-lg-end" hx-swap-oob="true"' in html
    with scope(organization=scheme.world.org):
        saved = SheetLine.objects.get(pk=line.pk)
        assert saved.actual == Decimal("190") and saved.score == Decimal("95.00")
        assert saved.history.order_by("-history_date").first().history_user == head


def test_it_answers_a_stale_version_with_who_changed_it_and_the_current_values(
    client: Client, head: User, hr: User, scheme: Scheme
) -> None:
    line = scheme.line("employee", "OUTPUT")  # the head read version 1
    with scope(organization=scheme.world.org):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("180"))
    response = _post_line(_signed_in(client, head), line, actual="190", target="200")
    assert response.status_code == 200  # htmx 2 swaps only 2xx answers by default: the user must see this
    html = _html(response)
    alert = re.search(r'class="alert alert-warning[^"]*line-alert" role="alert">([^<]*)<', html)
    assert alert is not None and "hr" in alert.group(1)
    assert _input_value(html, "actual") == "180"  # their value, not the head's
    assert _input_value(html, "version") == str(line.version + 1)
    with scope(organization=scheme.world.org):
        assert SheetLine.objects.get(pk=line.pk).actual == Decimal("180")


def test_it_refuses_a_value_that_is_not_a_number_without_saving(client: Client, head: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "OUTPUT")
    response = _post_line(_signed_in(client, head), line, actual="很多")
    assert response.status_code == 200
    assert "alert-danger" in _html(response)
    with scope(organization=scheme.world.org):
        assert SheetLine.objects.get(pk=line.pk).version == line.version


def test_it_forbids_an_employee_to_post_data_lines(client: Client, employee: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "OUTPUT")
    assert _post_line(_signed_in(client, employee), line, actual="500").status_code == 403
    with scope(organization=scheme.world.org):
        assert SheetLine.objects.get(pk=line.pk).actual is None


def test_it_forbids_a_head_to_enter_data_on_their_own_sheet(client: Client, head: User, scheme: Scheme) -> None:
    assert _post_line(_signed_in(client, head), scheme.line("head", "OUTPUT"), actual="500").status_code == 403


def test_it_records_a_deduction_with_evidence(client: Client, hr: User, world_a: World) -> None:
    org = world_a.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="CHECK", name="检查扣分", method="deduction",
                         config={"items": [{"code": "c", "name": "现场检查", "points": "2"}]}, evidence_required=True)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "OFFICE", "name": "综合办考核", "subject_kind": "department",
            "parts": [{"code": "f", "name": "职能", "weight": "1",
                       "lines": [{"indicator": "CHECK", "max_points": "100"}]}],
        })
        period = open_period(org, [template])
        line = SheetLine.objects.get(sheet__period=period, sheet__department=world_a.back_office)
    _signed_in(client, hr)
    url = reverse("line-record", args=[line.pk])
    prefix = f"record-{line.pk}-"
    refused = client.post(url, {prefix + "item_code": "c", prefix + "count": "3", prefix + "occurred_on": "2025-10-08",
                                prefix + "evidence": ""}, headers=HTMX)
    assert "alert-danger" in _html(refused)  # evidence is required for this indicator
    response = client.post(url, {prefix + "item_code": "c", prefix + "count": "3", prefix + "occurred_on": "2025-10-08",
                                 prefix + "evidence": "周检记录 10-08"}, headers=HTMX)
    html = _html(response)
    assert re.search(rf'id="line-{line.pk}-score">94.00<', html)  # 100 − 3 × 2
    assert "周检记录 10-08" in html
    with scope(organization=org):
        assert DeductionRecord.objects.get(line=line).recorded_by == world_a.people["hr"]


# --- sheets: rating ----------------------------------------------------------------------------------


def _rate(client: Client, line: SheetLine, rater: Rater, label: str) -> Any:
    return client.post(reverse("line-rate", args=[line.pk]), {"rater": rater.pk, "rating": label, "version": ""},
                       headers=HTMX)


def test_it_lets_the_supervisor_rate_and_recombines_the_line(client: Client, head: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "WORK")
    with scope(organization=scheme.world.org):
        supervisor = Rater.objects.get(sheet=line.sheet, role="supervisor")
    response = _rate(_signed_in(client, head), line, supervisor, "良好")
    assert response.status_code == 200
    assert re.search(rf'id="line-{line.pk}-score">64.00<', _html(response))  # 0.2 × 0 (missing) + 0.8 × 80


def test_it_lets_an_employee_assess_themself(client: Client, employee: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "WORK")
    with scope(organization=scheme.world.org):
        supervisor = Rater.objects.get(sheet=line.sheet, role="supervisor")
        services.rate_line(line=line, rater=supervisor, acting_user=None, rating="良好")
        own = Rater.objects.get(sheet=line.sheet, role="self")
    html = _html(_rate(_signed_in(client, employee), line, own, "优秀"))
    assert re.search(rf'id="line-{line.pk}-score">84.00<', html)  # 0.2 × 100 + 0.8 × 80


def test_it_forbids_rating_a_sheet_one_does_not_rate(client: Client, hr: User, scheme: Scheme) -> None:
    line = scheme.line("employee", "WORK")
    with scope(organization=scheme.world.org):
        supervisor = Rater.objects.get(sheet=line.sheet, role="supervisor")
    assert _rate(_signed_in(client, hr), line, supervisor, "差").status_code == 403


def test_it_shows_a_recused_rater_no_rating_control(client: Client, world_a: World, supervisor: User) -> None:
    org = world_a.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="ETHIC", name="作风", method="rating",
                         config=WORK_SCALE)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "GRP", "name": "小组评议", "subject_kind": "person",
            "parts": [{"code": "p", "name": "评议", "weight": "1",
                       "lines": [{"indicator": "ETHIC", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "group", "weight": "1", "group": "SUP"}],
        })
        period = open_period(org, [template])
        sheet = Sheet.objects.get(period=period, person=world_a.people["colleague"])  # the group member's own
        line = SheetLine.objects.get(sheet=sheet)
        rater = Rater.objects.get(sheet=sheet, person=world_a.people["colleague"])
    html = _html(_signed_in(client, supervisor).get(reverse("sheet-detail", args=[sheet.pk])))
    assert 'class="small line-recused"' in html
    assert reverse("line-rate", args=[line.pk]) not in html
    assert _rate(client, line, rater, "优秀").status_code == 403


# --- another organisation --------------------------------------------------------------------------


@pytest.fixture
def scheme_b(world_b: World) -> Scheme:
    with scope(organization=world_b.org):
        for key in ("employee",):
            user = User.objects.create_user(username=f"b-{key}", password="x" * 12)
            org_services.create_membership(organization=world_b.org, acting_user=None, user=user,
                                           person=world_b.people[key])
    return build_scheme(world_b)


def _b_ids(scheme_b: Scheme) -> dict[str, int]:
    with scope(organization=scheme_b.world.org):
        return {
            "indicator": Indicator.objects.get(code="OUTPUT").pk,
            "template": scheme_b.template.pk,
            "period": scheme_b.period.pk,
            "sheet": scheme_b.sheet("employee").pk,
            "data_line": scheme_b.line("employee", "OUTPUT").pk,
            "rated_line": scheme_b.line("employee", "WORK").pk,
        }


@pytest.mark.parametrize(("method", "name", "kind"), [
    ("get", "indicator-detail", "indicator"),
    ("get", "indicator-edit", "indicator"),
    ("post", "indicator-edit", "indicator"),
    ("post", "benchmark-add", "indicator"),
    ("get", "template-detail", "template"),
    ("get", "period-detail", "period"),
    ("post", "period-open", "period"),
    ("get", "sheet-detail", "sheet"),
    ("post", "line-update", "data_line"),
    ("post", "line-rate", "rated_line"),
    ("post", "line-record", "data_line"),
])
def test_it_returns_404_for_another_organizations_objects(
    client: Client, hr: User, scheme: Scheme, scheme_b: Scheme, method: str, name: str, kind: str
) -> None:
    url = reverse(name, args=[_b_ids(scheme_b)[kind]])
    response = getattr(_signed_in(client, hr), method)(url, {"version": "1", "actual": "1"} if method == "post" else {})
    assert response.status_code == 404


# --- navigation ------------------------------------------------------------------------------------


def test_it_shows_the_appraisal_pages_in_the_navigation(client: Client, hr: User) -> None:
    html = _html(_signed_in(client, hr).get(reverse("home")))
    nav = html[html.index('id="main-nav"'):html.index("</nav>", html.index('id="main-nav"'))]
    for name in ("indicators", "templates", "periods", "sheets"):
        assert f'href="{reverse(name)}"' in nav



# --- entering a fresh sheet from one page load ------------------------------------------------------


def _fresh_sheet_scheme(world: World) -> Scheme:
    """Two data lines and a deduction line on one part: the first save rescores the sheet, which
    scores the deduction line for the first time (no records: full marks)."""
    org = world.org
    with scope(organization=org):
        for code, name in (("OUTPUT", "产量"), ("QUALITY", "质量")):
            indicator = create_indicator(organization=org, acting_user=None, code=code, name=name, unit="吨",
                                         method="completion", config={"cap_rate": "1.2"})
            add_benchmark(indicator=indicator, acting_user=None, value="200")
        create_indicator(organization=org, acting_user=None, code="CHECK", name="检查扣分", method="deduction",
                         config={"items": [{"code": "c", "name": "现场检查", "points": "2"}]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "FRESH", "name": "员工月度考核", "subject_kind": "person",
            "parts": [{"code": "kpi", "name": "指标", "weight": "1", "lines": [
                {"indicator": "OUTPUT", "max_points": "40"}, {"indicator": "QUALITY", "max_points": "40"},
                {"indicator": "CHECK", "max_points": "20"}]}],
            "raters": [],
        })
        period = open_period(org, [template])
    return Scheme(world, template, period)


def test_it_saves_every_line_of_a_fresh_sheet_from_one_page_load(client: Client, head: User, world_a: World) -> None:
    scheme = _fresh_sheet_scheme(world_a)
    signed = _signed_in(client, head)
    assert signed.get(reverse("sheet-detail", args=[scheme.sheet("employee").pk])).status_code == 200
    loaded = {code: scheme.line("employee", code) for code in ("OUTPUT", "QUALITY", "CHECK")}  # what the page read
    for code in ("OUTPUT", "QUALITY"):
        html = _html(_post_line(signed, loaded[code], actual="190", target="200"))
        assert "line-alert" not in html, f"{code}: {html}"
    with scope(organization=world_a.org):
        saved = {line.indicator.code: line for line in SheetLine.objects.filter(sheet=scheme.sheet("employee"))}
    assert saved["OUTPUT"].actual == saved["QUALITY"].actual == Decimal("190")
    # Rescoring gave the deduction line its first score without making it look edited.
    assert saved["CHECK"].score == Decimal("20.00") and saved["CHECK"].version == loaded["CHECK"].version


def _office_check_line(world: World) -> SheetLine:
    org = world.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="CHECK", name="检查扣分", method="deduction",
                         config={"items": [{"code": "c", "name": "现场检查", "points": "2"}]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "OFFICE", "name": "综合办考核", "subject_kind": "department",
            "parts": [{"code": "f", "name": "职能", "weight": "1",
                       "lines": [{"indicator": "CHECK", "max_points": "100"}]}],
        })
        period = open_period(org, [template])  # October 2025
        return SheetLine.objects.select_related("sheet__period").get(sheet__period=period,
                                                                       sheet__department=world.back_office)


def test_it_refuses_a_record_dated_outside_its_period(client: Client, hr: User, world_a: World) -> None:
    line = _office_check_line(world_a)
    prefix = f"record-{line.pk}-"
    response = _signed_in(client, hr).post(reverse("line-record", args=[line.pk]), {
        prefix + "item_code": "c", prefix + "count": "1", prefix + "occurred_on": "2025-11-01"}, headers=HTMX)
    html = _html(response)
    assert "alert-danger" in html and "2025-11-01" in html and "2025-10-31" in html
    with scope(organization=world_a.org):
        assert not DeductionRecord.objects.filter(line=line).exists()


def test_it_dates_a_new_record_inside_its_period(world_a: World, hr: User) -> None:
    line = _office_check_line(world_a)  # October 2025, long past: the nearest day is the period's last
    form = RecordForm(line=line)
    assert form.fields["occurred_on"].initial == line.sheet.period.end
    assert form.fields["occurred_on"].widget.attrs["min"] == "2025-10-01"
