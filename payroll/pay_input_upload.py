"""Excel upload of a period's pay inputs: check every row (dry run), then write all or nothing.

Whoever keeps the figures (penalty points, idle days, graduates by class …) fills one sheet "计薪数据":

==========  =======================================================================================
column      meaning
==========  =======================================================================================
工号         the person's employee number; required; must be a person of the organisation
数据项       the input's name as the pay policies in force declare it (or its label, 基本工资 for
            base_salary); required
数值         the value: a number (at most four decimal places, negative allowed) for a number input,
            a text (at most 50 characters) for a text input; required
==========  =======================================================================================

Rules, as for the organisation import (organizations.importing) and the actuals upload
(appraisal.actuals): headers are matched after removing whitespace; unknown columns are HR's own
notes; empty rows are skipped; row numbers in errors are the ones Excel shows; a person and input
may appear once in a file. A 工号 that arrives as a number (LibreOffice turns 00104 into 104) and
matches nobody is named as such, never silently changed (core.excel.Identifiers, the rule of every
upload). The file may be an .xlsx, .xls or .ods (core.excel.read_workbook).

Flow: ``parse_pay_inputs(file)`` → ``validate_pay_inputs(period=, parsed=)`` (the dry run: every
problem with its row, column and value; nothing written) → ``apply_pay_inputs(period=, parsed=,
acting_user=)``, which checks again inside one transaction and writes every changed input through
payroll.services.save_pay_input (audited, an upsert), or raises PayInputsRejected and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appraisal.models import Period
from core.excel import (
    BadValue,
    Cell,
    Identifiers,
    ImportIssue,
    SheetRows,
    SourceRow,
    WorkbookRejected,
    cell_text,
    exact_decimal,
    read_sheet,
    read_workbook,
)
from organizations.models import Person, User
from payroll import services
from payroll.labels import INPUT_LABELS
from payroll.models import PayInput

SHEET = "计薪数据"
EMPLOYEE_NO = "工号"
INPUT = "数据项"
VALUE = "数值"
COLUMNS: tuple[str, ...] = (EMPLOYEE_NO, INPUT, VALUE)
COLUMN_ORDER = {header: index for index, header in enumerate(COLUMNS)}

_VALUE_FIELD = PayInput._meta.get_field("value")
PLACES: int = _VALUE_FIELD.decimal_places  # type: ignore[assignment]
MAX_DIGITS: int = _VALUE_FIELD.max_digits  # type: ignore[assignment]
TEXT_LENGTH: int = PayInput._meta.get_field("text").max_length  # type: ignore[assignment]


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Spreadsheet (.xlsx, .xls or .ods)"))
    action = forms.ChoiceField(choices=[("dry_run", gettext_lazy("Dry run")), ("apply", gettext_lazy("Apply"))])


@dataclass
class PayInputRows:
    sheet: SheetRows | None = None  # None: the workbook has no sheet 计薪数据
    errors: list[ImportIssue] = field(default_factory=list)


@dataclass(frozen=True)
class PayInputSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class _Change:
    row: int
    person: Person
    name: str
    value: Decimal | None
    text: str


@dataclass
class PayInputPlan:
    errors: list[ImportIssue]
    summary: PayInputSummary
    changes: list[_Change] = field(default_factory=list, repr=False)

    @property
    def is_valid(self) -> bool:
        return not self.errors


class PayInputsRejected(WorkbookRejected):
    """The file cannot be read, or has problems: nothing was written."""

    def __init__(self, errors: list[ImportIssue], summary: PayInputSummary | None = None) -> None:
        super().__init__(errors)
        self.summary = summary or PayInputSummary()


def parse_pay_inputs(file: IO[bytes] | bytes, *, name: str = "") -> PayInputRows:
    """Reads an uploaded workbook (.xlsx, .xls or .ods). Raises PayInputsRejected when the file cannot
    be read at all (too large, not a workbook, damaged); problems with headers are returned in ``.errors``."""
    try:
        grids = read_workbook(file, sheets=(SHEET,), limit=settings.IMPORT_MAX_BYTES, name=name)
    except WorkbookRejected as rejected:
        raise PayInputsRejected(rejected.errors) from None
    parsed = PayInputRows()
    if SHEET in grids:
        parsed.sheet = read_sheet(SHEET, grids[SHEET], COLUMN_ORDER, parsed.errors)
    return parsed


def parse_number(value: Cell) -> Decimal:
    """A number input's value: exact, at most as many places as the field keeps, negative allowed."""
    return exact_decimal(value, places=PLACES, max_digits=MAX_DIGITS)


def _names_by_label(names: set[str]) -> dict[str, str]:
    """What a clerk may write in 数据项: the name itself, or its label in Chinese or in English."""
    found = {name: name for name in names}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            found.update({str(INPUT_LABELS[name]): name for name in names if name in INPUT_LABELS})
    return found


class _Planner:
    def __init__(self, period: Period, parsed: PayInputRows) -> None:
        self.period, self.parsed = period, parsed
        self.errors: list[ImportIssue] = list(parsed.errors)
        self.numbers, self.texts = services.input_names(period)
        self.names = _names_by_label(self.numbers | self.texts)

    def error(self, row: int | None, column: str, value: Any, code: str, message: str) -> None:
        self.errors.append(ImportIssue(sheet=SHEET if row is not None or column else "", row=row, column=column,
                                       value=cell_text(value), code=code, message=message))

    def plan(self) -> PayInputPlan:
        sheet = self.parsed.sheet
        if self.period.state == Period.State.DRAFT:
            self.error(None, "", self.period.code, "draft_period",
                       _("Period %(period)s is a draft: inputs are entered once it is open.")
                       % {"period": self.period.code})
        if sheet is None:
            self.error(None, "", "", "no_sheets", _("The workbook needs a sheet named “%(sheet)s”.") % {"sheet": SHEET})
            return self._result([], rows=0)
        missing = [column for column in COLUMNS if column not in sheet.columns]
        for column in missing:
            self.error(sheet.header_row, column, "", "missing_column",
                       _("The column “%(column)s” is missing.") % {"column": column})
        if missing:
            return self._result([], rows=len(sheet.rows))
        if not sheet.rows:
            self.error(None, "", "", "empty", _("There are no rows to import."))
        people = {person.employee_no: person for person in Person.objects.all()}
        self.employee_numbers = Identifiers(people)
        changes: list[_Change] = []
        first_row: dict[tuple[int, str], int] = {}
        for row in sheet.rows:
            change = self._row(row, people)
            if change is None:
                continue
            key = (change.person.pk, change.name)
            if key in first_row:
                self.error(row.number, INPUT, row.values.get(INPUT), "duplicate",
                           _("This person and input already appear in row %(row)s.") % {"row": first_row[key]})
                continue
            first_row[key] = row.number
            changes.append(change)
        return self._result(changes, rows=len(sheet.rows))

    def _row(self, row: SourceRow, people: dict[str, Person]) -> _Change | None:
        raw_no, raw_name, raw_value = (row.values.get(column) for column in COLUMNS)
        person = self._person(row, raw_no, people)
        name = self.names.get(cell_text(raw_name))
        if cell_text(raw_name) == "":
            self.error(row.number, INPUT, "", "required", _("This column is required."))
        elif name is None:
            known = "、".join(sorted(self.names))
            self.error(row.number, INPUT, raw_name, "unknown_input",
                       _("No pay policy in force in %(period)s reads an input %(name)s; known inputs: %(known)s.")
                       % {"period": self.period.code, "name": cell_text(raw_name), "known": known})
        value, text = self._value(row, raw_value, name)
        if person is None or name is None or (value is None and not text):
            return None
        return _Change(row.number, person, name, value, text)

    def _person(self, row: SourceRow, raw: Cell, people: dict[str, Person]) -> Person | None:
        employee_no = cell_text(raw)
        if employee_no == "":
            self.error(row.number, EMPLOYEE_NO, "", "required", _("This column is required."))
            return None
        try:
            employee_no = self.employee_numbers.read(raw, column=EMPLOYEE_NO)
        except BadValue as bad:  # a number that matches nobody: core.excel's rule for every upload
            self.error(row.number, EMPLOYEE_NO, raw, bad.code, bad.message)
            return None
        person = people.get(employee_no)
        if person is None:
            self.error(row.number, EMPLOYEE_NO, raw, "unknown_person",
                       _("No person has the employee number %(no)s.") % {"no": employee_no})
        return person

    def _value(self, row: SourceRow, raw: Cell, name: str | None) -> tuple[Decimal | None, str]:
        if cell_text(raw) == "":
            self.error(row.number, VALUE, "", "required", _("This column is required."))
            return None, ""
        if name in self.texts:
            text = cell_text(raw)
            if len(text) > TEXT_LENGTH:
                self.error(row.number, VALUE, raw, "too_long",
                           _("At most %(max)s characters.") % {"max": TEXT_LENGTH})
                return None, ""
            return None, text
        try:
            return parse_number(raw), ""
        except BadValue as bad:
            self.error(row.number, VALUE, raw, bad.code, bad.message)
            return None, ""

    def _result(self, changes: list[_Change], *, rows: int) -> PayInputPlan:
        existing = {(entry.person_id, entry.name): entry for entry in PayInput.objects.filter(
            period=self.period, person__isnull=False, name__in={change.name for change in changes})}
        created = updated = 0
        written = []
        for change in changes:
            current = existing.get((change.person.pk, change.name))
            if current is None:
                created += 1
            elif current.value == change.value and current.text == change.text:
                continue
            else:
                updated += 1
            written.append(change)
        self.errors.sort(key=lambda e: (e.row or 0, COLUMN_ORDER.get(e.column, -1)))
        summary = PayInputSummary(rows=rows, created=created, updated=updated,
                                  unchanged=len(changes) - created - updated)
        return PayInputPlan(errors=self.errors, summary=summary, changes=written)


def validate_pay_inputs(*, period: Period, parsed: PayInputRows) -> PayInputPlan:
    """The dry run: every problem of every row, and what applying would change. Writes nothing."""
    return _Planner(period, parsed).plan()


def apply_pay_inputs(*, period: Period, parsed: PayInputRows, acting_user: User | None) -> PayInputPlan:
    """Checks again inside the transaction (the period locked), then writes every changed input
    through save_pay_input; with any problem nothing is written and PayInputsRejected carries them."""
    with transaction.atomic():
        current = Period.objects.select_for_update().get(pk=period.pk)
        plan = _Planner(current, parsed).plan()
        if plan.errors:
            raise PayInputsRejected(plan.errors, plan.summary)
        for change in plan.changes:
            services.save_pay_input(organization=current.organization, acting_user=acting_user, period=current,
                                    name=change.name, person=change.person, value=change.value, text=change.text)
    return plan
