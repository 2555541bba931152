"""Baselines (last period, same period last year, ten-day averages), roll-up of periods, and the
second-line rater (S1-4 headquarters 70% / local company 30%)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from appraisal import services
from appraisal.models import Period, Rater, Sheet, SheetLine
from indicators.services import build_template, create_indicator
from organizations import services as org_services
from organizations.models import Membership

BASELINE = {"basis": "baseline", "cap_rate": "1.5"}


def _template(org, source):
    create_indicator(organization=org, acting_user=None, code="DEP", name="存款日均", method="completion",
                     config=BASELINE, baseline_source=source)
    return build_template(organization=org, acting_user=None, spec={
        "code": "OUT", "name": "网点", "subject_kind": "department", "department_type": "back_office",
        "parts": [{"code": "biz", "name": "业务", "weight": "1", "lines": [{"indicator": "DEP", "max_points": "100"}]}],
    })


def _open(org, template, *, year, number, kind="quarterly"):
    period = services.create_period(organization=org, acting_user=None, kind=kind, year=year, number=number,
                                    templates=[template])
    services.open_period(period=period, acting_user=None)
    services.generate_sheets(period=Period.objects.get(pk=period.pk))
    return Period.objects.get(pk=period.pk)


def _line(period) -> SheetLine:
    return SheetLine.objects.select_related("sheet").get(sheet__period=period)


def _enter(line, **values):
    return services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, **values)


def test_it_takes_last_periods_actual_as_the_baseline(world_a):
    org = world_a.org
    with scope(organization=org):
        template = _template(org, "last_period")
        q3 = _open(org, template, year=2025, number=3)
        _enter(_line(q3), actual=Decimal("800"))
        q4 = _open(org, template, year=2025, number=4)
        line = _enter(_line(q4), actual=Decimal("1000"))
    assert line.target == Decimal("800")
    assert line.score == Decimal("125.00")  # 1000 ÷ 800 = 125% of 100 points


def test_it_takes_the_same_period_last_year_as_the_baseline(world_a):
    org = world_a.org
    with scope(organization=org):
        template = _template(org, "same_period_last_year")
        _enter(_line(_open(org, template, year=2024, number=4)), actual=Decimal("500"))
        _open(org, template, year=2025, number=3)  # the period just before is not the baseline
        line = _line(_open(org, template, year=2025, number=4))
    assert line.target == Decimal("500")


def test_it_averages_ten_day_averages_into_the_baseline(world_a):
    org = world_a.org
    with scope(organization=org):
        template = _template(org, "ten_day_average")
        line = _line(_open(org, template, year=2025, number=4))
        line = _enter(line, actual=Decimal("1100"),
                      inputs={"tenday_1": "900", "tenday_2": "1000", "tenday_3": "1100"})
    # baseline = (900 + 1000 + 1100) / 3 = 1000; 1100 ÷ 1000 = 110% → 110.00
    assert line.score == Decimal("110.00")
    assert "1000" in line.explanation


def test_it_requires_a_baseline_source_for_a_baseline_basis(world_a):
    with scope(organization=world_a.org), pytest.raises(ValidationError, match="baseline_source"):
        create_indicator(organization=world_a.org, acting_user=None, code="X", name="X", method="completion",
                         config=BASELINE)


# --- roll-up ----------------------------------------------------------------------------------


@pytest.fixture
def quarters(world_a):
    org = world_a.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="Q", name="季度得分", method="formula",
                         config={"expression": "actual"})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "QT", "name": "季度", "subject_kind": "department", "department_type": "back_office",
            "parts": [{"code": "p", "name": "得分", "weight": "1", "lines": [{"indicator": "Q", "max_points": "100"}]}],
        })
        annual = services.create_period(organization=org, acting_user=None, kind="annual", year=2025, number=1,
                                        templates=[])
        children = {}
        for number, score in [(1, "80"), (2, "90"), (3, "85"), (4, "95")]:
            period = _open(org, template, year=2025, number=number)
            _enter(_line(period), actual=Decimal(score))
            services.rescore_sheet(sheet=Sheet.objects.get(period=period), acting_user=None)
            children[period] = Decimal("0.25")
    return world_a, annual, children


def test_it_rolls_weighted_quarters_up_into_the_year(quarters):
    world, annual, children = quarters
    with scope(organization=world.org):
        services.set_rollup(parent=annual, children=children, acting_user=None)
        result = services.rollup_scores(parent=annual)
    assert result[("department", world.back_office.pk)].score == Decimal("87.50")  # (80 + 90 + 85 + 95) / 4


def test_it_scales_up_the_weights_of_a_subject_missing_a_quarter(quarters):
    world, annual, children = quarters
    with scope(organization=world.org):
        services.set_rollup(parent=annual, children=children, acting_user=None)
        Sheet.objects.filter(period__code="2025-Q1").update(score=None)  # e.g. joined in April
        rolled = services.rollup_scores(parent=annual)[("department", world.back_office.pk)]
    assert rolled.score == Decimal("90.00")  # (90 + 85 + 95) / 3
    assert "0.75" in rolled.explanation


def test_it_refuses_rollup_weights_that_do_not_add_up(quarters):
    world, annual, children = quarters
    first = next(iter(children))
    with scope(organization=world.org), pytest.raises(ValueError, match=r"1\.25"):
        services.set_rollup(parent=annual, children={**children, first: Decimal("0.5")}, acting_user=None)


# --- second line --------------------------------------------------------------------------------


def test_it_weights_headquarters_seventy_and_the_local_head_thirty(world_a, hr, head, employee):
    org = world_a.org
    with scope(organization=org):
        # HR's department plays headquarters; its head is the second-line rater.
        org_services.set_department_head(membership=Membership.objects.get(user=hr), department=world_a.back_office,
                                         is_head=True, acting_user=None)
        create_indicator(organization=org, acting_user=None, code="PERF", name="业绩", method="rating",
                         config={"unit": "points", "scale": [{"label": "A", "points": "100"},
                                                             {"label": "B", "points": "70"}]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "LINE", "name": "条线考核", "subject_kind": "person", "department_type": "production",
            "parts": [{"code": "p", "name": "业绩", "weight": "1",
                       "lines": [{"indicator": "PERF", "max_points": "100", "source": "raters"}]}],
            "raters": [{"role": "second_line", "weight": "0.7", "department": world_a.back_office.code},
                       {"role": "supervisor", "weight": "0.3"}],
        })
        period = _open(org, template, year=2025, number=10, kind="monthly")
        sheet = Sheet.objects.get(period=period, person=world_a.people["employee"])
        line = SheetLine.objects.get(sheet=sheet)
        hq = Rater.objects.get(sheet=sheet, role="second_line")
        assert hq.person_id == world_a.people["hr"].pk
        services.rate_line(line=line, rater=hq, acting_user=hr, rating="A")
        services.rate_line(line=line, rater=Rater.objects.get(sheet=sheet, role="supervisor"), acting_user=head,
                           rating="B")
        line.refresh_from_db()
    assert line.score == Decimal("91.00")  # 0.7 × 100 + 0.3 × 70
