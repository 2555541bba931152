"""The notification pages: the bell, the inbox (open, mark read, mark all read), my channels, HR's
settings (defaults, robots with a write-only key, failed deliveries) and the publication record."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from organizations.models import Job, Organization, User
from organizations.notifications import events
from organizations.notifications.models import Channel, ChannelChoice, Delivery, Notification, Robot
from organizations.notifications.service import notify
from tests.conftest import World, membership_of


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def told_hr(org: Organization, message: str = "导出失败", link_subject: Any = None) -> Notification:
    with scope(organization=org):
        job = Job.objects.create(organization=org, kind=Job.Kind.PAY_EXPORT,
                                 subject=link_subject or Organization.objects.get(pk=org.pk),
                                 state=Job.State.FAILED, message=message, finished_at=timezone.now(),
                                 params={"m": message})
        notify(kind=events.JOB_FAILED, subject=job, acting_user=None)
        return Notification.objects.get(subject_id=job.pk)


def test_the_bell_names_the_unread_count(client: Client, world_a: World, hr: User) -> None:
    told_hr(world_a.org, "一")
    told_hr(world_a.org, "二")
    html = signed_in(client, hr).get(reverse("home")).content.decode()
    bell = re.search(r'<a [^>]*id="notification-bell"[^>]*>', html, re.S)
    assert bell is not None and 'aria-label="' in bell.group(0) and "2" in bell.group(0)
    assert re.search(r'id="notification-unread"[^>]*>2<', html)


def test_the_inbox_lists_only_the_members_own_notifications(client: Client, world_a: World, hr: User,
                                                            employee: User) -> None:
    mine = told_hr(world_a.org)
    assert f'id="notification-{mine.pk}"' in signed_in(client, hr).get(reverse("notifications")).content.decode()
    other = Client()
    assert f'id="notification-{mine.pk}"' not in signed_in(other, employee).get(
        reverse("notifications")).content.decode()
    assert other.post(reverse("notification-read", args=[mine.pk])).status_code == 404


def test_another_organisations_notification_is_not_found(client: Client, world_a: World, world_b: World,
                                                         hr: User, outsider: User) -> None:
    theirs = told_hr(world_b.org)
    client = signed_in(client, hr)
    for name in ("notification-open", "notification-read"):
        assert client.post(reverse(name, args=[theirs.pk])).status_code == 404
    with scope(organization=world_b.org):
        assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_its_link(client: Client, world_a: World,
                                                                   hr: User) -> None:
    notification = told_hr(world_a.org)
    with scope(organization=world_a.org):
        Notification.objects.filter(pk=notification.pk).update(link="/people/")
    response = signed_in(client, hr).post(reverse("notification-open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == "/people/"
    with scope(organization=world_a.org):
        assert Notification.objects.get(pk=notification.pk).read_at is not None


def test_mark_all_read_clears_the_count(client: Client, world_a: World, hr: User) -> None:
    told_hr(world_a.org, "一")
    told_hr(world_a.org, "二")
    signed_in(client, hr).post(reverse("notifications-read-all"))
    html = client.get(reverse("notifications")).content.decode()
    assert 'id="notification-unread"' not in html
    with scope(organization=world_a.org):
        assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_a_member_chooses_their_channels(client: Client, world_a: World, employee: User) -> None:
    signed_in(client, employee).post(reverse("notification-channels"), {f"c-{events.JOB_DEAD}-{Channel.WECOM}": "on"})
    with scope(organization=world_a.org):
        chosen = {(c.kind, c.channel): c.enabled
                  for c in ChannelChoice.objects.filter(membership=membership_of(employee, world_a.org))}
    assert chosen[(events.JOB_DEAD, Channel.WECOM)] is True
    assert chosen[(events.JOB_FAILED, Channel.EMAIL)] is False


def test_only_hr_sees_the_notification_settings(client: Client, world_a: World, employee: User) -> None:
    assert signed_in(client, employee).get(reverse("notification-settings")).status_code == 403


def test_a_robots_key_is_never_shown_again_after_saving(client: Client, world_a: World, hr: User) -> None:
    response = signed_in(client, hr).post(reverse("notification-settings"), {
        "form": "robot", "kind": "wecom", "name": "生产群", "key": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"})
    assert response.status_code == 302
    html = client.get(reverse("notification-settings")).content.decode()
    assert "693a91f6" not in html and "••••5aaa" in html
    with scope(organization=world_a.org):
        assert Robot.objects.get().key == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def test_it_refuses_a_second_robot_of_the_same_name_and_writes_nothing(client: Client, world_a: World,
                                                                     hr: User) -> None:
    post = {"form": "robot", "kind": "dingtalk", "name": "生产群", "key": "k1"}
    signed_in(client, hr).post(reverse("notification-settings"), post)
    response = client.post(reverse("notification-settings"), {**post, "key": "k2"})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    with scope(organization=world_a.org):
        assert list(Robot.objects.values_list("key", flat=True)) == ["k1"]


def test_hr_sees_a_failed_delivery_and_sends_it_again(client: Client, world_a: World, hr: User,
                                                      django_capture_on_commit_callbacks: Any) -> None:
    User.objects.filter(pk=hr.pk).update(email="hr@example.com")
    notification = told_hr(world_a.org)
    with scope(organization=world_a.org):
        delivery = Delivery.objects.get(notification=notification, channel=Channel.EMAIL)
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED, error="SMTP 550")
    html = signed_in(client, hr).get(reverse("notification-settings")).content.decode()
    assert f'id="delivery-{delivery.pk}"' in html and "SMTP 550" in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notification-delivery-retry", args=[delivery.pk]))
    with scope(organization=world_a.org):
        assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.DELIVERED


def test_the_publication_record_is_hrs_and_another_organisations_period_is_not_found(
        client: Client, world_a: World, world_b: World, hr: User, employee: User) -> None:
    from appraisal.models import Period
    from appraisal.services import create_period

    periods = {}
    for world in (world_a, world_b):
        with scope(organization=world.org):
            periods[world.org.pk] = create_period(organization=world.org, acting_user=None, kind="monthly",
                                                  year=2025, number=8, templates=[])
    mine, theirs = periods[world_a.org.pk], periods[world_b.org.pk]
    assert isinstance(mine, Period)
    assert signed_in(client, hr).get(reverse("notification-record", args=[mine.pk])).status_code == 200
    assert client.get(reverse("notification-record", args=[theirs.pk])).status_code == 404
    assert signed_in(Client(), employee).get(reverse("notification-record", args=[mine.pk])).status_code == 403


def test_the_publication_record_lists_who_was_told_on_which_channel(client: Client, world_a: World, hr: User,
                                                                    employee: User) -> None:
    from appraisal import notices
    from appraisal.models import Period

    period = _published_for(world_a, employee)
    with scope(organization=world_a.org):
        notify(kind=notices.RESULTS_PUBLISHED, subject=Period.objects.get(pk=period.pk), acting_user=None)
    html = signed_in(client, hr).get(reverse("notification-record", args=[period.pk])).content.decode()
    # The employee and HR have a sign-in and a result: two notices, each delivered to the inbox and
    # without an email address.
    assert html.count('class="record-row') == 4
    assert str(world_a.people["employee"]) in html
    assert 'data-channel="inbox" data-state="delivered"' in html
    assert 'data-channel="email" data-state="skipped"' in html
    settings_page = client.get(reverse("notification-settings")).content.decode()
    assert f'href="{reverse("notification-record", args=[period.pk])}"' in settings_page


def _published_for(world: World, employee: User) -> Any:
    from tests.closing import close, make_policy, scored_period

    period = scored_period(world.org, {world.people["employee"]: "80"}, policy=make_policy(world.org, quotas=[]))
    close(period)
    from appraisal.services import window

    with scope(organization=world.org):
        return window.publish(period=period, acting_user=None)
