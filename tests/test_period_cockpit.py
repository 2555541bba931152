"""HR runs a whole period from the period page, and nobody is misled by partial totals.

* The cockpit: the period's next steps by state, each a button to its confirmation page when legal,
  or what blocks it named (with a link) when not; every step also through the API, 409 naming the
  state. Closing with incomplete sheets is refused, listing them; HR closes anyway with a reason
  (kept on the period and in the audit trail) or sends a closed period back to calibration.
* One rule for a missing rating: it counts 0 and is shown as 待评分 (never a silent 0), the line
  and the sheet's total are provisional (暂计) while anything is missing, and the progress column
  counts what is really entered and rated.

The scheme (tests.test_appraisal_pages): OUTPUT, completion against 200, 100 points, weight 0.6;
WORK rated 优秀 100 / 良好 80, weight 0.4, by self 0.2 (missing counts as zero) and the
supervisor 0.8 — only the employee has a supervisor (the head). Hand computations:
* OUTPUT 190 → 95.00; nothing rated → WORK 0.00 暂计; total 100 × (0.6 × 0.95 + 0.4 × 0) = 57.00
* self 优秀 only → WORK 0.2 × 100 + 0.8 × 0 = 20.00 暂计; total 57 + 0.4 × 20 = 65.00
* supervisor 良好 only → WORK 0.8 × 80 = 64.00 暂计 (the self-assessment may come); total 82.60
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from appraisal import selectors, services
from appraisal.models import Period, Rater, Result, Sheet, SheetLine
from appraisal.services import closing, window
from appraisal.signals import results_changed
from organizations.models import Job, Organization, User
from tests.closing import add_people, close, make_policy, scored_period
from tests.conftest import World
from tests.test_appraisal_pages import Scheme, build_scheme
from tests.test_results import url

REASON = "年底前必须发放绩效工资"


@pytest.fixture
def scheme(world_a: World, hr: User, head: User, employee: User) -> Scheme:
    return build_scheme(world_a)


def _page(client: Client, user: User, name: str, *args: Any, **query: Any) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _output(scheme: Scheme, person: str, actual: str) -> None:
    line = scheme.line(person, "OUTPUT")
    with scope(organization=scheme.world.org):
        services.update_line(line_id=line.pk, expected_version=line.version, acting_user=None, actual=Decimal(actual))


def _rate(scheme: Scheme, role: str, label: str, person: str = "employee") -> None:
    line = scheme.line(person, "WORK")
    with scope(organization=scheme.world.org):
        rater = Rater.objects.get(sheet_id=line.sheet_id, role=role)
        services.rate_line(line=line, rater=rater, acting_user=None, rating=label)


def _line_html(html: str, code: str) -> str:
    start = html.index(f'data-indicator="{code}"')
    end = html.find('class="sheet-line', start)
    return html[start:end if end != -1 else len(html)]


def _in_state(scheme: Scheme, state: str, **policy: Any) -> Period:
    with scope(organization=scheme.world.org):
        Period.objects.filter(pk=scheme.period.pk).update(state=state,
                                                          grading_policy=make_policy(scheme.world.org, **policy))
        return Period.objects.get(pk=scheme.period.pk)


def _step(html: str, code: str) -> str:
    match = re.search(rf'<div class="period-step [^"]*" data-step="{code}" data-legal="(true|false)">.*?(?=<div class='
                      rf'"period-step |</section>)', html, re.S)
    assert match is not None, f"no step {code}"
    return match.group(0)


# --- one rule for a missing rating, on the sheet ----------------------------------------------------


def test_it_shows_each_unrated_rater_as_awaiting_rating_and_the_line_as_provisional(
    client: Client, hr: User, scheme: Scheme
) -> None:
    _output(scheme, "employee", "190")
    html = _page(client, hr, "sheet-detail", scheme.sheet("employee").pk)
    work, output = _line_html(html, "WORK"), _line_html(html, "OUTPUT")
    assert work.count("rating-pending") == 2 and work.count("待评分") == 2  # self and supervisor
    assert "line-provisional" in work and "暂计" in work
    assert re.search(r'class="fw-semibold line-score"[^>]*>0.00<', work)
    assert "line-provisional" not in output
    assert 'id="sheet-provisional"' in html and re.search(r'id="sheet-score">57.00<', html)


def test_it_counts_a_missing_rating_as_zero_instead_of_leaving_it_out(scheme: Scheme) -> None:
    _output(scheme, "employee", "190")
    _rate(scheme, "self", "优秀")
    work = scheme.line("employee", "WORK")
    assert work.score == Decimal("20.00")  # not 100.00: the supervisor's weight is not dropped
    assert "未评分" in work.explanation and "20.00" in work.explanation
    assert scheme.sheet("employee").score == Decimal("65.00")


def test_it_drops_the_provisional_mark_once_every_rater_has_rated(client: Client, hr: User, scheme: Scheme) -> None:
    _output(scheme, "employee", "190")
    _rate(scheme, "supervisor", "良好")
    _rate(scheme, "self", "优秀")
    html = _page(client, hr, "sheet-detail", scheme.sheet("employee").pk)
    assert "line-provisional" not in html and 'id="sheet-provisional"' not in html
    assert re.search(r'id="sheet-score">90.60<', html) and "2 / 2" in html


def test_it_counts_only_what_is_really_rated_in_the_progress_column(client: Client, hr: User, scheme: Scheme) -> None:
    _output(scheme, "employee", "190")
    _rate(scheme, "supervisor", "良好")  # the self-assessment is still missing: it counts 0, but is not done
    assert scheme.line("employee", "WORK").score == Decimal("64.00")
    html = _page(client, hr, "period-detail", scheme.period.pk)
    row = re.search(rf'id="sheet-{scheme.sheet("employee").pk}".*?</tr>', html, re.S)
    assert row is not None and "1 / 2" in row.group(0)
    assert "sheet-provisional" in row.group(0) and "sheet-incomplete" not in row.group(0)  # the zero rule


def test_it_shows_a_missing_self_assessment_as_counted_zero_once_closed(
    client: Client, hr: User, scheme: Scheme
) -> None:
    _output(scheme, "employee", "190")
    _rate(scheme, "supervisor", "良好")
    _in_state(scheme, "closed")
    work = _line_html(_page(client, hr, "sheet-detail", scheme.sheet("employee").pk), "WORK")
    assert "未评分，计 0 分" in work and "line-provisional" not in work and "待评分" not in work


# --- one selector for completeness ----------------------------------------------------------------------


def test_it_tells_the_unrated_sheets_from_those_without_data(scheme: Scheme) -> None:
    with scope(organization=scheme.world.org):
        before = selectors.completeness(Sheet.objects.filter(period=scheme.period))
    assert (before.total, before.unrated, before.no_data, before.incomplete) == (5, 1, 5, 5)
    for person in ("employee", "colleague", "head", "hr", "finance"):
        _output(scheme, person, "200")
    with scope(organization=scheme.world.org):
        after = selectors.completeness(Sheet.objects.filter(period=scheme.period))
    # Only the employee's supervisor blocks the close now; every sheet still waits for its self-assessment.
    assert (after.unrated, after.no_data, after.incomplete, after.provisional) == (1, 0, 1, 5)


def test_it_filters_the_sheet_list_by_completeness(client: Client, hr: User, scheme: Scheme) -> None:
    html = _page(client, hr, "sheets", period=scheme.period.pk, completeness=selectors.UNRATED)
    table = html[html.index('id="sheet-table"'):]
    assert "employee-a" in table and "colleague-a" not in table and "head-a" not in table


# --- the cockpit: steps by state --------------------------------------------------------------------------


def test_it_offers_to_start_a_draft_and_opens_it_after_the_confirmation(
    client: Client, hr: User, scheme: Scheme, django_capture_on_commit_callbacks: Any
) -> None:
    with scope(organization=scheme.world.org):
        draft = services.create_period(organization=scheme.world.org, acting_user=None, kind="monthly", year=2025,
                                       number=11, templates=[scheme.template])
    html = _page(client, hr, "period-detail", draft.pk)
    confirm = reverse("period-confirm", args=[draft.pk, "open"])
    assert f'id="period-open" href="{confirm}"' in html and "启动考核" in html
    page = _page(client, hr, "period-confirm", draft.pk, "open")
    assert f'action="{reverse("period-open", args=[draft.pk])}"' in page and 'id="step-confirm"' in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("period-open", args=[draft.pk]))
    with scope(organization=scheme.world.org):
        assert Period.objects.get(pk=draft.pk).state == Period.State.OPEN
        assert Sheet.objects.filter(period=draft).count() == 5


def test_it_offers_self_assessment_and_scoring_to_an_open_period(client: Client, hr: User, scheme: Scheme) -> None:
    html = _page(client, hr, "period-detail", scheme.period.pk)
    assert 'data-legal="true"' in _step(html, "self_assessment") and "开始自评" in html
    assert 'data-legal="true"' in _step(html, "scoring") and "开始评分" in html


def test_it_starts_scoring_from_the_confirmation_page_with_an_audit_row(
    client: Client, hr: User, scheme: Scheme
) -> None:
    page = _page(client, hr, "period-confirm", scheme.period.pk, "scoring")
    assert 'name="to" value="scoring"' in page
    response = client.post(reverse("period-transition", args=[scheme.period.pk]), {"to": "scoring"})
    assert response.status_code == 302 and response["Location"].endswith("#period-steps")
    with scope(organization=scheme.world.org):
        assert Period.objects.get(pk=scheme.period.pk).state == Period.State.SCORING
        row = Period.history.filter(id=scheme.period.pk).order_by("-history_date").first()
    assert row is not None and row.history_user == hr and row.state == "scoring"


def test_it_refuses_a_step_the_state_does_not_allow_naming_the_state(client: Client, hr: User,
                                                                      scheme: Scheme) -> None:
    client.force_login(hr)
    response = client.post(reverse("period-transition", args=[scheme.period.pk]), {"to": "calibration"}, follow=True)
    assert "alert-danger" in response.content.decode() and str(Period.State.OPEN.label) in response.content.decode()
    with scope(organization=scheme.world.org):
        assert Period.objects.get(pk=scheme.period.pk).state == Period.State.OPEN


def test_it_answers_404_for_a_step_the_state_does_not_lead_to(client: Client, hr: User, scheme: Scheme) -> None:
    client.force_login(hr)
    assert client.get(reverse("period-confirm", args=[scheme.period.pk, "publish"])).status_code == 404


def test_it_offers_calibration_to_a_period_in_scoring_naming_what_is_still_missing(
    client: Client, hr: User, scheme: Scheme
) -> None:
    _in_state(scheme, "scoring")
    step = _step(_page(client, hr, "period-detail", scheme.period.pk), "calibration")
    assert 'data-legal="true"' in step and "1 张考核表尚有评分人未评分" in step


def test_it_blocks_the_close_naming_the_incomplete_sheets_with_links(client: Client, hr: User, scheme: Scheme) -> None:
    period = _in_state(scheme, "calibration")
    html = _page(client, hr, "period-detail", period.pk)
    close_step = _step(html, "close")
    assert 'data-legal="false"' in close_step and "disabled" in close_step and "period-close-button" not in html
    assert "1 张考核表尚有评分人未评分" in close_step and "5 张考核表尚有指标无数据" in close_step
    assert f"?period={period.pk}&amp;completeness=unrated" in close_step
    assert 'data-legal="true"' in _step(html, "close_anyway") and "仍然汇总定级" in html


def test_it_offers_the_close_when_every_sheet_is_complete(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["80", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    html = _page(client, hr, "period-detail", period.pk)
    assert f'id="period-close-button" href="{reverse("period-confirm", args=[period.pk, "close"])}"' in html
    assert "close_anyway" not in html
    page = _page(client, hr, "period-confirm", period.pk, "close")
    assert f'action="{reverse("period-close", args=[period.pk])}"' in page and "汇总定级" in page


def test_it_refuses_the_close_from_the_page_naming_the_incomplete_sheets(
    client: Client, hr: User, scheme: Scheme
) -> None:
    period = _in_state(scheme, "calibration")
    client.force_login(hr)
    response = client.post(reverse("period-close", args=[period.pk]), follow=True)
    assert "5 张考核表未完成" in response.content.decode()
    with scope(organization=scheme.world.org):
        assert not Job.objects.filter(kind=closing.CLOSE_JOB).exists()
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION


def test_it_closes_anyway_with_the_reason_on_the_period_and_in_the_audit_trail(
    client: Client, hr: User, scheme: Scheme, django_capture_on_commit_callbacks: Any
) -> None:
    _output(scheme, "employee", "190")
    _rate(scheme, "supervisor", "良好")  # the employee's sheet is complete: the self-assessment counts 0
    period = _in_state(scheme, "calibration", quotas=[])
    page = _page(client, hr, "period-confirm", period.pk, "close_anyway")
    assert 'name="anyway" value="1"' in page and 'name="reason"' in page and "4 张未完成的考核表" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("period-close", args=[period.pk]), {"anyway": "1", "reason": REASON})
    with scope(organization=scheme.world.org):
        closed = Period.objects.get(pk=period.pk)
        assert (closed.state, closed.close_anyway_reason, closed.incomplete_at_close) == ("closed", REASON, 4)
        row = Period.history.filter(id=period.pk, state="closed").get()
        assert REASON in row.history_change_reason and row.history_user == hr
        results = {r.person.name: r for r in Result.objects.filter(period=period).select_related("person") if r.person}
    assert results["employee-a"].raw_score == Decimal("82.60") and results["employee-a"].flags == []
    assert results["colleague-a"].raw_score == Decimal("0.00")  # no data and no rating: both count 0
    assert [f["rule"] for f in results["colleague-a"].flags] == ["incomplete"]
    assert "period-closed-anyway" in _page(client, hr, "period-detail", period.pk)


def test_it_refuses_to_close_anyway_without_a_reason(client: Client, hr: User, scheme: Scheme) -> None:
    period = _in_state(scheme, "calibration")
    client.force_login(hr)
    response = client.post(reverse("period-close", args=[period.pk]), {"anyway": "1", "reason": " "}, follow=True)
    assert "请填写在考核表未完成时仍汇总定级的理由" in response.content.decode()
    with scope(organization=scheme.world.org):
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION


def test_it_fails_the_close_when_a_sheet_loses_its_data_after_the_close_was_asked(world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 2)
    period = scored_period(world_a.org, dict(zip(people, ["80", "70"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    with scope(organization=world_a.org):
        job = closing.start_close(period=period, acting_user=None)
        SheetLine.objects.filter(sheet__period=period, sheet__person=people[1]).update(actual=None)
        closing.run_close(job=job)
        failed = Job.objects.get(pk=job.pk)
        assert failed.state == Job.State.FAILED and people[1].name in failed.message
        assert not Result.objects.filter(period=period).exists()


# --- after the close: progress, publish, back to calibration, finalise ---------------------------------


@pytest.fixture
def closed(world_a: World, hr: User) -> Period:
    people = add_people(world_a.org, world_a.production, 3)
    period = scored_period(world_a.org, dict(zip(people, ["92", "85", "75"], strict=True)),
                           policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        return Period.objects.get(pk=period.pk)


def test_it_shows_the_finished_close_and_offers_publish_and_back_to_calibration(
    client: Client, hr: User, closed: Period
) -> None:
    html = _page(client, hr, "period-detail", closed.pk)
    assert re.search(r'id="close-progress"[^>]*data-state="done"', html) and "100%" in html
    assert 'data-legal="true"' in _step(html, "publish") and 'id="period-publish"' in html
    assert 'data-legal="true"' in _step(html, "reopen") and "退回校准" in html


def test_it_links_a_closed_period_to_its_calibration_table(client: Client, hr: User, closed: Period) -> None:
    html = _page(client, hr, "period-detail", closed.pk)
    assert f'id="period-calibration-link" href="{reverse("period-calibration", args=[closed.pk])}"' in html


def test_it_links_a_refused_publication_to_the_calendar_year_it_lacks(
    client: Client, hr: User, closed: Period
) -> None:
    # A window in working days needs this year's calendar, which nobody has entered.
    Organization.objects.filter(pk=closed.organization_id).update(review_window_length=3,
                                                                  review_window_unit="working")
    client.force_login(hr)
    response = client.post(reverse("period-publish", args=[closed.pk]), follow=True)
    year = timezone.localdate().year
    html = response.content.decode()
    assert f"工作日历中没有 {year}" in html
    assert f'<a href="{reverse("calendar")}?year={year}">' in html
    with scope(organization=closed.organization):
        assert Period.objects.get(pk=closed.pk).state == Period.State.CLOSED


def test_it_blocks_publication_while_results_wait_for_calibration(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = scored_period(world_a.org, dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    step = _step(_page(client, hr, "period-detail", period.pk), "publish")
    assert 'data-legal="false"' in step and "2 条考核结果等待校准" in step and 'href="#period-results"' in step


def test_it_sends_a_closed_period_back_to_calibration_keeping_the_results_as_history(
    client: Client, hr: User, closed: Period, django_capture_on_commit_callbacks: Any
) -> None:
    heard: list[dict[str, Any]] = []

    def listen(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs)

    with scope(organization=closed.organization):
        before = sorted(Result.objects.filter(period=closed).values_list("pk", "final_score"))
    page = _page(client, hr, "period-confirm", closed.pk, "reopen")
    assert 'name="reason"' in page and "required" in page
    results_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("period-reopen", args=[closed.pk]), {"reason": REASON})
    finally:
        results_changed.disconnect(listen)
    with scope(organization=closed.organization):
        period = Period.objects.get(pk=closed.pk)
        assert (period.state, period.results_at, period.reopen_reason) == ("calibration", None, REASON)
        assert not Result.objects.filter(period=closed).exists()
        retired = Result.history.filter(period_id=closed.pk, history_type="-")
        assert sorted(retired.values_list("id", "final_score")) == before
        assert all(REASON in r.history_change_reason and r.history_user_id == hr.pk for r in retired)
    assert [(h["reason"], sorted(h["result_ids"])) for h in heard] == [("reopened", [pk for pk, _ in before])]
    html = _page(client, hr, "period-detail", closed.pk)
    assert 'id="period-reopened"' in html and 'data-legal="true"' in _step(html, "close")
    assert "close-progress" not in html  # the earlier close's bar is not this period's news
    close(closed)
    with scope(organization=closed.organization):
        assert Result.objects.filter(period=closed).count() == len(before)


def test_it_refuses_to_send_back_without_a_reason(client: Client, hr: User, closed: Period) -> None:
    client.force_login(hr)
    response = client.post(reverse("period-reopen", args=[closed.pk]), {"reason": ""}, follow=True)
    assert "请填写退回校准的理由" in response.content.decode()
    with scope(organization=closed.organization):
        assert Period.objects.get(pk=closed.pk).state == Period.State.CLOSED
        assert Result.objects.filter(period=closed).exists()


def test_it_refuses_to_send_a_published_period_back_naming_the_state(closed: Period) -> None:
    with scope(organization=closed.organization):
        window.publish(period=closed, acting_user=None)
        with pytest.raises(services.IllegalTransition, match=str(Period.State.PUBLISHED.label)):
            closing.reopen_period(period=closed, reason=REASON, acting_user=None)
        assert Result.objects.filter(period=closed).exists()


def test_it_keeps_the_reopen_edge_out_of_the_generic_transition(closed: Period) -> None:
    with scope(organization=closed.organization), pytest.raises(services.IllegalTransition,
                                                                match=str(Period.State.CLOSED.label)):
        services.transition(period=closed, to="calibration", acting_user=None)


def test_it_blocks_finalising_until_the_window_ends_then_archives(client: Client, hr: User, closed: Period) -> None:
    with scope(organization=closed.organization):
        published = window.publish(period=closed, acting_user=None)
    step = _step(_page(client, hr, "period-detail", closed.pk), "finalise")
    assert 'data-legal="false"' in step and window.show_time(published.window_ends_at or timezone.now()) in step
    with scope(organization=closed.organization):
        Period.objects.filter(pk=closed.pk).update(window_ends_at=timezone.now() - dt.timedelta(minutes=1))
    assert 'data-legal="true"' in _step(_page(client, hr, "period-detail", closed.pk), "finalise")
    client.post(reverse("period-finalise", args=[closed.pk]))
    with scope(organization=closed.organization):
        assert Period.objects.get(pk=closed.pk).state == Period.State.FINAL
    assert 'id="no-next-step"' in _page(client, hr, "period-detail", closed.pk)


def test_it_shows_a_head_no_steps_and_forbids_them(client: Client, head: User, closed: Period) -> None:
    html = _page(client, head, "period-detail", closed.pk)
    assert 'id="period-steps"' not in html
    assert client.get(reverse("period-confirm", args=[closed.pk, "reopen"])).status_code == 403
    assert client.post(reverse("period-reopen", args=[closed.pk]), {"reason": REASON}).status_code == 403
    assert client.post(reverse("period-transition", args=[closed.pk]), {"to": "scoring"}).status_code == 403


# --- the API ---------------------------------------------------------------------------------------------


def test_it_refuses_the_close_through_the_api_naming_the_count_and_the_first_sheets(
    api_for: Any, hr: User, scheme: Scheme
) -> None:
    period = _in_state(scheme, "calibration")
    response = api_for(hr).post(url("period-close", period.pk), {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["incomplete"] == 5 and len(body["sheets"]) == 5 and "5" in body["detail"]
    assert {s["subject"] for s in body["sheets"]} >= {str(scheme.sheet("employee").subject_label)}


def test_it_closes_anyway_through_the_api(api_for: Any, hr: User, scheme: Scheme,
                                          django_capture_on_commit_callbacks: Any) -> None:
    period = _in_state(scheme, "calibration", quotas=[])
    client = api_for(hr)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("period-close", period.pk), {"anyway": True, "reason": REASON}, format="json")
    assert response.status_code == 202, response.content
    body = client.get(url("period-detail", period.pk)).json()
    assert (body["state"], body["close_anyway_reason"], body["incomplete_at_close"]) == ("closed", REASON, 5)


def test_it_refuses_to_close_anyway_through_the_api_without_a_reason(api_for: Any, hr: User,
                                                                     scheme: Scheme) -> None:
    period = _in_state(scheme, "calibration")
    response = api_for(hr).post(url("period-close", period.pk), {"anyway": True}, format="json")
    assert response.status_code == 409 and "理由" in response.json()["detail"]


def test_it_sends_a_period_back_to_calibration_through_the_api(api_for: Any, hr: User, closed: Period) -> None:
    response = api_for(hr).post(url("period-reopen", closed.pk), {"reason": REASON}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["reopen_reason"]) == ("calibration", REASON)


def test_it_answers_400_to_a_reopen_without_a_reason(api_for: Any, hr: User, closed: Period) -> None:
    assert api_for(hr).post(url("period-reopen", closed.pk), {}, format="json").status_code == 400


def test_it_answers_409_to_a_reopen_of_a_period_in_calibration_naming_the_state(
    api_for: Any, hr: User, scheme: Scheme
) -> None:
    period = _in_state(scheme, "calibration")
    response = api_for(hr).post(url("period-reopen", period.pk), {"reason": REASON}, format="json")
    assert response.status_code == 409 and str(Period.State.CALIBRATION.label) in response.json()["detail"]


def test_it_answers_409_to_the_generic_transition_back_to_calibration(api_for: Any, hr: User,
                                                                      closed: Period) -> None:
    response = api_for(hr).post(url("period-transition", closed.pk), {"to": "calibration"}, format="json")
    assert response.status_code == 409 and str(Period.State.CLOSED.label) in response.json()["detail"]
    assert api_for(hr).get(url("period-detail", closed.pk)).json()["state"] == "closed"


def test_it_finalises_through_the_api_once_the_window_has_ended(api_for: Any, hr: User, closed: Period) -> None:
    with scope(organization=closed.organization):
        published = window.publish(period=closed, acting_user=None)
    early = api_for(hr).post(url("period-finalise", closed.pk))
    ends = window.show_time(published.window_ends_at or timezone.now())
    assert early.status_code == 409 and ends in early.json()["detail"]
    with scope(organization=closed.organization):
        Period.objects.filter(pk=closed.pk).update(window_ends_at=timezone.now() - dt.timedelta(minutes=1))
    response = api_for(hr).post(url("period-finalise", closed.pk))
    assert response.status_code == 200 and response.json()["state"] == "final"


def test_it_lists_the_next_steps_through_the_api(api_for: Any, hr: User, scheme: Scheme) -> None:
    period = _in_state(scheme, "calibration")
    steps = {s["step"]: s for s in api_for(hr).get(url("period-steps", period.pk)).json()}
    assert set(steps) == {"close", "close_anyway", "back_to_scoring"}
    assert not steps["close"]["legal"] and steps["close_anyway"]["legal"] and steps["close_anyway"]["needs_reason"]
    assert any("1 张考核表尚有评分人未评分" in b["text"] for b in steps["close"]["blockers"])


def test_it_forbids_a_head_to_send_a_period_back_through_the_api(api_for: Any, head: User, closed: Period) -> None:
    assert api_for(head).post(url("period-reopen", closed.pk), {"reason": REASON}, format="json").status_code == 403


def test_it_refuses_to_close_through_the_generic_transition_naming_the_state(api_for: Any, hr: User,
                                                                             scheme: Scheme) -> None:
    period = _in_state(scheme, "calibration")
    response = api_for(hr).post(url("period-transition", period.pk), {"to": "closed"}, format="json")
    assert response.status_code == 409 and str(Period.State.CALIBRATION.label) in response.json()["detail"]
    with scope(organization=scheme.world.org):
        assert Period.objects.get(pk=period.pk).state == Period.State.CALIBRATION


def test_it_publishes_through_the_generic_transition_as_publish_does(api_for: Any, hr: User, closed: Period) -> None:
    response = api_for(hr).post(url("period-transition", closed.pk), {"to": "published"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published" and response.json()["window_ends_at"]
