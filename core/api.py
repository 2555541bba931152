"""What every app's API answers the same way: a refusal in the current state (409) and the error
body shape, documented once for the schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


CONFLICT = OpenApiResponse(
    DetailSerializer,
    description="Refused in the current state, or the line changed since it was read; the message says which "
                "state, or who changed the line and when.",
)
FORBIDDEN = OpenApiResponse(DetailSerializer, description="The caller may see the line but not enter its data.")


def conflict(error: Exception) -> Response:
    """409 with the refusal's own message, which names the state and what blocks the step."""
    return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
