"""What a close's grading parts leave for its last step (appraisal.services.close_chunks).

Kept apart from appraisal.models (re-exported there) so that module stays readable."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from organizations.tenancy import TenantOwned


class StagedResult(TenantOwned):
    """A result a part of a close computed and nobody sees yet: the close's last step writes them
    all as results at once, then removes them. ``values`` are the result's columns
    (appraisal.services.closing.RESULT_COLUMNS after organization, period and sheet), as JSON."""

    # Scratch rows, COPYed by the parts and removed by the last step: no foreign-key constraints
    # (four checks a row at each part's commit) and no indexes but the two below, which lead with
    # the organisation and the job. The results made from them are checked; Django still cascades.
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE, related_name="+",
                                     db_constraint=False, db_index=False)
    job = models.ForeignKey("organizations.Job", on_delete=models.CASCADE, related_name="+", db_constraint=False,
                            db_index=False)
    chunk = models.PositiveIntegerField()
    period = models.ForeignKey("appraisal.Period", on_delete=models.CASCADE, related_name="+", db_constraint=False,
                               db_index=False)
    sheet = models.ForeignKey("appraisal.Sheet", on_delete=models.CASCADE, related_name="+", db_constraint=False,
                              db_index=False)
    values = models.JSONField(encoder=DjangoJSONEncoder)

    class Meta:
        constraints = [
            # A part run twice stages its results once; two closes of a period never share a job.
            models.UniqueConstraint(fields=["organization", "job", "sheet"], name="uniq_staged_result"),
        ]
        indexes = [models.Index(fields=["job", "chunk"], name="staged_result_chunk")]
