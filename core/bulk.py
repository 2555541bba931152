"""Inserting and updating many rows without per-row SQL: COPY on PostgreSQL, executemany elsewhere.

A close writes a result and its audit row per employee, a pay run a slip per employee. Django's
``bulk_create`` builds a model instance per row and prepares every value through the field
(``get_db_prep_save``, about 1 µs a value): at 100,000 people that alone is several seconds of a
close that must take twenty. Here rows are plain tuples, each column's conversion is chosen once,
and PostgreSQL reads the rows with COPY, streamed, so memory does not grow with the row count.

The caller gives attribute names (``organization_id``, not ``organization``) and values already
in their Python types; nothing is validated beyond what the database enforces (constraints,
types), so this is for services that build rows they control, never for user input as such.
"""

from __future__ import annotations

import csv
import functools
import gc
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.utils import timezone

# What django-simple-history writes beside the tracked fields of an audit row.
HISTORY_COLUMNS = ["history_date", "history_change_reason", "history_type", "history_user_id"]

_TEXT = {"CharField", "TextField", "SlugField", "EmailField", "URLField", "FilePathField", "FileField"}
_SQLITE_BATCH = 500
_NULL = "\\N"


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]],
                *, using: str = "default") -> int:
    """Inserts ``rows`` (tuples in the order of ``fields``, attribute names) into ``model``'s table
    in one statement on PostgreSQL, in batches elsewhere. Returns the number of rows. Primary keys
    and other columns not named take their database defaults."""
    connection = connections[using]
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [name for name in fields if name not in by_name]
    if unknown:
        raise ValueError(f"{model._meta.label} has no column {', '.join(unknown)}")
    columns = [by_name[name] for name in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        return _copy(connection, table, columns, rows)
    names = ", ".join(connection.ops.quote_name(str(f.column)) for f in columns)
    return _executemany(connection, f"INSERT INTO {table} ({names}) VALUES ({', '.join('%s' for _ in columns)})",
                        columns, rows)


FEW_ROWS = 20  # update_rows: up to this many rows, one UPDATE each


def update_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]],
                *, using: str = "default") -> int:
    """Sets ``fields`` (attribute names) of the rows whose primary key comes first in each of
    ``rows``: ``(pk, value, value, …)``. On PostgreSQL the rows are copied into a temporary table
    and joined in one UPDATE; Django's ``bulk_update`` builds a CASE WHEN per row and field instead,
    which the database evaluates per row (about 1 ms a line of four fields in batches of 500).
    Up to FEW_ROWS rows, and elsewhere than PostgreSQL, single-row UPDATEs. Returns the number of
    rows updated."""
    connection = connections[using]
    meta = model._meta
    by_name = {f.attname: f for f in meta.concrete_fields}
    unknown = [name for name in fields if name not in by_name]
    if unknown or not fields:
        raise ValueError(f"{meta.label} has no column {', '.join(unknown) or '(none given)'}")
    pk = meta.pk
    assert pk is not None
    columns = [by_name[name] for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    key = quote(str(pk.column))
    names = [quote(str(f.column)) for f in columns]
    remaining = iter(rows)
    first = list(islice(remaining, FEW_ROWS + 1))
    if connection.vendor != "postgresql" or len(first) <= FEW_ROWS:
        # A few rows (a line saved in the browser rescores one sheet): plain UPDATEs, without the
        # scratch table's four statements.
        assignments = ", ".join(f"{name} = %s" for name in names)
        return _executemany(connection, f"UPDATE {table} SET {assignments} WHERE {key} = %s", [*columns, pk],
                            ((*row[1:], row[0]) for row in chain(first, remaining)))
    rows = chain(first, remaining)
    scratch = quote(f"bulk_update_{meta.db_table}")
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # The scratch table takes the columns' types from the table itself, without constraints.
        cursor.execute(f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS "
                       f"SELECT {key}, {', '.join(names)} FROM {table} WITH NO DATA")
        count = _copy(connection, scratch, [pk, *columns], rows)
        if count:
            assignments = ", ".join(f"{name} = s.{name}" for name in names)
            cursor.execute(f"UPDATE {table} SET {assignments} FROM {scratch} s WHERE {table}.{key} = s.{key}")
            count = cursor.rowcount
        cursor.execute(f"DROP TABLE {scratch}")  # a second call in the same transaction makes it again
    return count


def update_with_history(instances: Sequence[Model], fields: Sequence[str], *, acting_user: Any,
                        reason: str, using: str = "default") -> int:
    """Saves ``fields`` of ``instances`` (already set in memory) with :func:`update_rows`, and one
    audit row each (django-simple-history's, type "~", as ``bulk_update_with_history`` writes
    them: every tracked field, the instance's own ``_change_reason`` or ``reason``) with
    :func:`insert_rows`. For a model without history use :func:`update_rows`."""
    if not instances:
        return 0
    model = type(instances[0])
    history = model.history.model  # type: ignore[attr-defined]
    tracked = [f.attname for f in history.tracked_fields]
    now = timezone.now()
    user = acting_user.pk if acting_user is not None else None
    count = update_rows(model, fields, ([obj.pk, *(getattr(obj, name) for name in fields)] for obj in instances),
                        using=using)
    insert_rows(history, [*tracked, *HISTORY_COLUMNS],
                ([*(getattr(obj, name) for name in tracked), now, getattr(obj, "_change_reason", None) or reason,
                  "~", user] for obj in instances), using=using)
    return count


def update_changes_with_history(model: type[Model], fields: Sequence[str], changes: Mapping[Any, Sequence[Any]], *,
                                acting_user: Any, reason: str, using: str = "default") -> int:
    """As :func:`update_with_history`, from the new values of ``fields`` by primary key instead of
    model instances: the rows are updated, then their audit rows are copied from them by PostgreSQL
    (elsewhere read back as plain tuples of every tracked field). No model is built per row:
    loading 40,000 models only to copy their fields cost a rescoring of 20,000 sheets 2 s."""
    if not changes:
        return 0
    history = model.history.model  # type: ignore[attr-defined]
    tracked = [f.attname for f in history.tracked_fields]
    now = timezone.now()
    user = acting_user.pk if acting_user is not None else None
    count = update_rows(model, fields, ([pk, *values] for pk, values in changes.items()), using=using)
    connection = connections[using]
    if connection.vendor == "postgresql":
        _history_from_table(connection, model, history, tracked, list(changes), (now, reason, "~", user))
        return count
    # Read whole before the COPY starts: the connection cannot run a query in the middle of one.
    rows = list(model._base_manager.using(using).filter(pk__in=list(changes)).values_list(*tracked))
    insert_rows(history, [*tracked, *HISTORY_COLUMNS], ([*row, now, reason, "~", user] for row in rows),
                using=using)
    return count


def _history_from_table(connection: BaseDatabaseWrapper, model: type[Model], history: type[Model],
                       tracked: Sequence[str], keys: list[Any], extra: Sequence[Any]) -> None:
    """The audit rows of the rows ``keys`` as they now are, written by the database itself (INSERT
    … SELECT): every tracked field, then ``extra`` for HISTORY_COLUMNS. Reading the rows into
    Python to COPY them back was a third of rescoring 100,000 sheets (their JSON decoded and encoded
    again)."""
    quote = connection.ops.quote_name
    source = {f.attname: f.column for f in model._meta.concrete_fields}
    target = {f.attname: f.column for f in history._meta.concrete_fields}
    key = model._meta.pk
    assert key is not None
    into = ", ".join(quote(str(target[name])) for name in [*tracked, *HISTORY_COLUMNS])
    picked = ", ".join(quote(str(source[name])) for name in tracked)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(history._meta.db_table)} ({into}) "
                       f"SELECT {picked}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} "
                       f"WHERE {quote(str(key.column))} = ANY(%s) ORDER BY {quote(str(key.column))}",
                       [*extra, keys])


def analyze(*models: type[Model], using: str = "default") -> None:
    """Refreshes PostgreSQL's planner statistics of the models' tables after a bulk load (a no-op
    elsewhere). Until autovacuum gets there, the planner estimates the new rows from stale
    figures: an actuals upload right after opening a period of 5,000 sheets joined the new lines
    in nested loops and took 18 s instead of 2.5 s."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not models:
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models))


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector, then restores it as it was. Set-based work makes
    a few small objects per row and no reference cycles, yet the collector walks the whole growing
    heap again and again while they pile up: a third of a pay run at 20,000 people, and more than
    linear growth at 100,000. Reference counting still frees everything as usual."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# --- PostgreSQL ---------------------------------------------------------------------------------
#
# COPY in CSV format, written by the csv module (C): a row costs a few microseconds whatever its
# width, where formatting each value in Python cost a microsecond a value. Values go as Python
# writes them (str() of a Decimal, an int, a datetime, True/False), which PostgreSQL reads back
# exactly; only JSON is encoded here. In CSV an unquoted empty field is NULL, so the text columns
# are named in FORCE_NOT_NULL to keep "" an empty string; where a text column may be NULL, NULL is
# written \N instead (a text value of exactly "\N" would then read as NULL: none of ours is).


class _RowReader:
    """A file-like object over the CSV of the rows, read by psycopg2 a chunk at a time (the
    driver sends whatever a read returns, so a chunk is whole rows of about ``size`` characters)."""

    def __init__(self, rows: Iterator[Sequence[Any]]) -> None:
        self._rows = rows
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self.count = 0

    def read(self, size: int = -1) -> str:
        buffer, write = self._buffer, self._writer.writerow
        for row in self._rows:
            write(row)
            self.count += 1
            if 0 <= size <= buffer.tell():
                break
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    def readline(self, size: int = -1) -> str:  # part of the file protocol psycopg2 checks for
        return self.read(size)


def _copy(connection: BaseDatabaseWrapper, table: str, columns: Sequence[Field[Any, Any]],
          rows: Iterable[Sequence[Any]]) -> int:
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in columns)
    texts = [f for f in columns if f.get_internal_type() in _TEXT]
    # A nullable text column needs NULL spelt out (\N), which costs a pass over every value; a
    # table without one takes the rows as they come.
    spelt = any(f.null for f in texts)
    if spelt:
        options = "FORMAT csv, NULL '\\N'"
    else:
        options = "FORMAT csv" + (f", FORCE_NOT_NULL ({', '.join(quote(str(f.column)) for f in texts)})"
                                  if texts else "")
    sql = f"COPY {table} ({names}) FROM STDIN WITH ({options})"
    encoded = [(index, getattr(field, "encoder", None)) for index, field in enumerate(columns)
               if field.get_internal_type() == "JSONField"]

    def prepared() -> Iterator[Sequence[Any]]:
        if not encoded and not spelt:
            yield from rows
            return
        for row in rows:
            values = [_NULL if value is None else value for value in row] if spelt else list(row)
            for index, encoder in encoded:
                if row[index] is not None:
                    values[index] = json.dumps(row[index], cls=encoder, ensure_ascii=False)
            yield values

    reader = _RowReader(prepared())
    with connection.cursor() as cursor:
        def execute(sql: str, params: Any, many: bool, context: dict[str, Any]) -> None:
            cursor.cursor.copy_expert(sql, reader, size=1 << 16)

        # Through the connection's execute wrappers and query log like any other statement, so
        # query counts (the benchmark's, a test's) see the COPY.
        executor: Callable[..., Any] = execute
        for wrapper in reversed(connection.execute_wrappers):
            executor = functools.partial(wrapper, executor)
        started = time.monotonic()
        executor(sql, None, False, {"connection": connection, "cursor": cursor})
        if connection.queries_logged:
            connection.queries_log.append({"sql": f"{sql} -- {reader.count} rows",
                                           "time": f"{time.monotonic() - started:.3f}"})
    return reader.count


# --- other databases (SQLite) -------------------------------------------------------------------


def _executemany(connection: BaseDatabaseWrapper, sql: str, columns: Sequence[Field[Any, Any]],
                 rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([None if value is None else field.get_db_prep_save(value, connection)
                          for field, value in zip(columns, row, strict=True)])
            if len(batch) == _SQLITE_BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count
