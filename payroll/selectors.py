"""Reads for pay. Writes (policies, inputs, runs) are in payroll.services.

Every function runs inside a tenant scope. Which rows a role sees is decided here, once: HR and
finance see every run and slip; anyone else only their own slips, and only of confirmed runs (a
computed version may still change). A head sees nothing of their departments' pay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, QuerySet, Sum

from appraisal.models import Period
from organizations.context import TenantContext
from organizations.jobs import jobs_of
from organizations.models import Job, Person
from organizations.roles import Role
from payroll.exports import EXPORT_JOB
from payroll.models import PayInput, PayPolicy, PayRun, PaySlip

PAY_JOB = Job.Kind.PAY_RUN

ZERO = Decimal("0.00")


def sees_all_pay(tenant: TenantContext) -> bool:
    return tenant.has(Role.HR_ADMIN, Role.FINANCE)


def pay_runs() -> QuerySet[PayRun]:
    return PayRun.objects.select_related("period", "computed_by", "confirmed_by")


def pay_policies() -> QuerySet[PayPolicy]:
    return PayPolicy.objects.select_related("department_type")


def latest_policy_versions() -> dict[str, int]:
    """The newest version of each policy code: one query."""
    rows = PayPolicy.objects.values("code").annotate(latest=Max("version")).order_by()
    return dict(rows.values_list("code", "latest"))


def policy_versions(code: str) -> QuerySet[PayPolicy]:
    """Every version of one policy, newest first."""
    return pay_policies().filter(code=code).order_by("-version")


def pay_inputs() -> QuerySet[PayInput]:
    return PayInput.objects.select_related("period", "person", "department").order_by("period_id", "name", "pk")


def input_periods() -> QuerySet[Period]:
    """Periods pay inputs can be entered for: every period past its draft, newest first."""
    return Period.objects.exclude(state=Period.State.DRAFT).order_by("-start", "code")


def inputs_of(period: Period) -> QuerySet[PayInput]:
    """A period's inputs by name, then person (employee number) or department (code)."""
    return (PayInput.objects.filter(period=period).select_related("person", "department")
            .order_by("name", "person__employee_no", "department__code", "pk"))


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
    return jobs_of(period, PAY_JOB).order_by("-created_at", "-pk").first()


def run_exports(run: PayRun) -> list[Job]:
    """The export jobs of one run, newest first, one per kind and format."""
    latest: dict[tuple[str, str], Job] = {}
    for job in jobs_of(run, EXPORT_JOB).order_by("-created_at", "-pk"):
        latest.setdefault(export_of(job), job)
    return list(latest.values())


def export_of(job: Job) -> tuple[str, str]:
    """(kind, format) of an export job."""
    return job.params["export"], job.params["format"]


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
    """(code, name, total paid) per component column of the run, as added up when it was computed
    (PayRun.component_totals): no slip is read."""
    stored = run.component_totals or {}
    return [(code, name, Decimal(stored.get(code, "0.00"))) for code, name in run.components]


def slip_ids(run: PayRun) -> QuerySet[PaySlip, int]:
    """The run's slip ids by department code and employee number: the page cuts these (a narrow
    sort) and reads only its own slips (slips_by_id), not a wide sort of every slip's lines."""
    return PaySlip.objects.filter(run=run).order_by("department__code", "person__employee_no", "pk") \
        .values_list("pk", flat=True)


def slips_by_id(ids: list[int]) -> list[PaySlip]:
    """The slips ``ids`` with their person and department, in that order: one query."""
    found = PaySlip.objects.select_related("person", "department").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def delta_people(run: PayRun, previous: PayRun, limit: int) -> tuple[list[int], int]:
    """Who is paid differently in ``run`` than in ``previous`` (services.delta's rule: another total
    or other component amounts, or a slip in one version only), compared by the database: the first
    ``limit`` person ids and how many there are. Two queries, whatever the head count; the run page
    used to load every slip of both versions on each request."""
    same = PaySlip.objects.filter(run=previous, person_id=OuterRef("person_id"), total=OuterRef("total"),
                                  amounts=OuterRef("amounts"))
    changed = PaySlip.objects.filter(run=run).exclude(Exists(same)).order_by().values_list("person_id", flat=True)
    gone = PaySlip.objects.filter(run=previous).exclude(
        Exists(PaySlip.objects.filter(run=run, person_id=OuterRef("person_id")))).order_by().values_list(
        "person_id", flat=True)
    both = changed.union(gone)
    return list(both.order_by("person_id")[:limit]), both.count()


def previous_run(run: PayRun) -> PayRun | None:
    return PayRun.objects.filter(period_id=run.period_id, version__lt=run.version).order_by("-version").first()


def people_named(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    return {pk: (number, name) for pk, number, name in
            Person.objects.filter(pk__in=list(ids)).values_list("pk", "employee_no", "name")}


def visible_runs_of(period: Period) -> QuerySet[PayRun]:
    return pay_runs().filter(period=period).order_by("-version")

