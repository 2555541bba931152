"""Writing the organisation import: all of it in one transaction, or nothing.

Writing is bulk (bulk_create_with_history / bulk_update_with_history), so the number of queries
does not grow with the number of rows; every created or changed row gets an audit row with the
reason CHANGE_REASON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_scopes import scope
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from organizations.importing.checking import DepartmentRow, Existing, ImportPlan, PersonRow, Planner, load_existing
from organizations.importing.reading import ImportRejected, ImportRows, ImportSummary
from organizations.models import Department, Organization, Person, User
from organizations.tenancy import BULK_BATCH_SIZE

CHANGE_REASON = "excel import"


@dataclass(frozen=True)
class ImportResult:
    summary: ImportSummary


def apply_import(*, organization: Organization, parsed: ImportRows, acting_user: User | None) -> ImportResult:
    """Checks again, inside the transaction, then writes everything; with any problem nothing is
    written and ImportRejected carries the problems."""
    with scope(organization=organization), transaction.atomic():
        # Two imports into one organisation at once would race on the unique codes: take turns.
        # (A no-op on SQLite, which serialises writers anyway.)
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk", flat=True))
        plan = Planner(parsed, load_existing(organization)).plan()
        if plan.errors:
            raise ImportRejected(plan.errors, plan.summary)
        assert plan.existing is not None
        _write(organization, plan, plan.existing, acting_user)
    return ImportResult(summary=plan.summary)


def _write(organization: Organization, plan: ImportPlan, existing: Existing, acting_user: User | None) -> None:
    audit: dict[str, Any] = {"default_user": acting_user, "default_change_reason": CHANGE_REASON,
                             "batch_size": BULK_BATCH_SIZE}
    departments = _write_departments(organization, plan.departments, existing, audit)
    _write_people(organization, plan.people, existing, departments, audit)


def _write_departments(organization: Organization, rows: list[DepartmentRow], existing: Existing,
                       audit: dict[str, Any]) -> dict[str, Department]:
    """Creates the new departments with the parents that already exist, then points the others at
    parents created in this same pass (their ids exist only now). Returns all departments by code."""
    departments = dict(existing.departments)
    new_departments = [
        Department(
            organization=organization, code=row.code, name=row.values["name"],
            parent=departments.get(row.values.get("parent") or ""), department_type=row.values.get("department_type"),
        )
        for row in rows if row.existing is None
    ]
    if new_departments:
        departments.update((d.code, d) for d in bulk_create_with_history(new_departments, Department, **audit))

    changed: list[Department] = []
    fields: set[str] = set()
    for row in rows:
        if row.existing is None:
            department = departments[row.code]
            wanted_parent = row.values.get("parent")
            if wanted_parent and department.parent_id is None:
                department.parent = departments[wanted_parent]
                changed.append(department)
                fields.add("parent")
        elif row.changed_fields:
            for name in row.changed_fields:
                value = row.values[name]
                setattr(row.existing, name, departments[value] if name == "parent" and value else value)
            changed.append(row.existing)
            fields |= row.changed_fields
    if changed:
        bulk_update_with_history(changed, Department, sorted(fields), **audit)
    return departments


def _write_people(organization: Organization, rows: list[PersonRow], existing: Existing,
                  departments: dict[str, Department], audit: dict[str, Any]) -> None:
    """The same two passes as for departments, for managers created in this file."""
    people = dict(existing.people)
    new_people = [
        Person(
            organization=organization, employee_no=row.employee_no, name=row.values["name"],
            department=departments[row.values["department"]], team=row.values.get("team"),
            position=row.values.get("position", ""), level=row.values.get("level", ""),
            salary_band=row.values.get("salary_band", ""), base_pay=row.values.get("base_pay"),
            hire_date=row.values.get("hire_date"), leave_date=row.values.get("leave_date"),
            manager=people.get(row.values.get("manager") or ""),
            status=row.values.get("status", Person.Status.ACTIVE),
        )
        for row in rows if row.existing is None
    ]
    if new_people:
        people.update((p.employee_no, p) for p in bulk_create_with_history(new_people, Person, **audit))

    changed: list[Person] = []
    fields: set[str] = set()
    for row in rows:
        if row.existing is None:
            person = people[row.employee_no]
            wanted_manager = row.values.get("manager")
            if wanted_manager and person.manager_id is None:
                person.manager = people[wanted_manager]
                changed.append(person)
                fields.add("manager")
        elif row.changed_fields:
            for name in row.changed_fields:
                value = row.values[name]
                if name == "department":
                    value = departments[value]
                elif name == "manager":
                    value = people[value] if value else None
                setattr(row.existing, name, value)
            changed.append(row.existing)
            fields |= row.changed_fields
    if changed:
        bulk_update_with_history(changed, Person, sorted(fields), **audit)
