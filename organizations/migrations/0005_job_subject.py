"""Jobs name their subject with a typed reference instead of a string ("period:42").

The conversion keeps every job: "period:<id>" becomes a reference to appraisal.Period <id>,
"payrun:<id>:<kind>:<format>" a reference to payroll.PayRun <id> with {"export": kind, "format":
format}. Content types are looked up by app label and model name, so this migration needs neither
of those apps' migrations (they are floors above this one).
"""

import django.db.models.deletion
from django.db import migrations, models

SUBJECTS = {"period": ("appraisal", "period"), "payrun": ("payroll", "payrun")}


def refs_to_subjects(apps, schema_editor):
    Job = apps.get_model("organizations", "Job")
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = {}
    for job in Job.objects.using(schema_editor.connection.alias).all().iterator():
        prefix, _colon, rest = job.ref.partition(":")
        parts = rest.split(":")
        if prefix not in types:
            app_label, model = SUBJECTS[prefix]
            types[prefix], _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
        job.subject_type = types[prefix]
        job.subject_id = int(parts[0])
        job.params = {"export": parts[1], "format": parts[2]} if prefix == "payrun" else {}
        job.save(update_fields=["subject_type", "subject_id", "params"])


def subjects_to_refs(apps, schema_editor):
    Job = apps.get_model("organizations", "Job")
    for job in Job.objects.using(schema_editor.connection.alias).select_related("subject_type").iterator():
        if job.subject_type.model == "payrun":
            job.ref = f"payrun:{job.subject_id}:{job.params['export']}:{job.params['format']}"
        else:
            job.ref = f"period:{job.subject_id}"
        job.save(update_fields=["ref"])


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("organizations", "0004_person_bank_account"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="subject_type",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="contenttypes.contenttype", verbose_name="subject type"),
        ),
        migrations.AddField(
            model_name="job",
            name="subject_id",
            field=models.PositiveBigIntegerField(null=True, verbose_name="subject"),
        ),
        migrations.AddField(
            model_name="job",
            name="params",
            field=models.JSONField(blank=True, default=dict, verbose_name="parameters"),
        ),
        migrations.RunPython(refs_to_subjects, subjects_to_refs),
        migrations.RemoveConstraint(model_name="job", name="uniq_active_job"),
        # A default only so that going back can add the column before the data fills it again.
        migrations.AlterField(model_name="job", name="ref",
                              field=models.CharField(default="", max_length=60, verbose_name="subject")),
        migrations.RemoveField(model_name="job", name="ref"),
        migrations.AlterField(
            model_name="job",
            name="subject_type",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="contenttypes.contenttype", verbose_name="subject type"),
        ),
        migrations.AlterField(
            model_name="job",
            name="subject_id",
            field=models.PositiveBigIntegerField(verbose_name="subject"),
        ),
        migrations.AlterField(
            model_name="job",
            name="kind",
            field=models.CharField(choices=[("close_period", "period close"), ("pay_run", "pay computation"),
                                            ("pay_export", "pay export")], max_length=30, verbose_name="kind"),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(condition=models.Q(("state__in", ["queued", "running"])),
                                               fields=("organization", "kind", "subject_type", "subject_id", "params"),
                                               name="uniq_active_job"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["organization", "subject_type", "subject_id", "kind"], name="job_subject"),
        ),
    ]
