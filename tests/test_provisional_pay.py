"""A pay run computed before calibration is provisional: while people's results of the period still
wait for calibration (a tie at a quota line), finance's confirmation is refused naming them — in the
service, the API and the page, which shows 暂定; once HR calibrates, the pay is computed again and
the run can be confirmed. A period sent back to calibration supersedes the runs computed from its
results; the next close computes a new version that can be confirmed.

The population (tests.closing, S1-4 quotas): 20 people, two tied at 95 for the one S place, the
rest at 75; everyone earns 3000, so S19 pays 600 × the grade's coefficient + 150.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from appraisal.models import Period, Result
from appraisal.services import IllegalTransition, closing
from organizations.models import Person, User
from payroll import services
from payroll.models import PayRun
from tests.closing import close
from tests.conftest import World
from tests.test_pay_api import url
from tests.test_pay_runs import closed_period, compute, pay_policy

TIED = ["95", "95"] + ["75"] * 18
FIXED_ONLY = [{"code": "post", "name": "岗位津贴", "kind": "fixed", "config": {"amount": "150"}}]


@pytest.fixture
def tied(world_a: World) -> tuple[Period, list[Person], PayRun]:
    pay_policy(world_a.org)
    period, people = closed_period(world_a, TIED)
    return period, people, compute(period)


def _calibrate(period: Period, person: Person, score: str, user: User, capture: Any) -> None:
    with scope(organization=period.organization), capture(execute=True):
        result = Result.objects.get(period=period, person=person)
        closing.calibrate(result=result, score=Decimal(score), reason="民主测评较低", acting_user=user)


def _latest(period: Period) -> PayRun:
    with scope(organization=period.organization):
        return PayRun.objects.filter(period=period).order_by("-version").first()  # type: ignore[return-value]


def _label(person: Person) -> str:
    return f"{person.employee_no} {person.name}"


# --- the service ----------------------------------------------------------------------------------


def test_it_marks_a_run_computed_while_results_wait_for_calibration_provisional(tied) -> None:
    _period, people, run = tied
    assert run.provisional and run.waiting == 2
    assert run.waiting_names == [_label(people[0]), _label(people[1])]


def test_it_does_not_mark_a_run_provisional_when_nothing_waits(world_a: World) -> None:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85", "75"], quotas=[])
    run = compute(period)
    assert (run.provisional, run.waiting, run.waiting_names) == (False, 0, [])


def test_it_refuses_to_confirm_a_provisional_run_naming_the_waiting_results(tied, finance: User) -> None:
    period, people, run = tied
    with scope(organization=period.organization):
        with pytest.raises(IllegalTransition, match="2") as refused:
            services.confirm_pay_run(run=run, acting_user=finance)
        assert PayRun.objects.get(pk=run.pk).state == PayRun.State.COMPUTED
        assert not PayRun.history.filter(id=run.pk, state=PayRun.State.CONFIRMED).exists()
    assert people[0].name in str(refused.value) and people[1].name in str(refused.value)


def test_it_lets_finance_confirm_the_new_version_once_hr_calibrates(
    tied, hr: User, finance: User, django_capture_on_commit_callbacks: Any
) -> None:
    period, people, run = tied
    _calibrate(period, people[1], "94.50", hr, django_capture_on_commit_callbacks)  # A now: paid differently
    latest = _latest(period)
    assert latest.version == run.version + 1 and not latest.provisional and latest.waiting == 0
    with scope(organization=period.organization):
        confirmed = services.confirm_pay_run(run=latest, acting_user=finance)
    assert confirmed.state == PayRun.State.CONFIRMED


def test_it_clears_provisional_on_the_same_run_when_calibration_changes_nobodys_pay(
    world_a: World, hr: User, finance: User, django_capture_on_commit_callbacks: Any
) -> None:
    pay_policy(world_a.org, components=FIXED_ONLY)  # pay does not depend on the grade
    period, people = closed_period(world_a, TIED)
    run = compute(period)
    assert run.provisional
    _calibrate(period, people[1], "94.50", hr, django_capture_on_commit_callbacks)
    latest = _latest(period)
    assert latest.pk == run.pk and not latest.provisional  # no new version: the slips are the same
    with scope(organization=period.organization):
        assert PayRun.history.filter(id=run.pk, provisional=False).exists()  # the change is audited
        assert services.confirm_pay_run(run=latest, acting_user=finance).state == PayRun.State.CONFIRMED


# --- the API and the pages ------------------------------------------------------------------------


def test_it_answers_409_through_the_api_naming_the_waiting_results(tied, api_for: Any, finance: User) -> None:
    _period, people, run = tied
    response = api_for(finance).post(url("pay-run-confirm", run.pk))
    assert response.status_code == 409
    assert people[0].name in response.json()["detail"]
    body = api_for(finance).get(url("pay-run-detail", run.pk)).json()
    assert body["state"] == "computed"


def test_it_shows_provisional_on_the_pay_run_pages_without_a_confirm_button(
    tied, client: Client, finance: User
) -> None:
    period, people, run = tied
    client.force_login(finance)
    html = client.get(reverse("pay-run-detail", args=[run.pk])).content.decode()
    assert "暂定" in html and 'id="pay-run-unsettled"' in html and people[0].name in html
    assert 'id="pay-run-confirm"' not in html
    runs = client.get(reverse("period-pay-runs", args=[period.pk])).content.decode()
    row = runs[runs.index(f'id="pay-run-{run.pk}"'):]
    assert "pay-run-provisional" in row[:row.index("</tr>")] and "暂定" in row[:row.index("</tr>")]


def test_it_refuses_a_confirmation_posted_from_the_page_with_the_reason(tied, client: Client, finance: User) -> None:
    _period, people, run = tied
    client.force_login(finance)
    response = client.post(reverse("pay-run-confirm", args=[run.pk]), follow=True)
    assert people[1].name in response.content.decode()
    with scope(organization=run.organization):
        assert PayRun.objects.get(pk=run.pk).state == PayRun.State.COMPUTED


# --- a period sent back to calibration ------------------------------------------------------------


@pytest.fixture
def settled(world_a: World) -> tuple[Period, PayRun]:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85", "75"], quotas=[])
    return period, compute(period)


def _reopen(period: Period, hr: User, capture: Any) -> None:
    with scope(organization=period.organization), capture(execute=True):
        closing.reopen_period(period=Period.objects.get(pk=period.pk), reason="部门分数录入有误", acting_user=hr)


def test_it_supersedes_the_computed_run_when_the_period_goes_back_to_calibration(
    settled, hr: User, finance: User, django_capture_on_commit_callbacks: Any
) -> None:
    period, run = settled
    _reopen(period, hr, django_capture_on_commit_callbacks)
    with scope(organization=period.organization):
        superseded = PayRun.objects.get(pk=run.pk)
        assert superseded.superseded_at is not None and "部门分数录入有误" in superseded.superseded_reason
        assert PayRun.history.filter(id=run.pk, superseded_at__isnull=False).count() == 1
        assert PayRun.objects.filter(period=period).count() == 1  # nothing computed from no results
        with pytest.raises(IllegalTransition, match=str(Period.State.CALIBRATION.label)):
            services.confirm_pay_run(run=superseded, acting_user=finance)


def test_it_shows_a_superseded_run_without_a_confirm_button(
    settled, hr: User, finance: User, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    period, run = settled
    _reopen(period, hr, django_capture_on_commit_callbacks)
    client.force_login(finance)
    html = client.get(reverse("pay-run-detail", args=[run.pk])).content.decode()
    assert "pay-run-superseded" in html and 'id="pay-run-confirm"' not in html


def test_it_computes_a_new_confirmable_version_when_the_period_closes_again(
    settled, hr: User, finance: User, django_capture_on_commit_callbacks: Any
) -> None:
    period, run = settled
    _reopen(period, hr, django_capture_on_commit_callbacks)
    close(period)
    again = compute(period)  # the same slips, but v1 no longer stands: a new version
    assert again.version == run.version + 1 and again.superseded_at is None
    with scope(organization=period.organization):
        assert services.confirm_pay_run(run=again, acting_user=finance).state == PayRun.State.CONFIRMED


def test_it_leaves_a_confirmed_run_as_it_was_paid_when_the_period_goes_back(
    settled, hr: User, finance: User, django_capture_on_commit_callbacks: Any
) -> None:
    period, run = settled
    with scope(organization=period.organization):
        services.confirm_pay_run(run=run, acting_user=finance)
    _reopen(period, hr, django_capture_on_commit_callbacks)
    with scope(organization=period.organization):
        kept = PayRun.objects.get(pk=run.pk)
    assert kept.state == PayRun.State.CONFIRMED and kept.superseded_at is None


def test_it_still_refuses_to_compute_pay_for_a_period_without_results(settled, api_for: Any, finance: User,
                                                                      hr: User,
                                                                      django_capture_on_commit_callbacks: Any) -> None:
    period, _run = settled
    _reopen(period, hr, django_capture_on_commit_callbacks)
    response = api_for(finance).post(url("pay-period-pay-run", period.pk), {}, format="json")
    assert response.status_code == 409
    assert str(Period.State.CALIBRATION.label) in response.json()["detail"]
