"""Backups restore (issue #13): a database with a closed, published and paid period is dumped with
``pg_dump -Fc``, restored with ``pg_restore`` into a fresh database, and the restored database
gives the same pay sheet of every pay-run version, row for row, and the same number of rows in
every table; it is at the latest migration, and its triggers (sheet totals marked stale on any
write, migration appraisal/0006) work.

It needs PostgreSQL and its client tools, and runs in bin/test's services pass. Its databases are
its own, created and dropped here (``appraisal_backup_src_<pid>``, ``appraisal_backup_restore_<pid>``),
never ``appraisal`` or the test database; Django's test database is not used at all. Elsewhere it
skips, saying why — and fails instead under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import pytest
from django.conf import settings

pytestmark = pytest.mark.services

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE = f"appraisal_backup_src_{os.getpid()}"
RESTORED = f"appraisal_backup_restore_{os.getpid()}"


def _missing() -> str | None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        return f"the database is {engine.rsplit('.', 1)[-1]}, not PostgreSQL (set DATABASE_URL=postgres://…)"
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install postgresql-client)"
    return None


class Server:
    """The PostgreSQL server of DATABASE_URL, with the same role; databases named here only."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = config.get("HOST") or "127.0.0.1"
        self.port = str(config.get("PORT") or 5432)
        self.user = config.get("USER") or ""
        self.password = config.get("PASSWORD") or ""

    def url(self, name: str) -> str:
        return (f"postgres://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/"
                f"{name}")

    def execute(self, sql: str) -> None:
        # CREATE/DROP DATABASE cannot run in a transaction: autocommit, on the maintenance database.
        connection = psycopg2.connect(dbname="postgres", host=self.host, port=self.port, user=self.user,
                                      password=self.password)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def env(self, database: str | None = None) -> dict[str, str]:
        """A child process's environment: this database, eager tasks (no broker), the server's password."""
        env = {k: v for k, v in os.environ.items()
               if k not in {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REQUIRE_SERVICES", "DATABASE_URL"}}
        env.update(DJANGO_SETTINGS_MODULE="config.settings", PGPASSWORD=self.password, PYTHONDONTWRITEBYTECODE="1")
        if database:
            env["DATABASE_URL"] = self.url(database)
        return env

    def client_args(self) -> list[str]:
        return ["-h", self.host, "-p", self.port, "-U", self.user, "--no-password"]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {missing}", pytrace=False)
        pytest.skip(f"backup test needs PostgreSQL and pg_dump/pg_restore: {missing}")
    found = Server(settings.DATABASES["default"])
    for name in (SOURCE, RESTORED):
        found.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        yield found
    finally:
        for name in (SOURCE, RESTORED):
            found.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(args: list[str], env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _django(server: Server, database: str, *args: str) -> str:
    return _run([sys.executable, "manage.py", *args], server.env(database))


def _seed_tool(server: Server, database: str, command: str) -> Any:
    out = _run([sys.executable, "-c", f"import tests.backup_seed as s; s.main({command!r})"], server.env(database))
    return json.loads(out) if out.strip() else None


def test_a_dump_restores_to_the_same_pay_sheets(server: Server, tmp_path: Path) -> None:
    # 1. A source database at the latest migration, with the demo plant and a closed, published
    #    and paid period (a confirmed pay run, a later version after an upheld appeal, exports).
    server.execute(f'CREATE DATABASE "{SOURCE}"')
    _django(server, SOURCE, "migrate", "--noinput", "-v", "0")
    _seed_tool(server, SOURCE, "seed")
    before = _seed_tool(server, SOURCE, "fingerprint")
    confirmed = [run for run in before["runs"] if run["state"] == "confirmed"]
    assert confirmed and all(run["rows"] > 1 for run in before["runs"]), before["runs"]

    # 2. The backup, as the README's Operations section says (custom format, compressed).
    dump = tmp_path / "appraisal.dump"
    _run(["pg_dump", *server.client_args(), "-Fc", "-d", SOURCE, "-f", str(dump)], server.env())
    assert dump.stat().st_size > 0

    # 3. The restore, into a database that did not exist before.
    server.execute(f'CREATE DATABASE "{RESTORED}"')
    _run(["pg_restore", *server.client_args(), "--no-owner", "--exit-on-error", "-d", RESTORED, str(dump)],
         server.env())

    # 4. The restored database is at the latest migration and gives back exactly the same pay
    #    sheets (every version, subtotals and totals) and the same number of rows in every table.
    _django(server, RESTORED, "migrate", "--check", "-v", "0")
    after = _seed_tool(server, RESTORED, "fingerprint")
    assert after["runs"] == before["runs"]
    assert after["counts"] == before["counts"]
    # 5. ... and its triggers are back: a write behind the services' back marks the sheet stale.
    assert _seed_tool(server, RESTORED, "triggers") == {"stale_after_write": True}
