"""A job's chunks (organizations.fanout): the parts a job splits into so several workers share it.

Kept apart from organizations.models (re-exported there) so that module stays readable."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from organizations.tenancy import TenantOwned


class JobChunk(TenantOwned):
    """One part of one stage of a job (a close's rescoring of a range of sheets, its grading of a
    set of departments): any worker may run it, and it is done once. ``params`` say what the part
    covers; ``done`` / ``total`` its progress, whose sum over the chunks is the job's; ``worker``
    the Celery worker that last took it (a killed one's chunk is taken again by another)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")

    job = models.ForeignKey("organizations.Job", on_delete=models.CASCADE, related_name="chunks")
    stage = models.CharField(_("stage"), max_length=20)
    number = models.PositiveIntegerField(_("number"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job chunk")
        verbose_name_plural = _("job chunks")
        ordering = ["job", "stage", "number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "job", "stage", "number"], name="uniq_job_chunk"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.stage}#{self.number} {self.state}"


def scratch_key(to: str) -> Any:
    """A foreign key of a staged row (see Staged): no constraint, no index of its own."""
    return models.ForeignKey(to, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False)


class Staged(TenantOwned):
    """What a part of a job stages for the job's last step (appraisal.StagedResult, payroll.StagedSlip),
    out of anyone's sight. Scratch rows: a part COPYs them, the last step copies them into rows that
    are checked and removes them. So their foreign keys have no constraint (four checks a row at each
    part's commit) and no index; a subclass has its unique constraint and an index on (job, chunk),
    both led by what the last step reads. Django still cascades deletions."""

    organization = scratch_key("organizations.Organization")
    job = scratch_key("organizations.Job")
    chunk = models.PositiveIntegerField()

    class Meta:
        abstract = True
