"""The standard pay inputs: what a pay run supplies to every person without anyone typing it.

Besides the engine's own (base_salary, score, grade_coefficient, grade, level, role) a pay run
supplies, set-based (a fixed number of queries for the whole period, whatever the head count):

* period facts: ``year``, ``month`` (1–12, counted from the month the year starts in: the last
  month the period covers), ``calendar_month``, ``quarter``, ``half``, ``is_quarter_end``,
  ``is_half_end``, ``is_year_end`` (1 or 0), ``period_months`` (1, 3, 6, 12), ``days_in_period``
  and the text ``period_kind`` (monthly, quarterly, half_yearly, annual);
* person facts: ``days_worked`` (calendar days of the period between the hire and the leave
  date), ``left_in_period`` and ``left_in_year`` (1 or 0, from the leave date), ``years_of_service``
  (whole years from the hire date to the period's end; not supplied without a hire date),
  ``salary_grade`` (when set) and the texts ``position`` and ``salary_band``;
* unit results (score, coefficient, rank; the grade as a text): ``dept_*`` the person's department,
  ``team_*`` their team or shift, ``unit_*`` the nearest of those with a result (team, department,
  then up the tree), ``dept_up1_*`` … ``dept_up3_*`` the parent, grandparent, great-grandparent
  department, ``dept_type_<TYPE>_*`` the department itself or its nearest ancestor of department
  type TYPE. A unit without a result in the period leaves its names missing (named by the run);
* the score sheet: ``sheet_points`` (the sheet's score at close), ``sheet_money`` (Σ the lines'
  money: deductions negative, awards positive), ``line_<CODE>_points`` and ``line_<CODE>_money``
  for each indicator code (lines of one indicator added up; a line not on the person's sheet
  reads 0).

* sums of pay inputs, for every number input a policy declares (``passed``): ``ytd_passed`` (the
  person's inputs of that name over the periods of the same kind in the (fiscal) year so far, this
  one included: S1-2's graduates of the year), ``dept_sum_passed`` and ``team_sum_passed`` (the
  period's inputs of the people of the person's department / team, the person included: a group
  leader paid on the group's results), each 0 when nobody has one; and ``dept_headcount`` and
  ``team_headcount`` (the people of the department / team assessed in the period, those exempt
  not counted: S1-6);
* standing parameters (organizations.standing, effective-dated, entered once): a person's by its
  own name (``seniority``, ``skill``), their department's as ``dept_param_<name>``
  (``dept_param_business``), each the value in force on the period's last day. A period's pay input
  of the same name overrides it: the person's own (``skill`` for that person), or for a department
  parameter the department's input ``dept_param_<name>`` (or the person's). No value in force and
  no input leaves the name missing (named by the run).

CODE and TYPE are the indicator's and department type's codes made into names: every character
other than a letter, a digit or _ becomes _ ("MNT-E" → line_MNT_E_money). Which of these names an
organisation's policies may use follows from its indicators and department types
and standing parameters (:func:`organisation_names`); any other name stays a typo and is refused
when the policy is saved.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from appraisal.choices import SpecialStatus
from appraisal.models import Period, Result, SheetLine
from appraisal.periods import MONTHS_PER_PERIOD, period_bounds
from indicators.models import Indicator, SubjectKind
from organizations import standing_selectors
from organizations.models import Department, DepartmentType
from organizations.standing import PAY_PREFIX
from payroll.engine.policy import STANDARD_NUMBERS, STANDARD_TEXTS

ZERO = Decimal("0.00")
ONE, NOUGHT = Decimal(1), Decimal(0)

PERIOD_NUMBERS = ("year", "month", "calendar_month", "quarter", "half", "is_quarter_end", "is_half_end",
                  "is_year_end", "period_months", "days_in_period")
PERIOD_TEXTS = ("period_kind",)
PERSON_NUMBERS = ("days_worked", "left_in_period", "left_in_year", "years_of_service", "salary_grade")
PERSON_TEXTS = ("position", "salary_band")
SHEET_NUMBERS = ("sheet_points", "sheet_money")
HEADCOUNTS = ("dept_headcount", "team_headcount")
# name prefix → the sum it reads (InputSums); a policy may use each with any number input it declares
SUM_PREFIXES = ("ytd_", "dept_sum_", "team_sum_")
UNIT_NUMBER_FIELDS = ("score", "coefficient", "rank")
UNIT_TEXT_FIELDS = ("grade",)
UP_LEVELS = 3
UNITS = ("dept", "team", "unit", *(f"dept_up{n}" for n in range(1, UP_LEVELS + 1)))

FIXED_NUMBERS = (*PERIOD_NUMBERS, *PERSON_NUMBERS, *SHEET_NUMBERS, *HEADCOUNTS,
                 *(f"{unit}_{field}" for unit in UNITS for field in UNIT_NUMBER_FIELDS))
FIXED_TEXTS = (*PERIOD_TEXTS, *PERSON_TEXTS, *(f"{unit}_{field}" for unit in UNITS for field in UNIT_TEXT_FIELDS))

_UNSAFE = re.compile(r"\W")
_LINE = re.compile(r"^line_(.+)_(points|money)$")
_UNIT = re.compile(r"^(dept|team|unit|dept_up\d|dept_type_.+)_(score|coefficient|rank|grade)$")


def safe(code: str) -> str:
    """A code as part of a name: anything but a letter, a digit or _ becomes _."""
    return _UNSAFE.sub("_", code)


def line_names(code: str) -> tuple[str, str]:
    return f"line_{safe(code)}_points", f"line_{safe(code)}_money"


def type_names(code: str) -> tuple[list[str], list[str]]:
    prefix = f"dept_type_{safe(code)}"
    return [f"{prefix}_{field}" for field in UNIT_NUMBER_FIELDS], [f"{prefix}_{field}" for field in UNIT_TEXT_FIELDS]


@dataclass(frozen=True)
class Names:
    """The standard names an organisation's policies may use (compile_policy's ``standard=``)."""

    numbers: tuple[str, ...]
    texts: tuple[str, ...]

    def with_sums(self, inputs: Iterable[str]) -> tuple[str, ...]:
        """The number names of a policy declaring ``inputs``: these and the sums of each input."""
        return (*self.numbers, *sum_names(inputs))


def sum_names(inputs: Iterable[str]) -> tuple[str, ...]:
    """ytd_<input>, dept_sum_<input> and team_sum_<input> of each declared number input."""
    return tuple(prefix + name for name in inputs for prefix in SUM_PREFIXES)


def organisation_names(organization_id: int) -> Names:
    """The fixed standard names plus those of the organisation's indicators, department types and
    standing parameters: three queries."""
    numbers, texts = list(FIXED_NUMBERS), list(FIXED_TEXTS)
    seen = set(numbers)
    for code in Indicator.objects.filter(organization_id=organization_id).order_by("code").values_list(
            "code", flat=True).distinct():
        for name in line_names(code):
            if name not in seen:
                seen.add(name)
                numbers.append(name)
    for code in DepartmentType.objects.filter(organization_id=organization_id).order_by("code").values_list(
            "code", flat=True):
        more_numbers, more_texts = type_names(code)
        numbers.extend(more_numbers)
        texts.extend(more_texts)
    seen.update(numbers)
    numbers.extend(sorted(name for name in standing_names() if name not in seen))
    return Names(tuple(numbers), tuple(texts))


# --- standing parameters -------------------------------------------------------------------------


def standing_names() -> set[str]:
    """The pay names of the organisation's standing parameters (one query, in the tenant's scope)."""
    people, departments = standing_selectors.names()
    return people | {PAY_PREFIX + name for name in departments}


_SUPPLIED = frozenset({*FIXED_NUMBERS, *FIXED_TEXTS, *STANDARD_NUMBERS, *STANDARD_TEXTS})


def _supplied(name: str) -> bool:
    """Whether the pay run supplies ``name`` itself (a fact, a unit result, a line, a sum, the engine's own)."""
    return name in _SUPPLIED or bool(_LINE.match(name) or _UNIT.match(name)) or name.startswith(SUM_PREFIXES)


def reserved_name(name: str) -> str:
    """Why a standing parameter may not be called ``name`` (a standard input already supplies it), or ""
    (registered with organizations.standing.reserve_names)."""
    if _supplied(name):
        return _('The pay run already supplies "%(name)s" as a standard input: choose another name.') % {"name": name}
    return ""


class StandingValues:
    """The standing parameters the policies read, in force on the period's last day: one query for
    everyone (two when a department parameter is read: the period's department inputs of those
    names override), none when no policy reads one. ``needed``: the names the policies read."""

    def __init__(self, period: Period, needed: set[str]) -> None:
        department_names = {name[len(PAY_PREFIX):] for name in needed if name.startswith(PAY_PREFIX)}
        person_names = {name for name in needed if not name.startswith(PAY_PREFIX)}
        self.people, departments = standing_selectors.values_on(period.end, person_names=person_names,
                                                                  department_names=department_names)
        overridden: set[tuple[int, str]] = set()
        if department_names:
            # Through the period's relation: payroll.models imports this module (no cycle).
            overridden = set(period.pay_inputs.filter(  # type: ignore[attr-defined]
                department__isnull=False,
                name__in=[PAY_PREFIX + name for name in department_names]).values_list("department_id", "name"))
        self.departments = {
            department_id: {PAY_PREFIX + name: value for name, value in values.items()
                            if (department_id, PAY_PREFIX + name) not in overridden}
            for department_id, values in departments.items()}

    def __bool__(self) -> bool:
        return bool(self.people or self.departments)

    def of(self, person_id: int, department_id: int) -> dict[str, Decimal]:
        return {**self.departments.get(department_id, {}), **self.people.get(person_id, {})}


# --- period and person facts -----------------------------------------------------------------------


def _flag(condition: bool) -> Decimal:
    return ONE if condition else NOUGHT


def period_facts(period: Period) -> dict[str, Any]:
    """The period's facts; months count from the month the (fiscal) year starts in."""
    months = MONTHS_PER_PERIOD[period.kind]
    month = period.number * months  # the last month of the year the period covers
    return {
        "year": Decimal(period.year), "month": Decimal(month), "calendar_month": Decimal(period.end.month),
        "quarter": Decimal((month + 2) // 3), "half": Decimal((month + 5) // 6),
        "is_quarter_end": _flag(month % 3 == 0), "is_half_end": _flag(month % 6 == 0),
        "is_year_end": _flag(month == 12), "period_months": Decimal(months),
        "days_in_period": Decimal((period.end - period.start).days + 1), "period_kind": period.kind,
    }


def year_start(period: Period) -> dt.date:
    return period_bounds("annual", period.year, 1, period.start_day, period.start_month)[0]


def person_facts(period: Period, first_of_year: dt.date, *, hire: dt.date | None, leave: dt.date | None,
                 position: str, band: str, salary_grade: int | None) -> dict[str, Any]:
    """One person's facts for the period (no query: the dates come with the run's results)."""
    first = max(period.start, hire) if hire else period.start
    last = min(period.end, leave) if leave else period.end
    facts: dict[str, Any] = {
        "days_worked": Decimal(max((last - first).days + 1, 0)),
        "left_in_period": _flag(leave is not None and period.start <= leave <= period.end),
        "left_in_year": _flag(leave is not None and first_of_year <= leave <= period.end),
        "position": position or "", "salary_band": band or "",
    }
    if hire is not None:
        end = period.end
        years = end.year - hire.year - ((end.month, end.day) < (hire.month, hire.day))
        facts["years_of_service"] = Decimal(max(years, 0))
    if salary_grade is not None:
        facts["salary_grade"] = Decimal(salary_grade)
    return facts


# --- unit results -------------------------------------------------------------------------------


class UnitResults:
    """Every team's and department's result of a period and the department tree: two queries,
    then each person's unit names from memory."""

    def __init__(self, period: Period) -> None:
        self.teams: dict[int, dict[str, Any]] = {}
        self.departments: dict[int, dict[str, Any]] = {}
        for kind, team_id, department_id, score, grade, coefficient, rank in Result.objects.filter(
                period=period, subject_kind__in=[SubjectKind.TEAM, SubjectKind.DEPARTMENT]).values_list(
                "subject_kind", "sheet__team_id", "sheet__department_id", "final_score", "grade", "coefficient",
                "rank"):
            fields = {"score": score, "coefficient": coefficient, "rank": None if rank is None else Decimal(rank),
                      "grade": grade or None}
            if kind == SubjectKind.TEAM:
                self.teams[team_id] = fields
            else:
                self.departments[department_id] = fields
        self.tree: dict[int, tuple[int | None, str]] = {
            pk: (parent, type_code or "") for pk, parent, type_code in
            Department.objects.values_list("pk", "parent_id", "department_type__code")}
        self._memo: dict[tuple[int, int | None], dict[str, Any]] = {}

    def _chain(self, department_id: int) -> list[int]:
        chain, seen = [], set()
        node: int | None = department_id
        while node is not None and node not in seen and node in self.tree:
            chain.append(node)
            seen.add(node)
            node = self.tree[node][0]
        return chain

    def names(self, department_id: int, team_id: int | None) -> dict[str, Any]:
        key = (department_id, team_id)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._names(department_id, team_id)
        return found

    def _names(self, department_id: int, team_id: int | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        chain = self._chain(department_id)
        team = self.teams.get(team_id) if team_id is not None else None
        _put(values, "team", team)
        _put(values, "dept", self.departments.get(department_id))
        for level, ancestor in enumerate(chain[1:UP_LEVELS + 1], start=1):
            _put(values, f"dept_up{level}", self.departments.get(ancestor))
        nearest = team or next((self.departments[d] for d in chain if d in self.departments), None)
        _put(values, "unit", nearest)
        for ancestor in reversed(chain):  # the nearest of a type wins: written last
            type_code = self.tree[ancestor][1]
            if type_code:
                _put(values, f"dept_type_{safe(type_code)}", self.departments.get(ancestor), clear=True)
        return values


def _put(values: dict[str, Any], prefix: str, fields: Mapping[str, Any] | None, *, clear: bool = False) -> None:
    for field in (*UNIT_NUMBER_FIELDS, *UNIT_TEXT_FIELDS):
        value = None if fields is None else fields[field]
        if value is not None:
            values[f"{prefix}_{field}"] = value
        elif clear:
            values.pop(f"{prefix}_{field}", None)


def reads_units(names: Iterable[str]) -> bool:
    return any(_UNIT.match(name) for name in names)


# --- score sheet lines ---------------------------------------------------------------------------


def line_codes(names: Iterable[str]) -> set[str]:
    """The safe indicator codes of the line names among ``names``."""
    return {match.group(1) for name in names if (match := _LINE.match(name))}


def sheet_lines(period: Period, needed: Iterable[str]) -> dict[int, dict[str, Decimal | None]]:
    """Person id → sheet_money and the line_<CODE>_points / _money names the policies read: one
    query (none when no policy reads them). An unscored line's points are missing (None)."""
    needed = set(needed)
    codes = line_codes(needed)
    if not codes and "sheet_money" not in needed:
        return {}
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    unscored: set[tuple[int, str]] = set()
    for person_id, code, points, money in SheetLine.objects.filter(
            sheet__period=period, sheet__subject_kind=SubjectKind.PERSON).values_list(
            "sheet__person_id", "indicator__code", "score", "money"):
        mine = values[person_id]
        mine["sheet_money"] = mine.get("sheet_money", ZERO) + money
        code = safe(code)
        if code not in codes:
            continue
        points_name, money_name = f"line_{code}_points", f"line_{code}_money"
        mine[money_name] = mine.get(money_name, ZERO) + money
        if points is None:
            unscored.add((person_id, points_name))
        else:
            mine[points_name] = mine.get(points_name, ZERO) + points
    for person_id, name in unscored:
        values[person_id][name] = None  # missing: named by the component that reads it
    return values


def absent_lines(needed: Iterable[str]) -> dict[str, Decimal]:
    """What a line a policy reads but the person's sheet does not have reads: 0 points, 0 money."""
    defaults = {name: ZERO for name in needed if _LINE.match(name)}
    if "sheet_money" in set(needed):
        defaults["sheet_money"] = ZERO
    return defaults


# --- sums of pay inputs and headcounts ------------------------------------------------------------


class InputSums:
    """The sums of pay inputs and the headcounts the policies read: one query per kind of name read
    (the year's inputs, the period's inputs by unit, the period's results by unit), none when no
    policy reads one; then each person's from memory. ``needed``: the names the policies read."""

    def __init__(self, period: Period, first_of_year: dt.date, needed: set[str]) -> None:
        wanted = {prefix: {name[len(prefix):] for name in needed if name.startswith(prefix)} for prefix in SUM_PREFIXES}
        self.defaults = {name: ZERO for name in needed if name.startswith(SUM_PREFIXES) or name in HEADCOUNTS}
        self.people: dict[int, dict[str, Decimal]] = defaultdict(dict)
        self.units: dict[tuple[str, int | None], dict[str, Decimal]] = defaultdict(dict)
        # Through the period's relation: payroll.models imports this module (no cycle).
        inputs = period.pay_inputs.model.objects.filter(  # type: ignore[attr-defined]
            person__isnull=False, value__isnull=False)
        if wanted["ytd_"]:
            for person_id, name, total in inputs.filter(
                    name__in=wanted["ytd_"], period__kind=period.kind, period__start__gte=first_of_year,
                    period__end__lte=period.end).values_list("person_id", "name").annotate(total=Sum("value")):
                self.people[person_id]["ytd_" + name] = total
        if wanted["dept_sum_"] or wanted["team_sum_"]:
            for department_id, team_id, name, total in inputs.filter(
                    period=period, name__in=wanted["dept_sum_"] | wanted["team_sum_"]).values_list(
                    "person__department_id", "person__team_id", "name").annotate(total=Sum("value")):
                self._add(("dept", department_id), "dept_sum_" + name, total, name in wanted["dept_sum_"])
                self._add(("team", team_id), "team_sum_" + name, total, name in wanted["team_sum_"] and team_id)
        if needed & set(HEADCOUNTS):
            for department_id, team_id, count in Result.objects.filter(
                    period=period, subject_kind=SubjectKind.PERSON, person__isnull=False).exclude(
                    status=SpecialStatus.EXEMPT).values_list(
                    "person__department_id", "person__team_id").annotate(count=Count("pk")):
                self._add(("dept", department_id), "dept_headcount", Decimal(count), "dept_headcount" in needed)
                self._add(("team", team_id), "team_headcount", Decimal(count), "team_headcount" in needed and team_id)

    def _add(self, unit: tuple[str, int | None], name: str, amount: Decimal, wanted: Any) -> None:
        if wanted:
            values = self.units[unit]
            values[name] = values.get(name, ZERO) + amount

    def __bool__(self) -> bool:
        return bool(self.defaults)

    def of(self, person_id: int, department_id: int, team_id: int | None) -> dict[str, Decimal]:
        return {**self.defaults, **self.units.get(("dept", department_id), {}),
                **(self.units.get(("team", team_id), {}) if team_id is not None else {}),
                **self.people.get(person_id, {})}


class StandardInputs:
    """Every standard input of a period for the names the policies read: a fixed number of queries
    up front (unit results and the tree, sheet lines: each only when some policy reads them), then
    :meth:`of` per person from memory (nothing per person when no policy reads a standard name)."""

    def __init__(self, period: Period, needed: Iterable[str]) -> None:
        needed = set(needed)
        self.period = period
        self.first_of_year = year_start(period)
        self.period_values = {name: value for name, value in period_facts(period).items() if name in needed}
        self.reads_person = bool(needed & set(PERSON_NUMBERS + PERSON_TEXTS))
        self.units = UnitResults(period) if reads_units(needed) else None
        self.lines = sheet_lines(period, needed)
        self.absent = absent_lines(needed)
        self.reads_sheet_points = "sheet_points" in needed
        self.standing = StandingValues(period, {name for name in needed if not _supplied(name)})
        self.sums = InputSums(period, self.first_of_year, needed)
        self.needed = needed

    def of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row``: the person's person_id, department_id, team_id, hire_date, leave_date, position,
        salary_band, salary_grade and sheet_score (as the run's results query reads them)."""
        values: dict[str, Any] = dict(self.period_values)
        needed = self.needed
        if self.reads_person:
            values.update(person_facts(self.period, self.first_of_year, hire=row["hire_date"],
                                       leave=row["leave_date"], position=row["position"], band=row["salary_band"],
                                       salary_grade=row["salary_grade"]))
        if self.units is not None:
            values.update(self.units.names(row["department_id"], row["team_id"]))
        if self.standing:  # under what the period says: its inputs override in the run (payroll.services)
            values.update(self.standing.of(row["person_id"], row["department_id"]))
        values.update(self.absent)
        if self.sums:
            values.update(self.sums.of(row["person_id"], row["department_id"], row["team_id"]))
        if self.lines:
            values.update(self.lines.get(row["person_id"], ()))
        if self.reads_sheet_points and row["sheet_score"] is not None:
            values["sheet_points"] = row["sheet_score"]
        if len(values) == len(self.period_values):
            return values  # only period facts: already the ones read
        return {name: value for name, value in values.items() if name in needed}
