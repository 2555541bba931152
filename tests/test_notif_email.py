"""Email through a real SMTP conversation: a small SMTP server started by the test on 127.0.0.1
(the standard library's socketserver; aiosmtpd is not a dependency), Django's SMTP backend talking
to it, and the message read back: subject, plain text and HTML, in zh-Hans."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope

from organizations.models import Job, User
from organizations.notifications import events
from organizations.notifications.models import Channel, Delivery, Notification
from organizations.notifications.service import notify
from tests.conftest import World


@dataclass
class Mailbox:
    port: int = 0
    messages: list[bytes] = field(default_factory=list)
    refuse_recipients: bool = False


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    box = Mailbox()

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, text: str) -> None:
            self.wfile.write(text.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 localhost ESMTP test")
            lines: list[bytes] = []
            in_data = False
            while line := self.rfile.readline():
                if in_data:
                    if line.rstrip(b"\r\n") == b".":
                        box.messages.append(b"".join(lines))
                        lines, in_data = [], False
                        self.reply("250 2.0.0 queued")
                    else:
                        lines.append(line[1:] if line.startswith(b"..") else line)
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
                elif verb == b"RCPT" and box.refuse_recipients:
                    self.reply("550 5.1.1 mailbox unavailable")
                elif verb == b"DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    in_data = True
                elif verb == b"QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    box.port = server.server_address[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", box.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


def tell_hr(world: World, hr: User, message: str, capture: Any) -> Notification:
    User.objects.filter(pk=hr.pk).update(email="hr@example.com")
    with scope(organization=world.org), capture(execute=True):
        job = Job.objects.create(organization=world.org, kind=Job.Kind.PAY_EXPORT, subject=world.production,
                                 state=Job.State.FAILED, message=message, finished_at=timezone.now())
        notify(kind=events.JOB_FAILED, subject=job, acting_user=None)
    with scope(organization=world.org):
        return Notification.objects.get(subject_id=job.pk)


def test_it_sends_the_email_through_smtp_and_it_reads_back(world_a: World, hr: User, smtp: Mailbox,
                                                           django_capture_on_commit_callbacks: Any) -> None:
    notification = tell_hr(world_a, hr, "导出工资表失败：磁盘已满", django_capture_on_commit_callbacks)
    [raw] = smtp.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == "hr@example.com"
    assert message["Subject"] == notification.title
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and "导出工资表失败：磁盘已满" in text.get_content()
    assert html is not None and "导出工资表失败：磁盘已满" in html.get_content()
    with scope(organization=world_a.org):
        assert Delivery.objects.get(notification=notification, channel=Channel.EMAIL).state == \
            Delivery.State.DELIVERED


def test_it_retries_when_the_smtp_server_refuses_the_recipient(world_a: World, hr: User, smtp: Mailbox,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    smtp.refuse_recipients = True
    notification = tell_hr(world_a, hr, "失败", django_capture_on_commit_callbacks)
    with scope(organization=world_a.org):
        delivery = Delivery.objects.get(notification=notification, channel=Channel.EMAIL)
    assert delivery.state == Delivery.State.RETRYING and "550" in delivery.error
    assert delivery.attempts == 1 and delivery.next_attempt_at is not None


def test_it_sends_a_batch_of_emails_once_when_its_task_runs_twice(world_a: World, hr: User, smtp: Mailbox,
                                                                  django_capture_on_commit_callbacks: Any) -> None:
    from organizations.notifications.sending import deliver_many

    notification = tell_hr(world_a, hr, "失败", django_capture_on_commit_callbacks)
    with scope(organization=world_a.org):
        delivery = Delivery.objects.get(notification=notification, channel=Channel.EMAIL)
        assert deliver_many([delivery.pk]) == 0  # delivered already by the first run
        delivery.refresh_from_db()
    assert len(smtp.messages) == 1 and delivery.attempts == 1 and delivery.state == Delivery.State.DELIVERED
