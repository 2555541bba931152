"""Pay tasks: ids in, the tenant scope entered by TenantTask, a service called."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone

from appraisal.models import Period
from organizations.models import Job
from organizations.tasks import TenantTask
from payroll.exports import export_task  # noqa: F401  (beside its service; imported so Celery registers it)
from payroll.services import PayRunFailed, compute_pay_run


@shared_task(base=TenantTask, bind=True, name="payroll.compute_pay_run", acks_late=True)
def compute_pay_run_task(self: TenantTask, *, organization_id: int, period_id: int, reason: str) -> int | None:
    """Computes the period's pay run. Safe to repeat: an unchanged computation writes no version.
    A failure (named person, component, inputs) is kept on a job the finance page shows."""
    period = Period.objects.get(pk=period_id)
    job = None
    try:
        with transaction.atomic():
            job = Job.objects.create(organization_id=organization_id, kind=Job.Kind.PAY_RUN, subject=period,
                                     state=Job.State.RUNNING, started_at=timezone.now())
    except IntegrityError:
        pass  # another computation of this period is running; the period lock orders the two
    try:
        run = compute_pay_run(period=period, acting_user=None, reason=reason)
    except PayRunFailed as error:
        if job is not None:
            Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, message=str(error),
                                                 finished_at=timezone.now())
        return None
    if job is not None:
        Job.objects.filter(pk=job.pk).update(state=Job.State.DONE, finished_at=timezone.now(),
                                             message=f"v{run.version}" if run else "")
    return run.pk if run else None


def on_results_changed(sender: Any, *, period: Any, reason: str, result_ids: list[int], **kwargs: Any) -> None:
    """appraisal.signals.results_changed → a pay computation. The signal is sent after the results
    commit, so the task reads them."""
    compute_pay_run_task.delay(organization_id=period.organization_id, period_id=period.pk, reason=reason)
