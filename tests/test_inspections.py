"""S0-2 functional checks: an inspecting department records deductions on other departments' sheets."""

from __future__ import annotations

import pytest
from django_scopes import scope

from appraisal import services
from appraisal.models import DeductionRecord, Period, Sheet, SheetLine
from indicators.services import build_template, create_indicator
from organizations import services as org_services
from organizations.models import User


@pytest.fixture
def checks(world_a):
    org = world_a.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="CHECK", name="职能检查", method="deduction",
                         config={"items": [{"code": "dirty", "name": "现场不整洁", "points": "2"}]})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "FUNC", "name": "职能绩效", "subject_kind": "department",
            "parts": [{"code": "f", "name": "职能", "weight": "1",
                       "lines": [{"indicator": "CHECK", "max_points": "100"}]}],
        })
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                        templates=[template])
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        # 综合办 (back office) is the safety-and-quality inspector; "colleague" works there.
        org_services.update_department(department=world_a.back_office, acting_user=None, inspects_others=True)
        user = User.objects.create_user(username="inspector", password="x" * 12)
        org_services.create_membership(organization=org, acting_user=None, user=user,
                                       person=world_a.people["colleague"])
    return world_a, user


def _line(world, department) -> SheetLine:
    with scope(organization=world.org):
        return SheetLine.objects.get(sheet__department=department, indicator__code="CHECK")


def _record(api_for, user, line):
    return api_for(user).post(f"/api/lines/{line.pk}/records/",
                              {"item_code": "dirty", "count": 2, "occurred_on": "2025-10-09",
                               "evidence": "10-09 周检照片"}, format="json")


def test_it_lets_an_inspector_record_on_another_department(checks, api_for):
    world, inspector = checks
    line = _line(world, world.production)
    assert _record(api_for, inspector, line).status_code == 201
    with scope(organization=world.org):
        record = DeductionRecord.objects.get(line=line)
        assert record.recorder_department == world.back_office
        assert record.recorded_by == world.people["colleague"]


def test_it_deducts_what_the_inspector_recorded(checks, api_for):
    world, inspector = checks
    line = _line(world, world.production)
    _record(api_for, inspector, line)
    with scope(organization=world.org):
        services.rescore_sheet(sheet=Sheet.objects.get(pk=line.sheet_id), acting_user=None)
        assert Sheet.objects.get(pk=line.sheet_id).score == 96  # 100 − 2 × 2


def test_it_keeps_an_inspector_off_their_own_departments_sheet(checks, api_for):
    world, inspector = checks
    assert _record(api_for, inspector, _line(world, world.back_office)).status_code == 403


def test_it_keeps_other_employees_from_recording(checks, api_for, employee):
    world, _ = checks
    # An ordinary employee does not even see the department's sheet.
    assert _record(api_for, employee, _line(world, world.production)).status_code == 404


def test_it_stops_being_an_inspector_when_the_department_stops_inspecting(checks, api_for):
    world, inspector = checks
    with scope(organization=world.org):
        org_services.update_department(department=world.back_office, acting_user=None, inspects_others=False)
    assert _record(api_for, inspector, _line(world, world.production)).status_code == 404
