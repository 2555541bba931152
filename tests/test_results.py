"""Results, the close job, publication, appeals and grading policies through the API and the pages.

The people of organisation A (tests.conftest): the employee (运行部, under 生产部) reports to the
head of 生产部, who forwards their appeals; the supervisor is in the supervision group, which the
policy names as the group deciding appeals. Scores: employee 85, colleague (综合办) 92, head 75;
HR and finance are exempt and not assessed. Without quotas: colleague S, employee A, head B.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_scopes import scope

from appraisal import appeals
from appraisal.models import Appeal, GradingPolicy, Period, Result, SheetLine
from appraisal.result_views import shanghai
from appraisal.services import closing, window
from organizations.models import Job, Person, ReviewGroup, User
from tests.closing import add_people, close, make_policy, published_with_appeal, scored_period
from tests.conftest import World

HTMX = {"HX-Request": "true"}


def url(name: str, *args: Any) -> str:
    return reverse(f"api-appraisal:{name}", args=args)


def _period(world: World, *, quotas: Any = (), appeal_group: bool = True) -> Period:
    people = world.people
    with scope(organization=world.org):
        Person.objects.filter(pk=people["employee"].pk).update(manager=people["head"])
        group = ReviewGroup.objects.filter(code="SUP").first() if appeal_group else None
    policy = make_policy(world.org, quotas=list(quotas), appeal_group=group)
    return scored_period(world.org, {people["employee"]: "85", people["colleague"]: "92", people["head"]: "75"},
                         policy=policy)


@pytest.fixture
def calibrating(world_a: World, hr: User, head: User, employee: User, finance: User, supervisor: User) -> Period:
    """The period in calibration, not closed yet."""
    return _period(world_a)


@pytest.fixture
def closed(calibrating: Period) -> Period:
    close(calibrating)
    with scope(organization=calibrating.organization):
        return Period.objects.get(pk=calibrating.pk)


@pytest.fixture
def published(closed: Period) -> Period:
    with scope(organization=closed.organization):
        return window.publish(period=closed, acting_user=None)


def result_of(world: World, period: Period, person: str) -> Result:
    with scope(organization=world.org):
        return Result.objects.get(period=period, person=world.people[person])


def file_appeal(world: World, period: Period) -> Appeal:
    result = result_of(world, period, "employee")
    with scope(organization=world.org):
        return appeals.file_appeal(result=result, acting_user=None, filed_by=world.people["employee"],
                                   reason="加班未计入")


def forwarded(world: World, period: Period, head: User) -> Appeal:
    appeal = file_appeal(world, period)
    with scope(organization=world.org):
        return appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="情况属实")


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


# --- who sees which results (API) -----------------------------------------------------------------


def test_it_shows_an_employee_no_result_before_publication(api_for: Any, employee: User, closed: Period) -> None:
    assert _ids(api_for(employee).get(url("result-list"))) == set()


def test_it_shows_an_employee_only_their_own_result_once_published(
    api_for: Any, employee: User, world_a: World, published: Period
) -> None:
    own = result_of(world_a, published, "employee")
    assert _ids(api_for(employee).get(url("result-list"))) == {own.pk}


def test_it_answers_404_for_a_colleagues_result_to_an_employee(
    api_for: Any, employee: User, world_a: World, published: Period
) -> None:
    other = result_of(world_a, published, "colleague")
    assert api_for(employee).get(url("result-detail", other.pk)).status_code == 404


def test_it_shows_a_head_their_departments_results_but_not_their_own_before_publication(
    api_for: Any, head: User, world_a: World, closed: Period
) -> None:
    assert _ids(api_for(head).get(url("result-list"))) == {result_of(world_a, closed, "employee").pk}


def test_it_shows_finance_every_result(api_for: Any, finance: User, closed: Period) -> None:
    with scope(organization=closed.organization):
        everyone = set(Result.objects.filter(period=closed).values_list("pk", flat=True))
    assert _ids(api_for(finance).get(url("result-list"), {"period": closed.pk})) == everyone


def test_it_answers_404_for_a_colleagues_appeal_to_an_employee(
    api_for: Any, world_a: World, published: Period, head: User
) -> None:
    appeal = file_appeal(world_a, published)
    other = add_people(world_a.org, world_a.back_office, 1, prefix="o")[0]
    user = User.objects.create_user(username="other", password="pw-other")
    from organizations import services as org_services

    with scope(organization=world_a.org):
        org_services.create_membership(organization=world_a.org, acting_user=None, user=user, person=other)
    assert api_for(user).get(url("appeal-detail", appeal.pk)).status_code == 404


def test_it_forbids_an_employee_to_list_jobs(api_for: Any, employee: User, closed: Period) -> None:
    assert api_for(employee).get(url("job-list")).status_code == 403


def test_it_shows_finance_no_appeal_but_their_own(api_for: Any, finance: User, world_a: World,
                                                  published: Period) -> None:
    file_appeal(world_a, published)
    assert _ids(api_for(finance).get(url("appeal-list"))) == set()


# --- close, calibrate, publish (API) --------------------------------------------------------------


def test_it_closes_a_period_through_the_api_and_reports_the_job(
    api_for: Any, hr: User, calibrating: Period, django_capture_on_commit_callbacks: Any
) -> None:
    client = api_for(hr)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("period-close", calibrating.pk))
    assert response.status_code == 202, response.content
    job = client.get(url("job-detail", response.json()["id"])).json()
    # Its progress is the sum of its parts': the 5 stale sheets rescored, then the 5 graded.
    assert (job["state"], job["percent"], job["total"]) == ("done", 100, 10)
    assert client.get(url("period-detail", calibrating.pk)).json()["state"] == "closed"


def test_it_refuses_to_close_a_period_without_a_policy_with_409(api_for: Any, hr: User, calibrating: Period) -> None:
    with scope(organization=calibrating.organization):
        Period.objects.filter(pk=calibrating.pk).update(grading_policy=None)
    response = api_for(hr).post(url("period-close", calibrating.pk))
    assert response.status_code == 409
    assert calibrating.code in response.json()["detail"]


def test_it_forbids_a_head_to_close_a_period(api_for: Any, head: User, calibrating: Period) -> None:
    assert api_for(head).post(url("period-close", calibrating.pk)).status_code == 403


def test_it_calibrates_a_score_and_regrades(api_for: Any, hr: User, world_a: World, closed: Period) -> None:
    result = result_of(world_a, closed, "employee")
    response = api_for(hr).post(url("result-calibrate", result.pk), {"score": "89.00", "reason": "复核"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["final_score"], response.json()["grade"]) == ("89.00", "A")


def test_it_refuses_a_calibration_outside_the_cap_naming_the_range(
    api_for: Any, hr: User, world_a: World, closed: Period
) -> None:
    result = result_of(world_a, closed, "employee")
    response = api_for(hr).post(url("result-calibrate", result.pk), {"score": "95", "reason": "x"}, format="json")
    assert response.status_code == 400
    assert "80.75" in response.json()["score"][0] and "89.25" in response.json()["score"][0]


def test_it_forbids_finance_to_calibrate(api_for: Any, finance: User, world_a: World, closed: Period) -> None:
    result = result_of(world_a, closed, "employee")
    response = api_for(finance).post(url("result-calibrate", result.pk), {"score": "86", "reason": "x"},
                                     format="json")
    assert response.status_code == 403


def test_it_forbids_an_employee_to_calibrate_their_own_result(
    api_for: Any, employee: User, world_a: World, published: Period
) -> None:
    result = result_of(world_a, published, "employee")
    response = api_for(employee).post(url("result-calibrate", result.pk), {"score": "86", "reason": "x"},
                                      format="json")
    assert response.status_code == 403


def test_it_publishes_through_the_api_with_the_window_end(api_for: Any, hr: User, closed: Period) -> None:
    response = api_for(hr).post(url("period-publish", closed.pk))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published" and response.json()["window_ends_at"]


def test_it_refuses_to_publish_while_a_tie_waits_for_calibration(api_for: Any, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = scored_period(world_a.org, dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    response = api_for(hr).post(url("period-publish", period.pk))
    assert response.status_code == 409
    assert people[0].name in response.json()["detail"]


# --- appeals (API) --------------------------------------------------------------------------------


def test_it_files_an_appeal_with_an_attachment_as_multipart(
    api_for: Any, employee: User, world_a: World, published: Period
) -> None:
    result = result_of(world_a, published, "employee")
    with scope(organization=world_a.org):
        line = SheetLine.objects.get(sheet=result.sheet)
    response = api_for(employee).post(url("appeal-list"), {
        "result": result.pk, "line": line.pk, "reason": "加班未计入",
        "attachment": SimpleUploadedFile("证明.pdf", b"%PDF-1.4 proof"),
    }, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["line"]) == ("filed", line.pk)
    assert body["attachment"] == reverse("appeal-attachment", args=[body["id"]])


def test_it_refuses_an_appeal_against_a_colleagues_result(
    api_for: Any, employee: User, world_a: World, published: Period
) -> None:
    other = result_of(world_a, published, "colleague")
    response = api_for(employee).post(url("appeal-list"), {"result": other.pk, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert "result" in response.json()


def test_it_refuses_a_second_open_appeal_with_409(
    api_for: Any, employee: User, world_a: World, published: Period
) -> None:
    file_appeal(world_a, published)
    result = result_of(world_a, published, "employee")
    response = api_for(employee).post(url("appeal-list"), {"result": result.pk, "reason": "再次"}, format="json")
    assert response.status_code == 409


def test_it_lets_the_supervisor_forward_an_appeal(
    api_for: Any, head: User, world_a: World, published: Period
) -> None:
    appeal = file_appeal(world_a, published)
    response = api_for(head).post(url("appeal-forward", appeal.pk), {"opinion": "情况属实"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["supervisor_opinion"]) == ("forwarded", "情况属实")


def test_it_forbids_hr_to_forward_an_appeal_it_does_not_supervise(
    api_for: Any, hr: User, world_a: World, published: Period
) -> None:
    appeal = file_appeal(world_a, published)
    assert api_for(hr).post(url("appeal-forward", appeal.pk), {"opinion": "x"}, format="json").status_code == 403


def test_it_lets_the_appeal_group_uphold_with_a_new_score(
    api_for: Any, head: User, supervisor: User, world_a: World, published: Period
) -> None:
    appeal = forwarded(world_a, published, head)
    response = api_for(supervisor).post(url("appeal-decide", appeal.pk),
                                        {"upheld": True, "reason": "材料属实", "new_score": "93"}, format="json")
    assert response.status_code == 200, response.content
    assert result_of(world_a, published, "employee").grade == "S"


def test_it_requires_a_new_score_to_uphold(api_for: Any, head: User, hr: User, world_a: World,
                                           published: Period) -> None:
    appeal = forwarded(world_a, published, head)
    response = api_for(hr).post(url("appeal-decide", appeal.pk), {"upheld": True, "reason": "x"}, format="json")
    assert response.status_code == 400
    assert "new_score" in response.json()


def test_it_forbids_the_head_to_decide(api_for: Any, head: User, world_a: World, published: Period) -> None:
    appeal = forwarded(world_a, published, head)
    response = api_for(head).post(url("appeal-decide", appeal.pk), {"upheld": False, "reason": "x"}, format="json")
    assert response.status_code == 403


def test_it_refuses_a_decision_before_the_opinion_with_409(
    api_for: Any, hr: User, world_a: World, published: Period
) -> None:
    appeal = file_appeal(world_a, published)
    response = api_for(hr).post(url("appeal-decide", appeal.pk), {"upheld": False, "reason": "x"}, format="json")
    assert response.status_code == 409


def test_it_acknowledges_ones_own_result(api_for: Any, employee: User, world_a: World, published: Period) -> None:
    result = result_of(world_a, published, "employee")
    response = api_for(employee).post(url("result-acknowledge", result.pk))
    assert response.status_code == 200
    assert response.json()["acknowledged_at"] and response.json()["confirmed_at"]


def test_it_forbids_acknowledging_someone_elses_result(
    api_for: Any, hr: User, world_a: World, published: Period
) -> None:
    result = result_of(world_a, published, "employee")
    assert api_for(hr).post(url("result-acknowledge", result.pk)).status_code == 403


# --- grading policies (API) -----------------------------------------------------------------------


SCALE = {"bands": [{"grade": "A", "from": "80", "coefficient": "1.1"}, {"grade": "B", "from": None}]}


def test_it_creates_a_grading_policy_as_a_new_version(api_for: Any, hr: User, world_a: World) -> None:
    client = api_for(hr)
    first = client.post(url("grading-policy-list"), {"code": "P", "name": "政策", "scale": SCALE}, format="json")
    second = client.post(url("grading-policy-list"), {"code": "P", "name": "政策", "scale": SCALE,
                                                      "quotas": [{"grade": "A", "op": "<=", "share": "0.2"}]},
                         format="json")
    assert (first.status_code, second.status_code) == (201, 201), second.content
    assert (first.json()["version"], second.json()["version"]) == (1, 2)


def test_it_refuses_a_grading_policy_with_every_problem(api_for: Any, hr: User, world_a: World) -> None:
    response = api_for(hr).post(url("grading-policy-list"), {
        "code": "P", "name": "政策", "scale": SCALE, "rounding": "sideways", "status_grades": {"exempt": "Z"},
    }, format="json")
    assert response.status_code == 400
    assert {"rounding", "status_grades"} <= set(response.json())
    with scope(organization=world_a.org):
        assert not GradingPolicy.objects.exists()


def test_it_forbids_an_employee_to_create_a_grading_policy(api_for: Any, employee: User) -> None:
    response = api_for(employee).post(url("grading-policy-list"), {"code": "P", "name": "P", "scale": SCALE},
                                      format="json")
    assert response.status_code == 403


def test_it_describes_the_results_endpoints_in_the_schema(client: Client, db: None) -> None:
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for expected in ["/api/results/{id}/calibrate/", "/api/results/{id}/acknowledge/", "/api/periods/{id}/close/",
                     "/api/periods/{id}/publish/", "/api/jobs/{id}/", "/api/appeals/", "/api/appeals/{id}/forward/",
                     "/api/appeals/{id}/decide/", "/api/grading-policies/"]:
        assert expected in paths, expected


# --- the period page ------------------------------------------------------------------------------


def test_it_offers_hr_the_close_button_in_calibration(client: Client, hr: User, calibrating: Period) -> None:
    html = _signed_in(client, hr).get(reverse("period-detail", args=[calibrating.pk])).content.decode()
    assert 'id="period-close-button"' in html


def test_it_hides_the_close_button_from_a_head(client: Client, head: User, calibrating: Period) -> None:
    html = _signed_in(client, head).get(reverse("period-detail", args=[calibrating.pk])).content.decode()
    assert "period-close-button" not in html


def test_it_closes_from_the_page_and_shows_the_results(
    client: Client, hr: User, calibrating: Period, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _signed_in(client, hr).post(reverse("period-close", args=[calibrating.pk]))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert 'id="result-table"' in html and html.count('class="result-row') == 5


def test_it_polls_a_running_close_job(client: Client, hr: User, calibrating: Period) -> None:
    with scope(organization=calibrating.organization):
        Job.objects.create(organization=calibrating.organization, kind=closing.CLOSE_JOB,
                           subject=calibrating, state=Job.State.RUNNING, total=10, done=4)
    html = _signed_in(client, hr).get(reverse("period-detail", args=[calibrating.pk])).content.decode()
    assert reverse("period-close-progress", args=[calibrating.pk]) in html and 'hx-trigger="every 2s"' in html
    assert "40%" in html


def test_it_shows_why_a_close_failed_and_stops_polling(client: Client, hr: User, calibrating: Period) -> None:
    with scope(organization=calibrating.organization):
        Job.objects.create(organization=calibrating.organization, kind=closing.CLOSE_JOB,
                           subject=calibrating, state=Job.State.FAILED, message="3 张考核表尚无得分")
    response = _signed_in(client, hr).get(reverse("period-close-progress", args=[calibrating.pk]), headers=HTMX)
    html = response.content.decode()
    assert "3 张考核表尚无得分" in html and "hx-trigger" not in html


def test_it_reloads_the_page_when_the_close_is_done(client: Client, hr: User, closed: Period) -> None:
    response = _signed_in(client, hr).get(reverse("period-close-progress", args=[closed.pk]), headers=HTMX)
    assert response.headers["HX-Refresh"] == "true"


def test_it_charts_each_grade_against_its_quota(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = scored_period(world_a.org, dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    html = _signed_in(client, hr).get(reverse("period-detail", args=[period.pk])).content.decode()
    chart = html[html.index('class="card mb-3 distribution"'):html.index('id="result-table"')]
    # S ≤ 5 % of 20 = 1 place, two tied at 95: both kept provisionally, flagged for calibration.
    s_bar = chart[chart.index('data-grade="S"'):chart.index('data-grade="A"')]
    assert '<span class="bar-actual">2</span> / <span class="bar-allowed">1</span>' in s_bar
    s_row = chart.split('data-grade="S"')[0][-200:]  # the row's classes come just before its grade
    assert "is-over" in s_row and "is-waiting" in s_row


def test_it_shows_a_calibration_outside_the_range_next_to_the_row(
    client: Client, hr: User, world_a: World, closed: Period
) -> None:
    result = result_of(world_a, closed, "employee")
    response = _signed_in(client, hr).post(reverse("result-calibrate", args=[result.pk]),
                                           {"score": "95", "reason": "复核"}, headers=HTMX)
    html = response.content.decode()
    row = html[html.index(f'id="result-{result.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "calibrate-error" in row and "80.75" in row and 'value="95"' in row
    assert result_of(world_a, closed, "employee").calibrated_score is None


def test_it_calibrates_from_the_page_and_answers_the_regraded_results(
    client: Client, hr: User, world_a: World, closed: Period
) -> None:
    result = result_of(world_a, closed, "employee")
    response = _signed_in(client, hr).post(reverse("result-calibrate", args=[result.pk]),
                                           {"score": "89", "reason": "复核"}, headers=HTMX)
    assert response.status_code == 200
    assert 'id="period-results"' in response.content.decode()
    assert result_of(world_a, closed, "employee").final_score == Decimal("89.00")


def test_it_forbids_a_head_to_calibrate_from_the_page(client: Client, head: User, world_a: World,
                                                      closed: Period) -> None:
    result = result_of(world_a, closed, "employee")
    response = _signed_in(client, head).post(reverse("result-calibrate", args=[result.pk]),
                                             {"score": "86", "reason": "x"})
    assert response.status_code == 403


def test_it_shows_why_publishing_is_refused(client: Client, hr: User, world_a: World) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = scored_period(world_a.org, dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True)),
                           policy=make_policy(world_a.org))
    close(period)
    response = _signed_in(client, hr).post(reverse("period-publish", args=[period.pk]), follow=True)
    assert people[0].name in response.content.decode()
    with scope(organization=world_a.org):
        assert Period.objects.get(pk=period.pk).state == Period.State.CLOSED


def test_it_publishes_from_the_page_showing_the_window_end(client: Client, hr: User, closed: Period) -> None:
    response = _signed_in(client, hr).post(reverse("period-publish", args=[closed.pk]), follow=True)
    with scope(organization=closed.organization):
        period = Period.objects.get(pk=closed.pk)
    end = shanghai(period.window_ends_at)
    assert period.state == Period.State.PUBLISHED
    assert response.content.decode().count(end) >= 2  # the message and the page


# --- my results -----------------------------------------------------------------------------------


def test_it_shows_an_employee_their_published_result_with_lines_and_window_end(
    client: Client, employee: User, world_a: World, published: Period
) -> None:
    html = _signed_in(client, employee).get(reverse("my-results")).content.decode()
    result = result_of(world_a, published, "employee")
    assert f'id="result-{result.pk}"' in html and "良好" in html and "85.00" in html
    assert shanghai(published.window_ends_at) in html
    assert 'class="result-line"' in html and "appeal-form" in html
    assert "colleague-a" not in html


def test_it_shows_nothing_before_publication(client: Client, employee: User, closed: Period) -> None:
    html = _signed_in(client, employee).get(reverse("my-results")).content.decode()
    assert 'id="no-results"' in html


def test_it_files_an_appeal_from_my_results(client: Client, employee: User, world_a: World,
                                            published: Period) -> None:
    result = result_of(world_a, published, "employee")
    prefix = f"r{result.pk}"
    response = _signed_in(client, employee).post(reverse("result-appeal", args=[result.pk]), {
        f"{prefix}-line": "", f"{prefix}-reason": "加班未计入",
        f"{prefix}-attachment": SimpleUploadedFile("证明.txt", b"proof"),
    }, follow=True)
    html = response.content.decode()
    with scope(organization=world_a.org):
        appeal = Appeal.objects.get(result=result)
    assert appeal.reason == "加班未计入" and appeal.attachment
    assert str(Appeal.State.FILED.label) in html and "appeal-form" not in html


def test_it_refuses_an_appeal_after_the_window_with_the_reason(
    client: Client, employee: User, world_a: World, published: Period
) -> None:
    result = result_of(world_a, published, "employee")
    with scope(organization=world_a.org):
        Period.objects.filter(pk=published.pk).update(window_ends_at=published.published_at)
    prefix = f"r{result.pk}"
    response = _signed_in(client, employee).post(reverse("result-appeal", args=[result.pk]),
                                                 {f"{prefix}-reason": "迟了"}, follow=True)
    with translation.override("zh-hans"):
        assert "不再受理" in response.content.decode() or published.code in response.content.decode()
    with scope(organization=world_a.org):
        assert not Appeal.objects.exists()


def test_it_answers_404_when_an_employee_appeals_a_colleagues_result(
    client: Client, employee: User, world_a: World, published: Period
) -> None:
    other = result_of(world_a, published, "colleague")
    response = _signed_in(client, employee).post(reverse("result-appeal", args=[other.pk]),
                                                 {f"r{other.pk}-reason": "x"})
    assert response.status_code == 404


def test_it_acknowledges_from_my_results(client: Client, employee: User, world_a: World, published: Period) -> None:
    result = result_of(world_a, published, "employee")
    response = _signed_in(client, employee).post(reverse("result-acknowledge", args=[result.pk]), follow=True)
    assert "result-acknowledged" in response.content.decode()
    assert result_of(world_a, published, "employee").acknowledged_at is not None


def test_it_shows_the_decision_reason_and_new_grade(
    client: Client, employee: User, head: User, hr: User, world_a: World, published: Period
) -> None:
    appeal = forwarded(world_a, published, head)
    with scope(organization=world_a.org):
        appeals.decide_appeal(appeal=appeal, acting_user=hr, upheld=True, reason="材料属实", new_score=Decimal("93"))
    html = _signed_in(client, employee).get(reverse("my-results")).content.decode()
    assert "材料属实" in html and "<strong>S</strong>" in html


# --- the appeals page -----------------------------------------------------------------------------


def test_it_asks_the_head_for_an_opinion(client: Client, head: User, world_a: World, published: Period) -> None:
    appeal = file_appeal(world_a, published)
    html = _signed_in(client, head).get(reverse("appeals")).content.decode()
    assert reverse("appeal-forward", args=[appeal.pk]) in html
    assert reverse("appeal-decide", args=[appeal.pk]) not in html


def test_it_forwards_from_the_page(client: Client, head: User, world_a: World, published: Period) -> None:
    appeal = file_appeal(world_a, published)
    _signed_in(client, head).post(reverse("appeal-forward", args=[appeal.pk]), {"opinion": "属实"})
    with scope(organization=world_a.org):
        assert Appeal.objects.get(pk=appeal.pk).state == Appeal.State.FORWARDED


def test_it_offers_hr_the_decision_once_forwarded(client: Client, hr: User, head: User, world_a: World,
                                                  published: Period) -> None:
    appeal = forwarded(world_a, published, head)
    html = _signed_in(client, hr).get(reverse("appeals")).content.decode()
    assert reverse("appeal-decide", args=[appeal.pk]) in html and "window-end" in html


def test_it_rejects_from_the_page_with_the_reason(client: Client, supervisor: User, head: User, world_a: World,
                                                  published: Period) -> None:
    appeal = forwarded(world_a, published, head)
    _signed_in(client, supervisor).post(reverse("appeal-decide", args=[appeal.pk]),
                                        {"decision": "reject", "reason": "材料不足"})
    with scope(organization=world_a.org):
        decided = Appeal.objects.get(pk=appeal.pk)
    assert (decided.state, decided.decision_reason) == (Appeal.State.REJECTED, "材料不足")


def test_it_forbids_the_head_to_decide_from_the_page(client: Client, head: User, world_a: World,
                                                     published: Period) -> None:
    appeal = forwarded(world_a, published, head)
    response = _signed_in(client, head).post(reverse("appeal-decide", args=[appeal.pk]),
                                             {"decision": "reject", "reason": "x"})
    assert response.status_code == 403


def test_it_serves_the_attachment_only_to_those_who_see_the_appeal(
    client: Client, employee: User, world_a: World, published: Period
) -> None:
    result = result_of(world_a, published, "employee")
    with scope(organization=world_a.org):
        appeal = appeals.file_appeal(result=result, acting_user=None, filed_by=world_a.people["employee"],
                                     reason="x", attachment=SimpleUploadedFile("p.txt", b"proof"))
    response = _signed_in(client, employee).get(reverse("appeal-attachment", args=[appeal.pk]))
    assert response.status_code == 200 and response.content == b"proof"


def test_it_shows_my_results_and_appeals_in_the_navigation(client: Client, employee: User) -> None:
    html = _signed_in(client, employee).get(reverse("home")).content.decode()
    assert f'href="{reverse("my-results")}"' in html and f'href="{reverse("appeals")}"' in html


# --- another organisation -------------------------------------------------------------------------


@pytest.fixture
def foreign(world_b: World) -> dict[str, int]:
    from tests.closing import person_template

    period, result, appeal = published_with_appeal(world_b, person_template(world_b.org))
    return {"period": period.pk, "result": result.pk, "appeal": appeal.pk}


@pytest.mark.parametrize(("method", "name", "kind"), [
    ("post", "period-close", "period"),
    ("get", "period-close-progress", "period"),
    ("post", "period-publish", "period"),
    ("post", "result-calibrate", "result"),
    ("post", "result-appeal", "result"),
    ("post", "result-acknowledge", "result"),
    ("post", "appeal-forward", "appeal"),
    ("post", "appeal-decide", "appeal"),
    ("get", "appeal-attachment", "appeal"),
])
def test_it_returns_404_for_another_organizations_objects_on_every_page(
    client: Client, hr: User, foreign: dict[str, int], method: str, name: str, kind: str
) -> None:
    response = getattr(_signed_in(client, hr), method)(reverse(name, args=[foreign[kind]]))
    assert response.status_code == 404
