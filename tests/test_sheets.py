"""Periods open into score sheets; sheets score from data and raters. Worked examples by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Sheet, SheetLine
from indicators.services import add_benchmark, build_template, create_indicator
from organizations import services as org_services
from organizations.models import Membership, Person, ReviewGroup

LOWER_RATIO = {"lower_mode": "ratio", "cap_rate": "1.2"}


def indicator(org, code, method, config, direction="higher", **fields):
    return create_indicator(organization=org, acting_user=None, code=code, name=code, method=method, config=config,
                            direction=direction, **fields)


def open_period(org, templates, *, kind="monthly", year=2025, number=10, start_day=1, capture=None):
    period = services.create_period(organization=org, acting_user=None, kind=kind, year=year, number=number,
                                    templates=templates, start_day=start_day)
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))  # what the task does after commit
    return Period.objects.get(pk=period.pk)


def line_of(sheet, code) -> SheetLine:
    return SheetLine.objects.select_related("sheet").get(sheet=sheet, indicator__code=code)


def set_actual(sheet, code, actual):
    line = line_of(sheet, code)
    return services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                actual=Decimal(actual))


# --- S0-2: shift sheets scored against benchmarks, lower is better ---------------------------------


@pytest.fixture
def plant(world_a):
    org = world_a.org
    with scope(organization=org):
        coal = indicator(org, "COAL", "completion", {**LOWER_RATIO, "basis": "benchmark"}, "lower", unit="g/kWh")
        indicator(org, "POWER", "completion", {**LOWER_RATIO, "basis": "benchmark"}, "lower", unit="%")
        indicator(org, "WATER", "completion", {**LOWER_RATIO, "basis": "benchmark"}, "lower", unit="%")
        add_benchmark(indicator=coal, acting_user=None, value="290", kind="benchmark")
        # Heating season (November to March) has its own, higher coal benchmark.
        add_benchmark(indicator=coal, acting_user=None, value="300", kind="benchmark", months=[11, 12, 1, 2, 3])
        for code, value in [("POWER", "5.20"), ("WATER", "1.50")]:
            from indicators.models import Indicator

            add_benchmark(indicator=Indicator.objects.get(code=code), acting_user=None, value=value, kind="benchmark")
        template = build_template(organization=org, acting_user=None, spec={
            "code": "SHIFT", "name": "运行值月度指标", "subject_kind": "team", "department_type": "production",
            "parts": [{"code": "kpi", "name": "指标绩效", "weight": "1", "full_marks": "100", "lines": [
                {"indicator": "COAL", "max_points": "40"},
                {"indicator": "POWER", "max_points": "30"},
                {"indicator": "WATER", "max_points": "30"},
            ]}],
        })
    return world_a, template


def _score_shift(plant, number):
    world, template = plant
    with scope(organization=world.org):
        period = open_period(world.org, [template], number=number, start_day=26)
        sheet = Sheet.objects.get(period=period)
        for code, actual in [("COAL", "295"), ("POWER", "5.00"), ("WATER", "1.60")]:
            set_actual(sheet, code, actual)
        return services.rescore_sheet(sheet=sheet, acting_user=None), sheet


def test_it_generates_one_sheet_per_shift(plant):
    world, template = plant
    with scope(organization=world.org):
        period = open_period(world.org, [template])
        sheets = list(Sheet.objects.filter(period=period))
        assert [(s.subject_kind, s.team_id) for s in sheets] == [("team", world.shift.pk)]
        assert SheetLine.objects.filter(sheet=sheets[0]).count() == 3


def test_it_scores_the_s0_2_worked_example_to_the_hundredth(plant):
    # COAL 290/295 × 40 = 39.32; POWER 5.20/5.00 × 30 = 31.20; WATER 1.50/1.60 × 30 = 28.125 → 28.13.
    result, _ = _score_shift(plant, number=10)
    assert result.parts == {"kpi": Decimal("98.65")}
    assert result.score == Decimal("98.65")


def test_it_uses_the_heating_season_benchmark_in_november(plant):
    # 26 Oct → 25 Nov is a November period: COAL 300/295 × 40 = 40.68, total 100.01.
    result, sheet = _score_shift(plant, number=11)
    with scope(organization=sheet.organization):
        assert line_of(sheet, "COAL").target == Decimal("300")
    assert result.score == Decimal("100.01")


def test_it_explains_each_line(plant):
    _, sheet = _score_shift(plant, number=10)
    with scope(organization=sheet.organization):
        explanation = line_of(sheet, "COAL").explanation
    assert "295" in explanation and "290" in explanation and "39.32" in explanation


# --- a 110-base department with indicator / functional / process parts (S0-2) ----------------------


@pytest.fixture
def departments_scheme(world_a, hr, head):
    org = world_a.org
    with scope(organization=org):
        indicator(org, "OUTPUT", "completion", {"cap_rate": "1.2"})
        indicator(org, "CHECK", "deduction", {"items": [{"code": "c", "name": "检查扣分", "points": "2"}]},
                  evidence_required=True)
        indicator(org, "PROC", "rating", {"unit": "points", "scale": [{"label": "好", "points": "100"},
                                                                      {"label": "中", "points": "80"}]})
        # Every department has a head, so peer departments have someone to rate.
        hr_membership = Membership.objects.get(user=hr)
        org_services.set_department_head(membership=hr_membership, department=world_a.back_office, is_head=True,
                                         acting_user=None)
        org_services.set_department_head(membership=Membership.objects.get(user=head),
                                         department=world_a.shift_dept, is_head=True, acting_user=None)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "DEPT", "name": "部门月度考核", "subject_kind": "department", "base_score": "110",
            "parts": [
                {"code": "kpi", "name": "指标", "weight": "0.7",
                 "lines": [{"indicator": "OUTPUT", "max_points": "100"}]},
                {"code": "func", "name": "职能", "weight": "0.2",
                 "lines": [{"indicator": "CHECK", "max_points": "100"}]},
                {"code": "proc", "name": "过程", "weight": "0.1",
                 "lines": [{"indicator": "PROC", "max_points": "100", "source": "raters"}]},
            ],
            "raters": [{"role": "peer_departments", "weight": "1"}],
        })
        period = open_period(org, [template])
    return world_a, period


def test_it_never_lets_a_department_rate_itself(departments_scheme):
    world, period = departments_scheme
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, department=world.production)
        rating_departments = set(Rater.objects.filter(sheet=sheet).values_list("department_id", flat=True))
    assert rating_departments == {world.shift_dept.pk, world.back_office.pk}


def test_it_scores_a_110_base_department_from_three_weighted_parts(departments_scheme):
    # 110 × (0.7 × 95/100 + 0.2 × 94/100 + 0.1 × 90/100) = 110 × 0.943 = 103.73
    world, period = departments_scheme
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, department=world.production)
        line = line_of(sheet, "OUTPUT")
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                             target=Decimal("1000"), actual=Decimal("950"))
        services.record_deduction(line=line_of(sheet, "CHECK"), acting_user=None, item_code="c", count=3,
                                  occurred_on=dt.date(2025, 10, 8), evidence="周检记录 10-08",
                                  recorder_department=world.back_office)
        proc = line_of(sheet, "PROC")
        for rater, label in zip(Rater.objects.filter(sheet=sheet).order_by("department__code"), ["好", "中"],
                                strict=True):
            services.rate_line(line=proc, rater=rater, acting_user=None, rating=label)
        result = services.rescore_sheet(sheet=sheet, acting_user=None)
    assert result.parts == {"kpi": Decimal("95.00"), "func": Decimal("94.00"), "proc": Decimal("90.00")}
    assert result.score == Decimal("103.73")


def test_it_rescores_a_whole_period_reading_each_sheet_with_its_own_records_and_ratings(departments_scheme):
    # Three sheets: records on the first, ratings on the last, nothing on the middle one; the period
    # is read as aligned streams, so each sheet must get its own rows and nobody else's.
    world, period = departments_scheme
    with scope(organization=world.org):
        sheets = list(Sheet.objects.filter(period=period).order_by("pk"))
        first, last = sheets[0], sheets[-1]
        services.record_deduction(line=line_of(first, "CHECK"), acting_user=None, item_code="c", count=3,
                                  occurred_on=dt.date(2025, 10, 8), evidence="周检记录",
                                  recorder_department=world.back_office)
        for rater in Rater.objects.filter(sheet=last):
            services.rate_line(line=line_of(last, "PROC"), rater=rater, acting_user=None, rating="中")
        for sheet in sheets:
            line = line_of(sheet, "OUTPUT")
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 target=Decimal("1000"), actual=Decimal("900"))
        one_by_one = {s.pk: services.rescore_sheet(sheet=s, acting_user=None).score for s in sheets}
        SheetLine.objects.filter(sheet__period=period).update(score=None, explanation="")
        # Scores are output: wiping them leaves the sheets fresh, so mark them never scored.
        Sheet.objects.filter(period=period).update(score=None, explanation="", scored_version=0)
        heard: list[int] = []
        count = services.rescore_period(period=period, acting_user=None, reason="test", progress=heard.append)
        again = dict(Sheet.objects.filter(period=period).values_list("pk", "score"))
        func = {s.pk: line_of(s, "CHECK").score for s in sheets}
    assert again == one_by_one
    assert func[first.pk] == Decimal("94.00") and func[last.pk] == Decimal("100.00")
    assert (count.sheets, count.changed_sheets, count.changed_lines) == (3, 3, 9)


def test_it_writes_nothing_when_a_rescore_changes_nothing(departments_scheme):
    world, period = departments_scheme
    with scope(organization=world.org):
        for sheet in Sheet.objects.filter(period=period):
            services.rescore_sheet(sheet=sheet, acting_user=None)
        audit_rows = SheetLine.history.count() + Sheet.history.count()
        Sheet.objects.filter(period=period).update(scored_version=0)  # stale, but nothing changed
        count = services.rescore_period(period=period, acting_user=None, reason="again")
        assert SheetLine.history.count() + Sheet.history.count() == audit_rows
    assert (count.sheets, count.changed_sheets, count.changed_lines) == (3, 0, 0)


def test_it_refuses_a_deduction_without_evidence_when_required(departments_scheme):
    world, period = departments_scheme
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, department=world.production)
        with pytest.raises(ValueError, match="依据"):
            services.record_deduction(line=line_of(sheet, "CHECK"), acting_user=None, item_code="c", count=1,
                                      occurred_on=dt.date(2025, 10, 8))


# --- S1-8: security capped at its weight, negative let through ----------------------------------


@pytest.fixture
def bank(world_a):
    org = world_a.org
    with scope(organization=org):
        indicator(org, "DEPOSIT", "completion", {"cap_rate": "1"})
        indicator(org, "SAFE", "deduction", {"items": [{"code": "breach", "name": "安全违规", "points": "2"}],
                                             "floor": None})
        indicator(org, "PRAISE", "bonus", {"items": [{"code": "media", "name": "媒体表扬", "points": "3"}]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "OUTLET", "name": "网点考核", "subject_kind": "department",
            "parts": [
                {"code": "business", "name": "业务", "weight": "0.4", "full_marks": "40",
                 "lines": [{"indicator": "DEPOSIT", "max_points": "40"}]},
                {"code": "security", "name": "安全", "weight": "0.6", "full_marks": "60", "cap_positive": True,
                 "lines": [{"indicator": "SAFE", "max_points": "60"}, {"indicator": "PRAISE", "max_points": "0"}]},
            ],
        })
        period = open_period(org, [template])
        for sheet in Sheet.objects.filter(period=period):
            line = line_of(sheet, "DEPOSIT")
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 target=Decimal("500"), actual=Decimal("500"))
    return world_a, period


def _bank_sheet(bank, department, *, praise=0, breaches=0):
    world, period = bank
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, department=department)
        if praise:
            services.record_deduction(line=line_of(sheet, "PRAISE"), acting_user=None, item_code="media",
                                      count=praise, occurred_on=dt.date(2025, 10, 3))
        if breaches:
            services.record_deduction(line=line_of(sheet, "SAFE"), acting_user=None, item_code="breach",
                                      count=breaches, occurred_on=dt.date(2025, 10, 3))
        return services.rescore_sheet(sheet=sheet, acting_user=None)


def test_it_caps_the_security_part_at_its_weight(bank):
    world, _ = bank
    result = _bank_sheet(bank, world.production, praise=2)  # 60 + 6 = 66 points, capped at 60
    assert result.parts["security"] == Decimal("66.00")
    assert result.score == Decimal("100.00")


def test_it_lets_a_negative_security_score_eat_into_the_rest(bank):
    world, _ = bank
    result = _bank_sheet(bank, world.back_office, breaches=35)  # 60 − 70 = −10: 100 × (0.4 − 0.6 × 10/60) = 30
    assert result.parts["security"] == Decimal("-10.00")
    assert result.score == Decimal("30.00")


# --- people: raters with weights, recusal, self-assessment ------------------------------------------


@pytest.fixture
def staff(world_a, hr, head, employee, supervisor):
    org = world_a.org
    with scope(organization=org):
        indicator(org, "WORK", "rating", {"unit": "points", "scale": [{"label": str(n), "points": str(n * 20)}
                                                                      for n in range(1, 6)]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "STAFF", "name": "员工考评", "subject_kind": "person",
            "parts": [{"code": "work", "name": "工作", "weight": "1",
                       "lines": [{"indicator": "WORK", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "self", "weight": "0.2", "missing_counts_as_zero": True},
                       {"role": "supervisor", "weight": "0.8"}],
        })
        period = open_period(org, [template])
    return world_a, period


def _rate(sheet, role, label):
    rater = Rater.objects.get(sheet=sheet, role=role)
    services.rate_line(line=line_of(sheet, "WORK"), rater=rater, acting_user=None, rating=label)


def test_it_makes_the_head_the_supervisor_of_their_departments_people(staff):
    world, period = staff
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, person=world.people["employee"])
        supervisor = Rater.objects.get(sheet=sheet, role="supervisor").person_id
    assert supervisor == world.people["head"].pk  # head of production, the shift department's parent


def test_it_never_makes_a_head_their_own_supervisor(staff):
    world, period = staff
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, person=world.people["head"])
        assert not Rater.objects.filter(sheet=sheet, role="supervisor", person=world.people["head"]).exists()


def test_it_weights_self_twenty_and_supervisor_eighty(staff):
    world, period = staff
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, person=world.people["employee"])
        _rate(sheet, "self", "5")  # 100
        _rate(sheet, "supervisor", "4")  # 80
        assert line_of(sheet, "WORK").score == Decimal("84.00")  # 0.2 × 100 + 0.8 × 80


def test_it_counts_a_missing_self_assessment_as_zero(staff):
    world, period = staff
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, person=world.people["employee"])
        _rate(sheet, "supervisor", "5")
        assert line_of(sheet, "WORK").score == Decimal("80.00")  # 0.2 × 0 + 0.8 × 100


def test_it_recuses_a_group_member_from_their_own_sheet(world_a, supervisor):
    org = world_a.org
    with scope(organization=org):
        group = ReviewGroup.objects.get(code="SUP")
        for key in ("hr", "finance"):
            user = org_services.User.objects.create_user(username=f"g-{key}", password="x" * 12)
            membership = org_services.create_membership(organization=org, acting_user=None, user=user,
                                                        person=world_a.people[key])
            org_services.add_group_member(group=group, membership=membership, acting_user=None)
        indicator(org, "ETHIC", "rating", {"unit": "points", "scale": [{"label": "A", "points": "90"},
                                                                       {"label": "B", "points": "60"}]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "GRP", "name": "小组评议", "subject_kind": "person",
            "parts": [{"code": "p", "name": "评议", "weight": "1",
                       "lines": [{"indicator": "ETHIC", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "group", "weight": "1", "group": "SUP"}],
        })
        period = open_period(org, [template])
        # "colleague" sits on the group and is assessed: recused from their own sheet, on record.
        sheet = Sheet.objects.get(period=period, person=world_a.people["colleague"])
        recused = Rater.objects.get(sheet=sheet, person=world_a.people["colleague"])
        assert recused.recused and recused.recusal_reason
        others = Rater.objects.filter(sheet=sheet, recused=False).order_by("person__employee_no")
        for rater, label in zip(others, ["A", "B"], strict=True):
            services.rate_line(line=line_of(sheet, "ETHIC"), rater=rater, acting_user=None, rating=label)
        assert line_of(sheet, "ETHIC").score == Decimal("75.00")  # the two others: (90 + 60) / 2
        with pytest.raises(services.IllegalTransition):
            services.rate_line(line=line_of(sheet, "ETHIC"), rater=recused, acting_user=None, rating="A")


# --- generation: idempotent, set-based; editing: conflicts, audit ------------------------------------


def test_it_generates_nothing_more_when_run_again(staff):
    world, period = staff
    with scope(organization=world.org):
        counts = (Sheet.objects.count(), SheetLine.objects.count(), Rater.objects.count())
        assert services.generate_sheets(period=period)["created"] == 0
        assert (Sheet.objects.count(), SheetLine.objects.count(), Rater.objects.count()) == counts


def test_it_generates_sheets_with_a_fixed_number_of_queries(staff):
    world, period = staff
    with scope(organization=world.org):
        small = Period.objects.get(pk=period.pk)
        Sheet.objects.filter(period=small).delete()
        with CaptureQueriesContext(connection) as few:
            services.generate_sheets(period=small)
        # 35 more people: within one bulk batch of lines on SQLite (999 parameters ÷ 24 columns = 41
        # rows); more lines take one more INSERT per batch, never one per person.
        for n in range(35):
            org_services.create_person(organization=world.org, acting_user=None, employee_no=f"X{n}", name=f"X{n}",
                                       department=world.production)
        Sheet.objects.filter(period=small).delete()
        with CaptureQueriesContext(connection) as many:
            services.generate_sheets(period=small)
        assert Sheet.objects.filter(period=small).count() == Person.objects.count()
    assert len(many) == len(few)


def test_it_refuses_to_open_a_period_twice_naming_its_state(staff):
    world, period = staff
    # Messages are in the product's language: the current state is named as HR sees it.
    with scope(organization=world.org), pytest.raises(services.IllegalTransition, match="进行中"):
        services.open_period(period=period, acting_user=None)


def test_it_refuses_a_stale_edit_naming_who_changed_the_line(plant, hr):
    world, template = plant
    with scope(organization=world.org):
        period = open_period(world.org, [template])
        line = line_of(Sheet.objects.get(period=period), "COAL")
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("300"))
        with pytest.raises(services.LineConflict, match=str(hr)):
            services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None,
                                 actual=Decimal("310"))
        assert line_of(Sheet.objects.get(period=period), "COAL").actual == Decimal("300")


def test_it_audits_an_actual_with_who_and_the_old_value(plant, hr):
    world, template = plant
    with scope(organization=world.org):
        period = open_period(world.org, [template])
        line = line_of(Sheet.objects.get(period=period), "COAL")
        line = services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr,
                                    actual=Decimal("300"), reason="抄表")
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, actual=Decimal("298"),
                             reason="更正")
        latest = SheetLine.history.filter(id=line.pk).order_by("-history_date").first()
        change = latest.diff_against(latest.prev_record).changes
        assert latest.history_user == hr and latest.history_change_reason == "更正"
        assert any(c.field == "actual" and c.old == Decimal("300") and c.new == Decimal("298") for c in change)
