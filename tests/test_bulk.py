"""core.bulk.insert_rows: rows in, the same values back, on SQLite and PostgreSQL (COPY)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from core.bulk import (
    FEW_ROWS,
    HISTORY_COLUMNS,
    analyze,
    insert_rows,
    update_changes_with_history,
    update_rows,
    update_with_history,
)
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
                            "effective_to", "components", "inputs", "text_inputs", "created_at", "period_kind",
                            "requires_grade"],
                [(world_a.org.pk, "J", 1, "策略", None, dt.date(2025, 1, 1), None, components, [], ["等级"], moment,
                  "", True)])
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
    fields = ["id", *PERSON_FIELDS, *HISTORY_COLUMNS]
    insert_rows(historical, fields, [(9001, *_person_row(world_a, "H1"), moment, None, "+", None),
                                     (9002, *_person_row(world_a, "H2"), moment, "", "~", None),
                                     (9003, *_person_row(world_a, "H3"), moment, AWKWARD, "~", None)])
    with scope(organization=world_a.org):
        reasons = dict(historical.objects.filter(id__in=[9001, 9002, 9003]).values_list("id", "history_change_reason"))
    assert reasons == {9001: None, 9002: "", 9003: AWKWARD}


# --- update_rows / update_with_history ----------------------------------------------------------


def _people(world: Any, *numbers: str) -> list[Person]:
    insert_rows(Person, PERSON_FIELDS, [_person_row(world, n, position="岗位") for n in numbers])
    with scope(organization=world.org):
        return list(Person.objects.filter(employee_no__in=numbers).order_by("employee_no"))


def test_it_updates_the_named_columns_of_the_rows_given_and_nothing_else(world_a: Any) -> None:
    first, second, third = _people(world_a, "U1", "U2", "U3")
    count = update_rows(Person, ["name", "base_pay", "hire_date"],
                        [(first.pk, AWKWARD, Decimal("1234.56"), dt.date(2024, 2, 29)), (second.pk, "", None, None)])
    with scope(organization=world_a.org):
        rows = {p.employee_no: (p.name, p.base_pay, p.hire_date, p.position) for p in Person.objects.filter(
            employee_no__in=["U1", "U2", "U3"])}
    assert count == 2
    assert rows == {"U1": (AWKWARD, Decimal("1234.56"), dt.date(2024, 2, 29), "岗位"),
                    "U2": ("", None, None, "岗位"), "U3": ("甲", None, None, "岗位")}
    assert third.name == "甲"


def test_it_updates_json_columns(world_a: Any) -> None:
    insert_rows(PayPolicy, ["organization_id", "code", "version", "name", "department_type_id", "effective_from",
                            "effective_to", "components", "inputs", "text_inputs", "created_at", "period_kind",
                            "requires_grade"],
                [(world_a.org.pk, "U", 1, "策略", None, dt.date(2025, 1, 1), None, [], [], [],
                  dt.datetime.now(dt.UTC), "", True)])
    with scope(organization=world_a.org):
        policy = PayPolicy.objects.get(code="U")
        update_rows(PayPolicy, ["components"], [(policy.pk, [{"code": "p", "name": AWKWARD, "x": None}])])
        policy.refresh_from_db()
    assert policy.components == [{"code": "p", "name": AWKWARD, "x": None}]


def test_it_may_update_the_same_table_twice_in_one_transaction(world_a: Any) -> None:
    people = _people(world_a, *[f"U4{n:02d}" for n in range(FEW_ROWS + 1)])  # past the few rows: the scratch table
    update_rows(Person, ["name"], [(person.pk, "一") for person in people])
    update_rows(Person, ["name"], [(person.pk, "二") for person in people])
    with scope(organization=world_a.org):
        assert set(Person.objects.filter(pk__in=[p.pk for p in people]).values_list("name", flat=True)) == {"二"}


def test_it_updates_a_few_rows_without_the_scratch_table(world_a: Any) -> None:
    people = _people(world_a, *[f"U5{n:02d}" for n in range(FEW_ROWS)])
    with CaptureQueriesContext(connection) as queries:
        count = update_rows(Person, ["name"], [(p.pk, f"少{p.employee_no}") for p in people])
    with scope(organization=world_a.org):
        names = set(Person.objects.filter(pk__in=[p.pk for p in people]).values_list("name", flat=True))
    assert count == FEW_ROWS and names == {f"少{p.employee_no}" for p in people}
    assert not any("TEMPORARY" in query["sql"] or "COPY" in query["sql"] for query in queries.captured_queries)


def test_it_updates_in_a_fixed_number_of_statements_on_postgresql(world_a: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    people = _people(world_a, *[f"V{n:03d}" for n in range(120)])
    with CaptureQueriesContext(connection) as queries:
        update_rows(Person, ["name"], [(p.pk, f"新{p.employee_no}") for p in people])
    assert len(queries) <= 6  # savepoint, scratch table, COPY, UPDATE, drop, release


def test_it_refuses_to_update_a_column_the_model_does_not_have(world_a: Any) -> None:
    with pytest.raises(ValueError, match="salary"):
        update_rows(Person, ["salary"], [])


def test_it_writes_one_audit_row_per_instance_with_its_own_reason(world_a: Any, hr: Any) -> None:
    first, second = _people(world_a, "W1", "W2")
    first.name, second.name = "改一", "改二"
    first._change_reason = "更正"  # type: ignore[attr-defined]
    update_with_history([first, second], ["name"], acting_user=hr, reason="批量")
    with scope(organization=world_a.org):
        audit = {(h.employee_no, h.name, h.position, h.history_type, h.history_change_reason, h.history_user_id)
                 for h in Person.history.filter(employee_no__in=["W1", "W2"])}
        names = set(Person.objects.filter(employee_no__in=["W1", "W2"]).values_list("name", flat=True))
    assert names == {"改一", "改二"}
    assert audit == {("W1", "改一", "岗位", "~", "更正", hr.pk), ("W2", "改二", "岗位", "~", "批量", hr.pk)}


def test_it_writes_the_same_audit_rows_from_new_values_by_key_as_from_instances(world_a: Any, hr: Any) -> None:
    first, second = _people(world_a, "K1", "K2")
    first.name = "实例改"
    update_with_history([first], ["name"], acting_user=hr, reason="批量")
    update_changes_with_history(Person, ["name"], {second.pk: ("键改",)}, acting_user=hr, reason="批量")
    with scope(organization=world_a.org):
        audit = {h.employee_no: (h.name, h.position, h.department_id, h.base_pay, h.history_type,
                                 h.history_change_reason, h.history_user_id)
                 for h in Person.history.filter(employee_no__in=["K1", "K2"], history_type="~")}
        names = dict(Person.objects.filter(employee_no__in=["K1", "K2"]).values_list("employee_no", "name"))
    assert names == {"K1": "实例改", "K2": "键改"}
    assert audit["K2"][0] == "键改" and audit["K1"][1:] == audit["K2"][1:]  # every other field alike


def test_it_refreshes_the_planner_statistics_of_the_tables_given(world_a: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's")
    _people(world_a, *[f"A{n:03d}" for n in range(50)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Person._meta.db_table])
        before = cursor.fetchone()[0]
        analyze(Person)
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Person._meta.db_table])
        after = cursor.fetchone()[0]
    assert before != after and after >= 50
