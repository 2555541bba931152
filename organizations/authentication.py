"""Who is calling, and how often they may: API tokens, the API's rate limits, and the lockout of
repeated failed sign-ins (django-axes). The limits and the lockout policy are settings (see
config/settings.py, "sign-in lockout" and "API throttling").
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import TYPE_CHECKING, Any

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from organizations.models import ApiToken

if TYPE_CHECKING:
    # Only for annotations: rest_framework.views imports this module (DEFAULT_AUTHENTICATION_CLASSES).
    from rest_framework.views import APIView

# --- API tokens ---------------------------------------------------------------------------------


class ApiTokenAuthentication(BaseAuthentication):
    """The middleware already resolved the token (it needs it to pick the tenant) and refused a
    revoked one, or one whose membership or organisation is inactive; DRF reads it here, and here
    a token of a deactivated user is refused too: deactivating someone must end their API access
    at once, without anyone having to find and revoke their tokens."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = getattr(request._request, "api_token", None)
        if token is None:
            return None
        user = request._request.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API token."))
        return (user, token)

    def authenticate_header(self, request: Request) -> str:
        return "Token"


# --- API throttling -----------------------------------------------------------------------------


class ApiTokenRateThrottle(SimpleRateThrottle):
    """settings.API_THROTTLE_RATE requests per API token; a browser signed in with a session counts
    per user. Anonymous requests are AnonymousRateThrottle's."""

    scope = "api_token"

    def get_rate(self) -> str:
        # Read per request rather than from DEFAULT_THROTTLE_RATES, which DRF copies at import.
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiToken):
            # The digest, not the row id: unique for ever, where an id may come back after a delete.
            ident = "token-" + request.auth.digest
        elif request.user is not None and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(AnonRateThrottle):
    """settings.API_ANON_THROTTLE_RATE requests per address, for requests without any sign-in."""

    def get_rate(self) -> str:
        return str(settings.API_ANON_THROTTLE_RATE)


# --- sign-in lockout (django-axes) --------------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    """The client's address for lockouts (AXES_CLIENT_IP_CALLABLE): the connection's, or behind
    settings.PROXY_COUNT proxies the X-Forwarded-For entry that many places from the right, as
    DRF's throttles read it (NUM_PROXIES). Anything that is not an address is ignored: the column
    it is stored in takes addresses only."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    forwarded = [entry.strip() for entry in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if settings.PROXY_COUNT and forwarded:
        candidate = forwarded[-min(settings.PROXY_COUNT, len(forwarded))]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return remote


class SignInLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, before the password is checked. Without a request (the test
    client's login(), a shell) there is no address to count against, so it stands aside; the
    sign-in page and the admin's always pass one."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)
        return None


def _failures(attempts: QuerySet[Any]) -> int:
    return int(attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0)


class SignInLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with the two rules of the lockout policy, each with its own
    limit, where axes has one limit for all of its lockout parameters:

    * AXES_FAILURE_LIMIT failures of one username from one address lock that username there;
    * AXES_IP_FAILURE_LIMIT failures from one address, any usernames, lock the address.

    Both count the failures of the cool-off window (AXES_COOLOFF_TIME back from now).
    """

    def _recent(self, request: HttpRequest, credentials: dict[str, Any] | None) -> list[tuple[QuerySet[Any], int]]:
        """(failures, limit) for each rule: this username at this address, then this address."""
        address = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
            attempt_time__gte=get_cool_off_threshold(request),
        )
        username = get_client_username(request, credentials)
        return [(address.filter(username=username), settings.AXES_FAILURE_LIMIT),
                (address, settings.AXES_IP_FAILURE_LIMIT)]

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """What axes compares with AXES_FAILURE_LIMIT: this username's failures at this address,
        or that limit itself once the address is over its own limit."""
        (user_here, _user_limit), (address, address_limit) = self._recent(request, credentials)
        failures = _failures(user_here)
        if _failures(address) >= address_limit:
            return max(failures, get_failure_limit(request, credentials))
        return failures

    def locked_until(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> dt.datetime | None:
        """When the lockout of this sign-in ends: the cool-off after the last failure of each rule
        that is over its limit (the later one if both are); None when none is."""
        cool_off = get_cool_off(request)
        ends = []
        for attempts, limit in self._recent(request, credentials):
            counted = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            if (counted["failures"] or 0) >= limit and counted["last"] is not None and cool_off is not None:
                ends.append(counted["last"] + cool_off)
        return max(ends, default=None)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """After a successful sign-in: that username's failures from that address only. Axes would
        clear the whole address, so one valid account would let a guesser reset the address rule."""
        count, _deleted = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]
            username=get_client_username(request, credentials),
        ).delete()
        return count


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The sign-in page again, status 429, saying until when signing in is blocked; django-axes
    answers a locked sign-in with it (AXES_LOCKOUT_CALLABLE)."""
    until = SignInLockoutHandler().locked_until(request, credentials)
    if until is None:
        message = _("Too many failed sign-in attempts. Please try again later.")
    else:
        # Shown to the minute, rounded up: trying again at the minute shown must work.
        shown = timezone.localtime(until + dt.timedelta(seconds=59)).replace(second=0, microsecond=0)
        message = _(
            "Too many failed sign-in attempts: signing in is blocked until %(time)s. Please try again after that."
        ) % {"time": format_date(shown, "Y-m-d H:i")}
    form = AuthenticationForm(request, initial={"username": get_client_username(request, credentials) or ""})
    context = {"form": form, "lockout_message": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
