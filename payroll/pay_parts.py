"""A pay computation in parts any worker takes (issue #14), as the close goes in parts
(appraisal.services.close_parts, on organizations.fanout):

1. **pay** — the people paid, by department (whole departments, in department order), in parts of
   about PAY_PART_PEOPLE people: a part computes its people's pay (payroll.services.pay_people)
   and stages their slips (payroll.StagedSlip), with what the run adds up (what each component pays,
   the cost of each department, the notes on who is not paid), in one transaction with its being
   done: a part run twice stages once.
2. **finish** — whoever finishes the last part locks the period and writes the run as one
   computation in one process would (payroll.services.write_run): a new version with every staged
   slip, or the latest kept when the slips are the same.

A policy with a group component (pools, averages, leaders' bonuses read other people's pay) is
computed in one piece, and so is a period of fewer people than a part. A failure (it names the
person, the component and the inputs) fails the job and leaves no slip staged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from appraisal.models import Period, Result
from appraisal.services import IllegalTransition
from core.bulk import insert_rows, no_cyclic_gc
from indicators.models import SubjectKind
from organizations import fanout
from organizations.jobs import ACTIVE
from organizations.models import Job
from organizations.tasks import TenantTask, enqueue
from payroll.models import PayRun, PaySlip, StagedSlip
from payroll.services import (
    SLIP_COLUMNS,
    Computed,
    PayRunFailed,
    applicable_policies,
    compiled_policies,
    lock_for_pay,
    pay_people,
    slip_values,
    stored_pay,
    write_run,
)

PAY = "pay"
ZERO = Decimal("0.00")
Send = Callable[[Job, list[int]], Any]


def parts_for(period: Period) -> list[fanout.Part] | None:
    """The parts of the period's pay computation, or None when it is computed in one piece (no
    results yet, no policy, a group component, or fewer people than a part). Three queries."""
    size = max(1, int(settings.PAY_PART_PEOPLE))
    if period.results_at is None:
        return None
    counts = list(Result.objects.filter(period=period, subject_kind=SubjectKind.PERSON, person__isnull=False)
                  .values("person__department_id").annotate(n=Count("pk")).order_by("person__department_id")
                  .values_list("person__department_id", "n"))
    if sum(n for _d, n in counts) <= size:
        return None
    policies = applicable_policies(period)
    if not policies or any(policy.is_group for policy in compiled_policies(period, policies).values()):
        return None
    parts: list[fanout.Part] = []
    departments: list[int] = []
    people = 0
    for department_id, n in counts:  # in department order: the notes and slips come out as in one piece
        departments.append(department_id)
        people += n
        if people >= size:
            parts.append(fanout.Part({"departments": departments}, total=people))
            departments, people = [], 0
    if departments:
        parts.append(fanout.Part({"departments": departments}, total=people))
    return parts


def begin(job: Job, parts: list[fanout.Part], *, send: Send) -> None:
    """Plans the parts of the job's computation and sends them (nothing new when planned already)."""
    with transaction.atomic():
        now = timezone.now()
        Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(state=Job.State.RUNNING, started_at=now,
                                                               heartbeat_at=now, total=sum(p.total for p in parts))
        numbers = fanout.plan(job, PAY, parts)
    if numbers:
        send(job, numbers)


def run_part(job: Job, number: int, *, reason: str) -> PayRun | None:
    """Computes and stages one part, then, if it was the last, writes the run."""
    try:
        _pay_part(job, number)
        if fanout.stage_done(job, PAY):
            return finish(job, reason=reason)
    except (PayRunFailed, IllegalTransition) as error:
        fail(job, str(error))
    return None


def _pay_part(job: Job, number: int) -> None:
    with fanout.taking(job, PAY, number) as chunk:
        if chunk is None:
            return
        period = Period.objects.get(pk=job.subject_id)
        with no_cyclic_gc():
            rows, pays, notes = pay_people(period, applicable_policies(period),
                                           departments=list(chunk.params["departments"]))
            paid = [row for row in rows if row.person_id in pays]
            sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
            costs: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for row in paid:
                costs[str(row.department_id)] += pays[row.person_id].total
                for line in pays[row.person_id].lines:
                    if line.paid:
                        sums[line.code] += line.amount
            adds = {"people": len(paid), "notes": notes, "total": format(sum(costs.values(), ZERO), "f"),
                    "sums": {code: format(value, "f") for code, value in sums.items()},
                    "costs": {department: format(value, "f") for department, value in costs.items()}}
            with transaction.atomic():
                if fanout.finish(chunk, **adds):
                    insert_rows(StagedSlip, ["organization_id", "job_id", "chunk", *SLIP_COLUMNS[2:]],
                                ((period.organization_id, job.pk, number, *slip_values(row, pays[row.person_id]))
                                 for row in paid))


def finish(job: Job, *, reason: str) -> PayRun | None:
    """The computation's last step (see the module docstring); None when it is not this one's."""
    with transaction.atomic(), no_cyclic_gc():
        if not Job.objects.filter(pk=job.pk, state__in=ACTIVE).exists() or not fanout.stage_done(job, PAY):
            return None
        locked, policies = lock_for_pay(Period.objects.get(pk=job.subject_id), acting_user=None, reason=reason)
        run = None
        if locked is not None and policies:
            run = write_run(locked, policies, _computed(job), acting_user=None, reason=reason)
        StagedSlip.objects.filter(job=job)._raw_delete(StagedSlip.objects.db)
        Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(state=Job.State.DONE, done=F("total"),
                                                               finished_at=timezone.now(),
                                                               message=f"v{run.version}" if run else "")
    return run


def _computed(job: Job) -> Computed:
    """What the parts staged and added up, as payroll.services.write_run takes it."""
    added = fanout.chunk_params(job, PAY)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    costs: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for params in added:
        for code, value in params["sums"].items():
            sums[code] += Decimal(value)
        for department, value in params["costs"].items():
            costs[int(department)] += Decimal(value)
    return Computed(people=sum(int(p["people"]) for p in added), total=sum((Decimal(p["total"]) for p in added), ZERO),
                    sums=sums, costs=costs, notes=[note for p in added for note in p["notes"]],
                    same_as=lambda latest: _same(latest, job), write_slips=lambda run: _publish(run, job))


def _same(run: PayRun, job: Job) -> bool:
    """The staged slips pay everyone exactly what ``run``'s do (payroll.services.stored_pay)."""
    return stored_pay(PaySlip.objects.filter(run=run)) == stored_pay(StagedSlip.objects.filter(job=job))


def _publish(run: PayRun, job: Job) -> None:
    """The staged slips become the run's, in one INSERT … SELECT (the same columns on both sides)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in SLIP_COLUMNS[2:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(PaySlip._meta.db_table)} (organization_id, run_id, {columns}) "
            f"SELECT organization_id, %s, {columns} FROM {quote(StagedSlip._meta.db_table)} WHERE job_id = %s",
            [run.pk, job.pk])


def fail(job: Job, message: str) -> None:
    with transaction.atomic():
        Job.objects.filter(pk=job.pk, state__in=ACTIVE).update(state=Job.State.FAILED, message=message,
                                                               finished_at=timezone.now())
        StagedSlip.objects.filter(job=job).delete()


def send_parts(job: Job, numbers: list[int], reason: str) -> None:
    for number in numbers:
        enqueue(pay_part_task, organization_id=job.organization_id, job_id=job.pk, number=number, reason=reason)


@shared_task(base=TenantTask, bind=True, name="payroll.pay_part", acks_late=True)
def pay_part_task(self: TenantTask, *, organization_id: int, job_id: int, number: int, reason: str) -> int | None:
    """One part of a pay computation, on whichever worker takes it. Safe to run twice."""
    run = run_part(Job.objects.get(pk=job_id), number, reason=reason)
    return run.pk if run else None
