"""The read replica (issue #14): core.replica's router sends reads to the replica only inside
``replica_reads()``, and to the primary outside it, inside a transaction, when the replica lags
more than REPLICA_MAX_LAG_SECONDS or cannot be reached; writes always go to the primary.

The router tests need no replica: the alias and the measured lag are stood in for. The services
test uses the real pair bin/test starts (the primary on :5432, a ``pg_basebackup -R`` standby on
:5433, DATABASE_REPLICA_URL): a row committed on the primary is read through the router's replica
connection, and with replay paused on the replica the reads go back to the primary. It skips,
saying why, without DATABASE_REPLICA_URL — and fails instead under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connections, router, transaction
from django.test import override_settings

from core import replica
from core.replica import REPLICA, ReplicaRouter, replica_reads

ROUTER = ReplicaRouter()


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Callable[[float | None], None]:
    """A replica alias as if configured, answering the lag check with the value given (None: down)."""
    replica.forget_lag()
    replica.forget_writes()
    monkeypatch.setattr(replica, "replica_alias", lambda: REPLICA)

    def lag_is(seconds: float | None) -> None:
        replica.forget_lag()
        monkeypatch.setattr(replica, "measure_lag", lambda alias: seconds)

    lag_is(0.0)
    return lag_is


def test_it_reads_from_the_replica_inside_replica_reads(configured: Callable[[float | None], None]) -> None:
    with replica_reads():
        assert ROUTER.db_for_read(ContentType) == REPLICA


def test_it_reads_from_the_primary_outside_replica_reads(configured: Callable[[float | None], None]) -> None:
    assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS
    with replica_reads():
        pass
    assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS


def test_it_reads_from_the_replica_in_a_decorated_function(configured: Callable[[float | None], None]) -> None:
    @replica_reads()
    def heavy_read() -> str:
        return ROUTER.db_for_read(ContentType)

    assert heavy_read() == REPLICA
    assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS


def test_it_writes_to_the_primary_inside_replica_reads(configured: Callable[[float | None], None]) -> None:
    with replica_reads():
        assert ROUTER.db_for_write(ContentType) == DEFAULT_DB_ALIAS
    assert ROUTER.allow_migrate(REPLICA, "organizations") is False
    assert ROUTER.allow_migrate(DEFAULT_DB_ALIAS, "organizations") is True


def test_it_reads_from_the_primary_when_the_replica_lags_over_the_limit(
        configured: Callable[[float | None], None]) -> None:
    with override_settings(REPLICA_MAX_LAG_SECONDS=5):
        configured(5.0)
        with replica_reads():
            assert ROUTER.db_for_read(ContentType) == REPLICA
        configured(5.5)
        with replica_reads():
            assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS


def test_it_reads_from_the_primary_when_the_replica_is_unreachable(
        configured: Callable[[float | None], None]) -> None:
    configured(None)
    with replica_reads():
        assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS


def test_it_measures_an_unreachable_replica_as_none(monkeypatch: pytest.MonkeyPatch,
                                                     django_db_blocker: Any) -> None:
    # A PostgreSQL alias on a port nothing listens on: the connection fails, the check says None.
    nowhere = {**connections.settings[DEFAULT_DB_ALIAS], "ENGINE": "django.db.backends.postgresql",
               "HOST": "127.0.0.1", "PORT": "9", "NAME": "nowhere", "USER": "nobody", "PASSWORD": "x",
               "OPTIONS": {"connect_timeout": 2}, "TEST": {}}
    monkeypatch.setitem(connections.settings, "nowhere", nowhere)
    try:
        with django_db_blocker.unblock():
            assert replica.measure_lag("nowhere") is None
    finally:
        if hasattr(connections._connections, "nowhere"):  # type: ignore[attr-defined]
            delattr(connections._connections, "nowhere")  # type: ignore[attr-defined]


def test_it_remembers_the_lag_for_a_second(configured: Callable[[float | None], None],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def measure(alias: str) -> float:
        asked.append(alias)
        return 0.0

    monkeypatch.setattr(replica, "measure_lag", measure)
    with replica_reads():
        for _ in range(5):
            ROUTER.db_for_read(ContentType)
    assert asked == [REPLICA]


def test_it_reads_from_the_primary_in_a_block_begun_right_after_a_write(
        configured: Callable[[float | None], None], monkeypatch: pytest.MonkeyPatch) -> None:
    ROUTER.db_for_write(ContentType)
    with replica_reads():
        assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS
    with replica_reads(caught_up=_Row(on_replica=True)):  # the row it needs is there: the replica
        assert ROUTER.db_for_read(ContentType) == REPLICA
    monkeypatch.setattr(replica, "WRITE_PIN_SECONDS", 0.0)
    with replica_reads():
        assert ROUTER.db_for_read(ContentType) == REPLICA
        ROUTER.db_for_write(ContentType)  # a write inside the block (a job's progress) does not move it
        assert ROUTER.db_for_read(ContentType) == REPLICA


@pytest.mark.django_db
def test_it_reads_from_the_primary_inside_a_transaction(configured: Callable[[float | None], None]) -> None:
    with replica_reads(), transaction.atomic():
        assert ROUTER.db_for_read(ContentType) == DEFAULT_DB_ALIAS


class _Row:
    """Stands in for a QuerySet of one row that the replica shows or not yet."""

    def __init__(self, on_replica: bool) -> None:
        self.on_replica = on_replica
        self.asked: list[str | None] = []

    def using(self, alias: str | None) -> _Row:
        self.asked.append(alias)
        return self

    def exists(self) -> bool:
        return self.on_replica


@pytest.mark.parametrize(("on_replica", "expected"), [(True, REPLICA), (False, DEFAULT_DB_ALIAS)])
def test_it_waits_for_the_replica_to_show_the_row_it_was_given(
        configured: Callable[[float | None], None], on_replica: bool, expected: str) -> None:
    row = _Row(on_replica)
    with replica_reads(caught_up=row):
        assert ROUTER.db_for_read(ContentType) == expected
    assert row.asked == [REPLICA]


def test_it_changes_nothing_without_a_replica_url() -> None:
    if os.environ.get("DATABASE_REPLICA_URL"):
        pytest.skip("DATABASE_REPLICA_URL is set in this run")
    assert REPLICA not in settings.DATABASES
    assert "core.replica.ReplicaRouter" not in settings.DATABASE_ROUTERS
    with replica_reads():
        assert replica.read_alias() == DEFAULT_DB_ALIAS


def test_it_reads_the_test_database_on_the_primary_when_the_replica_is_the_test_mirror(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Django's test runner renames the mirror alias to the test database; the configured name differs.
    monkeypatch.setitem(settings.DATABASES, REPLICA, {"NAME": "test_appraisal", "TEST": {"MIRROR": DEFAULT_DB_ALIAS}})
    with override_settings(REPLICA_DATABASE_NAME="appraisal"):
        assert replica.replica_alias() is None
    with override_settings(REPLICA_DATABASE_NAME="test_appraisal"):
        assert replica.replica_alias() == REPLICA


# --- the real primary and replica (services pass) -------------------------------------------------

TABLE = f"replica_probe_{os.getpid()}"


def _require_replica() -> None:
    missing = None
    if REPLICA not in settings.DATABASES:
        missing = "DATABASE_REPLICA_URL is not set (bin/test's PostgreSQL pass sets it after ensure_replica)"
    elif settings.DATABASES[DEFAULT_DB_ALIAS]["ENGINE"] != "django.db.backends.postgresql":
        missing = "the primary is not PostgreSQL"
    if missing is not None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {missing}", pytrace=False)
        pytest.skip(f"replica test needs a streaming replica: {missing}")


def _rows(alias: str) -> list[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT note FROM {TABLE} ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except ProgrammingError:  # the table has not reached the replica yet
            pass
        time.sleep(0.1)
    pytest.fail(f"{what} within {seconds:.0f} s")


def _replay(action: str) -> None:
    """Pauses or resumes replay on the whole standby (granted to the app's role by ensure_replica)."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(f"SELECT pg_wal_replay_{action}()")


def _routed() -> str:
    replica.forget_lag()
    with replica_reads():
        return cast(str, router.db_for_read(ContentType))


@pytest.fixture
def pair(django_db_blocker: Any) -> Iterator[None]:
    """The primary and the replica as Django connects to them, outside any test transaction, with a
    scratch table on the primary (dropped afterwards) and replay resumed whatever happens."""
    _require_replica()
    # Under the test runner the replica alias is the test mirror; here it really is the replica's copy
    # of the same database, so the router may use it. A lag limit of 1 s makes the pause show quickly.
    name = connections[REPLICA].settings_dict["NAME"]
    with django_db_blocker.unblock(), override_settings(REPLICA_DATABASE_NAME=name, REPLICA_MAX_LAG_SECONDS=1):
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            cursor.execute(f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, note text NOT NULL)")
        try:
            yield
        finally:
            _replay("resume")
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            connections[REPLICA].close()
            replica.forget_lag()


@pytest.mark.services
def test_it_reads_a_row_written_on_the_primary_through_the_replica_and_falls_back_when_it_lags(
        pair: None) -> None:
    assert connections[DEFAULT_DB_ALIAS].settings_dict["PORT"] != connections[REPLICA].settings_dict["PORT"]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:  # autocommit: committed at once
        cursor.execute(f"INSERT INTO {TABLE} VALUES (1, 'first')")
    _eventually(lambda: _rows(REPLICA) == ["first"], "the replica did not show the row written on the primary")

    # Through the router: inside replica_reads() the read is the replica's.
    assert _routed() == REPLICA
    assert _rows(_routed()) == ["first"]
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone() == (True,)

    # Replay paused: the replica falls behind a new write, and once that is over the limit the
    # router sends the reads to the primary, which has the new row.
    _replay("pause")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} VALUES (2, 'second')")
    _eventually(lambda: _routed() == DEFAULT_DB_ALIAS, "the router did not fall back to the primary", seconds=20)
    assert (replica.replica_lag(REPLICA) or 0) > 1
    assert _rows(_routed()) == ["first", "second"]
    assert _rows(REPLICA) == ["first"]

    # Replay resumed: the replica catches up and takes the reads again.
    _replay("resume")
    _eventually(lambda: _routed() == REPLICA, "the router did not return to the caught-up replica")
    assert _rows(_routed()) == ["first", "second"]


class _ScratchRow:
    """``caught_up`` for a row of the scratch table (what a QuerySet's ``using().exists()`` does)."""

    def __init__(self, pk: int, alias: str | None = None) -> None:
        self.pk, self.alias = pk, alias

    def using(self, alias: str | None) -> _ScratchRow:
        return _ScratchRow(self.pk, alias)

    def exists(self) -> bool:
        with connections[self.alias or DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {TABLE} WHERE id = %s", [self.pk])
            return cursor.fetchone() is not None


def _routed_after(row: _ScratchRow) -> str:
    replica.forget_lag()
    with replica_reads(caught_up=row):
        return cast(str, router.db_for_read(ContentType))


@pytest.mark.services
def test_it_reads_the_primary_until_the_replica_shows_the_row_a_job_waits_for(pair: None) -> None:
    # However small the lag, a job (an export) reads the replica only once it shows the job's own row.
    _eventually(lambda: _rows(REPLICA) == [], "the scratch table did not reach the replica")
    with override_settings(REPLICA_MAX_LAG_SECONDS=3600):
        _replay("pause")
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} VALUES (3, 'job')")
        assert _routed_after(_ScratchRow(3)) == DEFAULT_DB_ALIAS
        _replay("resume")
        _eventually(lambda: _routed_after(_ScratchRow(3)) == REPLICA, "the replica did not show the job's row")
