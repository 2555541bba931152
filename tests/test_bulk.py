"""organizations.bulk.insert_rows: rows in, the same values back, on SQLite and PostgreSQL (COPY)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from organizations.bulk import insert_rows
from organizations.models import Person
from payroll.models import PayPolicy

AWKWARD = 'tab\t, "q", comma, back\\slash\nline\r\n中文 \\N'


def _person_row(world: Any, number: str, **values: Any) -> tuple[Any, ...]:
    row = {"organization_id": world.org.pk, "employee_no": number, "name": "甲", "department_id": world.production.pk,
           "team_id": None, "position": "", "level": "", "salary_band": "", "base_pay": None, "bank_account": "",
           "hire_date": None, "leave_date": None, "manager_id": None, "status": "active", **values}
    return tuple(row.values())


PERSON_FIELDS = ["organization_id", "employee_no", "name", "department_id", "team_id", "position", "level",
                 "salary_band", "base_pay", "bank_account", "hire_date", "leave_date", "manager_id", "status"]


def test_it_keeps_text_with_delimiters_quotes_backslashes_and_newlines(world_a: Any) -> None:
    insert_rows(Person, PERSON_FIELDS, [_person_row(world_a, "B1", name=AWKWARD)])
    with scope(organization=world_a.org):
        assert Person.objects.get(employee_no="B1").name == AWKWARD


def test_it_keeps_empty_text_apart_from_null(world_a: Any) -> None:
    insert_rows(Person, PERSON_FIELDS, [_person_row(world_a, "B2", position="", base_pay=None)])
    with scope(organization=world_a.org):
        position, pay = Person.objects.filter(employee_no="B2").values_list("position", "base_pay").get()
    assert (position, pay) == ("", None)


def test_it_keeps_decimals_and_dates_exactly(world_a: Any) -> None:
    insert_rows(Person, PERSON_FIELDS, [_person_row(world_a, "B3", base_pay=Decimal("4321.05"),
                                                    hire_date=dt.date(2024, 2, 29))])
    with scope(organization=world_a.org):
        person = Person.objects.get(employee_no="B3")
    assert (person.base_pay, person.hire_date) == (Decimal("4321.05"), dt.date(2024, 2, 29))


def test_it_keeps_json_and_aware_datetimes(world_a: Any) -> None:
    moment = dt.datetime(2025, 10, 31, 23, 59, 30, 123456, tzinfo=dt.UTC)
    components = [{"code": "p", "name": AWKWARD, "config": {"amount": "1.10", "list": [1, None, True]}}]
    insert_rows(PayPolicy, ["organization_id", "code", "version", "name", "department_type_id", "effective_from",
                            "effective_to", "components", "inputs", "text_inputs", "created_at"],
                [(world_a.org.pk, "J", 1, "策略", None, dt.date(2025, 1, 1), None, components, [], ["等级"], moment)])
    with scope(organization=world_a.org):
        policy = PayPolicy.objects.get(code="J")
    assert (policy.components, policy.text_inputs, policy.created_at) == (components, ["等级"], moment)


def test_it_inserts_every_row_in_one_statement_on_postgresql(world_a: Any) -> None:
    rows = [_person_row(world_a, f"M{n:05d}") for n in range(3000)]
    with CaptureQueriesContext(connection) as queries:
        count = insert_rows(Person, PERSON_FIELDS, iter(rows))
    with scope(organization=world_a.org):
        stored = Person.objects.filter(employee_no__startswith="M").count()
    assert (count, stored) == (3000, 3000)
    if connection.vendor == "postgresql":
        assert len(queries) == 1 and queries[0]["sql"].startswith("COPY")


def test_it_refuses_a_column_the_model_does_not_have(world_a: Any) -> None:
    with pytest.raises(ValueError, match="wage"):
        insert_rows(Person, ["organization_id", "wage"], [(world_a.org.pk, 1)])


def test_it_keeps_null_and_empty_apart_in_a_nullable_text_column(world_a: Any) -> None:
    historical = Person.history.model
    moment = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    fields = ["id", *PERSON_FIELDS, "history_date", "history_change_reason", "history_type", "history_user_id"]
    insert_rows(historical, fields, [(9001, *_person_row(world_a, "H1"), moment, None, "+", None),
                                     (9002, *_person_row(world_a, "H2"), moment, "", "~", None),
                                     (9003, *_person_row(world_a, "H3"), moment, AWKWARD, "~", None)])
    with scope(organization=world_a.org):
        reasons = dict(historical.objects.filter(id__in=[9001, 9002, 9003]).values_list("id", "history_change_reason"))
    assert reasons == {9001: None, 9002: "", 9003: AWKWARD}
