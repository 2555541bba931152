from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request


class ApiTokenAuthentication(BaseAuthentication):
    """The middleware already resolved the token (it needs it to pick the tenant); DRF just reads it."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        token = getattr(request._request, "api_token", None)
        if token is None:
            return None
        return (request._request.user, token)

    def authenticate_header(self, request: Request) -> str:
        return "Token"
