from __future__ import annotations

from celery import shared_task

from organizations.tasks import TenantTask


@shared_task(base=TenantTask, bind=True, name="appraisal.generate_sheets", acks_late=True)
def generate_sheets_task(self: TenantTask, *, organization_id: int, period_id: int) -> dict[str, int]:
    from appraisal.models import Period
    from appraisal.services import generate_sheets

    return generate_sheets(period=Period.objects.get(pk=period_id))


@shared_task(base=TenantTask, bind=True, name="appraisal.close_period", acks_late=True)
def close_period_task(self: TenantTask, *, organization_id: int, job_id: int) -> dict[str, int]:
    """Closes the period a job names. Safe to run twice: the second run finds the results written."""
    from appraisal.closing import run_close
    from organizations.models import Job

    return run_close(job=Job.objects.get(pk=job_id))


@shared_task(base=TenantTask, bind=True, name="appraisal.publish_period", acks_late=True)
def publish_period_task(self: TenantTask, *, organization_id: int, period_id: int) -> str:
    """Publishes a closed period whose publication date has come (sent by the tick)."""
    from appraisal.closing import ClosureRefused, publish
    from appraisal.models import Period
    from appraisal.services import IllegalTransition

    period = Period.objects.get(pk=period_id)
    if period.state != Period.State.CLOSED:
        return period.state  # published already: a redelivery or a second tick
    try:
        return publish(period=period, acting_user=None).state
    except (ClosureRefused, IllegalTransition) as error:
        return str(error)  # waits for calibration; the next tick tries again


@shared_task(base=TenantTask, bind=True, name="appraisal.finalise_period", acks_late=True)
def finalise_period_task(self: TenantTask, *, organization_id: int, period_id: int) -> str:
    """Finalises a published period whose review window has ended (sent by the tick)."""
    from appraisal.closing import ClosureRefused, finalise
    from appraisal.models import Period
    from appraisal.services import IllegalTransition

    period = Period.objects.get(pk=period_id)
    if period.state != Period.State.PUBLISHED:
        return period.state
    try:
        return finalise(period=period, acting_user=None).state
    except (ClosureRefused, IllegalTransition) as error:
        return str(error)  # an appeal is still open; the next tick tries again


@shared_task(name="appraisal.tick")
def tick() -> int:
    """Periodic (celery beat): sends one task per period that is due to be published or finalised."""
    from django.utils import timezone

    from appraisal.closing import due_for_tick

    due = due_for_tick(timezone.now())
    for organization_id, period_id, step in due:
        task = publish_period_task if step == "publish" else finalise_period_task
        task.delay(organization_id=organization_id, period_id=period_id)
    return len(due)
