"""The test database: created and migrated lazily, once per run and per xdist worker.

Creation happens the first time a test actually needs a connection, so a run
that never touches the database creates none. PostgreSQL databases made here
carry a marker comment; a database without it is never dropped or reused.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, event, func, literal, select, text, union_all
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from sessionary import migrations as schema
from sessionary.core.db import engine_for_url
from sessionary.testing.queries import QueryLog
from sessionary.testing.triggers import triggers_off

MARKER = "created by sessionary.testing"  # PostgreSQL: the database's comment
SQLITE_MARKER = 0x53455353  # SQLite: PRAGMA application_id ("SESS")
_DESCRIBE = text(
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name"
)


@dataclass(frozen=True)
class _Seed:
    tables: list[Table]  # in foreign-key order, parents first
    rows: dict[str, list[dict[str, Any]]]

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}


class TestDatabaseUnusable(Exception):
    """This run cannot use its test database: unnamed, unreachable, or not one of ours.
    The message is one line, fit for a usage error."""

    __test__ = False


class ForeignDatabase(TestDatabaseUnusable):
    """A database of the test name exists but the toolkit did not create it."""


def foreign(name: str, advice: str) -> ForeignDatabase:
    return ForeignDatabase(
        f"database {name} exists and was not created by sessionary.testing; {advice}"
    )


CONNECT_TIMEOUT = 10  # seconds: a server that does not answer fails the run, not each test


def unreachable(url: str, exc: BaseException) -> TestDatabaseUnusable:
    """The server of ``url`` refused or did not answer: say which, in the driver's words."""
    server = make_url(url)
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, TimeoutError):
        reason = f"no answer within {CONNECT_TIMEOUT} s"
    else:  # one line, without SQLAlchemy's wrapper and links
        reason = " ".join(str(original).split()) or type(original).__name__
    return TestDatabaseUnusable(
        f"cannot reach the test database server {server.host or 'localhost'}:"
        f"{server.port or 5432} as {server.username or 'the default user'}: {reason}"
    )


class TestDatabase:
    """Owns the test database of one worker and an engine per event loop."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        url: str,
        *,
        reuse: bool = False,
        keep: bool | None = None,
        migrations: str | Path | None = None,
    ) -> None:
        self.url = url
        self.migrations = migrations  # an app's combined history; None: Sessionary's alone
        self.reuse = reuse  # start from an existing database if there is one
        self.keep = reuse if keep is None else keep  # leave it in place at the end
        self.backend = make_url(url).get_backend_name()
        self.created = False
        self._ready = False
        self._lock = threading.Lock()
        self._engines: dict[asyncio.AbstractEventLoop, AsyncEngine] = {}
        self._seed: _Seed | None = None
        self._expected_counts: dict[str, int] = {}
        self.queries = QueryLog()
        self._unusable: TestDatabaseUnusable | None = None  # tried once, never again

    @property
    def is_ready(self) -> bool:
        return self._ready

    # -- creation ---------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Create (or reuse) and migrate the database; safe to call from any thread."""
        with self._lock:
            if self._ready:
                return
            if self._unusable is not None:
                raise type(self._unusable)(*self._unusable.args)
            try:
                if self.backend == "postgresql":
                    asyncio.run(self._prepare_postgres())
                else:
                    self._prepare_sqlite()
            except TestDatabaseUnusable as exc:
                self._unusable = exc
                raise
            # To every head: an app's branch and Sessionary's. A reused database moves up too.
            schema.upgrade(self.url, "heads", migrations=self.migrations)
            self._seed = asyncio.run(self._read_seed())
            self._expected_counts = self._seed.counts()
            self._ready = True

    def _sqlite_path(self) -> Path:
        return Path(make_url(self.url).database or "")

    def _prepare_sqlite(self) -> None:
        path = self._sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > 0:
            if sqlite_marker(path) != SQLITE_MARKER:
                raise foreign(repr(str(path)), "move it or choose another test database path")
            if self.reuse:
                self.created = True
                return
            _remove_sqlite(path)
        with closing(sqlite3.connect(path)) as connection:
            connection.execute(f"PRAGMA application_id = {SQLITE_MARKER}")
            connection.commit()
        self.created = True

    async def _prepare_postgres(self) -> None:
        name = make_url(self.url).database
        async with admin_connection(self.url) as conn:
            row = (await conn.execute(_DESCRIBE, {"name": name})).first()
            exists, comment = row is not None, row[0] if row else None
            if exists and comment != MARKER:
                raise foreign(repr(name), "drop it or choose another test database name")
            if exists and self.reuse:
                self.created = True
                return
            if exists:
                await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            await conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{MARKER}'"))
            self.created = True

    def drop(self) -> None:
        """Remove the database this run created (kept with --reuse-db)."""
        if not self.created or self.keep:
            return
        if self.backend == "postgresql":
            asyncio.run(self._drop_postgres())
        elif (path := self._sqlite_path()).exists() and sqlite_marker(path) == SQLITE_MARKER:
            _remove_sqlite(path)
        self.created = self._ready = False

    async def _drop_postgres(self) -> None:
        name = make_url(self.url).database
        admin = maintenance_engine(self.url)
        try:
            async with admin.connect() as conn:
                row = (await conn.execute(_DESCRIBE, {"name": name})).first()
                if row is not None and row[0] == MARKER:
                    await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()

    # -- what the migrations left: the state every test starts from -------------------------

    async def _read_seed(self) -> _Seed:
        engine = engine_for_url(self.url)
        try:
            async with engine.connect() as connection:
                metadata = MetaData()
                await connection.run_sync(metadata.reflect)
                tables = [t for t in metadata.sorted_tables if t.name != "alembic_version"]
                rows = {}
                for table in tables:
                    rows[table.name] = [
                        dict(r._mapping) for r in await connection.execute(select(table))
                    ]
                return _Seed(tables, rows)
        finally:
            await engine.dispose()

    @property
    def seed(self) -> _Seed:
        if self._seed is None:
            raise RuntimeError("the test database is not ready yet")
        return self._seed

    async def reset(self) -> dict[str, int]:
        """Empty every table (children first), put the migrations' seed rows back and
        return the row counts that leaves. The tables' triggers (the audit log refuses
        DELETE) are off for this one transaction: see :mod:`sessionary.testing.triggers`."""
        seed = self.seed
        with self.queries.paused():
            async with self.engine().begin() as connection:
                async with triggers_off(connection, [table.name for table in seed.tables]):
                    for table in reversed(seed.tables):
                        await connection.execute(table.delete())
                for table in seed.tables:
                    if rows := seed.rows[table.name]:
                        await connection.execute(table.insert(), rows)
                return await self.row_counts(connection)

    async def row_counts(self, connection: AsyncConnection | None = None) -> dict[str, int]:
        """Rows per table, in one statement (on ``connection``, else a pooled one)."""
        counts = union_all(
            *(
                select(literal(table.name), func.count()).select_from(table)
                for table in self.seed.tables
            )
        )
        with self.queries.paused():
            if connection is not None:
                return dict((await connection.execute(counts)).all())
            async with self.engine().connect() as own:
                return dict((await own.execute(counts)).all())

    def row_count_drift(self, counts: dict[str, int]) -> str | None:
        """Describe tables whose row counts moved since the last check (None when clean).

        Only the first test after a drift is named: the new counts become the baseline.
        """
        drift = {
            name: (self._expected_counts.get(name, 0), rows)
            for name, rows in counts.items()
            if rows != self._expected_counts.get(name, 0)
        }
        self._expected_counts = counts
        if not drift:
            return None
        return ", ".join(f"{name} {old} -> {new}" for name, (old, new) in sorted(drift.items()))

    # -- engines ----------------------------------------------------------------------------

    async def ready_engine(self) -> AsyncEngine:
        """The running loop's engine, creating and migrating the database first if needed."""
        if not self._ready:
            # Creating and migrating runs its own event loop: give it a thread.
            await asyncio.to_thread(self.ensure_ready)
        return self.engine()

    def engine(self) -> AsyncEngine:
        """A small pool for the running loop (asyncpg connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        engine = self._engines.get(loop)
        if engine is None:
            engine = engine_for_url(
                self.url, pool={"pool_size": 2, "max_overflow": 3, "pool_timeout": 10}
            )
            event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)
            self._engines[loop] = engine
        return engine

    def _on_execute(self, *args: Any) -> None:
        statement: str = args[2]  # (conn, cursor, statement, parameters, context, many)
        self.queries.record(statement)

    async def dispose_engine(self) -> None:
        """Close the running loop's pool."""
        engine = self._engines.pop(asyncio.get_running_loop(), None)
        if engine is not None:
            await engine.dispose()


def sqlite_marker(path: Path) -> int | None:
    """The file's application_id (ours: SQLITE_MARKER); None when it is no SQLite database."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            return int(connection.execute("PRAGMA application_id").fetchone()[0])
    except sqlite3.DatabaseError:
        return None


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


@asynccontextmanager
async def admin_connection(url: str) -> AsyncIterator[AsyncConnection]:
    """A connection to the server's ``postgres`` database; :class:`TestDatabaseUnusable`
    (one line) when the server cannot be reached or refuses us."""
    admin = maintenance_engine(url)
    try:
        try:
            connection = await admin.connect()
        except Exception as exc:
            raise unreachable(url, exc) from None
        try:
            yield connection
        finally:
            await connection.close()
    finally:
        await admin.dispose()


def maintenance_engine(url: str) -> AsyncEngine:
    """An engine on the server's ``postgres`` database, for CREATE/DROP DATABASE."""
    admin_url = make_url(url).set(database="postgres")
    return create_async_engine(
        admin_url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"timeout": CONNECT_TIMEOUT},
    )
