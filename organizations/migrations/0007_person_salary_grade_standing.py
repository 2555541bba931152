"""A person's salary grade and appraisal standing (unfit, eliminated) with its note: written when HR
confirms a rule's outcome (appraisal.services.outcomes). The standing and its note have database
defaults too, so rows written by COPY without them stay valid."""

from django.db import migrations, models

STANDINGS = [("good", "in good standing"), ("unfit", "unfit for the post"), ("eliminated", "eliminated")]


class Migration(migrations.Migration):

    dependencies = [
        ("organizations", "0006_job_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalperson",
            name="salary_grade",
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="salary grade"),
        ),
        migrations.AddField(
            model_name="historicalperson",
            name="standing",
            field=models.CharField(choices=STANDINGS, db_default="good", default="good", max_length=12,
                                   verbose_name="appraisal standing"),
        ),
        migrations.AddField(
            model_name="historicalperson",
            name="standing_note",
            field=models.CharField(blank=True, db_default="", default="", max_length=200,
                                   verbose_name="appraisal standing note"),
        ),
        migrations.AddField(
            model_name="person",
            name="salary_grade",
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="salary grade"),
        ),
        migrations.AddField(
            model_name="person",
            name="standing",
            field=models.CharField(choices=STANDINGS, db_default="good", default="good", max_length=12,
                                   verbose_name="appraisal standing"),
        ),
        migrations.AddField(
            model_name="person",
            name="standing_note",
            field=models.CharField(blank=True, db_default="", default="", max_length=200,
                                   verbose_name="appraisal standing note"),
        ),
    ]
