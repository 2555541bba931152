"""REST API of the organisation's API tokens (issue #17), the same services as the page: list,
issue (the response carries the key, once: only its digest is stored) and revoke. HR only (the
matrix's "membership" resource: a token is a member's sign-in for another system). Another
organisation's token or membership is 404 / "does not exist", as everywhere.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from organizations import services
from organizations.api import ScopedRelatedField, TenantViewSet
from organizations.models import ApiToken, Membership


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "membership", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text=_("What the token is for, e.g. the system that calls "
                                                             "the API."))
    membership = ScopedRelatedField(Membership, help_text=_("The member the token acts as, with their roles."))

    def validate_membership(self, membership: Membership) -> Membership:
        if not membership.is_active:
            raise serializers.ValidationError(_("Only an active member of this organization can hold an API token."))
        return membership


class ApiTokenIssuedSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text=_("The key, shown only in this response: send it as "
                                                            "'Authorization: Token <key>'."))

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The organisation's API tokens, newest first. Issuing one answers with its key, once;
    revoking one refuses its key from the next request on (revoking again changes nothing)."""

    model = ApiToken
    permission_resource = "membership"
    serializer_class = ApiTokenSerializer

    def scoped_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.order_by("-created_at", "-pk")

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenIssuedSerializer})
    def create(self, request: Request) -> Response:
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            token, key = services.create_api_token(acting_user=self.actor, **data.validated_data)
        token.key = key  # type: ignore[attr-defined]  # for this one response only, never stored
        return Response(ApiTokenIssuedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        token = services.revoke_api_token(token=self.get_object(), acting_user=self.actor)
        return Response(ApiTokenSerializer(token).data)
