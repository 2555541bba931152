"""Reads for pay, and the one small write the pay pages and API need beyond payroll.services.

Every function runs inside a tenant scope. Which rows a role sees is decided here, once: HR and
finance see every run and slip; anyone else only their own slips, and only of confirmed runs (a
computed version may still change). A head sees nothing of their departments' pay.

``save_pay_input`` is a write: it lives here because payroll.services is owned elsewhere for now;
it keeps the services' conventions (keyword-only, ``acting_user``, validated, audited, no-op
changes skipped) and belongs in payroll.services when that file is free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _

from appraisal.models import Period
from organizations.context import TenantContext
from organizations.models import Department, Job, Organization, Person, User
from organizations.roles import Role
from payroll.models import PayInput, PayPolicy, PayRun, PaySlip
from payroll.services import EXPORT_JOB, policies_for
from payroll.tasks import PAY_JOB

ZERO = Decimal("0.00")
# Inputs every pay component may read without a policy declaring them (payroll.services._rows);
# base_salary may be overridden per period by an input.
BUILT_IN_INPUTS = ("base_salary",)


def sees_all_pay(tenant: TenantContext) -> bool:
    return tenant.has(Role.HR_ADMIN, Role.FINANCE)


def pay_runs() -> QuerySet[PayRun]:
    return PayRun.objects.select_related("period", "computed_by", "confirmed_by")


def pay_policies() -> QuerySet[PayPolicy]:
    return PayPolicy.objects.select_related("department_type")


def pay_inputs() -> QuerySet[PayInput]:
    return PayInput.objects.select_related("period", "person", "department").order_by("period_id", "name", "pk")


def pay_jobs() -> QuerySet[Job]:
    """The background jobs of pay: computations and exports (not a period's close)."""
    return Job.objects.filter(kind__in=[PAY_JOB, EXPORT_JOB])


def export_jobs() -> QuerySet[Job]:
    return Job.objects.filter(kind=EXPORT_JOB)


def visible_slips(tenant: TenantContext) -> QuerySet[PaySlip]:
    """HR and finance: every slip. Anyone else: their own slips of confirmed runs. One query."""
    slips = PaySlip.objects.select_related("run__period", "person", "department")
    if sees_all_pay(tenant):
        return slips
    if tenant.person_id is None:
        return slips.none()
    return slips.filter(person_id=tenant.person_id, run__state=PayRun.State.CONFIRMED)


def own_slips(tenant: TenantContext) -> QuerySet[PaySlip]:
    """The user's own slips of confirmed runs, newest period and version first (HR and finance too)."""
    if tenant.person_id is None:
        return PaySlip.objects.none()
    return (PaySlip.objects.select_related("run__period", "department")
            .filter(person_id=tenant.person_id, run__state=PayRun.State.CONFIRMED)
            .order_by("-run__period__start", "-run__version"))


def periods_with_results() -> QuerySet[Period]:
    """Periods whose results exist: the ones a pay run can be computed for."""
    return Period.objects.filter(results_at__isnull=False).order_by("-start", "code")


def last_computation(period: Period) -> Job | None:
    """The latest pay computation job of a period (payroll.tasks.compute_pay_run_task)."""
    return Job.objects.filter(kind=PAY_JOB, ref=f"period:{period.pk}").order_by("-created_at", "-pk").first()


def run_exports(run: PayRun) -> list[Job]:
    """The export jobs of one run, newest first, one per kind and format."""
    latest: dict[str, Job] = {}
    for job in export_jobs().filter(ref__startswith=f"payrun:{run.pk}:").order_by("-created_at", "-pk"):
        latest.setdefault(job.ref, job)
    return list(latest.values())


def export_of(job: Job) -> tuple[int, str, str]:
    """(run id, kind, format) of an export job's ref "payrun:<id>:<kind>:<fmt>"."""
    _prefix, run_id, kind, fmt = job.ref.split(":")
    return int(run_id), kind, fmt


@dataclass(frozen=True)
class DepartmentTotal:
    department_id: int
    code: str
    name: str
    people: int
    total: Decimal


def department_totals(run: PayRun) -> list[DepartmentTotal]:
    """Each department's head count and pay in a run: one aggregate query."""
    rows = (PaySlip.objects.filter(run=run).values("department_id", "department__code", "department__name")
            .annotate(people=Count("pk"), total=Sum("total")).order_by("department__code"))
    return [DepartmentTotal(r["department_id"], r["department__code"], r["department__name"], r["people"],
                            r["total"] or ZERO) for r in rows]


def component_totals(run: PayRun) -> list[tuple[str, str, Decimal]]:
    """(code, name, total paid) per component column of the run, adding the slips' lines while
    streaming them (lines are JSON): memory stays flat whatever the head count."""
    sums: dict[str, Decimal] = {code: ZERO for code, _name in run.components}
    for lines in PaySlip.objects.filter(run=run).values_list("lines", flat=True).iterator(chunk_size=2000):
        for line in lines:
            if line["paid"] and line["code"] in sums:
                sums[line["code"]] += Decimal(line["amount"])
    return [(code, name, sums[code]) for code, name in run.components]


def previous_run(run: PayRun) -> PayRun | None:
    return PayRun.objects.filter(period_id=run.period_id, version__lt=run.version).order_by("-version").first()


def people_named(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    return {pk: (number, name) for pk, number, name in
            Person.objects.filter(pk__in=list(ids)).values_list("pk", "employee_no", "name")}


# --- pay inputs ---------------------------------------------------------------------------------


class InputRejected(ValueError):
    """A pay input refused; ``field`` names the setting that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def input_names(period: Period) -> tuple[set[str], set[str]]:
    """The number and text inputs the policies in force during the period declare."""
    numbers: set[str] = set(BUILT_IN_INPUTS)
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


def visible_runs_of(period: Period) -> QuerySet[PayRun]:
    return pay_runs().filter(period=period).order_by("-version")

