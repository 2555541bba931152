"""The staleness trigger of indicators_template installed again after indicators 0005.

SQLite cannot add a NOT NULL column with a default in place: indicators 0005 (Template.unit_share
and unit) rebuilds indicators_template (a new table, a copy, the old one dropped), which drops the
trigger migration 0009 put on it, so a changed base score or rounding would no longer mark the
template's sheets stale. The trigger is made again from 0009's own definition (PostgreSQL keeps its
trigger through ALTER TABLE; making it again there is harmless: 0009's statements drop it first).
unit_share is not watched: it acts at the close, not on a sheet's score.
"""

from importlib import import_module

from django.db import migrations

_0009 = import_module("appraisal.migrations.0009_start_month_raw_score_acceptance_rounds")
TEMPLATE = {"indicators_template": _0009.WATCHED_AFTER["indicators_template"]}


def reinstall(apps, schema_editor):
    _0009._run(schema_editor, lambda vendor: (_0009._postgresql if vendor == "postgresql" else _0009._sqlite)(TEMPLATE))


class Migration(migrations.Migration):

    dependencies = [
        ('appraisal', '0013_list_indexes_sheets_results'),
        ('indicators', '0005_template_unit_share'),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop, elidable=False),
    ]
