"""Pay tasks: ids in, the tenant scope entered by TenantTask, a service called."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.models import Period
from appraisal.services import IllegalTransition
from organizations.jobs import dead_jobs, jobs_of, restart_job, retire, running, start_job
from organizations.models import Job, User
from organizations.tasks import TenantTask, enqueue
from payroll import pay_parts
from payroll.exports import export_task  # noqa: F401  (beside its service; imported so Celery registers it)
from payroll.services import RESULTS_RETIRED, PayRunFailed, compute_pay_run

PAY_JOB = Job.Kind.PAY_RUN


@shared_task(base=TenantTask, bind=True, name="payroll.compute_pay_run", acks_late=True)
def compute_pay_run_task(self: TenantTask, *, organization_id: int, period_id: int, reason: str,
                         job_id: int | None = None) -> int | None:
    """Computes the period's pay run. Safe to repeat: an unchanged computation writes no version.
    A failure (named person, component, inputs) is kept on a job the finance page shows; the job
    beats while the computation runs (organizations.jobs.running), so a killed worker leaves a dead
    job finance can restart. ``job_id``: the job a restart created (restart_computation). A big
    period's computation goes in parts (payroll.pay_parts): this task plans and sends them, and
    the part that finishes last writes the run and finishes the job."""
    period = Period.objects.get(pk=period_id)
    job = _computation_job(organization_id, period, job_id)
    if job is not None and job.finished:
        return None  # the restarted computation, delivered again after it finished
    tracked: AbstractContextManager[Any] = running(job) if job is not None else nullcontext()
    try:
        parts = pay_parts.parts_for(period) if job is not None else None
        if job is not None and parts is not None:
            # In parts any worker takes (run here when tasks run eagerly: no broker, no other worker).
            eager = self.app.conf.task_always_eager
            pay_parts.begin(job, parts, send=(lambda job, numbers: [pay_parts.run_part(job, n, reason=reason)
                                                                    for n in numbers]) if eager else
                            (lambda job, numbers: pay_parts.send_parts(job, numbers, reason)))
            return None
        with tracked:
            run = compute_pay_run(period=period, acting_user=None, reason=reason)
    except (PayRunFailed, IllegalTransition) as error:
        if job is not None:
            Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, message=str(error),
                                                 finished_at=timezone.now())
        return None
    if job is not None:
        Job.objects.filter(pk=job.pk).update(state=Job.State.DONE, finished_at=timezone.now(),
                                             message=f"v{run.version}" if run else "")
    return run.pk if run else None


def _computation_job(organization_id: int, period: Period, job_id: int | None) -> Job | None:
    """The job a computation reports on: the one a restart made, or a new one (a dead one of the
    period retired first). None when another computation of the period is alive and has the job:
    the period's row lock orders the two, and an unchanged result writes nothing."""
    if job_id is not None:
        return Job.objects.get(pk=job_id)
    for dead in dead_jobs(jobs_of(period, PAY_JOB)):
        retire(dead)
    try:
        with transaction.atomic():
            return Job.objects.create(organization_id=organization_id, kind=PAY_JOB, subject=period,
                                      state=Job.State.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    except IntegrityError:
        return None


def restart_computation(*, job: Job, acting_user: User | None) -> Job:
    """Computes a period's pay again after its computation died or failed (organizations.jobs.
    restart_job): a new job, whose task computes from the results as they stand — one version per
    real change, so a computation that did commit before it died is not written twice."""
    def start(dead: Job) -> Job:
        period = Period.objects.get(pk=dead.subject_id)
        # Without results the one computation left to do is superseding the runs (reopened).
        reason = _("computed again after the computation stopped") if period.results_at else RESULTS_RETIRED
        return start_job(subject=period, kind=PAY_JOB, acting_user=acting_user,
                         send=lambda new: enqueue(compute_pay_run_task, organization_id=period.organization_id,
                                                  period_id=period.pk, reason=reason, job_id=new.pk))

    return restart_job(job=job, start=start)


def on_results_changed(sender: Any, *, period: Any, reason: str, result_ids: list[int], **kwargs: Any) -> None:
    """appraisal.signals.results_changed → a pay computation. The signal is sent after the results
    commit, so the task reads them."""
    compute_pay_run_task.delay(organization_id=period.organization_id, period_id=period.pk, reason=reason)
