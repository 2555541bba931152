"""The group robots (WeCom 企业微信, DingTalk 钉钉) against a local HTTP server started by the test,
which checks each robot's payload format and answers with their error codes: no network. Also the
retries: backoff on a channel error, the 20-a-minute limit, a task run twice sending once."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from django_scopes import scope

from organizations.models import Job, User
from organizations.notifications import actions, events, selectors
from organizations.notifications.models import Channel, Delivery, Notification, Robot
from organizations.notifications.sending import deliver
from organizations.notifications.service import notify
from organizations.notifications.tasks import sweep
from tests.conftest import World, membership_of


@dataclass
class RobotServer:
    """Answers like the robots: {"errcode": 0} unless told otherwise; keeps what it received."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # status, body; then errcode 0


@pytest.fixture
def robot_server(settings: Any) -> Iterator[RobotServer]:
    state = RobotServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            parsed = urlparse(self.path)
            state.received.append({"path": parsed.path, "query": {k: v[0] for k, v in parse_qs(parsed.query).items()},
                                   "json": json.loads(self.rfile.read(length)),
                                   "content_type": self.headers.get("Content-Type")})
            status, body = state.answers.pop(0) if state.answers else (200, {"errcode": 0, "errmsg": "ok"})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.NOTIFY_WECOM_URL = state.url + "/cgi-bin/webhook/send"
    settings.NOTIFY_DINGTALK_URL = state.url + "/robot/send"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def robot(world: World, kind: str, key: str = "KEY-123456", secret: str = "") -> Robot:
    with scope(organization=world.org):
        return actions.add_robot(organization=world.org, acting_user=None, kind=kind, name=f"{kind} 群", key=key,
                                 secret=secret)


def robot_only(world: World, kind: str) -> None:
    """HR's default: job failures go to the robot of ``kind`` (and not by email)."""
    with scope(organization=world.org):
        actions.set_choices(organization=world.org, membership=None, acting_user=None,
                            wanted={(events.JOB_FAILED, Channel.EMAIL): False, (events.JOB_FAILED, kind): True})


def raise_failures(world: World, count: int = 1) -> list[int]:
    """``count`` failed jobs told to HR; the ids of their robot deliveries (not yet sent)."""
    with scope(organization=world.org):
        department = world.production
        for number in range(count):
            job = Job.objects.create(organization=world.org, kind=Job.Kind.PAY_EXPORT, subject=department,
                                     params={"n": number}, state=Job.State.FAILED, message=f"第{number}次失败",
                                     finished_at=timezone.now())
            notify(kind=events.JOB_FAILED, subject=job, acting_user=None)
        return list(Delivery.objects.exclude(channel=Channel.INBOX).order_by("pk").values_list("pk", flat=True))


def send(world: World, delivery_id: int, now: dt.datetime | None = None) -> Delivery:
    with scope(organization=world.org):
        deliver(delivery_id, now)
        return Delivery.objects.get(pk=delivery_id)


def test_it_posts_markdown_to_the_wecom_robot_with_its_key(world_a: World, hr: User, robot_server: Any) -> None:
    robot(world_a, Channel.WECOM)
    robot_only(world_a, Channel.WECOM)
    [delivery_id] = raise_failures(world_a)
    sent = send(world_a, delivery_id)
    [request] = robot_server.received
    assert request["path"] == "/cgi-bin/webhook/send" and request["query"] == {"key": "KEY-123456"}
    assert request["json"]["msgtype"] == "markdown"
    assert request["json"]["markdown"]["content"].startswith("### ")
    assert "第0次失败" in request["json"]["markdown"]["content"]
    assert sent.state == Delivery.State.DELIVERED and sent.delivered_at is not None


def test_it_signs_the_dingtalk_robots_message_with_its_secret(world_a: World, hr: User, robot_server: Any) -> None:
    robot(world_a, Channel.DINGTALK, key="TOKEN", secret="SECabc")
    robot_only(world_a, Channel.DINGTALK)
    [delivery_id] = raise_failures(world_a)
    assert send(world_a, delivery_id).state == Delivery.State.DELIVERED
    [request] = robot_server.received
    query = request["query"]
    expected = base64.b64encode(hmac.new(b"SECabc", f"{query['timestamp']}\nSECabc".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["access_token"] == "TOKEN" and query["sign"] == expected
    assert request["json"]["msgtype"] == "markdown"
    assert set(request["json"]["markdown"]) == {"title", "text"}


def test_it_waits_a_minute_when_the_robot_says_it_is_sent_too_fast(world_a: World, hr: User,
                                                                   robot_server: Any) -> None:
    robot(world_a, Channel.DINGTALK, key="TOKEN")
    robot_only(world_a, Channel.DINGTALK)
    robot_server.answers.append((200, {"errcode": 130101, "errmsg": "send too fast"}))
    [delivery_id] = raise_failures(world_a)
    now = timezone.now()
    waiting = send(world_a, delivery_id, now)
    assert waiting.state == Delivery.State.RETRYING and waiting.attempts == 0
    assert waiting.next_attempt_at == now + dt.timedelta(seconds=60)


def test_it_fails_at_once_on_a_bad_key_and_shows_hr(world_a: World, hr: User, robot_server: Any) -> None:
    robot(world_a, Channel.WECOM)
    robot_only(world_a, Channel.WECOM)
    robot_server.answers.append((200, {"errcode": 93000, "errmsg": "invalid webhook url"}))
    [delivery_id] = raise_failures(world_a)
    failed = send(world_a, delivery_id)
    assert failed.state == Delivery.State.FAILED and "93000" in failed.error
    with scope(organization=world_a.org):
        assert list(selectors.failed_deliveries().values_list("pk", flat=True)) == [delivery_id]


def test_it_retries_a_channel_error_with_growing_backoff_then_fails(world_a: World, hr: User, robot_server: Any,
                                                                    settings: Any) -> None:
    settings.NOTIFY_MAX_ATTEMPTS = 3
    robot(world_a, Channel.WECOM)
    robot_only(world_a, Channel.WECOM)
    robot_server.answers.extend([(502, {})] * 3)
    [delivery_id] = raise_failures(world_a)
    now = timezone.now()
    first = send(world_a, delivery_id, now)
    assert (first.state, first.next_attempt_at) == (Delivery.State.RETRYING, now + dt.timedelta(seconds=60))
    assert send(world_a, delivery_id, now).attempts == 1  # not due yet: nothing sent
    second = send(world_a, delivery_id, now + dt.timedelta(seconds=60))
    assert second.next_attempt_at == now + dt.timedelta(seconds=60 + 120)
    third = send(world_a, delivery_id, now + dt.timedelta(seconds=180))
    assert (third.state, third.attempts) == (Delivery.State.FAILED, 3)
    assert len(robot_server.received) == 3


def test_the_sweep_sends_what_is_due_for_a_retry(world_a: World, hr: User, robot_server: Any) -> None:
    robot(world_a, Channel.WECOM)
    robot_only(world_a, Channel.WECOM)
    robot_server.answers.append((500, {}))
    [delivery_id] = raise_failures(world_a)
    now = timezone.now()
    send(world_a, delivery_id, now)
    with scope(organization=world_a.org):
        sweep(world_a.org, now + dt.timedelta(seconds=61))
        assert Delivery.objects.get(pk=delivery_id).state == Delivery.State.DELIVERED


def test_a_delivery_task_run_twice_sends_once(world_a: World, hr: User, robot_server: Any) -> None:
    robot(world_a, Channel.WECOM)
    robot_only(world_a, Channel.WECOM)
    [delivery_id] = raise_failures(world_a)
    send(world_a, delivery_id)
    send(world_a, delivery_id)
    assert len(robot_server.received) == 1


def test_a_robot_sends_at_most_twenty_messages_a_minute(world_a: World, hr: User, robot_server: Any) -> None:
    robot(world_a, Channel.WECOM)
    robot_only(world_a, Channel.WECOM)
    ids = raise_failures(world_a, 21)
    now = timezone.now()
    states = [send(world_a, delivery_id, now).state for delivery_id in ids]
    assert states.count(Delivery.State.DELIVERED) == 20
    last = send(world_a, ids[-1], now)
    assert last.state == Delivery.State.RETRYING and last.attempts == 0
    assert len(robot_server.received) == 20
    assert send(world_a, ids[-1], now + dt.timedelta(seconds=61)).state == Delivery.State.DELIVERED


def test_it_posts_to_the_robot_of_the_recipients_department(world_a: World, hr: User, robot_server: Any) -> None:
    everyone = robot(world_a, Channel.WECOM, key="ORG-KEY")
    with scope(organization=world_a.org):
        office = actions.add_robot(organization=world_a.org, acting_user=None, kind=Channel.WECOM, name="综合办群",
                                   key="OFFICE-KEY", department=world_a.back_office)  # HR's department
    robot_only(world_a, Channel.WECOM)
    [delivery_id] = raise_failures(world_a)
    with scope(organization=world_a.org):
        assert Delivery.objects.get(pk=delivery_id).robot_id == office.pk != everyone.pk


def test_it_never_stores_the_key_in_the_audit_trail(world_a: World) -> None:
    saved = robot(world_a, Channel.WECOM, key="SECRET-KEY-9876")
    with scope(organization=world_a.org):
        history = saved.history.first()
        assert not hasattr(history, "key")
    assert saved.masked_key == "••••9876"


def test_it_marks_nothing_sent_for_a_recipient_without_a_robot(world_a: World, hr: User) -> None:
    robot_only(world_a, Channel.WECOM)
    raise_failures(world_a)
    with scope(organization=world_a.org):
        assert Delivery.objects.get(channel=Channel.WECOM).state == Delivery.State.SKIPPED
        assert Notification.objects.get().recipient == membership_of(hr, world_a.org)
