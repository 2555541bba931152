"""organizations 0005: jobs' string references become typed subjects, every job kept."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("organizations", "0004_person_bank_account")]
AFTER = [("organizations", "0005_job_subject")]


@pytest.mark.django_db(transaction=True)
def test_it_turns_each_ref_into_a_subject_and_back() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    organization = old.get_model("organizations", "Organization").objects.create(name="甲", slug="jia")
    Job = old.get_model("organizations", "Job")
    Job.objects.create(organization=organization, kind="close_period", ref="period:42", state="done")
    Job.objects.create(organization=organization, kind="pay_export", ref="payrun:7:paysheet:xlsx", state="done")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    jobs = {job.kind: job for job in new.get_model("organizations", "Job").objects.select_related("subject_type")}
    close, export = jobs["close_period"], jobs["pay_export"]
    assert (close.subject_type.app_label, close.subject_type.model, close.subject_id, close.params) == (
        "appraisal", "period", 42, {})
    assert (export.subject_type.app_label, export.subject_type.model, export.subject_id, export.params) == (
        "payroll", "payrun", 7, {"export": "paysheet", "format": "xlsx"})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(BEFORE)
    refs = set(old.get_model("organizations", "Job").objects.values_list("ref", flat=True))
    assert refs == {"period:42", "payrun:7:paysheet:xlsx"}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # leave the database as the other tests expect it
