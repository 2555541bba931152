"""Sending one notification on one channel: email through Django's email backend, and the WeCom
(企业微信) and DingTalk (钉钉) group robots through their webhooks, as markdown.

A channel that refuses says how: :class:`RateLimited` (the robot's 20 messages a minute: try again
in a minute, not counted as a failure), :class:`Refused` (a bad key, a bad address: trying again
cannot help, the delivery fails at once and HR sees it), any other :class:`ChannelError` (the
network, a 5xx, an unknown error code: retried with backoff).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from organizations.notifications.models import Channel, Notification, Robot

# The robots' own error codes (their documentation): too fast, and a key or signature they refuse.
WECOM_RATE_LIMITED = {45009}
WECOM_REFUSED = {93000, 40001, 40014, 93004}
DINGTALK_RATE_LIMITED = {130101, 410100}
DINGTALK_REFUSED = {300001, 300005, 310000, 400101}


class ChannelError(Exception):
    """The channel did not take the message; worth trying again later."""


class RateLimited(ChannelError):
    """The robot's rate limit: try again once its minute has passed."""


class Refused(ChannelError):
    """The channel refuses the message for good (a bad key, an invalid address)."""


def absolute(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return settings.SITE_URL.rstrip("/") + link


@contextmanager
def mail_connection() -> Iterator[Any]:
    """One connection to the mail server for several emails (opened now; if that fails, each email
    tries on its own and records its own error)."""
    connection = get_connection()
    try:
        connection.open()
    except OSError:
        pass
    try:
        yield connection
    finally:
        try:
            connection.close()
        except OSError:  # the server went away: each email already recorded its own outcome
            pass


def send_email(notification: Notification, address: str, connection: Any = None) -> None:
    context = {"notification": notification, "url": absolute(notification.link)}
    text = render_to_string("organizations/notifications/email.txt", context)
    html = render_to_string("organizations/notifications/email.html", context)
    message = EmailMultiAlternatives(subject=notification.title, body=text, to=[address], connection=connection)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except (OSError, ValueError) as error:  # smtplib's errors are OSErrors; a malformed address a ValueError
        if connection is not None:  # the next email opens a fresh connection
            try:
                connection.close()
            except OSError:
                pass
        raise ChannelError(f"{type(error).__name__}: {error}") from None


def markdown(notification: Notification) -> str:
    lines = [f"### {notification.title}", "", notification.body.strip()]
    url = absolute(notification.link)
    if url:
        lines += ["", f"[{_('Open')}]({url})"]
    return "\n".join(lines).strip()


def send_robot(robot: Robot, notification: Notification) -> None:
    text = markdown(notification)
    if robot.kind == Channel.WECOM:
        url = settings.NOTIFY_WECOM_URL
        params = {"key": robot.key}
        payload: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": text}}
        limited, refused = WECOM_RATE_LIMITED, WECOM_REFUSED
    else:
        url = settings.NOTIFY_DINGTALK_URL
        params = {"access_token": robot.key, **dingtalk_signature(robot.secret)}
        payload = {"msgtype": "markdown", "markdown": {"title": notification.title, "text": text}}
        limited, refused = DINGTALK_RATE_LIMITED, DINGTALK_REFUSED
    try:
        response = requests.post(url, params=params, json=payload, timeout=settings.NOTIFY_HTTP_TIMEOUT)
    except requests.RequestException as error:
        raise ChannelError(f"{type(error).__name__}: {error}") from None
    if response.status_code != 200:
        raise ChannelError(f"HTTP {response.status_code}")
    try:
        answer = response.json()
        code = int(answer.get("errcode", -1))
    except (ValueError, AttributeError, TypeError):
        raise ChannelError(_("The robot answered something that is not its JSON.")) from None
    if code == 0:
        return
    detail = f"errcode {code}: {answer.get('errmsg', '')}"
    if code in limited:
        raise RateLimited(detail)
    if code in refused:
        raise Refused(detail)
    raise ChannelError(detail)


def dingtalk_signature(secret: str, now_ms: int | None = None) -> dict[str, str]:
    """DingTalk's 加签: timestamp (ms) and base64(HMAC-SHA256(secret, "timestamp\\nsecret")), or nothing."""
    if not secret:
        return {}
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    # Sent as a query parameter, which requests URL-encodes (DingTalk's "urlEncode(sign)").
    return {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}
