"""The OpenAPI description: the token scheme, the answers every operation can give, id bounds, and
one language for the whole schema.

Registered when drf-spectacular imports it (organizations.apps), and named in settings:
REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS is ``ApiAutoSchema``, SPECTACULAR_SETTINGS'
DEFAULT_GENERATOR_CLASS is ``EnglishSchemaGenerator``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import translation
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, relations, serializers
from rest_framework.request import Request

from core.api import (
    ID_SCHEMA,
    NOT_FOUND,
    PERMISSION_DENIED,
    THROTTLED,
    UNAUTHORIZED,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_ERROR_SCHEMA,
    DetailSerializer,
)

JSON = "application/json"


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[misc]
    target_class = "organizations.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Token <key>: a key belongs to one membership, hence one organisation.",
        }


class EnglishSchemaGenerator(SchemaGenerator):
    """The schema in English whoever asks (a zh-Hans browser, ``?lang=``, ``manage.py spectacular
    --lang``): enum names, operation ids and every description are the same bytes for every caller,
    so a client generated today matches one generated tomorrow. drf-spectacular resolves the lazy
    translations before get_schema returns, inside the override."""

    def get_schema(self, request: Request | None = None, public: bool = False) -> dict[str, Any]:
        with translation.override("en"):
            schema: dict[str, Any] = super().get_schema(request=request, public=public)
            return schema


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus what every operation of this API really answers, so each
    operation need not repeat it (an operation's own description of a code is kept):

    * 400 with the field errors shape, where there is a body or a query parameter to refuse;
    * 401 and 403 where a caller must be signed in (every API operation);
    * 404 where a path names an object, or a page is asked for;
    * 409 for a delete (a record still in use is deactivated, not deleted);
    * 415 where there is a body (JSON, or multipart for the uploads);
    * 429 everywhere (per token or per address throttling), with Retry-After.

    Ids in paths and in bodies are documented with their real bounds, 1 to 2**63 − 1.
    """

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str,
                      registry: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, response in self._common_answers(operation).items():
            responses.setdefault(code, response)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _common_answers(self, operation: dict[str, Any]) -> dict[str, Any]:
        where = {parameter["in"] for parameter in operation.get("parameters", [])}
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        answers: dict[str, Any] = {}
        if has_body or "query" in where:
            answers["400"] = self._validation_error()
        if not all(isinstance(permission, permissions.AllowAny) for permission in self.view.get_permissions()):
            answers["401"] = self._detail(UNAUTHORIZED, "401")
            answers["403"] = self._detail(PERMISSION_DENIED, "403")
        if "path" in where or "page" in names:
            answers["404"] = self._detail(NOT_FOUND, "404")
        if self.method == "DELETE":
            answers["409"] = self._detail(OpenApiResponse(
                DetailSerializer, description="Still in use: deactivate it instead."), "409")
        if has_body:
            answers["415"] = self._detail(UNSUPPORTED_MEDIA_TYPE, "415")
        if self.view.get_throttles():
            answers["429"] = {**self._detail(THROTTLED, "429"), "headers": {"Retry-After": {
                "schema": {"type": "integer"}, "description": "Seconds to wait before the next request."}}}
        return answers

    def _detail(self, response: OpenApiResponse, code: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._get_response_for_code(response, code, media_types=[JSON])
        return answer

    def _validation_error(self) -> dict[str, Any]:
        component = ResolvedComponent(name="ValidationError", type=ResolvedComponent.SCHEMA,
                                      object="ValidationError", schema=VALIDATION_ERROR_SCHEMA)
        self.registry.register_on_missing(component)
        return {"content": {JSON: {"schema": component.ref}},
                "description": "The request was refused: the body names each refused field and why."}

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter.get("schema", {}).get("type") == "integer":
                parameter["schema"] = {**parameter["schema"], **ID_SCHEMA}
        return parameters

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, relations.PrimaryKeyRelatedField) and schema.get("type") == "integer":
            schema = {**schema, **ID_SCHEMA}
        if isinstance(schema.get("enum"), list) and "" not in schema["enum"] and _blank_in_model(field):
            # DRF drops allow_blank from read-only model fields, yet a blank choice is answered as "".
            schema = {**schema, "enum": [*schema["enum"], ""]}
        return schema


def _blank_in_model(field: Any) -> bool:
    """Whether a read-only choice field of a model serializer reads a model field that may be blank."""
    if not (isinstance(field, serializers.ChoiceField) and field.read_only):
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    try:
        return bool(model is not None and model._meta.get_field(field.source).blank)
    except FieldDoesNotExist:
        return False
