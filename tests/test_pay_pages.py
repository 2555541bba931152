"""The pay pages: runs per period with the last computation's failure, one run with subtotals,
slips, delta, confirm and exports (progress, download), "My pay slips", and who may open what.

Elements are found by their ids; texts are compared in the language the page speaks.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_scopes import scope
from openpyxl import load_workbook

from organizations.models import Job, User
from payroll import exports, services
from payroll.labels import explained
from payroll.models import PayInput, PayRun, PaySlip
from payroll.tasks import compute_pay_run_task
from tests.conftest import World
from tests.test_pay_api import member_for, paid_world
from tests.test_pay_runs import closed_period, compute, pay_policy


def _html(response: Any) -> str:
    return response.content.decode()


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _nav(response: Any) -> str:
    match = re.search(r'<nav id="main-nav".*?</nav>', _html(response), re.S)
    return match.group(0) if match else ""


@pytest.fixture
def run_a(world_a: World) -> PayRun:
    pay_policy(world_a.org)
    period, _people = closed_period(world_a, ["95", "85", "75"], quotas=[])
    return compute(period)


# --- who may open what --------------------------------------------------------------------------


@pytest.mark.parametrize("role,status", [("finance", 200), ("hr", 200), ("head", 403), ("employee", 403)])
def test_it_opens_the_pay_runs_page_to_finance_and_hr_only(client: Client, request: Any, run_a: PayRun, role: str,
                                                           status: int) -> None:
    user = request.getfixturevalue(role)
    signed = _signed_in(client, user)
    assert signed.get(reverse("pay-runs")).status_code == status
    assert signed.get(reverse("pay-run-detail", args=[run_a.pk])).status_code == status


def test_it_shows_pay_in_the_navigation_of_finance(client: Client, finance: User) -> None:
    assert f'href="{reverse("pay-runs")}"' in _nav(_signed_in(client, finance).get(reverse("home")))


def test_it_hides_pay_runs_from_a_heads_navigation(client: Client, head: User) -> None:
    nav = _nav(_signed_in(client, head).get(reverse("home")))
    assert f'href="{reverse("pay-runs")}"' not in nav and f'href="{reverse("my-pay-slips")}"' in nav


def test_it_forbids_hr_to_confirm_a_run(client: Client, hr: User, run_a: PayRun) -> None:
    assert _signed_in(client, hr).post(reverse("pay-run-confirm", args=[run_a.pk])).status_code == 403


def test_it_answers_404_to_a_download_for_someone_who_may_not_see_pay(
        client: Client, employee: User, world_a: World, django_capture_on_commit_callbacks: Any) -> None:
    run = paid_world(world_a, django_capture_on_commit_callbacks)
    with scope(organization=world_a.org):
        job = Job.objects.get(kind=exports.EXPORT_JOB, subject_id=run.pk)
    assert _signed_in(client, employee).get(reverse("pay-export-download", args=[job.pk])).status_code == 404


# --- tenancy: every page with an id -------------------------------------------------------------


def _foreign_targets(world: World, run: PayRun) -> dict[str, int]:
    with scope(organization=world.org):
        job = Job.objects.get(kind=exports.EXPORT_JOB, subject_id=run.pk)
    return {"period": run.period_id, "run": run.pk, "job": job.pk}


PAGES = [("get", "period-pay-runs", "period"), ("post", "period-pay-compute", "period"),
         ("get", "pay-run-detail", "run"), ("post", "pay-run-confirm", "run"), ("post", "pay-run-export", "run"),
         ("get", "pay-export-progress", "job"), ("get", "pay-export-download", "job"),
         ("post", "pay-job-restart", "job")]


@pytest.mark.parametrize("method,name,target", PAGES, ids=[p[1] for p in PAGES])
def test_it_answers_404_for_another_tenants_object_on_every_pay_page(
        client: Client, world_a: World, world_b: World, method: str, name: str, target: str,
        django_capture_on_commit_callbacks: Any) -> None:
    from tests.conftest import add_member

    paid_world(world_a, django_capture_on_commit_callbacks)
    foreign = _foreign_targets(world_b, paid_world(world_b, django_capture_on_commit_callbacks))
    admin = add_member(world_a, "payadmin", person=None, hr=True, finance=True)
    data = {"kind": "pay_sheet", "format": "xlsx"}
    response = getattr(_signed_in(client, admin), method)(reverse(name, args=[foreign[target]]), data)
    assert response.status_code == 404


# --- runs of a period ---------------------------------------------------------------------------


def test_it_lists_a_periods_runs_with_version_state_and_total(client: Client, finance: User, run_a: PayRun) -> None:
    html = _html(_signed_in(client, finance).get(reverse("period-pay-runs", args=[run_a.period_id])))
    row = re.search(rf'<tr id="pay-run-{run_a.pk}".*?</tr>', html, re.S)
    assert row is not None
    assert 'data-state="computed"' in row.group(0) and f"{run_a.total:,.2f}" in row.group(0)  # money: #,##0.00


def test_it_shows_the_failed_computations_message_on_the_pay_runs_page(client: Client, finance: User,
                                                                       world_a: World) -> None:
    pay_policy(world_a.org, [{"code": "avg", "kind": "formula", "config": {"expression": "revenue / trips"}}],
               inputs=["revenue", "trips"])
    period, _people = closed_period(world_a, ["95"], quotas=[])
    compute_pay_run_task.apply(kwargs={"organization_id": world_a.org.pk, "period_id": period.pk,
                                       "reason": "closed"})
    with scope(organization=world_a.org):
        message = Job.objects.get(kind="pay_run").message
    html = _html(_signed_in(client, finance).get(reverse("period-pay-runs", args=[period.pk])))
    failure = re.search(r'<div class="alert alert-danger" id="pay-run-failure".*?</div>\s*</div>', html, re.S)
    assert failure is not None and message and message in failure.group(0)


def test_it_computes_again_from_the_page_after_a_late_input(client: Client, finance: User, run_a: PayRun,
                                                            world_a: World,
                                                            django_capture_on_commit_callbacks: Any) -> None:
    with scope(organization=world_a.org):
        slip = PaySlip.objects.filter(run=run_a).first()
        assert slip is not None
        PayInput.objects.create(organization=world_a.org, period_id=run_a.period_id, person_id=slip.person_id,
                                name="base_salary", value=Decimal("2000"))
    with django_capture_on_commit_callbacks(execute=True):
        response = _signed_in(client, finance).post(reverse("period-pay-compute", args=[run_a.period_id]),
                                                    {"reason": "迟到的数据"})
    assert response.status_code == 302
    with scope(organization=world_a.org):
        assert list(PayRun.objects.filter(period_id=run_a.period_id).values_list("version", "reason")) == [
            (2, "迟到的数据"), (1, "closed")]


# --- one run ------------------------------------------------------------------------------------


def test_it_shows_department_subtotals_adding_up_to_the_run_total(client: Client, finance: User,
                                                                   run_a: PayRun) -> None:
    html = _html(_signed_in(client, finance).get(reverse("pay-run-detail", args=[run_a.pk])))
    # Money reads #,##0.00 everywhere (GLOSSARY.md): 1,680.00, never 1680.
    money = r"(\d{1,3}(?:,\d{3})*\.\d{2})"
    subtotals = re.findall(rf'class="text-end pay-subtotal">{money}<', html)
    grand = re.search(rf'id="pay-grand-total">{money}<', html)
    assert grand is not None and Decimal(grand.group(1).replace(",", "")) == run_a.total
    assert subtotals and sum(Decimal(s.replace(",", "")) for s in subtotals) == run_a.total


def test_it_pages_the_slips_instead_of_rendering_them_all(client: Client, finance: User, run_a: PayRun,
                                                          monkeypatch: Any) -> None:
    from payroll import views

    monkeypatch.setattr(views, "SLIPS_PER_PAGE", 2)
    signed = _signed_in(client, finance)
    first = _html(signed.get(reverse("pay-run-detail", args=[run_a.pk])))
    second = _html(signed.get(reverse("pay-run-detail", args=[run_a.pk]), {"page": 2}))
    assert first.count('class="pay-slip"') == 2 and second.count('class="pay-slip"') == 1


def test_it_confirms_and_locks_a_run_through_the_page(client: Client, finance: User, run_a: PayRun,
                                                      world_a: World) -> None:
    signed = _signed_in(client, finance)
    response = signed.post(reverse("pay-run-confirm", args=[run_a.pk]), follow=True)
    with scope(organization=world_a.org):
        run = PayRun.objects.get(pk=run_a.pk)
    assert (run.state, run.confirmed_by) == (PayRun.State.CONFIRMED, finance)
    html = _html(response)
    assert 'id="pay-run-confirm"' not in html and 'data-state="confirmed"' in html


def test_it_names_the_state_when_confirming_again_is_refused(client: Client, finance: User,
                                                             run_a: PayRun) -> None:
    signed = _signed_in(client, finance)
    signed.post(reverse("pay-run-confirm", args=[run_a.pk]))
    html = _html(signed.post(reverse("pay-run-confirm", args=[run_a.pk]), follow=True))
    with translation.override("zh-hans"):
        label = str(PayRun.State.CONFIRMED.label)
    assert re.search(r'alert-danger[^>]*>\s*[^<]*' + re.escape(label), html)


def test_it_shows_the_delta_against_the_previous_version(client: Client, finance: User, run_a: PayRun,
                                                         world_a: World) -> None:
    with scope(organization=world_a.org):
        slip = PaySlip.objects.filter(run=run_a).select_related("person").order_by("person_id").first()
        assert slip is not None
        PayInput.objects.create(organization=world_a.org, period_id=run_a.period_id, person_id=slip.person_id,
                                name="base_salary", value=Decimal("2000"))
    second = compute(run_a.period, reason="late input")
    html = _html(_signed_in(client, finance).get(reverse("pay-run-detail", args=[second.pk])))
    rows = re.findall(r'<tr class="pay-delta-row">.*?</tr>', html, re.S)
    assert len(rows) == 1 and slip.person.name in rows[0] and "-240.00" in rows[0]


def test_it_exports_through_the_page_with_progress_and_a_download_that_reopens(
        client: Client, finance: User, run_a: PayRun, django_capture_on_commit_callbacks: Any) -> None:
    signed = _signed_in(client, finance)
    with django_capture_on_commit_callbacks(execute=True):
        started = signed.post(reverse("pay-run-export", args=[run_a.pk]), {"kind": "pay_sheet", "format": "xlsx"},
                              HTTP_HX_REQUEST="true")
    assert started.status_code == 200 and 'id="pay-exports"' in _html(started)
    job_id = int(re.findall(r'id="pay-export-(\d+)"', _html(started))[0])
    progress = _html(signed.get(reverse("pay-export-progress", args=[job_id]), HTTP_HX_REQUEST="true"))
    assert 'data-state="done"' in progress and "hx-trigger" not in progress
    download = reverse("pay-export-download", args=[job_id])
    assert download in progress
    response = signed.get(download)
    assert response.status_code == 200
    assert f"pay_sheet-{run_a.period.code}-v1.xlsx" in response["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.getvalue()), read_only=True).active.iter_rows(
        values_only=True))
    assert Decimal(str(rows[-1][-1])) == run_a.total


def test_it_polls_an_unfinished_export_every_two_seconds(client: Client, finance: User, run_a: PayRun) -> None:
    signed = _signed_in(client, finance)  # no commit in this test: the job stays queued
    started = _html(signed.post(reverse("pay-run-export", args=[run_a.pk]), {"kind": "bank", "format": "csv"},
                                HTTP_HX_REQUEST="true"))
    assert 'data-state="queued"' in started and 'hx-trigger="every 2s"' in started


# --- my pay slips -------------------------------------------------------------------------------


def test_it_shows_an_employee_only_their_own_slip_and_only_once_confirmed(client: Client, world_a: World,
                                                                          finance: User) -> None:
    pay_policy(world_a.org)
    period, people = closed_period(world_a, ["95", "75"], quotas=[])
    run = compute(period)
    signed = _signed_in(client, member_for(world_a, "paid", people[0]))
    assert 'id="no-pay-slips"' in _html(signed.get(reverse("my-pay-slips")))
    with scope(organization=world_a.org):
        services.confirm_pay_run(run=run, acting_user=finance)
        own = PaySlip.objects.get(run=run, person=people[0])
    html = _html(signed.get(reverse("my-pay-slips")))
    assert f'id="pay-slip-{own.pk}"' in html and str(own.total) in html
    assert explained(own.lines[0]["explanation"]) in html  # the engine's input names shown by their labels
    assert html.count('class="card mb-4 my-pay-slip"') == 1


def test_it_forbids_an_employee_the_runs_pages(client: Client, employee: User, run_a: PayRun) -> None:
    signed = _signed_in(client, employee)
    assert signed.get(reverse("period-pay-runs", args=[run_a.period_id])).status_code == 403
