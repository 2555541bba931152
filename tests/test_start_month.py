"""Years that start in any month (Period.start_month): a school year from September (S1-7), fiscal
years from April or July. Periods are counted from the start month, a year is named after the
calendar year it starts in, and the codes carry the start month so they never clash with calendar
periods (FY2026-09, FY2026-09-Q2); a month keeps its calendar code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Sheet, SheetLine
from appraisal.periods import months_of, period_bounds, period_code
from indicators.services import add_benchmark, build_template, create_indicator
from tests.conftest import World

D = dt.date


def test_a_school_year_runs_from_september_to_august():
    assert period_bounds("annual", 2026, 1, start_month=9) == (D(2026, 9, 1), D(2027, 8, 31))


@pytest.mark.parametrize("number,bounds", [
    (1, (D(2026, 9, 1), D(2026, 11, 30))),
    (2, (D(2026, 12, 1), D(2027, 2, 28))),
    (3, (D(2027, 3, 1), D(2027, 5, 31))),
    (4, (D(2027, 6, 1), D(2027, 8, 31))),
])
def test_quarters_follow_the_school_year(number, bounds):
    assert period_bounds("quarterly", 2026, number, start_month=9) == bounds


def test_half_years_and_months_follow_it_too():
    assert period_bounds("half_yearly", 2026, 2, start_month=9) == (D(2027, 3, 1), D(2027, 8, 31))
    assert period_bounds("monthly", 2026, 5, start_month=9) == (D(2027, 1, 1), D(2027, 1, 31))
    assert period_bounds("monthly", 2026, 6, start_month=9) == (D(2027, 2, 1), D(2027, 2, 28))


def test_an_april_fiscal_year_with_books_closed_on_the_25th():
    # Both shifts combine: the year from April, each month from the 26th of the one before.
    assert period_bounds("annual", 2026, 1, start_day=26, start_month=4) == (D(2026, 3, 26), D(2027, 3, 25))
    assert period_bounds("quarterly", 2026, 4, start_day=26, start_month=4) == (D(2026, 12, 26), D(2027, 3, 25))


def test_january_years_are_as_before():
    assert period_bounds("quarterly", 2025, 4, start_day=26) == (D(2025, 9, 26), D(2025, 12, 25))
    assert period_bounds("annual", 2025, 1) == (D(2025, 1, 1), D(2025, 12, 31))
    assert [period_code("monthly", 2025, 3), period_code("quarterly", 2025, 4), period_code("annual", 2025, 1)] == [
        "2025-03", "2025-Q4", "2025"]


def test_codes_carry_the_start_month():
    assert period_code("annual", 2026, 1, start_month=9) == "FY2026-09"
    assert period_code("quarterly", 2026, 2, start_month=9) == "FY2026-09-Q2"
    assert period_code("half_yearly", 2026, 1, start_month=9) == "FY2026-09-H1"
    # A month is the same month whichever year counts it.
    assert period_code("monthly", 2026, 5, start_month=9) == period_code("monthly", 2027, 1) == "2027-01"


def test_it_refuses_a_month_that_does_not_exist():
    with pytest.raises(ValueError, match="12"):
        period_bounds("annual", 2026, 1, start_month=13)


def test_months_of_names_each_slot_by_the_month_it_ends_in():
    # A first quarter run 26 December → 25 March covers January to March, not December.
    assert months_of(D(2024, 12, 26), D(2025, 3, 25)) == {1, 2, 3}
    # A winter quarter of the school year.
    assert months_of(*period_bounds("quarterly", 2026, 2, start_month=9)) == {12, 1, 2}
    assert months_of(*period_bounds("annual", 2026, 1, start_month=9)) == set(range(1, 13))


@pytest.fixture
def school(world_a: World):
    org = world_a.org
    with scope(organization=org):
        checks = create_indicator(organization=org, acting_user=None, code="CHECKS", name="常规检查",
                                  method="completion", config={"cap_rate": "1"})
        add_benchmark(indicator=checks, acting_user=None, value="20")
        # A winter target (December to February) for the same indicator.
        add_benchmark(indicator=checks, acting_user=None, value="10", months=[12, 1, 2])
        template = build_template(organization=org, acting_user=None, spec={
            "code": "TEACHER", "name": "班主任", "subject_kind": "person",
            "parts": [{"code": "p", "name": "常规", "weight": "1", "lines": [{"indicator": "CHECKS",
                                                                           "max_points": "100"}]}]})
    return world_a, template


def test_it_creates_a_school_year_period(school):
    world, template = school
    with scope(organization=world.org):
        period = services.create_period(organization=world.org, acting_user=None, kind="annual", year=2026, number=1,
                                        start_month=9, templates=[template])
        assert (period.code, period.start, period.end, period.start_month) == ("FY2026-09", D(2026, 9, 1),
                                                                               D(2027, 8, 31), 9)


def test_a_winter_quarter_of_the_school_year_takes_the_winter_target(school):
    world, template = school
    with scope(organization=world.org):
        period = services.create_period(organization=world.org, acting_user=None, kind="quarterly", year=2026,
                                        number=2, start_month=9, templates=[template])
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        sheet = Sheet.objects.filter(period=period).first()
        assert SheetLine.objects.get(sheet=sheet).target == Decimal("10")


def test_the_api_creates_a_period_with_a_start_month(school, hr, api_for):
    _world, template = school
    body = {"kind": "quarterly", "year": 2026, "number": 1, "start_month": 9, "templates": [template.pk]}
    response = api_for(hr).post("/api/periods/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["code"], data["start"], data["end"], data["start_month"]) == (
        "FY2026-09-Q1", "2026-09-01", "2026-11-30", 9)


def test_the_api_refuses_month_13(school, hr, api_for):
    _world, template = school
    body = {"kind": "annual", "year": 2026, "number": 1, "start_month": 13, "templates": [template.pk]}
    response = api_for(hr).post("/api/periods/", body, format="json")
    assert response.status_code == 400 and "start_month" in response.json()


def test_the_period_form_takes_a_start_month(school, hr, client):
    world, template = school
    client.force_login(hr)
    assert 'name="start_month"' in client.get(reverse("period-create")).content.decode()
    response = client.post(reverse("period-create"), {"kind": "annual", "year": "2026", "number": "1",
                                                      "start_day": "1", "start_month": "9",
                                                      "templates": [template.pk]})
    assert response.status_code == 302, response.content.decode()[:2000]
    with scope(organization=world.org):
        period = Period.objects.get(code="FY2026-09")
    assert (period.start, period.end) == (D(2026, 9, 1), D(2027, 8, 31))


def test_the_form_refuses_a_period_that_exists(school, hr, client):
    world, template = school
    with scope(organization=world.org):
        services.create_period(organization=world.org, acting_user=None, kind="monthly", year=2027, number=1,
                               templates=[template])
    client.force_login(hr)
    # Month 5 of the school year 2026 is January 2027: the same month, refused by its code.
    response = client.post(reverse("period-create"), {"kind": "monthly", "year": "2026", "number": "5",
                                                      "start_day": "1", "start_month": "9",
                                                      "templates": [template.pk]})
    assert response.status_code in (200, 400)
    assert "2027-01" in response.content.decode()
