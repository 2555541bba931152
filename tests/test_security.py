"""Sign-in lockout (django-axes with the two rules of organizations.authentication), HTTPS in
production, the deploy check, and the Content-Security-Policy, down to a real browser's console.

The lockout policy: AXES_FAILURE_LIMIT (5) failures of one username from one address lock that
username there; AXES_IP_FAILURE_LIMIT (50) failures from one address, any usernames, lock the
address; both for AXES_COOLOFF_MINUTES (15) after the last failure. Tests pin the limits with the
``settings`` fixture (axes reads them per request) and travel in time by moving the recorded
failures back.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from axes.models import AccessAttempt
from django.db.models import F, Max
from django.test import Client
from django.utils import timezone

from appraisal.models import Period
from organizations.models import User
from tests.browsing import sign_in as _sign_in
from tests.test_browser import _line, _open_the_employees_sheet, draft_period  # noqa: F401
from tests.test_settings_env import _APP_VARIABLES, loaded

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO_ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/login/"
OFFICE = "10.1.2.3"


@pytest.fixture(autouse=True)
def _lockout_policy(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_IP_FAILURE_LIMIT = 50
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


def sign_in(client: Client, username: str, password: str | None = None, address: str = OFFICE) -> Any:
    """POSTs the sign-in form; the right password is the fixtures' "pw-<username>"."""
    password = "pw-" + username if password is None else password
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, username: str, times: int, address: str = OFFICE) -> None:
    for _ in range(times):
        sign_in(Client(), username, "wrong", address)


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and response.wsgi_request.user.is_authenticated


def let_time_pass(minutes: int) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - dt.timedelta(minutes=minutes))


# --- sign-in lockout ----------------------------------------------------------------------------


def test_it_refuses_the_right_password_after_five_wrong_ones(client: Client, hr: User) -> None:
    fail(client, "hr", 5)

    response = sign_in(client, "hr")

    assert response.status_code == 429
    assert not response.wsgi_request.user.is_authenticated
    assert "登录失败次数过多" in response.content.decode()


def test_it_says_until_when_on_the_sign_in_page(client: Client, hr: User) -> None:
    fail(client, "hr", 5)

    response = sign_in(client, "hr")

    # The page itself, with its form, in zh-Hans, naming the minute the lockout ends (rounded up).
    last = AccessAttempt.objects.aggregate(last=Max("attempt_time"))["last"]
    until = timezone.localtime(last + dt.timedelta(minutes=15, seconds=59)).strftime("%Y-%m-%d %H:%M")
    page = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert 'name="password"' in page
    message = re.search(r'id="lockout-message"[^>]*>([^<]*)<', page)
    assert message is not None and until in message[1] and "之后再试" in message[1]


def test_it_lets_the_user_in_once_the_cool_off_has_passed(client: Client, hr: User) -> None:
    fail(client, "hr", 5)
    assert sign_in(client, "hr").status_code == 429

    let_time_pass(16)

    assert signed_in(sign_in(client, "hr"))


def test_it_does_not_lock_a_colleague_at_the_same_address(client: Client, hr: User, head: User) -> None:
    fail(client, "hr", 5)

    assert signed_in(sign_in(client, "head"))


def test_it_does_not_lock_the_same_user_at_another_address(client: Client, hr: User) -> None:
    fail(client, "hr", 5)

    assert signed_in(sign_in(client, "hr", address="10.9.9.9"))


def test_it_locks_an_address_trying_many_usernames(client: Client, hr: User, settings: Any) -> None:
    settings.AXES_IP_FAILURE_LIMIT = 8
    for number in range(8):
        fail(client, f"guess{number}", 1)  # never five of one username

    assert sign_in(client, "hr").status_code == 429
    assert signed_in(sign_in(Client(), "hr", address="10.9.9.9"))


def test_it_forgets_a_users_failures_at_an_address_when_they_sign_in(client: Client, hr: User) -> None:
    fail(client, "hr", 4)
    assert signed_in(sign_in(Client(), "hr"))

    fail(client, "hr", 4)

    assert signed_in(sign_in(Client(), "hr"))


def test_it_keeps_the_failures_of_other_usernames_when_one_signs_in(client: Client, hr: User) -> None:
    fail(client, "guess", 3)

    sign_in(Client(), "hr")

    assert AccessAttempt.objects.filter(username="guess", ip_address=OFFICE).exists()


def test_it_reads_the_lockout_policy_from_the_environment() -> None:
    assert loaded("settings.AXES_FAILURE_LIMIT, settings.AXES_IP_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME",
                  AXES_FAILURE_LIMIT="3", AXES_IP_FAILURE_LIMIT="30", AXES_COOLOFF_MINUTES="60") == "3 30 1:00:00"


# --- HTTPS in production ------------------------------------------------------------------------

PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
TRANSPORT = ("settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT, "
             "settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_PROXY_SSL_HEADER")


def test_it_secures_the_transport_in_production_by_default() -> None:
    assert loaded(TRANSPORT, **PRODUCTION) == "True True True 31536000 False ('HTTP_X_FORWARDED_PROTO', 'https')"


def test_it_serves_a_plain_http_intranet_with_one_variable() -> None:
    assert loaded(TRANSPORT, **PRODUCTION, DJANGO_INSECURE_HTTP="1") == "False False False 0 False None"


def test_it_keeps_secure_cookies_in_production_whatever_the_older_cookie_variable_says() -> None:
    # docker-compose.yml passes DJANGO_SECURE_COOKIES=0 by default; only DJANGO_INSECURE_HTTP turns HTTPS off.
    assert loaded("settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE", **PRODUCTION,
                  DJANGO_SECURE_COOKIES="0") == "True True"


def test_it_uses_no_https_in_development() -> None:
    assert loaded(TRANSPORT) == "False False False 0 False None"


def test_it_passes_the_deploy_check_in_production(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in _APP_VARIABLES}
    env.update(PRODUCTION, DJANGO_SETTINGS_MODULE="config.settings", DJANGO_ALLOWED_HOSTS="appraisal.example.com",
               SQLITE_PATH=str(tmp_path / "db.sqlite3"))

    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_never_redirects_the_container_healthcheck_to_https(client: Client, db: None, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(LOGIN).status_code == 301
    assert client.get("/healthz/").status_code == 200


# --- Content-Security-Policy --------------------------------------------------------------------


def test_it_sends_a_content_security_policy_with_every_page(client: Client, hr: User) -> None:
    client.force_login(hr)

    policy = client.get("/people/")["Content-Security-Policy"]

    directives = dict(directive.strip().split(" ", 1) for directive in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_it_sends_the_policy_with_the_sign_in_page_too(client: Client, db: None) -> None:
    assert "script-src 'self'" in client.get(LOGIN)["Content-Security-Policy"]


# Chromium reports a violation in the console and as a securitypolicyviolation event; both are kept.
_WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));
"""


@pytest.mark.browser
def test_it_shows_no_policy_violation_in_a_real_browser(
    browser: Browser, live_server: Any, draft_period: Period  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    console: list[str] = []
    seen: list[str] = []
    for username in ("hr", "head"):
        page = _sign_in(browser, live_server.url, username)
        page.context.add_init_script(_WATCH_VIOLATIONS)
        page.on("console", lambda message: console.append(message.text))
        page.on("pageerror", lambda error: console.append(str(error)))
        if username == "hr":
            for path in ("/", "/people/", "/departments/", "/memberships/", "/periods/", "/import/", LOGIN, "/admin/",
                         "/admin/organizations/person/", "/admin/organizations/person/add/"):
                page.goto(path)
                seen += page.evaluate("window.__violations")
            page.goto("/periods/")
            page.click(f"#period-open-{draft_period.pk}")  # a form post and its redirect
            page.wait_for_url(re.compile(rf"/periods/{draft_period.pk}/$"))
            seen += page.evaluate("window.__violations")
        else:
            _open_the_employees_sheet(page)
            output = _line(page, "OUTPUT")
            output.locator('input[name="actual"]').fill("190")
            output.locator('input[name="actual"]').press("Tab")  # htmx swaps the line in
            expect(output.locator(".line-score")).to_have_text("95.00")
            seen += page.evaluate("window.__violations")

    assert seen == []
    assert [text for text in console if "Content Security Policy" in text] == []
