"""What a close's grading parts leave for its last step (appraisal.services.close_chunks).

Kept apart from appraisal.models (re-exported there) so that module stays readable."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from organizations.chunks import Staged, scratch_key


class StagedResult(Staged):
    """A result a part of a close computed and nobody sees yet: the close's last step writes them
    all as results at once, then removes them. ``values`` are the result's columns
    (appraisal.services.closing.RESULT_COLUMNS after organization, period and sheet), as JSON."""

    period = scratch_key("appraisal.Period")
    sheet = scratch_key("appraisal.Sheet")
    values = models.JSONField(encoder=DjangoJSONEncoder)

    class Meta:
        constraints = [
            # A part run twice stages its results once; two closes of a period never share a job.
            models.UniqueConstraint(fields=["organization", "job", "sheet"], name="uniq_staged_result"),
        ]
        indexes = [models.Index(fields=["job", "chunk"], name="staged_result_chunk")]
