from __future__ import annotations

from celery import shared_task

from organizations.tasks import TenantTask


@shared_task(base=TenantTask, bind=True, name="appraisal.generate_sheets", acks_late=True)
def generate_sheets_task(self: TenantTask, *, organization_id: int, period_id: int) -> dict[str, int]:
    from appraisal.models import Period
    from appraisal.services import generate_sheets

    return generate_sheets(period=Period.objects.get(pk=period_id))
