"""Room on each page of the sheets and their lines for the new version of an updated row.

A sheet and its lines are rewritten at every save, rescoring and close, and no column those writes
change is indexed: with free space on the row's page, PostgreSQL writes the new version there
without touching the indexes (a heap-only tuple), instead of adding an entry to each of the
sheet's twelve indexes and the line's seven. Pages written from now on keep a fifth free; older
pages get the room as they are rewritten. Other databases have no such setting."""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLES = ("appraisal_sheet", "appraisal_sheetline")


def fill(percent: int) -> Any:
    def alter(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {percent})")
    return alter


class Migration(migrations.Migration):

    dependencies = [("appraisal", "0016_staged_rows_unchecked")]

    operations = [migrations.RunPython(fill(80), fill(100))]
