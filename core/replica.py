"""Heavy reads on a streaming read replica, when one is configured (DATABASE_REPLICA_URL).

Reads go to the replica only inside an explicit ``replica_reads()`` block (a context manager and a
decorator), which the heavy read paths use: the results and pay-slip lists, the period and
calibration pages' results, the home page's cards and the pay-run exports. Everything else, and
every write, goes to the primary (``default``). Inside a ``replica_reads()`` block the reads still
go to the primary when

* no replica is configured (then nothing at all changes: settings install no router);
* the replica alias is Django's test mirror of ``default`` (under the test runner it names the test
  database, whose rows a test writes in its own transaction: the replica cannot see them);
* the primary's connection is inside a transaction (its reads must see its own writes), or the
  block began less than ``WRITE_PIN_SECONDS`` after this thread wrote (the page that follows a
  save shows the save, though the replica may not have replayed it yet);
* the replica lags more than ``REPLICA_MAX_LAG_SECONDS`` behind the primary, or cannot be reached.
  The lag is measured on the replica and kept for ``LAG_CHECK_SECONDS``, so a page pays for one
  small query a second at most, and an unreachable replica costs one failed connection a second.

The lag is how long ago the replica replayed its last transaction, counted only while WAL it has
received is still waiting to be replayed: a replica that has replayed everything it received is
current (0 s), however long the primary has been idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, Error, connections

REPLICA = "replica"
DEFAULT_MAX_LAG_SECONDS = 5
LAG_CHECK_SECONDS = 1.0
WRITE_PIN_SECONDS = 2.0

LAG_SQL = """
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END
"""

_wanted: ContextVar[bool] = ContextVar("replica_reads", default=False)
_wrote_at: ContextVar[float] = ContextVar("replica_wrote_at", default=float("-inf"))
_lock = threading.Lock()
_lags: dict[str, tuple[float, float | None]] = {}  # alias → (monotonic time measured, lag or None)

F = TypeVar("F", bound=Callable[..., Any])


class Existing(Protocol):
    """A query that can be asked on one database whether its row is there (a QuerySet)."""

    def using(self, alias: str | None) -> Existing: ...

    def exists(self) -> bool: ...


def replica_alias() -> str | None:
    """The replica's alias when one is configured and is not the test runner's mirror of default."""
    config = settings.DATABASES.get(REPLICA)
    if config is None:
        return None
    # Django's test runner renames a TEST MIRROR alias to the test database; the configured name
    # (settings.REPLICA_DATABASE_NAME) tells the real replica from that mirror.
    if config["NAME"] != getattr(settings, "REPLICA_DATABASE_NAME", config["NAME"]):
        return None
    return REPLICA


def measure_lag(alias: str) -> float | None:
    """Seconds the replica is behind, or None when it cannot be asked (down, refused, broken)."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            row = cursor.fetchone()
    except Error:
        connections[alias].close()  # never hand a broken connection to the next query
        return None
    return float(row[0]) if row and row[0] is not None else 0.0


def replica_lag(alias: str) -> float | None:
    """``measure_lag``, measured at most once per ``LAG_CHECK_SECONDS`` per process and alias."""
    now = time.monotonic()
    with _lock:
        known = _lags.get(alias)
    if known is not None and now - known[0] < LAG_CHECK_SECONDS:
        return known[1]
    lag = measure_lag(alias)
    with _lock:
        _lags[alias] = (time.monotonic(), lag)
    return lag


def forget_lag() -> None:
    """Drops the remembered lags: the next read measures again."""
    with _lock:
        _lags.clear()


def recently_wrote() -> bool:
    """Whether this thread (context) wrote less than ``WRITE_PIN_SECONDS`` ago."""
    return time.monotonic() - _wrote_at.get() < WRITE_PIN_SECONDS


def forget_writes() -> None:
    _wrote_at.set(float("-inf"))


def max_lag() -> float:
    return float(getattr(settings, "REPLICA_MAX_LAG_SECONDS", DEFAULT_MAX_LAG_SECONDS))


def usable_replica() -> str | None:
    """The replica's alias if reads may go there now, else None (the primary answers)."""
    alias = replica_alias()
    if alias is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return None
    lag = replica_lag(alias)
    return alias if lag is not None and lag <= max_lag() else None


def read_alias() -> str:
    """Where a read goes now: the replica inside ``replica_reads()`` when it is usable, else default."""
    if _wanted.get():
        return usable_replica() or DEFAULT_DB_ALIAS
    return DEFAULT_DB_ALIAS


class replica_reads:  # lower case, like contextlib's context managers
    """``with replica_reads():`` or ``@replica_reads()``: the reads inside may go to the replica.

    A block that begins right after this thread wrote stays on the primary (``recently_wrote``);
    writes made inside the block (a job's progress) do not move it. ``caught_up`` (a QuerySet of one
    row, e.g. the job being run) instead keeps the block on the primary unless the replica shows
    that row: everything committed before it is then on the replica too, since a standby replays
    transactions in commit order.
    """

    def __init__(self, *, caught_up: Existing | None = None) -> None:
        self.caught_up = caught_up
        self._tokens: list[Any] = []

    def __enter__(self) -> None:
        wanted = not recently_wrote()
        if self.caught_up is not None:
            alias = usable_replica()
            wanted = alias is not None and self._shows_row(alias)
        self._tokens.append(_wanted.set(wanted))

    def _shows_row(self, alias: str) -> bool:
        assert self.caught_up is not None
        try:
            return self.caught_up.using(alias).exists()
        except Error:
            connections[alias].close()
            return False

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        _wanted.reset(self._tokens.pop())

    def __call__(self, function: F) -> F:
        from functools import wraps

        @wraps(function)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with replica_reads(caught_up=self.caught_up):
                return function(*args, **kwargs)

        return inner  # type: ignore[return-value]


class ReplicaRouter:
    """settings.DATABASE_ROUTERS when DATABASE_REPLICA_URL is set: reads as ``read_alias`` says,
    writes and migrations on the primary only; both aliases hold the same rows."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        _wrote_at.set(time.monotonic())
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
