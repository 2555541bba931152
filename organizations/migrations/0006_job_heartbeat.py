"""A running job records a heartbeat; one silent for JOB_DEAD_AFTER_SECONDS is dead and restartable.

Existing jobs get none: an unfinished one counts from its start (or creation), so a job left
"running" by a worker killed before this migration shows as dead and can be restarted.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('organizations', '0005_job_subject'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='last sign of life'),
        ),
    ]
