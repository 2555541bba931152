"""Writes for pay: saving a policy version, computing a pay run, confirming it.

A pay run is computed from a closed period's results by the engine (payroll.engine), set-based:
a fixed number of queries and one bulk insert per batch of slips, whatever the head count. A run
is all or nothing: the first PayError (a division by zero, a missing input) fails it with the
person, the component and the inputs named, and nothing is written. Computing again with nothing
changed returns the latest version instead of writing an identical one, so a redelivered task or a
double click leaves one result; a real change writes version n + 1, paid as a delta.

A run computed while people's results still wait for calibration (ties at a quota line, caps
exceeded) is provisional: finance's confirmation is refused, naming them, until HR calibrates
(which regrades and recomputes). A period sent back to calibration retires its results: the runs
computed from them are superseded and can no longer be confirmed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appraisal.choices import SpecialStatus
from appraisal.models import Period, Result
from appraisal.services import IllegalTransition
from core.bulk import insert_rows, no_cyclic_gc
from core.configs import ConfigError
from indicators.models import SubjectKind
from organizations.models import Department, DepartmentHead, DepartmentType, Organization, Person, User
from payroll import budgets
from payroll.deltas import DeltaRow, delta  # noqa: F401  (the services' names)
from payroll.engine import PayError, PersonInput, PersonPay, Policy, compile_policy, evaluate_population
from payroll.models import PayInput, PayPolicy, PayRun, PaySlip
from payroll.standard import StandardInputs, organisation_names, standing_names

ZERO = Decimal("0.00")
NAMED = 10  # results a refusal and a provisional run name before "…"
# results_changed's reason when a closed period is sent back to calibration (its results retired).
RESULTS_RETIRED = "reopened"


class PayRunFailed(Exception):
    """The run could not be computed; nothing was written. The message names the person, the
    component and the inputs (from PayError) or what is missing."""


class PolicyRejected(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@transaction.atomic
def save_pay_policy(*, organization: Organization, acting_user: User | None, code: str, name: str,
                    components: Sequence[Mapping[str, Any]], effective_from: dt.date,
                    effective_to: dt.date | None = None, inputs: Iterable[str] = (),
                    text_inputs: Iterable[str] = (), department_type: DepartmentType | None = None,
                    period_kind: str = "", requires_grade: bool = True) -> PayPolicy:
    """Writes the next version of policy ``code``, or refuses naming the wrong setting's path.
    Refused too when another policy would pay the same people in the same periods (same
    department type and period kind, in force on a common day): a run could not choose."""
    inputs, text_inputs = list(inputs), list(text_inputs)
    names = organisation_names(organization.pk)
    try:
        compiled = compile_policy(list(components), inputs=inputs, text_inputs=text_inputs,
                                  standard=names.with_sums(inputs), standard_texts=names.texts)
    except ConfigError as error:
        raise PolicyRejected(error.field, error.message) from None
    if effective_to is not None and effective_to < effective_from:
        raise PolicyRejected("effective_to", _("The end date is before the start date."))
    if period_kind not in ("", *Period.Kind.values):
        raise PolicyRejected("period_kind", _("Unknown period kind %(kind)s.") % {"kind": period_kind})
    latest = PayPolicy.objects.filter(code=code).aggregate(v=Max("version"))["v"] or 0
    policy = PayPolicy(organization=organization, code=code, version=latest + 1, name=name,
                       department_type=department_type, effective_from=effective_from, effective_to=effective_to,
                       period_kind=period_kind, requires_grade=requires_grade,
                       components=compiled.normalised, inputs=inputs, text_inputs=text_inputs)
    clash = overlapping_policy(policy)
    if clash is not None:
        raise PolicyRejected("period_kind", _(
            "Pay policy %(other)s (%(code)s v%(version)s) already pays the same people in the same periods "
            "(same department type and period kind, in force on common days). Give this policy another period kind "
            "or dates, or save a new version of %(code)s instead.")
            % {"other": clash.name, "code": clash.code, "version": clash.version})
    policy._history_user = acting_user  # type: ignore[attr-defined]
    policy.save()
    return policy


def overlapping_policy(policy: PayPolicy) -> PayPolicy | None:
    """Another code's policy that applies on some day of ``policy``'s dates to the same department
    type and period kind (one query). Versions of one code replace each other, so what counts on a
    day is the other code's latest version in force that day; a blank kind does not clash with a
    specific one (the specific one wins for its periods)."""
    versions: dict[str, list[PayPolicy]] = defaultdict(list)
    for other in PayPolicy.objects.exclude(code=policy.code).order_by("code", "-version"):
        versions[other.code].append(other)
    start, end = policy.effective_from, policy.effective_to or dt.date.max
    for rows in versions.values():
        # Which version is in force changes only where one starts or one ends.
        days = {start, *(v.effective_from for v in rows),
                *(v.effective_to + dt.timedelta(days=1) for v in rows if v.effective_to and v.effective_to < end)}
        for day in sorted(d for d in days if start <= d <= end):
            current = next((v for v in rows if v.effective_from <= day
                            and (v.effective_to is None or v.effective_to >= day)), None)
            if (current is not None and current.department_type_id == policy.department_type_id
                    and current.period_kind == policy.period_kind):
                return current
    return None


def policies_for(period: Period) -> list[PayPolicy]:
    """The latest version of each policy in force during the period, if it is for periods of the
    period's kind or of any kind (one query). The kind is looked at after the version: a new version
    limited to another kind takes its code off this period's kind."""
    in_force = PayPolicy.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=period.start),
                                        effective_from__lte=period.end).order_by("code", "-version")
    latest: dict[str, PayPolicy] = {}
    for policy in in_force:
        latest.setdefault(policy.code, policy)
    return [policy for policy in latest.values() if policy.period_kind in ("", period.kind)]


def applicable_policies(period: Period) -> list[PayPolicy]:
    """The policies a run of the period pays by: for each department type the one of the period's
    kind, else the one of any kind. Two equally specific for one type fail the run (PayRunFailed)."""
    return list(policies_by_type(period, policies_for(period)).values())


@dataclass(frozen=True)
class _Row:
    person_id: int
    department_id: int
    grade: str
    subject: str
    policy: PayPolicy
    input: PersonInput


def _policy_of(type_id: int | None, by_type: Mapping[int | None, PayPolicy]) -> PayPolicy | None:
    return by_type.get(type_id) or by_type.get(None)


def _openings(period: Period) -> dict[int, dict[str, str]]:
    """Closing balances (withheld, accrued) of the latest run of the previous period of the same kind."""
    previous = Period.objects.filter(kind=period.kind, start__lt=period.start, pay_runs__isnull=False) \
        .order_by("-start").first()
    if previous is None:
        return {}
    run = PayRun.objects.filter(period=previous).order_by("-version").first()
    if run is None:
        return {}
    return {person_id: balances for person_id, balances in
            PaySlip.objects.filter(run=run).exclude(balances={}).values_list("person_id", "balances")}


def policies_by_type(period: Period, policies: Sequence[PayPolicy]) -> dict[int | None, PayPolicy]:
    """The policy for each department type (None: everyone else). One of the period's kind wins over
    one of any kind; two equally specific cannot be told apart."""
    by_type: dict[int | None, PayPolicy] = {}
    for policy in policies:
        current = by_type.get(policy.department_type_id)
        if current is not None:
            if bool(current.period_kind) == bool(policy.period_kind):
                raise PayRunFailed(_("Two pay policies apply to the same people in %(period)s: %(a)s and %(b)s.")
                                   % {"period": period.code, "a": current, "b": policy})
            if current.period_kind:
                continue
        by_type[policy.department_type_id] = policy
    return by_type


_RESULT_FIELDS = ("person_id", "person__employee_no", "person__name", "person__department_id",
                  "person__department__code", "person__department__department_type_id", "person__base_pay",
                  "person__level", "person__position", "final_score", "grade", "coefficient", "person__team_id",
                  "person__hire_date", "person__leave_date", "person__salary_band", "person__salary_grade",
                  "sheet__score", "status")


# A person's grade, grade coefficient and final score when they are not the stored result's
# (payroll.whatif: the period regraded in memory by a candidate grading policy).
Regraded = tuple[str, Decimal | None, Decimal | None]


def _rows(period: Period, policies: Sequence[PayPolicy], compiled: Mapping[int, Policy],
          grades: Mapping[int, Regraded] | None = None,
          departments: Sequence[int] | None = None) -> tuple[list[_Row], list[str]]:
    """Everyone the run pays, with their engine inputs and the standard inputs their policies read
    (payroll.standard): a fixed number of queries for the whole period. ``grades`` by person id
    replace the results' grade, coefficient and score (someone missing from it is not assessed)."""
    by_type = policies_by_type(period, policies)
    person_inputs: dict[int, dict[str, Any]] = defaultdict(dict)
    for person_id, name, value, text in PayInput.objects.filter(period=period, person__isnull=False).values_list(
            "person_id", "name", "value", "text"):
        person_inputs[person_id][name] = text if text else value
    leads: dict[int, list[str]] = defaultdict(list)
    for person_id, code in DepartmentHead.objects.filter(membership__person__isnull=False).values_list(
            "membership__person_id", "department__code"):
        leads[person_id].append(code)
    openings = _openings(period)
    facts = StandardInputs(period, {name for policy in compiled.values() for name in policy.required_inputs})
    rows, notes = [], []
    paid = Result.objects.filter(period=period, subject_kind=SubjectKind.PERSON, person__isnull=False)
    if departments is not None:  # a part of the computation (payroll.pay_parts)
        paid = paid.filter(person__department_id__in=list(departments))
    results = paid.order_by("person__department_id", "person__employee_no").values_list(*_RESULT_FIELDS)
    for values in results:
        (person_id, number, name, department_id, department_code, type_id, base_pay, level, position,
         score, grade, coefficient, team_id, hire, leave, band, salary_grade, sheet_score, status) = values
        subject = f"{number} {name}"
        if grades is not None:
            grade, coefficient, score = grades.get(person_id, ("", None, None))
        applies = _policy_of(type_id, by_type)
        if applies is None:
            notes.append(_("%(subject)s: no pay policy applies.") % {"subject": subject})
            continue
        if not grade and applies.requires_grade:
            notes.append(_ungraded(subject, status, applies))
            continue
        inputs: dict[str, Any] = facts.of({
            "person_id": person_id, "department_id": department_id, "team_id": team_id, "hire_date": hire,
            "leave_date": leave, "position": position, "salary_band": band, "salary_grade": salary_grade,
            "sheet_score": sheet_score})
        inputs.update({"level": level or "", "role": position or ""})
        if grade:  # ungraded (a policy that needs no grade): a component reading it fails, naming the person
            inputs["grade"] = grade
        if base_pay is not None:
            inputs["base_salary"] = base_pay
        if score is not None:
            inputs["score"] = score
        if coefficient is not None:
            inputs["grade_coefficient"] = coefficient
        inputs.update({k: v for k, v in person_inputs[person_id].items() if v is not None})
        rows.append(_Row(person_id, department_id, grade, subject, applies, PersonInput(
            subject=subject, inputs=inputs, unit=department_code, leads=tuple(leads.get(person_id, ())),
            balances=openings.get(person_id, {}))))
    return rows, notes


def _ungraded(subject: str, status: str, policy: PayPolicy) -> str:
    """The run's note for a person left out because they have no grade and their policy needs one."""
    reason = (SpecialStatus(status).label if status and status != SpecialStatus.NORMAL
              else pgettext("a result without a grade", "not graded"))
    return _("%(subject)s: no grade (%(reason)s), and pay policy %(policy)s pays graded people only: not paid in "
             "this run.") % {"subject": subject, "reason": reason, "policy": policy}


def compiled_policies(period: Period, policies: Sequence[PayPolicy]) -> dict[int, Policy]:
    """Each policy compiled once with the organisation's standard names (two queries); a policy
    that no longer compiles (an indicator or department type it reads was removed) fails the run."""
    names = organisation_names(period.organization_id)
    compiled: dict[int, Policy] = {}
    for policy in policies:
        try:
            compiled[policy.pk] = policy.compiled(names)
        except ConfigError as error:
            raise PayRunFailed(_("Pay policy %(policy)s cannot be computed: %(field)s: %(message)s")
                               % {"policy": policy, "field": error.field, "message": error.message}) from None
    return compiled


def _units(period: Period) -> dict[str, dict[str, Any]]:
    units: dict[str, dict[str, Any]] = defaultdict(dict)
    for code, name, value, text in PayInput.objects.filter(period=period, department__isnull=False).values_list(
            "department__code", "name", "value", "text"):
        units[code][name] = text if text else value
    return units


def _lines(pay: PersonPay) -> list[dict[str, Any]]:
    return [{"code": line.code, "name": line.name, "amount": format(line.amount, "f"), "paid": line.paid,
             "explanation": line.explanation} for line in pay.lines]


def paid_amounts(pay: PersonPay) -> dict[str, str]:
    """PaySlip.amounts: what each paid component pays, by code."""
    return {line.code: format(line.amount, "f") for line in pay.lines if line.paid}



def pay_people(period: Period, policies: Sequence[PayPolicy], grades: Mapping[int, Regraded] | None = None,
               departments: Sequence[int] | None = None) -> tuple[list[_Row], dict[int, PersonPay], list[str]]:
    """Everyone's pay under ``policies`` (the rows, each person's pay by id, the notes on who is not
    paid), in memory: a fixed number of queries. The first PayError raises PayRunFailed.
    ``departments``: only the people of these (a part of the computation: payroll.pay_parts)."""
    compiled = compiled_policies(period, policies)
    rows, notes = _rows(period, policies, compiled, grades, departments)
    units = _units(period)
    pays: dict[int, PersonPay] = {}
    for policy in policies:
        mine = [row for row in rows if row.policy.pk == policy.pk]
        if not mine:
            continue
        try:
            computed = evaluate_population(compiled[policy.pk], [row.input for row in mine], units=units)
        except PayError as error:
            raise PayRunFailed(error.message) from None
        for row, pay in zip(mine, computed, strict=True):
            pays[row.person_id] = pay
    return rows, pays, notes


def compute_pay_run(*, period: Period, acting_user: User | None, reason: str) -> PayRun | None:
    """Computes the period's pay from its results. None when no pay policy is in force. Returns the
    latest version unchanged when the computation gives the same slips (a rerun, a redelivery)."""
    with transaction.atomic(), no_cyclic_gc():
        locked, policies = lock_for_pay(period, acting_user=acting_user, reason=reason)
        if locked is None or not policies:
            return None
        rows, pays, notes = pay_people(locked, policies)
        paid = [row for row in rows if row.person_id in pays]
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for pay in pays.values():
            for line in pay.lines:
                if line.paid:
                    sums[line.code] += line.amount
        computed = Computed(
            people=len(pays), total=sum((p.total for p in pays.values()), ZERO), sums=sums,
            costs=budgets.costs_of((row.department_id, pays[row.person_id].total) for row in paid), notes=notes,
            same_as=lambda latest: _same(latest, pays),
            write_slips=lambda run: insert_rows(PaySlip, SLIP_COLUMNS, (
                (locked.organization_id, run.pk, *slip_values(row, pays[row.person_id])) for row in paid)))
        return write_run(locked, policies, computed, acting_user=acting_user, reason=reason)


def lock_for_pay(period: Period, *, acting_user: User | None, reason: str) -> tuple[Period | None, list[PayPolicy]]:
    """Locks the period's row for a pay computation and returns it with the policies that apply; None
    when its results were retired (the runs are superseded instead). Refuses a period without results."""
    locked = Period.objects.select_for_update(of=("self",)).get(pk=period.pk)
    if locked.results_at is None and reason == RESULTS_RETIRED:
        supersede_pay_runs(period=locked, acting_user=acting_user)
        return None, []
    if locked.results_at is None:
        raise IllegalTransition(_("Period %(period)s has no results yet: it is %(state)s.")
                                % {"period": locked.code, "state": locked.get_state_display()})
    return locked, applicable_policies(locked)


SLIP_COLUMNS = ["organization_id", "run_id", "person_id", "department_id", "grade", "total", "lines", "amounts",
                "balances"]


def slip_values(row: _Row, pay: PersonPay) -> tuple[Any, ...]:
    """A slip's columns after its organisation and run (SLIP_COLUMNS[2:])."""
    return (row.person_id, row.department_id, row.grade, pay.total, _lines(pay), paid_amounts(pay),
            {m.code: format(m.closing, "f") for m in pay.movements})


@dataclass
class Computed:
    """A computation ready to be written, from pays in memory (compute_pay_run) or from what the
    parts of one staged (payroll.pay_parts)."""

    people: int
    total: Decimal
    sums: Mapping[str, Decimal]  # what each component pays over everyone, by code
    costs: Mapping[int, Decimal]  # by department id
    notes: list[str]
    same_as: Callable[[PayRun], bool]  # the slips of this run, exactly
    write_slips: Callable[[PayRun], object]


def write_run(locked: Period, policies: Sequence[PayPolicy], computed: Computed, *, acting_user: User | None,
              reason: str) -> PayRun:
    """A new version of the period's pay run with its slips, or the latest one kept when the slips
    are the same (inside the transaction that holds the period's lock)."""
    over = budgets.overruns(locked, computed.costs)
    latest = PayRun.objects.filter(period=locked).order_by("-version").first()
    count, names = waiting_for_calibration(locked)
    if latest is not None and latest.superseded_at is None and computed.same_as(latest):
        return _keep_provisional_current(latest, count, names, over, acting_user=acting_user, reason=reason)
    columns: list[list[str]] = []
    for policy in policies:
        for component in policy.components:
            pair = [component["code"], component.get("name") or component["code"]]
            if component.get("pays", True) and pair not in columns:
                columns.append(pair)
    run = PayRun(organization_id=locked.organization_id, period=locked,
                 version=(latest.version + 1) if latest else 1, reason=reason,
                 policies={p.department_type.code if p.department_type else "*": f"{p.code} v{p.version}"
                           for p in policies},
                 people=computed.people, total=computed.total, components=columns,
                 component_totals={code: format(computed.sums.get(code, ZERO), "f") for code, _name in columns},
                 notes="\n".join(computed.notes), computed_by=acting_user, provisional=bool(count), waiting=count,
                 waiting_names=names, over_budget=over)
    run._history_user = acting_user  # type: ignore[attr-defined]
    run._change_reason = reason  # type: ignore[attr-defined]
    run.save()
    computed.write_slips(run)
    return run


def _same(run: PayRun, pays: Mapping[int, PersonPay]) -> bool:
    fresh = {person_id: (pay.total, [(line.code, format(line.amount, "f")) for line in pay.lines])
             for person_id, pay in pays.items()}
    return stored_pay(PaySlip.objects.filter(run=run)) == fresh


def stored_pay(slips: Any) -> dict[int, tuple[Decimal, list[tuple[str, str]]]]:
    """What stored slips (PaySlip or StagedSlip rows) pay each person: the total and each line's
    code and amount, the rule by which a computation equals the latest run."""
    return {person_id: (total, [(line["code"], line["amount"]) for line in lines])
            for person_id, total, lines in slips.values_list("person_id", "total", "lines")}


def waiting_for_calibration(period: Period) -> tuple[int, list[str]]:
    """How many people's results of the period wait for calibration (Result.needs_calibration: a
    tie at a quota line, a cap exceeded), and the first of them as "employee no. name"."""
    waiting = Result.objects.filter(period=period, needs_calibration=True, person__isnull=False)
    count = waiting.count()
    if not count:
        return 0, []
    names = [f"{number} {name}" for number, name in waiting.order_by("person__employee_no").values_list(
        "person__employee_no", "person__name")[:NAMED]]
    return count, names


def _keep_provisional_current(run: PayRun, count: int, names: list[str], over: list[dict[str, str]], *,
                              acting_user: User | None, reason: str) -> PayRun:
    """The latest run computed again with the same slips: only whether it is provisional (HR
    calibrated without changing anyone's pay) or over budget (a budget changed) may have changed.
    Audited when it did."""
    if (run.provisional, run.waiting, run.waiting_names, run.over_budget) == (bool(count), count, names, over):
        return run
    run.provisional, run.waiting, run.waiting_names, run.over_budget = bool(count), count, names, over
    run._history_user = acting_user  # type: ignore[attr-defined]
    run._change_reason = (reason or "recomputed")[:100]  # type: ignore[attr-defined]
    run.save(update_fields=["provisional", "waiting", "waiting_names", "over_budget"])
    return run


def supersede_pay_runs(*, period: Period, acting_user: User | None) -> list[PayRun]:
    """The period was sent back to calibration: its results are retired, so the computed runs not
    confirmed yet can no longer be (confirmed ones were paid: the next close's version pays the
    delta against them). Audited with the period's reason."""
    why = (_("the period was sent back to calibration: %(reason)s") % {"reason": period.reopen_reason})[:300]
    runs = list(PayRun.objects.select_for_update(of=("self",)).filter(
        period=period, state=PayRun.State.COMPUTED, superseded_at__isnull=True))
    now = timezone.now()
    for run in runs:
        run.superseded_at, run.superseded_reason = now, why
        run._history_user = acting_user  # type: ignore[attr-defined]
        run._change_reason = why[:100]  # type: ignore[attr-defined]
        run.save(update_fields=["superseded_at", "superseded_reason"])
    return runs


def confirm_pay_run(*, run: PayRun, acting_user: User | None, budget_override_reason: str = "") -> PayRun:
    """Finance confirms a version, which locks it: it is what was paid. Only the latest version
    may be confirmed; a later change makes a new version, paid as the delta. Refused while the run
    is provisional (results wait for calibration, named) or superseded (the period went back to
    calibration), and over a labour-cost budget (looked up now) unless finance gives a reason,
    kept on the run and in its history."""
    with transaction.atomic():
        current = PayRun.objects.select_for_update(of=("self",)).select_related("period").get(pk=run.pk)
        if current.state != PayRun.State.COMPUTED:
            raise IllegalTransition(_("Pay run version %(version)s cannot be confirmed: it is %(state)s.")
                                    % {"version": current.version, "state": current.get_state_display()})
        newest = PayRun.objects.filter(period_id=current.period_id).aggregate(v=Max("version"))["v"]
        if newest != current.version:
            raise IllegalTransition(_("Pay run version %(version)s is superseded by version %(newest)s.")
                                    % {"version": current.version, "newest": newest})
        _refuse_unsettled(current)
        over = budgets.overruns(current.period, budgets.run_costs(current))
        refusal = budgets.budget_refusal(current, over, budget_override_reason)
        if refusal:
            raise IllegalTransition(refusal)
        current.over_budget = over
        current.budget_override_reason = budget_override_reason.strip()[:300] if over else ""
        current.state = PayRun.State.CONFIRMED
        current.provisional = False
        current.confirmed_at = timezone.now()
        current.confirmed_by = acting_user
        current._history_user = acting_user  # type: ignore[attr-defined]
        current._change_reason = ("confirmed over budget" if over else "confirmed")  # type: ignore[attr-defined]
        current.save()
    return current


def _refuse_unsettled(run: PayRun) -> None:
    """Refuses to confirm a run whose results are not settled: superseded (the period went back to
    calibration) or provisional (people's results still wait for calibration, looked up now)."""
    period = run.period
    if run.superseded_at is not None or period.results_at is None:
        raise IllegalTransition(
            _("Pay run version %(version)s cannot be confirmed: period %(period)s was sent back to calibration "
              "(it is %(state)s) after it was computed; its next close computes a new version.")
            % {"version": run.version, "period": period.code, "state": period.get_state_display()})
    count, names = waiting_for_calibration(period)
    if count:
        shown = ", ".join(names) + (" …" if count > len(names) else "")
        raise IllegalTransition(
            _("Pay run version %(version)s is provisional: %(count)s result(s) of period %(period)s still wait for "
              "calibration (%(names)s). Once HR calibrates them the pay is computed again.")
            % {"version": run.version, "count": count, "period": period.code, "names": shown})


def confirm_refusal(run: PayRun) -> str:
    """Why finance may not confirm ``run`` now (provisional, superseded), or "" (the pages show it
    in place of the button; the state and version checks stay confirm_pay_run's)."""
    try:
        _refuse_unsettled(run)
    except IllegalTransition as refused:
        return str(refused)
    return ""


# --- pay inputs ---------------------------------------------------------------------------------


# Inputs every pay component may read without a policy declaring them (_rows); base_salary may be
# overridden per period by an input.
BUILT_IN_INPUTS = ("base_salary",)


class InputRejected(ValueError):
    """A pay input refused; ``field`` names the setting that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def input_names(period: Period) -> tuple[set[str], set[str]]:
    """The number and text inputs the policies in force during the period declare, and the names of
    the organisation's standing parameters (a period's input of that name overrides the standing value)."""
    numbers: set[str] = set(BUILT_IN_INPUTS) | standing_names()
    texts: set[str] = set()
    for policy in policies_for(period):
        numbers.update(policy.inputs or [])
        texts.update(policy.text_inputs or [])
    return numbers, texts


@transaction.atomic
def save_pay_input(*, organization: Organization, acting_user: User | None, period: Period, name: str,
                   person: Person | None = None, department: Department | None = None,
                   value: Decimal | None = None, text: str = "") -> PayInput:
    """Sets one input of a period for a person or a department (an upsert, audited). The name must
    be one a policy in force declares; a number input takes a value, a text input a text. A pay run
    already computed is not changed: computing again writes the next version, paid as a delta."""
    if (person is None) == (department is None):
        raise InputRejected("person", _("Give either a person or a department."))
    if period.state == Period.State.DRAFT:
        raise InputRejected("period", _("Period %(period)s is a draft.") % {"period": period.code})
    numbers, texts = input_names(period)
    if name in texts:
        if not text or value is not None:
            raise InputRejected("text", _("%(name)s is a text input: give a text, not a value.") % {"name": name})
    elif name in numbers:
        if value is None or text:
            raise InputRejected("value", _("%(name)s is a number input: give a value.") % {"name": name})
        if not value.is_finite():
            raise InputRejected("value", _("The value must be a number."))
    else:
        known = ", ".join(sorted(numbers | texts))
        raise InputRejected("name", _("No pay policy in force in %(period)s reads an input %(name)s; known inputs: "
                                      "%(known)s.") % {"period": period.code, "name": name, "known": known})
    lookup: dict[str, Any] = {"period": period, "name": name}
    lookup.update({"person": person} if person is not None else {"department": department})
    existing = PayInput.objects.select_for_update().filter(**lookup).first()
    if existing is not None:
        if existing.value == value and existing.text == text:
            return existing
        existing.value, existing.text = value, text
        existing._history_user = acting_user  # type: ignore[attr-defined]
        existing.save(update_fields=["value", "text"])
        return existing
    created = PayInput(organization=organization, value=value, text=text, **lookup)
    created._history_user = acting_user  # type: ignore[attr-defined]
    created.save()
    return created
