"""The appraisal tasks, gathered for Celery's autodiscovery (``app.autodiscover_tasks()`` imports
``<app>.tasks``) and for callers that import them from here. Each lives beside the services it
runs; this module only imports them (nothing in appraisal.services imports it).
"""

from __future__ import annotations

from appraisal.services.closing import close_period_task
from appraisal.services.sheets import generate_sheets_task
from appraisal.services.window import finalise_period_task, publish_period_task, tick

__all__ = ["close_period_task", "finalise_period_task", "generate_sheets_task", "publish_period_task", "tick"]
