"""How fast publication notices go out by email: N employees' notices written and sent set-based
(a batch claimed in one query, sent over one SMTP connection, marked in one UPDATE) to the local SMTP
server of tests/test_notif_email.py; NOTIFY_BENCH_COUNT=10000 gives the issue's figure (goal < 60 s).
The figure is printed (README: notifications); the assertion only keeps it from regressing badly."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.hashers import make_password
from django_scopes import scope

from appraisal import notices
from appraisal.models import Period
from organizations.models import Membership, Person, User
from organizations.notifications.models import Channel, Delivery
from organizations.notifications.service import notify
from tests.closing import close, make_policy, scored_period
from tests.conftest import World
from tests.test_notif_email import Mailbox, smtp  # noqa: F401  (the fixture)

COUNT = int(__import__("os").environ.get("NOTIFY_BENCH_COUNT", "1000"))


def test_it_sends_a_thousand_publication_notices_by_email_quickly(world_a: World, smtp: Mailbox,  # noqa: F811
                                                                  django_capture_on_commit_callbacks: Any) -> None:
    org = world_a.org
    with scope(organization=org):
        people = Person.objects.bulk_create([Person(organization=org, employee_no=f"b{i:05}", name=f"员工{i}",
                                                    department=world_a.production) for i in range(COUNT)])
    users = User.objects.bulk_create([
        User(username=f"bench{i}", email=f"b{i}@example.com", password=make_password(None)) for i in range(COUNT)])
    with scope(organization=org):
        Membership.objects.bulk_create([Membership(organization=org, user=u, person=p)
                                        for u, p in zip(users, people, strict=True)])
    period = scored_period(org, {p: "80" for p in people}, policy=make_policy(org, quotas=[]))
    close(period)
    from appraisal.services import window

    with scope(organization=org):
        published = window.publish(period=Period.objects.get(pk=period.pk), acting_user=None)
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            notify(kind=notices.RESULTS_PUBLISHED, subject=published, acting_user=None)
        elapsed = time.monotonic() - started
        delivered = Delivery.objects.filter(channel=Channel.EMAIL, state=Delivery.State.DELIVERED).count()
    print(f"\n{COUNT} publication notices written and emailed in {elapsed:.1f}s ({COUNT / elapsed:.0f}/s)")
    assert delivered == COUNT == len(smtp.messages)
    assert elapsed < 60
