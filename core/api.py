"""What every app's API answers the same way: a refusal in the current state (409), the error body
shapes and the id bounds, documented once for the schema (organizations.schema adds the answers
every operation can give: 400, 401, 403, 404, 415, 429)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

# The largest id: PostgreSQL's bigint, and SQLite's integer, end here.
MAX_ID = 2**63 - 1
ID_SCHEMA: dict[str, Any] = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


CONFLICT = OpenApiResponse(
    DetailSerializer,
    description="Refused in the current state, or the line changed since it was read; the message says which "
                "state, or who changed the line and when.",
)
FORBIDDEN = OpenApiResponse(DetailSerializer, description="The caller may see the line but not enter its data.")

# 400: DRF's field errors. Each refused field names its messages (a list of strings; for a nested
# object the same shape again, for a list of objects a list of such shapes); "non_field_errors"
# holds what concerns the body as a whole; "detail" a body that could not be read at all.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Field errors: every refused field (or query parameter) with its messages, a nested object of "
                   "the same shape for a nested field; non_field_errors for the request as a whole; detail when "
                   "the body could not be read.",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {},
}
UNAUTHORIZED = OpenApiResponse(
    DetailSerializer, description="No credentials, or an invalid or revoked API token (Authorization: Token <key>).")
PERMISSION_DENIED = OpenApiResponse(DetailSerializer, description="The caller's roles do not allow this.")
NOT_FOUND = OpenApiResponse(
    DetailSerializer, description="No such object for this caller (another organisation's, or one the caller may "
                                  "not see), or no such page.")
UNSUPPORTED_MEDIA_TYPE = OpenApiResponse(
    DetailSerializer, description="The body is not of the media type this operation reads.")
THROTTLED = OpenApiResponse(
    DetailSerializer, description="Too many requests for this token (or address); Retry-After says when to retry.")


@csrf_exempt  # it changes nothing, and a POST must get this 404, not the CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """404 for a path under /api/ that no route matches, an id that is not a number among them
    (/api/people/0.5/): JSON like every API answer, where Django would send its HTML page."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=status.HTTP_404_NOT_FOUND)


def readable_data(request: Request) -> Any:
    """The parsed body, or an empty one when it cannot be read (a malformed multipart body): for
    the uploads, whose 400 has its own shape (a report naming what is missing), not {"detail"}."""
    try:
        return request.data
    except exceptions.ParseError:
        return {}


def conflict(error: Exception) -> Response:
    """409 with the refusal's own message, which names the state and what blocks the step."""
    return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)


class Router(DefaultRouter):
    """Every app's API router: JSON only, so no ``.json`` twin of every route (a second URL per
    action that the schema does not document and the actions' signatures do not take)."""

    include_format_suffixes = False
