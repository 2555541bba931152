"""The home page's cards per role, read live: HR's periods (what blocks each one), open appeals and
failed jobs; a head's sheets and appeals; an employee's published results and pay slip; finance's
pay runs waiting for confirmation; the appeal group's decisions. Each card says what will appear
when there is nothing yet, never shows another organisation's rows, and reads a fixed number of
queries whatever the organisation's size.

People of organisation A (tests.conftest): the employee (运行部, under 生产部, which the head heads)
and the colleague (综合办); periods are built with tests.closing, everyone not scored is exempt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope

from appraisal import appeals
from appraisal import services as appraisal_services
from appraisal.models import Appeal, GradingPolicy, Period, Rater, Rating, Result, Sheet, SheetLine
from appraisal.services import window
from organizations import dashboard
from organizations.context import TenantContext, build_context
from organizations.dashboard import HomeCard
from organizations.models import Job, Organization, ReviewGroup, User
from organizations.roles import Role
from payroll import services as pay_services
from payroll.dashboard import money
from payroll.models import PayRun, PaySlip
from tests.closing import add_people, close, make_policy, person_template, published_with_appeal, scored_period
from tests.conftest import World, membership_of
from tests.test_pay_runs import compute, pay_policy


def _html(client: Client, user: User) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str, name: str) -> str:
    """The card's own markup (up to the next card), so a test reads one card only."""
    start = html.index(f'id="card-{name}"')
    end = html.find('id="card-', start + 1)
    return html[start:end if end != -1 else len(html)]


def _live(world: World, scores: Mapping[str, str | None], *, number: int = 10, rescored: bool = True) -> Period:
    """A period in calibration (live) where the named people score what is given (None: no data)."""
    people = {world.people[name]: score for name, score in scores.items()}
    period = scored_period(world.org, people, policy=make_policy(world.org, code=f"L{number}", quotas=[]),
                           number=number)
    if rescored:
        with scope(organization=world.org):
            # The data was written behind the services' back: score it as the services would have.
            appraisal_services.rescore_period(period=period, acting_user=None, reason="entered")
    return period


def _closed(world: World, scores: dict[str, str], *, number: int = 10) -> Period:
    period = _live(world, scores, number=number)
    close(period)
    with scope(organization=world.org):
        return Period.objects.get(pk=period.pk)


def _published(world: World, scores: dict[str, str], *, number: int = 10) -> Period:
    period = _closed(world, scores, number=number)
    with scope(organization=world.org):
        return window.publish(period=period, acting_user=None)


def _failed_job(org: Organization, subject: Any, message: str, **fields: Any) -> Job:
    with scope(organization=org):
        return Job.objects.create(organization=org, kind=Job.Kind.CLOSE_PERIOD, subject=subject,
                                  state=fields.pop("state", Job.State.FAILED), message=message, **fields)


# --- the registry ---------------------------------------------------------------------------------


def test_it_refuses_a_card_registered_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        dashboard.register_card(HomeCard("hr", "x.html", lambda tenant: {}, frozenset({Role.HR_ADMIN})))


def test_it_refuses_a_card_for_no_role() -> None:
    with pytest.raises(ValueError, match="no role"):
        dashboard.register_card(HomeCard("nobody", "x.html", lambda tenant: {}, frozenset()))
    assert "nobody" not in [card.name for card in dashboard.CARDS]


def test_it_orders_the_cards_by_position_across_apps() -> None:
    names = [card.name for card in dashboard.CARDS]
    assert names.index("periods") < names.index("jobs") < names.index("hr")
    assert names.index("my-results") < names.index("my-pay") < names.index("employee")


def test_it_gives_each_role_its_own_cards(world_a: World, head: User) -> None:
    with scope(organization=world_a.org):
        tenant = build_context(membership_of(head, world_a.org))
    assert {card.name for card in dashboard.cards_for(tenant)} == {
        "head-tasks", "head", "my-results", "my-pay", "employee"}


# --- HR -------------------------------------------------------------------------------------------


def test_it_tells_hr_what_will_appear_without_a_live_period(client: Client, hr: User) -> None:
    assert 'id="no-live-periods"' in _card(_html(client, hr), "periods")


def test_it_shows_hr_a_live_period_with_its_incomplete_sheets(client: Client, hr: User, world_a: World) -> None:
    period = _live(world_a, {"employee": None, "colleague": "90"})
    card = _card(_html(client, hr), "periods")
    assert f'id="live-period-{period.pk}" data-state="calibration"' in card
    assert re.search(r'period-incomplete">1<', card)


def test_it_shows_hr_the_results_waiting_for_calibration_with_a_link(
    client: Client, hr: User, world_a: World
) -> None:
    people = add_people(world_a.org, world_a.production, 20)
    period = scored_period(world_a.org, dict(zip(people, ["95", "95"] + ["75"] * 18, strict=True)),
                           policy=make_policy(world_a.org))
    with scope(organization=world_a.org):
        appraisal_services.rescore_period(period=period, acting_user=None, reason="entered")
    close(period)
    card = _card(_html(client, hr), "periods")
    assert re.search(r'period-waiting">2<', card)
    assert reverse("period-calibration", args=[period.pk]) in card


def test_it_shows_hr_the_open_appeals_with_a_link(client: Client, hr: User, world_a: World) -> None:
    published_with_appeal(world_a, person_template(world_a.org))
    card = _card(_html(client, hr), "periods")
    assert re.search(r'hr-open-appeals-count">1<', card) and reverse("appeals") in card


def test_it_shows_hr_the_review_windows_end_of_a_published_period(client: Client, hr: User, world_a: World) -> None:
    period = _published(world_a, {"employee": "85"})
    card = _card(_html(client, hr), "periods")
    row = card[card.index(f'id="live-period-{period.pk}"'):]
    assert "（北京时间）" in row[:row.index("</li>")]


def test_it_shows_hr_a_failed_job_with_its_message_and_a_link(client: Client, hr: User, world_a: World) -> None:
    period = _live(world_a, {"employee": "85"})
    job = _failed_job(world_a.org, period, "3 张考核表尚无得分")
    card = _card(_html(client, hr), "jobs")
    assert f'id="failed-job-{job.pk}"' in card and "3 张考核表尚无得分" in card
    assert reverse("period-detail", args=[period.pk]) in card


def test_it_forgets_a_failure_a_later_run_of_the_same_job_replaced(
    client: Client, hr: User, world_a: World
) -> None:
    period = _live(world_a, {"employee": "85"})
    _failed_job(world_a.org, period, "第一次失败")
    _failed_job(world_a.org, period, "", state=Job.State.DONE)
    assert 'id="no-failed-jobs"' in _card(_html(client, hr), "jobs")


def test_it_says_what_will_appear_without_failed_jobs(client: Client, hr: User) -> None:
    assert 'id="no-failed-jobs"' in _card(_html(client, hr), "jobs")


def test_it_never_shows_hr_another_organizations_periods_appeals_or_jobs(
    client: Client, hr: User, world_b: World
) -> None:
    period, _result, _appeal = published_with_appeal(world_b, person_template(world_b.org))
    _failed_job(world_b.org, period, "乙的失败")
    html = _html(client, hr)
    assert 'id="no-live-periods"' in html and 'id="no-failed-jobs"' in html
    assert 'id="hr-open-appeals-count"' not in html and "乙的失败" not in html


# --- department heads -----------------------------------------------------------------------------


def test_it_tells_a_head_what_will_appear_without_a_running_period(client: Client, head: User) -> None:
    card = _card(_html(client, head), "head-tasks")
    assert 'id="no-head-tasks"' in card and 'id="head-appeals-count"' not in card


def test_it_shows_a_head_the_sheets_of_their_departments_with_counts(
    client: Client, head: User, world_a: World
) -> None:
    _live(world_a, {"employee": None, "colleague": "90"})
    card = _card(_html(client, head), "head-tasks")
    rows = re.findall(r'<td>(.*?)</td>\s*<td class="text-end"><span class="progress-complete">(\d+)</span> / '
                      r'<span class="progress-total">(\d+)</span>', card)
    assert rows == [("运行部", "0", "1")]  # 综合办 (the colleague's) is not theirs


def test_it_counts_a_department_complete_once_its_data_is_in(client: Client, head: User, world_a: World) -> None:
    _live(world_a, {"employee": "85", "colleague": "90"})
    card = _card(_html(client, head), "head-tasks")
    assert re.search(r'progress-complete">1</span> / <span class="progress-total">1<', card)


def _rated_line(period: Period, world: World, head: User, *, rated: bool) -> None:
    """The colleague's line becomes a rated line the head rates (rated or not yet)."""
    with scope(organization=world.org):
        sheet = Sheet.objects.get(period=period, person=world.people["colleague"])
        line = SheetLine.objects.get(sheet=sheet)
        SheetLine.objects.filter(pk=line.pk).update(source="raters")
        rater = Rater.objects.create(organization=world.org, sheet=sheet, role="supervisor",
                                     person=world.people["head"], weight=Decimal("1"))
        if rated:
            Rating.objects.create(organization=world.org, line=line, rater=rater, score=Decimal("90"))


@pytest.mark.parametrize(("rated", "shown"), [(False, "0 / 1"), (True, "1 / 1")])
def test_it_shows_a_head_the_sheets_they_rate_themself(
    client: Client, head: User, world_a: World, rated: bool, shown: str
) -> None:
    period = _live(world_a, {"employee": "85", "colleague": "90"})
    _rated_line(period, world_a, head, rated=rated)
    card = _card(_html(client, head), "head-tasks")
    match = re.search(r'class="ms-auto small own-rating"[^>]*>(.*?)</a>', card, re.S)
    assert match and shown in match.group(1)


def test_it_shows_a_head_the_appeals_waiting_for_their_opinion(client: Client, head: User, world_a: World) -> None:
    published_with_appeal(world_a, person_template(world_a.org))
    card = _card(_html(client, head), "head-tasks")
    assert re.search(r'head-appeals-count">1<', card) and reverse("appeals") in card


def test_it_drops_an_appeal_from_the_head_once_forwarded(client: Client, head: User, world_a: World) -> None:
    _period, _result, appeal = published_with_appeal(world_a, person_template(world_a.org))
    with scope(organization=world_a.org):
        appeals.forward_appeal(appeal=appeal, acting_user=head, opinion="属实")
    assert 'id="head-appeals-count"' not in _card(_html(client, head), "head-tasks")


def test_it_never_shows_a_head_another_organizations_sheets(client: Client, head: User, world_b: World) -> None:
    _live(world_b, {"employee": None})
    assert 'id="no-head-tasks"' in _card(_html(client, head), "head-tasks")


# --- employees ------------------------------------------------------------------------------------


def test_it_tells_an_employee_what_will_appear_before_publication(
    client: Client, employee: User, world_a: World
) -> None:
    _closed(world_a, {"employee": "85"})
    assert 'id="no-own-results"' in _card(_html(client, employee), "my-results")


def test_it_shows_an_employee_their_published_result(client: Client, employee: User, world_a: World) -> None:
    period = _published(world_a, {"employee": "85", "colleague": "92", "head": "75"})
    with scope(organization=world_a.org):
        result = Result.objects.get(period=period, person=world_a.people["employee"])
    card = _card(_html(client, employee), "my-results")
    assert re.search(r'own-grade"><strong>A</strong>', card) and 'own-score">85.00<' in card
    end = re.search(r'own-window-end">(.*?)</span>', card, re.S)
    assert end and "年" in end.group(1) and "（北京时间）" in end.group(1)
    assert f'{reverse("my-results")}#result-{result.pk}" class="own-appeal-link"' in card


def test_it_shows_the_open_appeal_instead_of_the_appeal_link(
    client: Client, employee: User, world_a: World
) -> None:
    published_with_appeal(world_a, person_template(world_a.org))
    card = _card(_html(client, employee), "my-results")
    assert "own-result-" in card and "own-appeal-link" not in card


def test_it_never_shows_an_employee_a_colleagues_result(client: Client, employee: User, world_a: World) -> None:
    _published(world_a, {"colleague": "92"})  # the employee is exempt: not assessed, but their own
    card = _card(_html(client, employee), "my-results")
    assert card.count('class="list-group-item own-result"') == 1 and "92.00" not in card


def test_it_shows_an_employee_their_latest_confirmed_pay_slip(
    client: Client, employee: User, finance: User, world_a: World
) -> None:
    pay_policy(world_a.org)
    run = compute(_closed(world_a, {"employee": "85"}))
    with scope(organization=world_a.org):
        pay_services.confirm_pay_run(run=run, acting_user=finance)
        slip = PaySlip.objects.get(run=run, person=world_a.people["employee"])
    card = _card(_html(client, employee), "my-pay")
    assert f'own-slip-total">{money(slip.total)}<' in card
    assert f'{reverse("my-pay-slips")}#pay-slip-{slip.pk}' in card


def test_it_tells_an_employee_what_will_appear_before_a_slip_is_confirmed(
    client: Client, employee: User, world_a: World
) -> None:
    pay_policy(world_a.org)
    compute(_closed(world_a, {"employee": "85"}))
    assert 'id="no-own-slip"' in _card(_html(client, employee), "my-pay")


def test_it_writes_money_with_thousands_and_two_decimals() -> None:
    assert (money(Decimal("26800")), money(Decimal("1234567.5")), money(Decimal("0"))) == (
        "26,800.00", "1,234,567.50", "0.00")


# --- finance and the appeal group -----------------------------------------------------------------


def test_it_shows_finance_the_pay_runs_waiting_for_confirmation(
    client: Client, finance: User, world_a: World
) -> None:
    pay_policy(world_a.org)
    run = compute(_closed(world_a, {"employee": "85"}))
    card = _card(_html(client, finance), "finance")
    assert f'id="run-to-confirm-{run.pk}"' in card and reverse("pay-run-detail", args=[run.pk]) in card


def test_it_tells_finance_what_will_appear_once_runs_are_confirmed(
    client: Client, finance: User, world_a: World
) -> None:
    pay_policy(world_a.org)
    run = compute(_closed(world_a, {"employee": "85"}))
    with scope(organization=world_a.org):
        pay_services.confirm_pay_run(run=run, acting_user=finance)
    assert 'id="no-runs-to-confirm"' in _card(_html(client, finance), "finance")


def test_it_never_shows_finance_another_organizations_runs(client: Client, finance: User, world_b: World) -> None:
    pay_policy(world_b.org)
    compute(_closed(world_b, {"employee": "85"}))
    assert 'id="no-runs-to-confirm"' in _card(_html(client, finance), "finance")


def test_it_shows_the_appeal_group_the_appeals_to_decide(
    client: Client, supervisor: User, head: User, world_a: World
) -> None:
    period, _result, appeal = published_with_appeal(world_a, person_template(world_a.org))
    with scope(organization=world_a.org):
        group = ReviewGroup.objects.get(code="SUP")
        GradingPolicy.objects.filter(periods=period).update(appeal_group=group)
        appeals.forward_appeal(appeal=Appeal.objects.get(pk=appeal.pk), acting_user=head, opinion="属实")
    card = _card(_html(client, supervisor), "appeals-to-decide")
    assert re.search(r'group-appeals-count">1<', card)


def test_it_tells_the_appeal_group_what_will_appear(client: Client, supervisor: User) -> None:
    assert 'id="no-appeals-to-decide"' in _card(_html(client, supervisor), "appeals-to-decide")


# --- queries --------------------------------------------------------------------------------------


# The most queries each card's context may read; the test below also checks they do not grow.
CARD_QUERIES = {"periods": 5, "jobs": 2, "hr": 6, "head-tasks": 4, "head": 1, "my-results": 1, "my-pay": 1,
                "employee": 1, "finance": 2, "groups": 1, "appeals-to-decide": 1}


def _tenant(user: User, org: Organization) -> TenantContext:
    return build_context(membership_of(user, org))


def _busy(world: World, size: int, number: int) -> None:
    """``size`` more people scored in a new live period, and a failed job about it."""
    people = add_people(world.org, world.production, size, prefix=f"n{number}-")
    period = scored_period(world.org, {p: "80" for p in people}, policy=make_policy(world.org, code=f"Q{number}"),
                           number=number)
    _failed_job(world.org, period, "失败")


def _counts(tenant: TenantContext, org: Organization) -> dict[str, int]:
    counts = {}
    with scope(organization=org):
        for card in dashboard.cards_for(tenant):
            with CaptureQueriesContext(connection) as queries:
                card.context(tenant)
            counts[card.name] = len(queries)
    return counts


def test_it_reads_each_card_in_a_fixed_number_of_queries_whatever_the_size(
    world_a: World, hr: User, head: User, finance: User, supervisor: User
) -> None:
    pay_policy(world_a.org)
    compute(_closed(world_a, {"employee": "85"}, number=1))
    published_with_appeal(world_a, person_template(world_a.org), number=2)
    with scope(organization=world_a.org):
        finance_user = User.objects.get(pk=finance.pk)
        tenants = [_tenant(u, world_a.org) for u in (hr, head, finance_user, supervisor)]
    _busy(world_a, 3, number=3)
    small = [_counts(t, world_a.org) for t in tenants]
    _busy(world_a, 40, number=4)
    large = [_counts(t, world_a.org) for t in tenants]
    assert small == large
    for counts in large:
        for name, count in counts.items():
            assert count <= CARD_QUERIES[name], (name, count)


def test_it_renders_the_home_page_with_the_same_queries_for_a_small_or_large_organization(
    client: Client, hr: User, world_a: World, django_assert_max_num_queries: Any
) -> None:
    client.force_login(hr)
    _busy(world_a, 3, number=3)
    client.get(reverse("home"))  # the first request also settles the session
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("home"))
    _busy(world_a, 40, number=4)
    with CaptureQueriesContext(connection) as large:
        client.get(reverse("home"))
    assert len(small) == len(large)
    with django_assert_max_num_queries(30):
        client.get(reverse("home"))


def test_it_keeps_a_computed_run_off_finance_once_a_newer_version_exists(
    world_a: World, finance: User
) -> None:
    pay_policy(world_a.org)
    first = compute(_closed(world_a, {"employee": "85"}))
    with scope(organization=world_a.org):
        PayRun.objects.filter(pk=first.pk).update(version=1)
        newer = PayRun.objects.create(organization=world_a.org, period_id=first.period_id, version=2,
                                      reason="test", total=Decimal("1.00"))
        shown = dashboard.cards_for(_tenant(finance, world_a.org))
        card = next(c for c in shown if c.name == "finance")
        runs = [run.pk for run, _total in card.context(_tenant(finance, world_a.org))["runs"]]
    assert runs == [newer.pk]
