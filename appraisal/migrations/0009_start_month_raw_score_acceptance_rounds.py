"""Period.start_month, SheetLine.raw_score and label (lines added to one sheet), AcceptanceRound, and
the staleness triggers of migration 0006 installed again, now also watching Template.rounding and
TemplatePart.per_person (which change a sheet's score as its base score and part weights do).

SQLite cannot alter a column in place: Django rebuilds appraisal_sheetline, indicators_template and
indicators_templatepart (a new table, a copy, the old one dropped), which drops the old table's
triggers, and refuses to rename the new table while other triggers (records, ratings) name it. So
the triggers that name these tables are dropped first and all of them created again at the end.
A line's raw_score and label are output and display: not watched.
"""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

SHEET = "appraisal_sheet"

# table: (the sheet column the rows point at, the sheet expression for a row alias, the columns that
# matter, whether inserts and deletes matter): as in 0006, with the new columns of 0009.
LINE_COLUMNS = ["sheet_id", "indicator_id", "part_code", "source", "method", "config", "direction",
                "baseline_source", "max_points", "target", "actual", "inputs", "rating", "accepted",
                "acceptance_round", "sort_order"]
PART_COLUMNS = ["template_id", "code", "name", "weight", "full_marks", "cap_positive", "sort_order"]
LINE_OF = "(SELECT l.sheet_id FROM appraisal_sheetline l WHERE l.id = {r}.line_id)"
COMMON = {
    "appraisal_deductionrecord": ("id", LINE_OF, ["line_id", "item_code", "count"], True),
    "appraisal_rating": ("id", LINE_OF, ["line_id", "rater_id", "score"], True),
}
WATCHED_BEFORE = {
    **COMMON,
    "appraisal_sheetline": ("id", "{r}.sheet_id", LINE_COLUMNS, True),
    "indicators_templatepart": ("template_id", "{r}.template_id", PART_COLUMNS, True),
    "indicators_template": ("template_id", "{r}.id", ["base_score"], False),
}
WATCHED_AFTER = {
    **COMMON,
    "appraisal_sheetline": ("id", "{r}.sheet_id", LINE_COLUMNS, True),
    "indicators_templatepart": ("template_id", "{r}.template_id", [*PART_COLUMNS, "per_person"], True),
    "indicators_template": ("template_id", "{r}.id", ["base_score", "rounding"], False),
}


def _bump(column, select):
    return f"UPDATE {SHEET} SET data_version = data_version + 1 WHERE {column} IN ({select});"


def _events(inserts):
    return ["update", "insert", "delete"] if inserts else ["update"]


def _drop(vendor, watched):
    statements = []
    for table, (_column, _sheet_of, _columns, inserts) in watched.items():
        for suffix in _events(inserts):
            on = f" ON {table}" if vendor == "postgresql" else ""
            statements.append(f"DROP TRIGGER IF EXISTS {table}_stale_{suffix}{on};")
        if vendor == "postgresql":
            statements.append(f"DROP FUNCTION IF EXISTS {table}_touches_sheets();")
    return statements


def _postgresql(watched):
    statements = _drop("postgresql", watched)
    for table, (column, sheet_of, columns, inserts) in watched.items():
        function = f"{table}_touches_sheets"
        new = ", ".join(f"n.{c}" for c in columns)
        old = ", ".join(f"o.{c}" for c in columns)
        changed = f"FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ({new}) IS DISTINCT FROM ({old})"
        statements.append(f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_bump(column, "SELECT " + sheet_of.format(r="n") + " FROM new_rows n")}
    ELSIF TG_OP = 'DELETE' THEN
        {_bump(column, "SELECT " + sheet_of.format(r="o") + " FROM old_rows o")}
    ELSE
        {_bump(column, "SELECT " + sheet_of.format(r="n") + " " + changed
                       + " UNION SELECT " + sheet_of.format(r="o") + " " + changed)}
    END IF;
    RETURN NULL;
END $$;""")
        referencing = {"update": ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                       "insert": ("INSERT", "NEW TABLE AS new_rows"), "delete": ("DELETE", "OLD TABLE AS old_rows")}
        for suffix in _events(inserts):
            event, refs = referencing[suffix]
            statements.append(f"CREATE TRIGGER {table}_stale_{suffix} AFTER {event} ON {table} REFERENCING {refs} "
                              f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();")
    return statements


def _sqlite(watched):
    statements = _drop("sqlite", watched)
    for table, (column, sheet_of, columns, inserts) in watched.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        events = {"update": (f"UPDATE OF {', '.join(columns)}", f"WHEN {changed} ",
                             [sheet_of.format(r="OLD"), sheet_of.format(r="NEW")]),
                  "insert": ("INSERT", "", [sheet_of.format(r="NEW")]),
                  "delete": ("DELETE", "", [sheet_of.format(r="OLD")])}
        for suffix in _events(inserts):
            event, when, sheets = events[suffix]
            statements.append(f"CREATE TRIGGER {table}_stale_{suffix} AFTER {event} ON {table} FOR EACH ROW {when}"
                              f"BEGIN {_bump(column, ', '.join(sheets))} END;")
    return statements


def _run(schema_editor, statements_for):
    connection = schema_editor.connection
    if connection.vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"sheet staleness triggers are written for PostgreSQL and SQLite, not {connection.vendor}")
    for statement in statements_for(connection.vendor):
        schema_editor.execute(statement, params=None)


def install_after(apps, schema_editor):
    _run(schema_editor, lambda vendor: (_postgresql if vendor == "postgresql" else _sqlite)(WATCHED_AFTER))


def install_before(apps, schema_editor):
    _run(schema_editor, lambda vendor: (_postgresql if vendor == "postgresql" else _sqlite)(WATCHED_BEFORE))


def drop(apps, schema_editor):
    _run(schema_editor, lambda vendor: _drop(vendor, WATCHED_AFTER))


class Migration(migrations.Migration):

    dependencies = [
        ('appraisal', '0008_period_close_anyway_reopen'),
        ('indicators', '0004_template_rounding_assignment_per_person'),
        ('organizations', '0005_job_subject'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Undone last: the triggers as 0006 made them, once the tables are as they were.
        migrations.RunPython(drop, install_before, elidable=False),
        migrations.CreateModel(
            name='AcceptanceRound',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveSmallIntegerField(verbose_name='round')),
                ('passed', models.BooleanField(verbose_name='passed')),
                ('reason', models.TextField(blank=True, verbose_name='reason')),
                ('inspected_on', models.DateField(verbose_name='inspected on')),
                ('recorded_at', models.DateTimeField(auto_now_add=True, verbose_name='recorded at')),
            ],
            options={
                'verbose_name': 'acceptance round',
                'verbose_name_plural': 'acceptance rounds',
                'ordering': ['number'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalAcceptanceRound',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('number', models.PositiveSmallIntegerField(verbose_name='round')),
                ('passed', models.BooleanField(verbose_name='passed')),
                ('reason', models.TextField(blank=True, verbose_name='reason')),
                ('inspected_on', models.DateField(verbose_name='inspected on')),
                ('recorded_at', models.DateTimeField(blank=True, editable=False, verbose_name='recorded at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical acceptance round',
                'verbose_name_plural': 'historical acceptance rounds',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddField(
            model_name='historicalperiod',
            name='start_month',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='start month'),
        ),
        migrations.AddField(
            model_name='historicalsheetline',
            name='label',
            field=models.CharField(blank=True, max_length=200, verbose_name='work item'),
        ),
        migrations.AddField(
            model_name='historicalsheetline',
            name='raw_score',
            field=models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True, verbose_name='unrounded score'),
        ),
        migrations.AddField(
            model_name='period',
            name='start_month',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='start month'),
        ),
        migrations.AddField(
            model_name='sheetline',
            name='label',
            field=models.CharField(blank=True, max_length=200, verbose_name='work item'),
        ),
        migrations.AddField(
            model_name='sheetline',
            name='raw_score',
            field=models.DecimalField(blank=True, decimal_places=8, max_digits=20, null=True, verbose_name='unrounded score'),
        ),
        migrations.AlterField(
            model_name='sheetline',
            name='template_line',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='indicators.templateline'),
        ),
        migrations.AddConstraint(
            model_name='period',
            constraint=models.CheckConstraint(condition=models.Q(('start_month__gte', 1), ('start_month__lte', 12)), name='period_start_month_1_12'),
        ),
        migrations.AddConstraint(
            model_name='sheetline',
            constraint=models.UniqueConstraint(condition=models.Q(('template_line__isnull', True)), fields=('organization', 'sheet', 'part_code', 'indicator', 'label'), name='uniq_sheet_added_line'),
        ),
        migrations.AddField(
            model_name='acceptanceround',
            name='inspected_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organizations.person', verbose_name='inspected by'),
        ),
        migrations.AddField(
            model_name='acceptanceround',
            name='line',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='acceptance_rounds', to='appraisal.sheetline', verbose_name='line'),
        ),
        migrations.AddField(
            model_name='acceptanceround',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.organization', verbose_name='organization'),
        ),
        migrations.AddField(
            model_name='historicalacceptanceround',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalacceptanceround',
            name='inspected_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organizations.person', verbose_name='inspected by'),
        ),
        migrations.AddField(
            model_name='historicalacceptanceround',
            name='line',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='appraisal.sheetline', verbose_name='line'),
        ),
        migrations.AddField(
            model_name='historicalacceptanceround',
            name='organization',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='organizations.organization', verbose_name='organization'),
        ),
        migrations.AddConstraint(
            model_name='acceptanceround',
            constraint=models.UniqueConstraint(fields=('organization', 'line', 'number'), name='uniq_acceptance_round'),
        ),
        migrations.AddConstraint(
            model_name='acceptanceround',
            constraint=models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='acceptance_round_number_positive'),
        ),
        migrations.RunPython(install_after, drop, elidable=False),
    ]
