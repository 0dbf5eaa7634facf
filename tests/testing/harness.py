"""The harness: run pytest in a subprocess against a test database of its own.

Each outer test gets an :class:`InnerRun`. Its database uses the outer run's
backend: a SQLite file in pytester's directory, or (when the outer run is on
PostgreSQL) ``<outer name>_inner_<uuid>`` on the same server. Leftover
PostgreSQL databases are dropped afterwards, so a failing test leaks none.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

# The drivers are imported before any test: pytester drops the modules a test imported
# when it ends, and asyncpg's C extension crashes (SIGSEGV) when imported a second time.
import aiosqlite  # noqa: F401
import asyncpg  # noqa: F401
import pytest
import sqlalchemy.dialects.postgresql.asyncpg
import sqlalchemy.dialects.sqlite.aiosqlite  # noqa: F401
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sessionary.testing.database import MARKER, SQLITE_MARKER, TestDatabase

WORKERS = ("gw0", "gw1")
INNER_TIMEOUT = 120  # seconds per inner run
# What an inner run must not inherit from the outer one (the plugin and xdist set these).
OUTER_ENV = (
    "SESSIONARY_DATABASE_URL",
    "SESSIONARY_TEST_DATABASE_URL",
    "SESSIONARY_TEST_REDIS_URL",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT",
    "PYTEST_XDIST_TESTRUNUID",
)

Rows = list[tuple[Any, ...]]
_VERBOSE_LINE = re.compile(
    r"^[\w/.]+\.py::(?P<test>\S+) (?P<outcome>PASSED|FAILED|ERROR|SKIPPED)\b"
)


class InnerRun:
    """``run(...)`` pytest in pytester's directory; inspect and clean up its databases."""

    def __init__(self, pytester: pytest.Pytester, outer: TestDatabase) -> None:
        self.pytester = pytester
        self.backend = outer.backend
        self._server = make_url(outer.url)
        self._made: list[str] = []
        token = uuid.uuid4().hex[:8]
        self.url = self.database_url(f"{self._server.database}_inner_{token}", "inner_test.db")

    def database_url(self, postgres_name: str, sqlite_file: str) -> str:
        """A database on the outer run's backend: a PostgreSQL name on its server, else a
        SQLite file in pytester's directory."""
        if self.backend == "postgresql":
            url = self._server.set(database=postgres_name).render_as_string(hide_password=False)
            self._made.append(url)
            return url
        return f"sqlite+aiosqlite:///{self.pytester.path / sqlite_file}"

    def database_name(self, url: str | None = None) -> str:
        return make_url(url or self.url).database or ""

    def run(self, *args: str, db_url: str | None = "") -> pytest.RunResult:
        """pytest in a subprocess with ``--db-url`` (``db_url=None``: the plugin's default)."""
        url = self.url if db_url == "" else db_url
        options = ["-p", "no:cacheprovider", *([f"--db-url={url}"] if url else [])]
        return self.pytester.runpytest_subprocess(*options, *args, timeout=INNER_TIMEOUT)

    @staticmethod
    def outcomes(result: pytest.RunResult) -> dict[str, str]:
        """``{"Class::test": "PASSED"|"FAILED"|…}`` from the report of a ``-v`` run."""
        found: dict[str, str] = {}
        for line in result.outlines:
            if match := _VERBOSE_LINE.match(line):
                found.setdefault(match["test"], match["outcome"])
        return found

    def worker_url(self, worker: str | None, url: str | None = None) -> str:
        """``<name>_<worker>``, as the plugin must name an xdist worker's database."""
        parsed = make_url(url or self.url)
        if worker is not None and parsed.get_backend_name() == "postgresql":
            parsed = parsed.set(database=f"{parsed.database}_{worker}")
        elif worker is not None:
            path = Path(parsed.database or "")
            parsed = parsed.set(database=str(path.with_name(f"{path.stem}_{worker}{path.suffix}")))
        return parsed.render_as_string(hide_password=False)

    def seen_databases(self) -> dict[str, str]:
        """What :data:`RECORD_DATABASE` wrote: worker id ("main" without xdist) -> URL."""
        seen = self.pytester.path / "seen"
        return {path.name: path.read_text() for path in seen.iterdir()} if seen.is_dir() else {}

    # -- looking at databases from outside any isolation ------------------------------------

    def exists(self, url: str | None = None) -> bool:
        parsed = make_url(url or self.url)
        if parsed.get_backend_name() == "sqlite":
            return Path(parsed.database or "").exists()
        sql = "SELECT 1 FROM pg_database WHERE datname = :name"
        return bool(self._maintenance(sql, name=parsed.database))

    def execute(self, sql: str, url: str | None = None, **params: object) -> Rows:
        """Run one statement (``:name`` parameters) on a database and commit it, outside any
        test isolation."""
        parsed = make_url(url or self.url)
        if parsed.get_backend_name() == "sqlite":
            with closing(sqlite3.connect(parsed.database or "")) as connection, connection:
                return list(connection.execute(sql, params).fetchall())
        return asyncio.run(_execute(parsed.render_as_string(hide_password=False), sql, params))

    def create_database(self, note: str, *, marked: bool, url: str | None = None) -> None:
        """A database holding table ``lifecycle_marks`` with one row. ``marked``: carrying the
        toolkit's marker (a PostgreSQL comment, a SQLite application_id), as if an earlier run
        made it."""
        parsed = make_url(url or self.url)
        if parsed.get_backend_name() == "postgresql":
            self._maintenance(f'CREATE DATABASE "{parsed.database}"')
            if marked:
                self._maintenance(f"COMMENT ON DATABASE \"{parsed.database}\" IS '{MARKER}'")
        self.write_note(note, url)
        if marked and parsed.get_backend_name() == "sqlite":
            with closing(sqlite3.connect(parsed.database or "")) as connection:
                connection.execute(f"PRAGMA application_id = {SQLITE_MARKER}")
                connection.commit()

    def write_note(self, note: str, url: str | None = None) -> None:
        """Commit table ``lifecycle_marks`` holding ``note``: only a database kept as is still
        has it."""
        self.execute("CREATE TABLE lifecycle_marks (note VARCHAR(32))", url)
        self.execute("INSERT INTO lifecycle_marks (note) VALUES (:note)", url, note=note)

    def drop(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            self._maintenance(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')

    def cleanup(self) -> None:
        """Drop every PostgreSQL database this test may have caused."""
        for url in self._made:
            for worker in (None, *WORKERS):
                self.drop(self.worker_url(worker, url))

    def _maintenance(self, sql: str, **params: object) -> Rows:
        admin = self._server.set(database="postgres").render_as_string(hide_password=False)
        return asyncio.run(_execute(admin, sql, params))


async def _execute(url: str, sql: str, params: dict[str, object] | None = None) -> Rows:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(sql), params or {})
            return [tuple(row) for row in result.all()] if result.returns_rows else []
    finally:
        await engine.dispose()


# An inner conftest recording which database each worker was given.
RECORD_DATABASE = """
import os

import pytest


@pytest.fixture(autouse=True)
def _record_database_url(request: pytest.FixtureRequest) -> None:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    seen = request.config.rootpath / "seen"
    seen.mkdir(exist_ok=True)
    (seen / worker).write_text(os.environ["SESSIONARY_DATABASE_URL"])
"""
