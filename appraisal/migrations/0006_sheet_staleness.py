"""Sheet.data_version / scored_version, kept by database triggers.

Whatever writes what a sheet's score depends on (a service, a bulk import, the admin, raw SQL),
a trigger adds 1 to the sheet's data_version; rescoring records the data_version it read in
scored_version. The close then rescores only the sheets whose two versions differ.

What the score depends on, per table (anything else, such as a line's own score or a rating's
comment, is output or commentary and leaves the sheet as it is):

- appraisal_sheetline: the line's data and its snapshot of the template line;
- appraisal_deductionrecord: the item and count recorded against a line;
- appraisal_rater: role, weight, how a missing rating counts, recusal;
- appraisal_rating: the rater's score;
- indicators_templatepart: every column (weights, full marks, caps) of the sheet's template;
- indicators_template: the base score;
- appraisal_sheet itself: its template. A save() from an instance read before a trigger ran
  would write an older data_version back; a guard keeps the higher one.

PostgreSQL: statement-level triggers with transition tables, so a bulk write of 100,000 lines
touches each sheet in one UPDATE rather than one per row. SQLite: row-level triggers.
"""

from django.db import migrations, models

SHEET = "appraisal_sheet"
LINE_OF = "(SELECT l.sheet_id FROM appraisal_sheetline l WHERE l.id = {r}.line_id)"

# table: (the sheet column the rows point at, the expression giving it for a row alias,
#         the columns that matter, whether inserts and deletes matter)
WATCHED = {
    "appraisal_sheetline": ("id", "{r}.sheet_id", [
        "sheet_id", "indicator_id", "part_code", "source", "method", "config", "direction", "baseline_source",
        "max_points", "target", "actual", "inputs", "rating", "accepted", "acceptance_round", "sort_order"], True),
    "appraisal_deductionrecord": ("id", LINE_OF, ["line_id", "item_code", "count"], True),
    "appraisal_rater": ("id", "{r}.sheet_id", [
        "sheet_id", "role", "weight", "missing_counts_as_zero", "recused"], True),
    "appraisal_rating": ("id", LINE_OF, ["line_id", "rater_id", "score"], True),
    "indicators_templatepart": ("template_id", "{r}.template_id", [
        "template_id", "code", "name", "weight", "full_marks", "cap_positive", "sort_order"], True),
    "indicators_template": ("template_id", "{r}.id", ["base_score"], False),
}


def _bump(column: str, select: str) -> str:
    return f"UPDATE {SHEET} SET data_version = data_version + 1 WHERE {column} IN ({select});"


def postgresql() -> tuple[list[str], list[str]]:
    forward, backward = [], []
    for table, (column, sheet_of, columns, inserts) in WATCHED.items():
        new = ", ".join(f"n.{c}" for c in columns)
        old = ", ".join(f"o.{c}" for c in columns)
        changed = f"FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE ({new}) IS DISTINCT FROM ({old})"
        function = f"{table}_touches_sheets"
        forward.append(f"""
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
        events = [("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")]
        if inserts:
            events += [("insert", "INSERT", "NEW TABLE AS new_rows"), ("delete", "DELETE", "OLD TABLE AS old_rows")]
        for suffix, event, referencing in events:
            forward.append(f"CREATE TRIGGER {table}_stale_{suffix} AFTER {event} ON {table} REFERENCING {referencing} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();")
            backward.append(f"DROP TRIGGER IF EXISTS {table}_stale_{suffix} ON {table};")
        backward.append(f"DROP FUNCTION IF EXISTS {function}();")
    forward.append(f"""
CREATE FUNCTION appraisal_sheet_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.data_version := GREATEST(NEW.data_version, OLD.data_version)
        + CASE WHEN NEW.template_id IS DISTINCT FROM OLD.template_id THEN 1 ELSE 0 END;
    RETURN NEW;
END $$;""")
    forward.append(f"CREATE TRIGGER appraisal_sheet_versions BEFORE UPDATE ON {SHEET} FOR EACH ROW "
                   "WHEN (NEW.data_version < OLD.data_version OR NEW.template_id IS DISTINCT FROM OLD.template_id) "
                   "EXECUTE FUNCTION appraisal_sheet_versions();")
    backward += [f"DROP TRIGGER IF EXISTS appraisal_sheet_versions ON {SHEET};",
                 "DROP FUNCTION IF EXISTS appraisal_sheet_versions();"]
    return forward, backward


def sqlite() -> tuple[list[str], list[str]]:
    forward, backward = [], []
    for table, (column, sheet_of, columns, inserts) in WATCHED.items():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        # A row moved to another sheet makes both stale.
        events = [("update", f"UPDATE OF {', '.join(columns)}", f"WHEN {changed} ",
                   [sheet_of.format(r="OLD"), sheet_of.format(r="NEW")])]
        if inserts:
            events += [("insert", "INSERT", "", [sheet_of.format(r="NEW")]),
                       ("delete", "DELETE", "", [sheet_of.format(r="OLD")])]
        for suffix, event, when, sheets in events:
            forward.append(f"CREATE TRIGGER {table}_stale_{suffix} AFTER {event} ON {table} FOR EACH ROW {when}"
                           f"BEGIN {_bump(column, ', '.join(sheets))} END;")
            backward.append(f"DROP TRIGGER IF EXISTS {table}_stale_{suffix};")
    forward.append(f"CREATE TRIGGER appraisal_sheet_versions AFTER UPDATE OF data_version, template_id ON {SHEET} "
                   "FOR EACH ROW WHEN NEW.data_version < OLD.data_version OR NEW.template_id IS NOT OLD.template_id "
                   f"BEGIN UPDATE {SHEET} SET data_version = MAX(OLD.data_version, NEW.data_version) "
                   "+ (NEW.template_id IS NOT OLD.template_id) WHERE id = NEW.id; END;")
    backward.append("DROP TRIGGER IF EXISTS appraisal_sheet_versions;")
    return forward, backward


def _run(schema_editor: object, which: int) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    builders = {"postgresql": postgresql, "sqlite": sqlite}
    if connection.vendor not in builders:
        raise RuntimeError(f"sheet staleness triggers are written for PostgreSQL and SQLite, not {connection.vendor}")
    for statement in builders[connection.vendor]()[which]:
        schema_editor.execute(statement, params=None)  # type: ignore[attr-defined]


def install(apps: object, schema_editor: object) -> None:
    _run(schema_editor, 0)


def uninstall(apps: object, schema_editor: object) -> None:
    _run(schema_editor, 1)


class Migration(migrations.Migration):

    dependencies = [
        ('appraisal', '0005_results_appeals_policies'),
        ('indicators', '0003_template_team_kind'),
    ]

    operations = [
        migrations.AddField(
            model_name='sheet',
            name='data_version',
            field=models.PositiveIntegerField(default=1, editable=False),
        ),
        migrations.AddField(
            model_name='sheet',
            name='scored_version',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
