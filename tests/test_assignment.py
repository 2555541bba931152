"""Which of a period's templates applies to whom (Template.applies_to, appraisal.services.assignment),
and work items added to one sheet (S0-1: each person's own items with targets).

The world (tests.conftest): 生产部 (production) with its sub-department 运行部 (production) and the
shift 运行一值; 综合办 (back office). head works in 生产部, employee in 运行部 (on the shift), hr,
finance and colleague in 综合办.

Precedence, most specific first: people > department (the nearest) > department type > position or
team kind > none; an equal tie refuses to open the period.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Sheet, SheetLine
from appraisal.services.assignment import AssignmentConflict
from indicators.models import Indicator, Template
from indicators.services import TemplateRejected, build_template, create_indicator
from organizations import services as org_services
from organizations.models import Person
from tests.conftest import World

PASS_FAIL = {"round_shares": ["1", "0.8", "0.6"], "fail_share": "0"}


def _org() -> Any:
    return Indicator.objects.earliest("pk").organization


def _template(code: str, kind: str = "person", **who: Any) -> Template:
    return build_template(organization=_org(), acting_user=None, spec={
        "code": code, "name": code, "subject_kind": kind, **who,
        "parts": [{"code": "p", "name": "考核", "weight": "1", "lines": [{"indicator": "K", "max_points": "100"}]}]})


def _open(world: World, templates: list[Template], number: int = 10) -> Period:
    period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                    number=number, templates=templates)
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    return Period.objects.get(pk=period.pk)


def _who_gets(period: Period) -> dict[str, str]:
    return {key: code for key, code in Sheet.objects.filter(period=period, person__isnull=False)
            .values_list("person__employee_no", "template__code")}


@pytest.fixture
def world(world_a: World) -> World:
    with scope(organization=world_a.org):
        create_indicator(organization=world_a.org, acting_user=None, code="K", name="工作量", method="completion",
                         config={})
        create_indicator(organization=world_a.org, acting_user=None, code="ITEM", name="工作事项验收",
                         method="pass_fail", config=PASS_FAIL)
        Person.objects.filter(pk=world_a.people["head"].pk).update(position="主任")
    return world_a


# --- precedence ----------------------------------------------------------------------------------


def test_a_head_gets_the_head_template_not_the_staff_one(world: World) -> None:
    # Both match the head; before rules had a precedence, the first by code (A-STAFF) won silently.
    with scope(organization=world.org):
        staff = _template("A-STAFF", department_type="production")
        heads = _template("Z-HEAD", applies_to=[{"department_type": "production", "position": "主任"}])
        period = _open(world, [staff, heads])
        assert _who_gets(period) == {"a-head": "Z-HEAD", "a-employee": "A-STAFF"}


def test_a_list_of_people_beats_everything(world: World) -> None:
    with scope(organization=world.org):
        department = _template("DEPT", applies_to=[{"department": "a-P"}])
        listed = _template("LISTED", applies_to=[{"people": ["a-employee"]}])
        fallback = _template("ALL")
        period = _open(world, [department, listed, fallback])
        assert _who_gets(period) == {"a-head": "DEPT", "a-employee": "LISTED", "a-hr": "ALL", "a-finance": "ALL",
                                     "a-colleague": "ALL"}


def test_the_nearest_department_wins(world: World) -> None:
    with scope(organization=world.org):
        production = _template("PROD", applies_to=[{"department": "a-P"}])  # with its sub-departments
        shift_dept = _template("OPS", applies_to=[{"department": "a-P1"}])
        period = _open(world, [production, shift_dept])
        assert _who_gets(period) == {"a-head": "PROD", "a-employee": "OPS"}


def test_a_department_without_its_sub_departments(world: World) -> None:
    with scope(organization=world.org):
        only = _template("PROD", applies_to=[{"department": "a-P", "sub_departments": False}])
        period = _open(world, [only])
        assert _who_gets(period) == {"a-head": "PROD"}


def test_department_beats_department_type_beats_position(world: World) -> None:
    with scope(organization=world.org):
        by_type = _template("TYPE", applies_to=[{"department_type": "production"}])
        by_position = _template("POS", applies_to=[{"position": "主任"}])
        by_department = _template("DEPT", applies_to=[{"department": "a-P1"}])
        period = _open(world, [by_type, by_position, by_department])
        assert _who_gets(period) == {"a-head": "TYPE", "a-employee": "DEPT"}


def test_teams_by_team_kind(world: World) -> None:
    with scope(organization=world.org):
        org_services.create_team(organization=world.org, acting_user=None, department=world.production,
                                 code="a-T1", name="检修班", kind="team")
        shifts = _template("SHIFTS", "team", applies_to=[{"team_kind": "shift"}])
        teams = _template("TEAMS", "team")
        period = _open(world, [shifts, teams])
        got = dict(Sheet.objects.filter(period=period).values_list("team__code", "template__code"))
        assert got == {"a-S1": "SHIFTS", "a-T1": "TEAMS"}


# --- ties ----------------------------------------------------------------------------------------


def test_an_equal_tie_refuses_to_open_the_period_naming_people_and_templates(world: World) -> None:
    with scope(organization=world.org):
        one = _template("ONE", applies_to=[{"department_type": "production"}])
        two = _template("TWO", department_type="production")
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=[one, two])
        with pytest.raises(AssignmentConflict) as refused:
            services.open_period(period=period, acting_user=None)
        message = str(refused.value)
        assert "a-head head-a" in message and "a-employee employee-a" in message
        assert "ONE v1" in message and "TWO v1" in message
        assert {tie.subject for tie in refused.value.ties} == {"a-head head-a", "a-employee employee-a"}
        assert Period.objects.get(pk=period.pk).state == Period.State.DRAFT
        assert not Sheet.objects.filter(period=period).exists()


def test_two_fallbacks_tie_for_everyone(world: World) -> None:
    with scope(organization=world.org):
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=[_template("ONE"), _template("TWO")])
        with pytest.raises(AssignmentConflict) as refused:
            services.open_period(period=period, acting_user=None)
        assert len(refused.value.ties) == Person.objects.count()


def test_the_api_answers_a_tie_with_409(world: World, hr, api_for) -> None:
    with scope(organization=world.org):
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=[_template("ONE"), _template("TWO")])
    response = api_for(hr).post(f"/api/periods/{period.pk}/open/")
    assert response.status_code == 409
    assert "ONE v1" in response.json()["detail"]


def test_assignment_takes_a_fixed_number_of_queries(world: World) -> None:
    from appraisal.services.assignment import assign

    with scope(organization=world.org):
        templates = [_template("LISTED", applies_to=[{"people": ["a-employee"]}]),
                     _template("DEPT", applies_to=[{"department": "a-P"}]), _template("ALL")]
        period = services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2025,
                                        number=10, templates=templates)
        with CaptureQueriesContext(connection) as few:
            small = assign(period=period)
        for n in range(30):
            org_services.create_person(organization=world.org, acting_user=None, employee_no=f"X{n}", name=f"X{n}",
                                       department=world.shift_dept)
        with CaptureQueriesContext(connection) as many:
            large = assign(period=period)
    assert len(large) == len(small) + 30
    assert len(many) == len(few)


# --- the template's rules, as HR writes them -----------------------------------------------------


@pytest.mark.parametrize("applies_to,fragment", [
    ([{"people": ["nobody"]}], "nobody"),
    ([{"department": "NOPE"}], "NOPE"),
    ([{"department_type": "nope"}], "nope"),
    ([{"grade": "A"}], "grade"),
    ([{}], "适用范围"),
    ([{"team_kind": "crew"}], "team_kind"),
    ("head", "applies_to"),
])
def test_it_refuses_rules_it_cannot_resolve(world: World, applies_to: Any, fragment: str) -> None:
    with scope(organization=world.org), pytest.raises(TemplateRejected) as refused:
        _template("BAD", applies_to=applies_to)
    assert any(fragment in problem for problem in refused.value.problems), refused.value.problems


def test_it_refuses_rules_that_do_not_fit_the_subject(world: World) -> None:
    with scope(organization=world.org), pytest.raises(TemplateRejected) as refused:
        _template("BAD", "team", applies_to=[{"position": "主任"}, {"people": ["a-head"]}])
    assert len([p for p in refused.value.problems if "position" in p or "people" in p]) == 2


def test_it_refuses_both_ways_of_saying_who(world: World) -> None:
    with scope(organization=world.org), pytest.raises(TemplateRejected):
        _template("BAD", department_type="production", applies_to=[{"position": "主任"}])


def test_the_api_and_the_page_show_the_rules(world: World, hr, api_for, client) -> None:
    spec = {"code": "HEADS", "name": "负责人", "subject_kind": "person",
            "applies_to": [{"department": "a-P"}, {"people": ["a-hr"]}],
            "parts": [{"code": "p", "name": "考核", "weight": "1", "lines": [{"indicator": "K", "max_points": "100"}]}]}
    response = api_for(hr).post("/api/templates/", spec, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["applies_to"] == [{"department": "a-P", "sub_departments": True}, {"people": ["a-hr"]}]
    client.force_login(hr)
    html = client.get(reverse("template-detail", args=[response.json()["id"]])).content.decode()
    assert html.count('class="assignment-rule"') == 2 and "a-P" in html and "a-hr" in html


# --- work items added to one sheet (S0-1) ---------------------------------------------------------


def _items_template() -> Template:
    return build_template(organization=_org(), acting_user=None, spec={
        "code": "LOGISTICS", "name": "后勤", "subject_kind": "person", "rounding": "line",
        "parts": [{"code": "kpi", "name": "指标", "weight": "0.6", "lines": [{"indicator": "K", "max_points": "100"}]},
                  {"code": "items", "name": "工作事项", "weight": "0.4", "full_marks": "100", "per_person": True,
                   "lines": []}]})


@pytest.fixture
def items(world: World) -> tuple[World, Sheet]:
    with scope(organization=world.org):
        period = _open(world, [_items_template()])
        sheet = Sheet.objects.get(period=period, person=world.people["employee"])
        line = SheetLine.objects.get(sheet=sheet, indicator__code="K")
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, target=Decimal("100"),
                             actual=Decimal("90"))
        return world, Sheet.objects.get(pk=sheet.pk)


def _add(sheet: Sheet, label: str, points: str, user: Any = None) -> SheetLine:
    return services.add_sheet_line(sheet_id=sheet.pk, indicator=Indicator.objects.get(code="ITEM"),
                                   max_points=Decimal(points), label=label, acting_user=user)


def test_work_items_are_scaled_to_their_parts_full_marks(items: tuple[World, Sheet], hr) -> None:
    # kpi 90/100 × 0.6 = 54; items: 道路维修 30 accepted at round 1 = 30, 食堂改造 20 failed = 0:
    # 30 of 50 line points → 60/100 × 0.4 = 24. Total 78.
    world, sheet = items
    with scope(organization=world.org):
        road = _add(sheet, "道路维修", "30", hr)
        canteen = _add(sheet, "食堂改造", "20", hr)
        assert Sheet.objects.get(pk=sheet.pk).score is None  # the items have no acceptance yet
        services.record_acceptance(line_id=road.pk, passed=True, acting_user=hr)
        services.record_acceptance(line_id=canteen.pk, passed=False, reason="未按期完工", acting_user=hr)
        sheet = Sheet.objects.get(pk=sheet.pk)
        assert sheet.score == Decimal("78.00")
        assert "工作事项 30.00/50.00 → 60.00/100.00 × 0.4" in sheet.explanation
        # Audited: the line's history says who added it.
        assert SheetLine.history.filter(id=road.pk, history_type="+").get().history_user == hr
        assert set(SheetLine.objects.filter(sheet=sheet, template_line__isnull=True).values_list(
            "label", flat=True)) == {"道路维修", "食堂改造"}


def test_only_a_template_with_a_per_person_part_takes_work_items(world: World) -> None:
    with scope(organization=world.org):
        period = _open(world, [_template("PLAIN")])
        sheet = Sheet.objects.filter(period=period).earliest("pk")
        with pytest.raises(ValueError, match="逐表添加"):
            _add(sheet, "道路维修", "30")


def test_the_same_work_item_twice_is_refused(items: tuple[World, Sheet]) -> None:
    world, sheet = items
    with scope(organization=world.org):
        _add(sheet, "道路维修", "30")
        with pytest.raises(ValueError):
            _add(sheet, "道路维修", "10")


def test_a_work_item_can_be_taken_off_again(items: tuple[World, Sheet]) -> None:
    world, sheet = items
    with scope(organization=world.org):
        road = _add(sheet, "道路维修", "30")
        services.remove_sheet_line(line_id=road.pk, acting_user=None, reason="录入错误")
        # No work item left: the part scores 0 (kpi 54 only).
        assert Sheet.objects.get(pk=sheet.pk).score == Decimal("54.00")
        template_line = SheetLine.objects.get(sheet=sheet, indicator__code="K")
        with pytest.raises(ValueError):
            services.remove_sheet_line(line_id=template_line.pk, acting_user=None)


def test_no_work_item_once_the_period_is_closed(items: tuple[World, Sheet]) -> None:
    world, sheet = items
    with scope(organization=world.org):
        Period.objects.filter(pk=sheet.period_id).update(state=Period.State.CLOSED)
        with pytest.raises(services.IllegalTransition):
            _add(sheet, "道路维修", "30")


def test_the_template_may_leave_a_per_person_part_without_lines(world: World) -> None:
    with scope(organization=world.org):
        assert _items_template().parts.get(code="items").per_person
        with pytest.raises(TemplateRejected, match="items"):
            build_template(organization=world.org, acting_user=None, spec={
                "code": "NOLINES", "name": "x", "subject_kind": "person",
                "parts": [{"code": "items", "name": "工作事项", "weight": "1", "lines": []}]})


def test_the_api_adds_a_work_item(items: tuple[World, Sheet], hr, employee, api_for) -> None:
    world, sheet = items
    with scope(organization=world.org):
        item = Indicator.objects.get(code="ITEM").pk
    body = {"indicator": item, "max_points": "30", "label": "道路维修", "target": "1"}
    assert api_for(employee).post(f"/api/sheets/{sheet.pk}/lines/", body, format="json").status_code in (403, 404)
    response = api_for(hr).post(f"/api/sheets/{sheet.pk}/lines/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["is_added"], data["label"], data["part_code"], data["max_points"]) == (
        True, "道路维修", "items", "30.00")
    again = api_for(hr).post(f"/api/sheets/{sheet.pk}/lines/", body, format="json")
    assert again.status_code == 400
    removed = api_for(hr).post(f"/api/lines/{data['id']}/remove/", {"reason": "重复"}, format="json")
    assert removed.status_code == 204


def test_the_page_adds_a_work_item(items: tuple[World, Sheet], hr, client) -> None:
    world, sheet = items
    client.force_login(hr)
    html = client.get(reverse("sheet-detail", args=[sheet.pk])).content.decode()
    assert reverse("sheet-add-line", args=[sheet.pk]) in html
    assert client.get(reverse("sheet-add-line", args=[sheet.pk])).status_code == 200
    with scope(organization=world.org):
        item = Indicator.objects.get(code="ITEM").pk
    response = client.post(reverse("sheet-add-line", args=[sheet.pk]), {
        "indicator": item, "label": "食堂改造", "max_points": "20", "target": "", "part": "items", "reason": ""})
    assert response.status_code == 302
    html = client.get(reverse("sheet-detail", args=[sheet.pk])).content.decode()
    assert "食堂改造" in html and 'class="badge text-bg-light border line-added"' in html


def test_an_employee_cannot_add_work_items_on_the_page(items: tuple[World, Sheet], employee, client) -> None:
    _world, sheet = items
    client.force_login(employee)
    assert client.get(reverse("sheet-add-line", args=[sheet.pk])).status_code == 403
