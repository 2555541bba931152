"""The OpenAPI schema as generated clients and validators read it, and the answers it promises
(issue #13, points 6 and 7): a valid document, the same in every language, one body type per
operation (JSON, multipart only for the uploads), every refusal documented, null where the API
answers null, downloads with their real media types. tests/test_schemathesis.py checks the live
answers against it; tests/test_api_client.py runs a generated client.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_scopes import scope
from openapi_spec_validator import validate
from rest_framework import serializers

from appraisal import api as appraisal_api
from appraisal import period_api, results_api
from appraisal.models import SheetLine
from indicators import api as indicators_api
from organizations import api as organizations_api
from organizations import import_api
from payroll import api as payroll_api
from tests.closing import close, make_policy, scored_period
from tests.conftest import World

API_MODULES = [organizations_api, import_api, indicators_api, appraisal_api, period_api, results_api, payroll_api]
METHODS = {"get", "put", "post", "patch", "delete"}
# The operations that upload a file: multipart, and only they.
UPLOADS = {"POST /api/imports/dry-run/", "POST /api/imports/apply/", "POST /api/periods/{id}/actuals/dry-run/",
           "POST /api/periods/{id}/actuals/apply/", "POST /api/appeals/"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def fetch(client: Client, **query: str) -> dict[str, Any]:
    response = client.get("/api/schema/", {"format": "json", **query})
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


@pytest.fixture
def schema(client: Client, db: None) -> dict[str, Any]:
    return fetch(client)


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_it_is_a_valid_openapi_document(schema: dict[str, Any]) -> None:
    validate(schema)  # raises on the first violation of the OpenAPI 3.0 specification


def test_it_is_the_same_document_whatever_the_callers_language(client: Client, db: None) -> None:
    chinese = fetch(client)  # the product's default language
    asked = fetch(client, lang="zh-hans")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = fetch(client)
    assert chinese == asked == english
    # English enum labels, so the names and descriptions a client is generated from never move.
    assert "* `draft` - draft" in english["components"]["schemas"]["PeriodStateEnum"]["description"]
    for label, operation in operations(english):
        assert operation["operationId"].isascii(), label


def test_it_reads_json_bodies_and_multipart_only_for_the_uploads(schema: dict[str, Any]) -> None:
    bodies = {label: list(operation["requestBody"]["content"])
              for label, operation in operations(schema) if "requestBody" in operation}
    assert {label for label, types_ in bodies.items() if types_ == ["multipart/form-data"]} == UPLOADS
    assert {label: types_ for label, types_ in bodies.items() if label not in UPLOADS and types_ != [
        "application/json"]} == {}


def test_it_documents_every_refusal_an_operation_can_give(schema: dict[str, Any]) -> None:
    missing = {}
    for label, operation in operations(schema):
        parameters = operation.get("parameters", [])
        expected = {"401", "403", "429"}
        if any(parameter["in"] == "path" for parameter in parameters) or any(
                parameter["name"] == "page" for parameter in parameters):
            expected.add("404")
        if "requestBody" in operation or any(parameter["in"] == "query" for parameter in parameters):
            expected.add("400")
        if "requestBody" in operation:
            expected.add("415")
        if label.startswith("DELETE"):
            expected.add("409")
        if expected - set(operation["responses"]):
            missing[label] = sorted(expected - set(operation["responses"]))
    assert missing == {}


def test_it_describes_field_errors_and_throttling(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/people/"]["post"]
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"}
    errors = schema["components"]["schemas"]["ValidationError"]
    assert errors["type"] == "object" and errors["additionalProperties"] == {}
    assert errors["properties"]["non_field_errors"] == {"type": "array", "items": {"type": "string"}}
    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_it_documents_ids_from_1(schema: dict[str, Any]) -> None:
    person = schema["paths"]["/api/people/{id}/"]["get"]["parameters"][0]
    assert person["schema"]["minimum"] == 1 and person["schema"]["maximum"] == 2**63 - 1
    assert schema["components"]["schemas"]["PersonRequest"]["properties"]["department"]["minimum"] == 1


def test_it_declares_null_where_the_api_answers_null(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["PayJob"]["properties"]["download"]["nullable"] is True  # null on computations
    assert components["Appeal"]["properties"]["attachment"]["nullable"] is True
    assert components["Appeal"]["properties"]["line_data"]["nullable"] is True


def _method_fields() -> Iterator[tuple[str, type[Any], str, serializers.SerializerMethodField]]:
    for module in API_MODULES:
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, serializers.Serializer) and cls.__module__ == module.__name__:
                for name, field in cls().fields.items():
                    if isinstance(field, serializers.SerializerMethodField):
                        yield module.__name__, cls, name, field


def test_every_method_field_that_may_answer_none_allows_null() -> None:
    found = list(_method_fields())
    assert found, "no SerializerMethodField found: the walk is broken"
    wrong = []
    for module, cls, name, field in found:
        returns = typing.get_type_hints(getattr(cls, field.method_name or f"get_{name}"))["return"]
        if (returns is type(None) or type(None) in typing.get_args(returns)) and not field.allow_null:
            wrong.append(f"{module}.{cls.__name__}.{name}")
    assert wrong == []


def test_it_documents_the_downloads_real_media_types(schema: dict[str, Any]) -> None:
    download = schema["paths"]["/api/pay-jobs/{id}/download/"]["get"]["responses"]["200"]["content"]
    assert set(download) == {XLSX, "text/csv"}


# --- answers the schema promises -----------------------------------------------------------------


def test_it_answers_a_form_body_with_415(api_for: Any, hr: Any) -> None:
    response = api_for(hr).post("/api/departments/", {"code": "X", "name": "X"}, format="multipart")
    assert response.status_code == 415
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(("method", "path"), [("get", "/api/people/0.5/"), ("post", "/api/periods/1.5/open/"),
                                              ("get", "/api/no-such-thing/")])
def test_it_answers_a_path_no_route_takes_with_a_json_404(api_for: Any, hr: Any, method: str, path: str) -> None:
    response = getattr(api_for(hr), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_it_refuses_data_on_a_line_of_a_closed_period_with_409(world_a: World, api_for: Any, hr: Any) -> None:
    # Raised IllegalTransition (a 500) before: the period no longer takes data.
    period = scored_period(world_a.org, {world_a.people["employee"]: "90"}, policy=make_policy(world_a.org))
    close(period)
    with scope(organization=world_a.org):
        line = SheetLine.objects.filter(sheet__period=period, sheet__person=world_a.people["employee"]).get()
    response = api_for(hr).patch(f"/api/lines/{line.pk}/", {"version": line.version, "actual": "95"})
    assert response.status_code == 409
    assert period.code in response.json()["detail"]
