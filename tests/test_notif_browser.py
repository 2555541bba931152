"""The inbox in a real browser: the employee sees the bell's unread count, opens "results published"
(with the window's end) and lands on their results, where they may appeal; the count goes down; the
rest are marked read at once. Driven as tests/test_browser.py drives Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import translation
from django_scopes import scope

from appraisal import notices
from appraisal.models import Period
from appraisal.services import window
from appraisal.services.window import show_time
from organizations.models import Job, User
from organizations.notifications import events
from organizations.notifications.service import notify
from tests.browsing import sign_in as _sign_in
from tests.closing import close, make_policy, scored_period
from tests.conftest import World

pytestmark = pytest.mark.browser


@pytest.fixture
def told(transactional_db: None, world_a: World, hr: User, employee: User) -> Period:
    period = scored_period(world_a.org, {world_a.people["employee"]: "80"}, policy=make_policy(world_a.org, quotas=[]))
    close(period)
    with scope(organization=world_a.org):
        published = window.publish(period=Period.objects.get(pk=period.pk), acting_user=None)
        notify(kind=notices.RESULTS_PUBLISHED, subject=published, acting_user=None)
        # A second notice for the employee, so "mark all read" has something left to do.
        job = Job.objects.create(organization=world_a.org, kind=Job.Kind.PAY_EXPORT, subject=published,
                                 state=Job.State.FAILED, message="x")
        from organizations.models import Membership
        from organizations.notifications.models import Notification

        notify(kind=events.JOB_FAILED, subject=job, acting_user=None)
        # Re-address the HR notice to the employee: the browser walk needs two of theirs.
        employee_membership = Membership.objects.get(user=employee)
        Notification.objects.filter(kind=events.JOB_FAILED).update(recipient=employee_membership)
    return published


def test_the_employee_follows_the_bell_to_the_results_notice_and_marks_the_rest_read(
        browser: Any, live_server: Any, told: Period) -> None:
    from playwright.sync_api import expect

    page = _sign_in(browser, live_server.url, "employee")
    bell = page.locator("#notification-bell")
    expect(page.locator("#notification-unread")).to_have_text("2")
    expect(bell).to_have_attribute("aria-label", re.compile("2"))
    bell.click()
    page.wait_for_url(re.compile(r"/notifications/$"))
    notice = page.locator(f'.notification[data-kind="{notices.RESULTS_PUBLISHED}"]')
    expect(notice).to_contain_text(told.name)
    with translation.override("zh-hans"):
        assert told.window_ends_at is not None
        end = show_time(told.window_ends_at)  # e.g. 2025年6月14日 00:00
    expect(notice.locator(".notification-body")).to_contain_text(end)
    notice.locator(".notification-open").click()
    page.wait_for_url(re.compile(r"/results/mine/#result-\d+$"))
    expect(page.locator(".my-result")).to_have_count(1)
    expect(page.locator("#notification-unread")).to_have_text("1")
    page.goto("/notifications/")
    page.click("#notifications-read-all")
    page.wait_for_url(re.compile(r"/notifications/$"))
    expect(page.locator("#notification-unread")).to_have_count(0)
    expect(page.locator(".notification-unread")).to_have_count(0)
