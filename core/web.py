"""Helpers the pages of every app share: who is acting and whether htmx asked.

Access control is not here: who may do what is ``organizations.permissions`` (``require``), which
rows a user sees is each app's selectors, and a page for another tenant's object is a 404 through
``organizations.access.get_visible_or_404``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


def acting_user(request: HttpRequest) -> Any:
    """The signed-in user a page acts for (pages behind ``tenant_page`` are signed in): the
    ``acting_user`` every service takes and writes into the audit trail."""
    return cast(AbstractBaseUser, request.user)


def is_htmx(request: HttpRequest) -> bool:
    """Whether the request came from htmx (django-htmx's middleware sets ``request.htmx``), so a
    page answers with the fragment it swaps instead of the whole page."""
    return bool(getattr(request, "htmx", False))


Processor = Callable[[HttpRequest], dict[str, Any]]


def once_per_request(processor: Processor) -> Processor:
    """A context processor whose answer is kept on the request. A page that renders a second
    template with the request (django-tables2's table does) would otherwise run every processor
    again: the memberships and the unread count twice a page."""
    kept = f"_context_{processor.__module__}_{processor.__qualname__}".replace(".", "_")

    @functools.wraps(processor)
    def wrapped(request: HttpRequest) -> dict[str, Any]:
        found: dict[str, Any] | None = request.__dict__.get(kept)
        if found is None:
            found = processor(request)
            request.__dict__[kept] = found
        return found

    return wrapped
