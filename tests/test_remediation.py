"""The remediation history of pass/fail lines (S0-1): every acceptance round (验收) is kept with
whether it passed, why it failed, who inspected and when; a failed item is sent back for
remediation and inspected again until it passes. The line is scored on its latest round.

Worked by hand: a work item of full marks 50, round shares 1 / 0.8 / 0.6, a failure scores 0.
Round 1 failed (裂缝) → 0; round 2 failed (渗水) → 0; round 3 passed → 0.6 × 50 = 30.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope

from appraisal import services
from appraisal.models import AcceptanceRound, Period, Sheet, SheetLine
from indicators.services import build_template, create_indicator
from tests.conftest import World

PASS_FAIL = {"round_shares": ["1", "0.8", "0.6"], "fail_share": "0"}


@pytest.fixture
def item(world_a: World, hr) -> tuple[World, SheetLine]:
    org = world_a.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="ITEM", name="屋面防水工程验收", method="pass_fail",
                         config=PASS_FAIL)
        template = build_template(organization=org, acting_user=None, spec={
            "code": "LOGI", "name": "后勤", "subject_kind": "person", "applies_to": [{"people": ["a-employee"]}],
            "parts": [{"code": "p", "name": "工作事项", "weight": "1", "full_marks": "50",
                       "lines": [{"indicator": "ITEM", "max_points": "50"}]}]})
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                        templates=[template])
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        line = SheetLine.objects.get(sheet__period=period, sheet__person=world_a.people["employee"])
    return world_a, line


def _line(line: SheetLine) -> SheetLine:
    return SheetLine.objects.get(pk=line.pk)


def test_it_keeps_every_round_until_the_item_passes(item: tuple[World, SheetLine], hr) -> None:
    world, line = item
    with scope(organization=world.org):
        services.record_acceptance(line_id=line.pk, passed=False, reason="裂缝", acting_user=hr,
                                   inspected_on=dt.date(2025, 10, 3))
        assert (_line(line).accepted, _line(line).acceptance_round, _line(line).score) == (False, 1, Decimal("0.00"))
        services.record_acceptance(line_id=line.pk, passed=False, reason="渗水", acting_user=hr,
                                   inspected_on=dt.date(2025, 10, 12))
        services.record_acceptance(line_id=line.pk, passed=True, acting_user=hr, inspected_on=dt.date(2025, 10, 20))
        current = _line(line)
        assert (current.accepted, current.acceptance_round, current.score) == (True, 3, Decimal("30.00"))
        assert Sheet.objects.get(pk=line.sheet_id).score == Decimal("100.00") * 30 / 50
        rounds = list(AcceptanceRound.objects.filter(line=line).values_list(
            "number", "passed", "reason", "inspected_by__employee_no", "inspected_on"))
    assert rounds == [(1, False, "裂缝", "a-hr", dt.date(2025, 10, 3)),
                      (2, False, "渗水", "a-hr", dt.date(2025, 10, 12)),
                      (3, True, "", "a-hr", dt.date(2025, 10, 20))]


def test_a_failure_needs_its_reason(item: tuple[World, SheetLine], hr) -> None:
    world, line = item
    with scope(organization=world.org), pytest.raises(ValueError):
        services.record_acceptance(line_id=line.pk, passed=False, reason=" ", acting_user=hr)


def test_nothing_follows_a_passed_round_but_a_round_can_be_corrected(item: tuple[World, SheetLine], hr) -> None:
    world, line = item
    with scope(organization=world.org):
        services.record_acceptance(line_id=line.pk, passed=False, reason="裂缝", acting_user=hr)
        services.record_acceptance(line_id=line.pk, passed=True, acting_user=hr)
        with pytest.raises(ValueError):
            services.record_acceptance(line_id=line.pk, passed=True, acting_user=hr)
        with pytest.raises(ValueError):
            services.record_acceptance(line_id=line.pk, passed=True, number=4, acting_user=hr)
        # Round 1 corrected: it passed after all. The line keeps its latest round (2).
        services.record_acceptance(line_id=line.pk, passed=True, number=1, acting_user=hr)
        first = AcceptanceRound.objects.get(line=line, number=1)
        assert first.passed and first.reason == ""
        assert [h.history_type for h in first.history.order_by("history_date")] == ["+", "~"]
        assert _line(line).acceptance_round == 2


def test_only_pass_fail_lines_take_rounds(world_a: World, hr) -> None:
    org = world_a.org
    with scope(organization=org):
        create_indicator(organization=org, acting_user=None, code="K", name="工作量", method="completion", config={})
        template = build_template(organization=org, acting_user=None, spec={
            "code": "T", "name": "T", "subject_kind": "person",
            "parts": [{"code": "p", "name": "p", "weight": "1", "lines": [{"indicator": "K", "max_points": "100"}]}]})
        period = services.create_period(organization=org, acting_user=None, kind="monthly", year=2025, number=10,
                                        templates=[template])
        services.open_period(period=period, acting_user=None)
        services.generate_sheets(period=Period.objects.get(pk=period.pk))
        line = SheetLine.objects.filter(sheet__period=period).first()
        assert line is not None
        with pytest.raises(ValueError):
            services.record_acceptance(line_id=line.pk, passed=True, acting_user=hr)


def test_entering_the_acceptance_on_the_line_records_the_round(item: tuple[World, SheetLine], hr) -> None:
    world, line = item
    with scope(organization=world.org):
        line = services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, accepted=False,
                                    acceptance_round=1)
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=hr, accepted=True,
                             acceptance_round=2)
        assert list(AcceptanceRound.objects.filter(line=line).values_list("number", "passed")) == [(1, False),
                                                                                                   (2, True)]
        assert _line(line).score == Decimal("40.00")  # 0.8 × 50


def test_no_round_once_the_period_is_closed(item: tuple[World, SheetLine], hr) -> None:
    world, line = item
    with scope(organization=world.org):
        Period.objects.filter(pk=line.sheet.period_id).update(state=Period.State.CLOSED)
        with pytest.raises(services.IllegalTransition):
            services.record_acceptance(line_id=line.pk, passed=True, acting_user=hr)


def test_the_api_records_rounds_and_lists_them_on_the_line_and_the_sheet(item: tuple[World, SheetLine], hr,
                                                                        employee, api_for) -> None:
    world, line = item
    hr_api = api_for(hr)
    assert api_for(employee).post(f"/api/lines/{line.pk}/acceptance/", {"passed": True},
                                  format="json").status_code in (403, 404)
    refused = hr_api.post(f"/api/lines/{line.pk}/acceptance/", {"passed": False}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    failed = hr_api.post(f"/api/lines/{line.pk}/acceptance/", {"passed": False, "reason": "裂缝",
                                                               "inspected_on": "2025-10-03"}, format="json")
    assert failed.status_code == 200, failed.content
    passed = hr_api.post(f"/api/lines/{line.pk}/acceptance/", {"passed": True}, format="json")
    body = passed.json()
    assert (body["accepted"], body["acceptance_round"], body["score"]) == (True, 2, "40.00")
    assert [(r["number"], r["passed"], r["reason"]) for r in body["acceptance_rounds"]] == [
        (1, False, "裂缝"), (2, True, "")]
    with scope(organization=world.org):
        hr_person = world.people["hr"].pk
    assert body["acceptance_rounds"][0]["inspected_by"] == hr_person
    assert body["acceptance_rounds"][0]["inspected_on"] == "2025-10-03"
    sheet = hr_api.get(f"/api/sheets/{line.sheet_id}/").json()
    assert [r["number"] for r in sheet["lines"][0]["acceptance_rounds"]] == [1, 2]


def test_the_sheet_page_lists_the_rounds_under_the_line(item: tuple[World, SheetLine], hr, client) -> None:
    world, line = item
    client.force_login(hr)
    response = client.post(reverse("line-acceptance", args=[line.pk]), {"passed": "no", "reason": "裂缝"})
    assert response.status_code == 302
    client.post(reverse("line-acceptance", args=[line.pk]), {"passed": "yes", "reason": ""})
    html = client.get(reverse("sheet-detail", args=[line.sheet_id])).content.decode()
    assert html.count('class="acceptance-round"') == 2
    assert "裂缝" in html and "第 1 轮" in html
    assert 'class="row g-1 align-items-end acceptance-form"' in html
    with scope(organization=world.org):
        assert _line(line).acceptance_round == 2


def test_the_employee_sees_the_rounds_but_cannot_record_them(item: tuple[World, SheetLine], hr, employee,
                                                            client) -> None:
    world, line = item
    with scope(organization=world.org):
        services.record_acceptance(line_id=line.pk, passed=False, reason="裂缝", acting_user=hr)
    client.force_login(employee)
    html = client.get(reverse("sheet-detail", args=[line.sheet_id])).content.decode()
    assert "裂缝" in html and "acceptance-form" not in html
    assert client.post(reverse("line-acceptance", args=[line.pk]), {"passed": "yes"}).status_code == 403
