"""Checking the organisation import: the dry run that finds every problem of every row.

``validate_import`` reads the organisation's current rows (one query per model) and hands them with
the parsed rows to the Planner, which reports each problem as an ImportIssue and works out what
applying would create and change. ``apply_import`` (writing.py) runs the same Planner again inside
its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django_scopes import scope

from core.excel import BadValue, Identifiers, ImportIssue, SheetRows, SourceRow, cell_text, parse_date
from organizations.importing.reading import (
    COLUMNS_BY_SHEET,
    DEPARTMENT_COLUMN,
    DEPARTMENTS_SHEET,
    PEOPLE_COLUMN,
    PEOPLE_SHEET,
    SHEET_ORDER,
    Column,
    ImportRows,
    ImportSummary,
    parse_base_pay,
    parse_status,
)
from organizations.models import Department, DepartmentType, Organization, Person, Team

# --------------------------------------------------------------------------------------------- data


@dataclass
class DepartmentRow:
    row: int
    code: str
    values: dict[str, Any]  # name: str, parent: code | None, department_type: DepartmentType | None
    existing: Department | None
    changed_fields: set[str] = field(default_factory=set)


@dataclass
class PersonRow:
    row: int
    employee_no: str
    values: dict[str, Any]  # department / manager as codes, team as a Team, the rest as field values
    existing: Person | None
    changed_fields: set[str] = field(default_factory=set)


@dataclass
class Existing:
    """The organisation's current rows, one query per model."""

    types: list[DepartmentType]
    departments: dict[str, Department]  # by code
    teams: dict[str, Team]  # by code
    team_by_id: dict[int, Team]
    people: dict[str, Person]  # by employee_no
    department_code_by_id: dict[int, str]
    employee_no_by_id: dict[int, str]


@dataclass
class ImportPlan:
    """The outcome of the dry run: every problem, and what applying would do."""

    errors: list[ImportIssue]
    summary: ImportSummary
    departments: list[DepartmentRow] = field(default_factory=list, repr=False)
    people: list[PersonRow] = field(default_factory=list, repr=False)
    existing: Existing | None = field(default=None, repr=False)

    @property
    def is_valid(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------- checking


def validate_import(*, organization: Organization, parsed: ImportRows) -> ImportPlan:
    """The dry run: every problem of every row, and the counts of what applying would do."""
    with scope(organization=organization):
        return Planner(parsed, load_existing(organization)).plan()


def load_existing(organization: Organization) -> Existing:
    # One query per model, whatever the size of the file or of the organisation.
    types = list(DepartmentType.objects.filter(organization=organization))
    departments = list(Department.objects.filter(organization=organization))
    teams = list(Team.objects.filter(organization=organization))
    people = list(Person.objects.filter(organization=organization))
    return Existing(
        types=types,
        departments={d.code: d for d in departments},
        teams={t.code: t for t in teams},
        team_by_id={t.pk: t for t in teams},
        people={p.employee_no: p for p in people},
        department_code_by_id={d.pk: d.code for d in departments},
        employee_no_by_id={p.pk: p.employee_no for p in people},
    )


class Planner:
    """One run of the checks over the parsed rows against the organisation's current rows. It
    collects every problem instead of stopping at the first: HR fixes the whole file in one go."""

    def __init__(self, parsed: ImportRows, existing: Existing) -> None:
        self.parsed = parsed
        self.existing = existing
        self.errors: list[ImportIssue] = list(parsed.errors)
        self.bad_rows: set[tuple[str, int]] = set()

    def error(self, sheet: str, row: int | None, column: str, value: Any, code: str, message: str) -> None:
        self.errors.append(ImportIssue(sheet=sheet, row=row, column=column, value=cell_text(value), code=code,
                                       message=message))
        if row is not None:
            self.bad_rows.add((sheet, row))

    def plan(self) -> ImportPlan:
        departments, people = self.parsed.departments, self.parsed.people
        if departments is None and people is None:
            self.error("", None, "", "", "no_sheets",
                       _("The workbook needs a sheet named “%(departments)s” or “%(people)s”.")
                       % {"departments": DEPARTMENTS_SHEET, "people": PEOPLE_SHEET})
        elif not (departments and departments.rows) and not (people and people.rows):
            self.error("", None, "", "", "empty", _("There are no rows to import."))
        department_rows = self._departments(departments) if departments is not None else []
        person_rows = self._people(people, departments) if people is not None else []

        # A row with any problem is not counted: the summary says what the good rows would do.
        department_rows = [r for r in department_rows if (DEPARTMENTS_SHEET, r.row) not in self.bad_rows]
        person_rows = [r for r in person_rows if (PEOPLE_SHEET, r.row) not in self.bad_rows]
        summary = ImportSummary(
            departments_created=sum(1 for r in department_rows if r.existing is None),
            departments_updated=sum(1 for r in department_rows if r.existing is not None and r.changed_fields),
            departments_unchanged=sum(1 for r in department_rows if r.existing is not None and not r.changed_fields),
            people_created=sum(1 for r in person_rows if r.existing is None),
            people_updated=sum(1 for r in person_rows if r.existing is not None and r.changed_fields),
            people_unchanged=sum(1 for r in person_rows if r.existing is not None and not r.changed_fields),
        )
        # As HR reads the sheet: by sheet, then row, then column from left to right.
        order = {(sheet, c.header): i for sheet, columns in COLUMNS_BY_SHEET.items() for i, c in enumerate(columns)}
        self.errors.sort(key=lambda e: (SHEET_ORDER.get(e.sheet, 9), e.row or 0, order.get((e.sheet, e.column), 99)))
        return ImportPlan(errors=self.errors, summary=summary, departments=department_rows, people=person_rows,
                          existing=self.existing)

    def _missing_columns(self, sheet: SheetRows) -> bool:
        missing = False
        for column in COLUMNS_BY_SHEET[sheet.name]:
            if column.required and column.header not in sheet.columns and (sheet.rows or sheet.columns):
                missing = True
                self.error(sheet.name, sheet.header_row, column.header, "", "missing_column",
                           _("The required column “%(column)s” is missing from sheet “%(sheet)s”.")
                           % {"column": column.header, "sheet": sheet.name})
        return missing

    def _required_text(self, sheet: str, row: SourceRow, column: Column) -> str:
        value = row.values.get(column.header)
        text = cell_text(value)
        if text == "" and column.required:
            self.error(sheet, row.number, column.header, value, "required", _("A value is required."))
        elif column.max_length is not None and len(text) > column.max_length:
            self.error(sheet, row.number, column.header, value, "too_long",
                       _("At most %(max)s characters.") % {"max": column.max_length})
            return ""
        return text

    def _identifier(self, sheet: str, row: SourceRow, header: str, text: str, identifiers: Identifiers, *,
                    may_create: bool = False) -> str:
        """``text``, unless the cell arrived as a number that names nothing known: then reported
        (core.excel.Identifiers, the rule of every upload) and "" (the row is not written)."""
        if not text:
            return text
        value = row.values.get(header)
        try:
            return identifiers.read(value, column=header, may_create=may_create)
        except BadValue as bad:
            self.error(sheet, row.number, header, value, bad.code, bad.message)
            return ""

    # ------------------------------------------------------------------------------ departments

    def _departments(self, sheet: SheetRows) -> list[DepartmentRow]:
        if self._missing_columns(sheet):
            return []  # without its key columns the sheet cannot be read row by row
        name_col, code_col = DEPARTMENT_COLUMN["name"], DEPARTMENT_COLUMN["code"]
        parent_h, type_h = DEPARTMENT_COLUMN["parent"].header, DEPARTMENT_COLUMN["department_type"].header
        first_row: dict[str, int] = {}
        planned: list[DepartmentRow] = []
        parent_codes: dict[str, str | None] = {}  # for the loop check, file rows only
        parent_rows: dict[str, DepartmentRow] = {}
        codes = Identifiers(self.existing.departments)
        for row in sheet.rows:
            code = self._identifier(sheet.name, row, code_col.header, self._required_text(sheet.name, row, code_col),
                                    codes, may_create=True)
            name = self._required_text(sheet.name, row, name_col)
            if code and code in first_row:
                self.error(sheet.name, row.number, code_col.header, code, "duplicate",
                           _("Department code %(code)s also appears on row %(row)s.")
                           % {"code": code, "row": first_row[code]})
                continue
            if code:
                first_row[code] = row.number
            values: dict[str, Any] = {"name": name}
            if parent_h in sheet.columns:
                values["parent"] = cell_text(row.values.get(parent_h)) or None
            if type_h in sheet.columns:
                values["department_type"] = self._department_type(sheet.name, row, type_h)
            if code:
                department_row = DepartmentRow(row=row.number, code=code, values=values,
                                                existing=self.existing.departments.get(code))
                planned.append(department_row)
                if "parent" in values:
                    parent_codes[code] = values["parent"]
                    parent_rows[code] = department_row

        known = Identifiers(set(self.existing.departments) | set(first_row))
        rows_by_number = {row.number: row for row in sheet.rows}
        for department_row in planned:
            parent = department_row.values.get("parent")
            if parent is None:
                continue
            if parent not in known.known:
                parent = self._identifier(sheet.name, rows_by_number[department_row.row], parent_h, parent, known)
            if not parent:
                continue  # arrived as a number that names no department: reported
            if parent == department_row.code:
                self.error(sheet.name, department_row.row, parent_h, parent, "own_parent",
                           _("A department cannot be its own parent."))
            elif parent not in known.known:
                self.error(sheet.name, department_row.row, parent_h, parent, "unknown_parent",
                           _("No department with code %(code)s in this file or in the organization.")
                           % {"code": parent})
        for code, loop in self._parent_loops(parent_codes).items():
            self.error(sheet.name, parent_rows[code].row, parent_h, parent_codes[code], "cycle",
                       _("The parent departments form a loop: %(loop)s.") % {"loop": " → ".join(loop)})
        for department_row in planned:
            department_row.changed_fields = self._department_changes(department_row)
        return planned

    def _department_type(self, sheet: str, row: SourceRow, header: str) -> DepartmentType | None:
        value = row.values.get(header)
        text = cell_text(value)
        if text == "":
            return None
        for department_type in self.existing.types:
            if department_type.code == text:
                return department_type
        for department_type in self.existing.types:
            if department_type.name == text:
                return department_type
        self.error(sheet, row.number, header, value, "unknown_type",
                   _("No department type with this code or name; the organization has: %(types)s.")
                   % {"types": "、".join(t.name for t in self.existing.types)})
        return None

    def _parent_loops(self, file_parents: dict[str, str | None]) -> dict[str, list[str]]:
        """Departments of the file that sit on a loop, once the file's parents replace the current
        ones, each with the loop to show. Self-parents are reported on their own."""
        parent_of: dict[str, str | None] = {
            code: self.existing.department_code_by_id.get(d.parent_id) if d.parent_id else None
            for code, d in self.existing.departments.items()
        }
        parent_of.update(file_parents)
        on_loop: dict[str, list[str]] = {}
        done: set[str] = set()
        for start in file_parents:
            path: list[str] = []
            index: dict[str, int] = {}
            node: str | None = start
            while node is not None and node not in done and node not in index:
                index[node] = len(path)
                path.append(node)
                node = parent_of.get(node)
            if node is not None and node in index:
                loop = path[index[node]:]
                if len(loop) > 1:
                    for code in loop:
                        if code in file_parents:
                            at = loop.index(code)
                            on_loop[code] = [*loop[at:], *loop[:at], code]
            done.update(path)
        return on_loop

    def _department_changes(self, department_row: DepartmentRow) -> set[str]:
        current = department_row.existing
        if current is None:
            return set()
        changed = set()
        values = department_row.values
        if values["name"] != current.name:
            changed.add("name")
        if "parent" in values:
            current_parent = self.existing.department_code_by_id.get(current.parent_id) if current.parent_id else None
            if values["parent"] != current_parent:
                changed.add("parent")
        if "department_type" in values:
            wanted = values["department_type"].pk if values["department_type"] else None
            if wanted != current.department_type_id:
                changed.add("department_type")
        return changed

    # ----------------------------------------------------------------------------------- people

    def _people(self, sheet: SheetRows, departments: SheetRows | None) -> list[PersonRow]:
        if self._missing_columns(sheet):
            return []
        cols = PEOPLE_COLUMN
        code_h = DEPARTMENT_COLUMN["code"].header
        file_departments: set[str] = set()
        # A 部门 sheet without its code column was reported once; do not flag every person as well.
        departments_unreadable = departments is not None and code_h not in departments.columns
        if departments is not None:
            file_departments = {cell_text(r.values.get(code_h)) for r in departments.rows} - {""}
        known_departments = Identifiers(set(self.existing.departments) | file_departments)
        file_people = {cell_text(r.values.get(cols["employee_no"].header)) for r in sheet.rows} - {""}
        known_people = Identifiers(set(self.existing.people) | file_people)
        employee_numbers = Identifiers(self.existing.people)

        first_row: dict[str, int] = {}
        planned: list[PersonRow] = []
        for row in sheet.rows:
            employee_no = self._identifier(sheet.name, row, cols["employee_no"].header, self._required_text(
                sheet.name, row, cols["employee_no"]), employee_numbers, may_create=True)
            name = self._required_text(sheet.name, row, cols["name"])
            department = self._identifier(sheet.name, row, cols["department"].header, self._required_text(
                sheet.name, row, cols["department"]), known_departments)
            if employee_no and employee_no in first_row:
                self.error(sheet.name, row.number, cols["employee_no"].header, employee_no, "duplicate",
                           _("Employee number %(code)s also appears on row %(row)s.")
                           % {"code": employee_no, "row": first_row[employee_no]})
                continue
            if employee_no:
                first_row[employee_no] = row.number
            if department and department not in known_departments.known and not departments_unreadable:
                self.error(sheet.name, row.number, cols["department"].header, department, "unknown_department",
                           _("No department with code %(code)s in this file or in the organization.")
                           % {"code": department})
            existing = self.existing.people.get(employee_no) if employee_no else None
            values: dict[str, Any] = {"name": name, "department": department}
            for key in ("position", "level", "salary_band"):
                if cols[key].header in sheet.columns:
                    values[key] = self._required_text(sheet.name, row, cols[key])
            self._cell(sheet, row, cols["base_pay"], values, parse_base_pay)
            self._cell(sheet, row, cols["hire_date"], values, parse_date)
            self._cell(sheet, row, cols["leave_date"], values, parse_date)
            self._cell(sheet, row, cols["status"], values, parse_status)
            self._team(sheet, row, cols["team"], values, existing)
            self._manager(sheet, row, cols["manager"], values, employee_no, known_people)
            self._leave_after_hire(sheet, row, cols["leave_date"], values, existing)
            if employee_no:
                person_row = PersonRow(row=row.number, employee_no=employee_no, values=values, existing=existing)
                person_row.changed_fields = self._person_changes(person_row)
                planned.append(person_row)
        return planned

    def _cell(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any], parse: Any) -> None:
        if column.header not in sheet.columns:
            return
        value = row.values.get(column.header)
        try:
            values[column.field] = parse(value)
        except BadValue as bad:
            self.error(sheet.name, row.number, column.header, value, bad.code, bad.message)

    def _team(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any],
              existing: Person | None) -> None:
        department = values["department"]
        if column.header not in sheet.columns:
            # Team left as it is: it must still belong to the (possibly new) department.
            if existing is not None and existing.team_id is not None and department:
                team = self.existing.team_by_id.get(existing.team_id)
                if team is not None and self.existing.department_code_by_id.get(team.department_id) != department:
                    self.error(sheet.name, row.number, PEOPLE_COLUMN["department"].header, department, "team_mismatch",
                               _("The person's team %(team)s belongs to another department; add a “%(column)s” "
                                 "column to change or clear it.") % {"team": team.code, "column": column.header})
            return
        value = row.values.get(column.header)
        code = cell_text(value)
        if code == "":
            values["team"] = None
            return
        team = self.existing.teams.get(code)
        if team is None:
            self.error(sheet.name, row.number, column.header, value, "unknown_team",
                       _("No team or shift with code %(code)s in the organization; the import does not create teams.")
                       % {"code": code})
            return
        team_department = self.existing.department_code_by_id.get(team.department_id, "")
        if department and team_department != department:
            self.error(sheet.name, row.number, column.header, value, "team_mismatch",
                       _("Team %(team)s belongs to department %(department)s, not to %(expected)s.")
                       % {"team": code, "department": team_department, "expected": department})
            return
        values["team"] = team

    def _manager(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any],
                 employee_no: str, known_people: Identifiers) -> None:
        if column.header not in sheet.columns:
            return
        value = row.values.get(column.header)
        manager = cell_text(value)
        if manager not in known_people.known:
            manager = self._identifier(sheet.name, row, column.header, manager, known_people)
            if not manager and cell_text(value):
                return  # arrived as a number that names nobody: reported
        if manager == "":
            values["manager"] = None
        elif manager == employee_no:
            self.error(sheet.name, row.number, column.header, value, "own_manager",
                       _("A person cannot be their own manager."))
        elif manager not in known_people.known:
            self.error(sheet.name, row.number, column.header, value, "unknown_manager",
                       _("No person with employee number %(code)s in this file or in the organization.")
                       % {"code": manager})
        else:
            values["manager"] = manager

    def _leave_after_hire(self, sheet: SheetRows, row: SourceRow, column: Column, values: dict[str, Any],
                          existing: Person | None) -> None:
        # Compare what the row will hold after the import, taking absent columns from the database.
        hire = values["hire_date"] if "hire_date" in values else getattr(existing, "hire_date", None)
        leave = values["leave_date"] if "leave_date" in values else getattr(existing, "leave_date", None)
        if hire and leave and leave < hire:
            # Point at the column the sheet has: a new hire date can clash with a stored leave date.
            at = column if column.header in sheet.columns else PEOPLE_COLUMN["hire_date"]
            self.error(sheet.name, row.number, at.header, row.values.get(at.header), "leave_before_hire",
                       _("The leave date is before the hire date (%(hire_date)s).") % {"hire_date": hire.isoformat()})

    def _person_changes(self, person_row: PersonRow) -> set[str]:
        current = person_row.existing
        if current is None:
            return set()
        changed = set()
        for key, wanted in person_row.values.items():
            if key == "department":
                now: Any = self.existing.department_code_by_id.get(current.department_id)
            elif key == "manager":
                now = self.existing.employee_no_by_id.get(current.manager_id) if current.manager_id else None
            elif key == "team":
                now, wanted = current.team_id, wanted.pk if wanted else None
            else:
                now = getattr(current, key)
            if wanted != now:
                changed.add(key)
        return changed
