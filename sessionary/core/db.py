"""Engines, connections and transactions: the one provider every database call goes through.

``Database`` is the seam. Production uses it as is; the test toolkit
swaps in a subclass that binds everything to the test's own connection.

* The connection pool belongs to the app's lifespan (:meth:`Database.start`).
  A request served without lifespan (a bare ``TestClient(app)`` runs each
  request on a fresh event loop) gets a connection of its own from a
  ``NullPool`` engine and closes it: pooled asyncpg connections are bound
  to the loop that made them.
* :meth:`Database.fetch` runs one read-only statement — the authenticated hot
  path goes through it. A :class:`~sessionary.core.hot_reads.HotQuery` on the
  lifespan's loop goes straight to the driver, outside any transaction
  (``hot_reads``); anything else runs on a pooled connection.
* :meth:`Database.session` gives an ``AsyncSession`` for one write
  transaction (``BEGIN IMMEDIATE`` on SQLite, so writers queue on the busy
  timeout instead of failing at commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, DataError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from sessionary.config import Settings
from sessionary.core.activity import ActivityStamps
from sessionary.core.hot_reads import UNBINDABLE_SQLITE_VALUE, HotQuery, HotReader, hot_reader

_IMMEDIATE = "sessionary_sqlite_immediate"


class InvalidDatabaseURL(ValueError):
    """The configured URL cannot be used (unknown driver, malformed)."""


def check_database_url(url: str) -> str:
    """Return the backend name for a supported async URL, or raise InvalidDatabaseURL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidDatabaseURL(f"malformed database URL: {exc}") from None
    if parsed.drivername not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise InvalidDatabaseURL(
            f"unsupported database URL scheme {parsed.drivername!r}; "
            "use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db"
        )
    return parsed.get_backend_name()


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    # pysqlite/aiosqlite emit BEGIN only before DML, so SAVEPOINTs and reads
    # would run outside the transaction; take over BEGIN ourselves (SQLAlchemy's
    # documented recipe) and make writers BEGIN IMMEDIATE.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _translate_unbindable_values(engine: AsyncEngine) -> None:
    # SQLAlchemy passes sqlite3's refusal to bind a value through unwrapped (it is no DBAPI
    # error): a 500. It is a value the client sent, as asyncpg's DataError for an int past
    # int4 is, so give it the same DataError (422).
    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        original = context.original_exception
        if isinstance(original, UNBINDABLE_SQLITE_VALUE):
            return DataError(context.statement, None, original, hide_parameters=True)
        return None


def engine_for_url(
    url: str, *, busy_timeout_ms: int = 5000, pool: Mapping[str, Any] | None = None
) -> AsyncEngine:
    """An engine with Sessionary's connection setup; ``pool=None`` means one connection per use."""
    backend = check_database_url(url)
    kwargs: dict[str, Any] = dict(pool) if pool is not None else {"poolclass": NullPool}
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        # Fail fast when the server is unreachable instead of asyncpg's 60 s default.
        kwargs["connect_args"] = {"timeout": 5, "command_timeout": 30}
    engine = create_async_engine(url, **kwargs)
    _translate_unbindable_values(engine)
    if backend == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def create_engine(settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    """An engine for ``settings.database_url``; ``pooled=False`` gives a NullPool engine."""
    pool = (
        {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout,
            "pool_recycle": 1800,
        }
        if pooled
        else None
    )
    return engine_for_url(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms, pool=pool
    )


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine, marked so SQLite begins its transactions IMMEDIATE."""
    return engine.execution_options(**{_IMMEDIATE: True})


class Database:
    """Owns the engines. Subclassed by the test toolkit; keep the surface small."""

    def __init__(self, settings: Settings) -> None:
        check_database_url(settings.database_url)
        self.settings = settings
        self._pooled: tuple[AsyncEngine, AsyncEngine] | None = None
        self._pooled_loop: asyncio.AbstractEventLoop | None = None
        self._unpooled: tuple[AsyncEngine, AsyncEngine] | None = None
        self._hot_reader: HotReader | None = None
        # Activity stamps this process is writing or wrote (core/activity.py).
        self.activity = ActivityStamps()

    async def start(self) -> None:
        """Create the pools on the lifespan's loop (no connection is made yet)."""
        engine = create_engine(self.settings)
        self._pooled = (engine, writer(engine))
        self._pooled_loop = asyncio.get_running_loop()
        self._hot_reader = hot_reader(
            engine, pool_size=self.settings.db_pool_size, pool_timeout=self.settings.db_pool_timeout
        )

    async def stop(self) -> None:
        """Close the pools (and forget the one-connection-per-use engine)."""
        engines = [pair for pair in (self._pooled, self._unpooled) if pair is not None]
        hot_reader, self._hot_reader = self._hot_reader, None
        self._pooled = self._pooled_loop = self._unpooled = None
        if hot_reader is not None:
            await hot_reader.close()
        for reader, _ in engines:
            await reader.dispose()

    def _engines(self) -> tuple[AsyncEngine, AsyncEngine]:
        """(reader, writer): the pool when lifespan started it on this loop, else one
        connection per use."""
        if self._pooled is not None and self._pooled_loop is asyncio.get_running_loop():
            return self._pooled
        if self._unpooled is None:
            engine = create_engine(self.settings, pooled=False)
            self._unpooled = (engine, writer(engine))
        return self._unpooled

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; whatever it began is rolled back on exit."""
        async with self._engines()[0].connect() as connection:
            yield connection

    async def fetch(
        self, statement: HotQuery | Executable, params: Mapping[str, Any]
    ) -> Sequence[Any]:
        """Run one read-only statement and return all rows (attribute access by column key):
        the hot path's seam."""
        if isinstance(statement, HotQuery):
            hot_reader = self._hot_reader
            if hot_reader is not None and self._pooled_loop is asyncio.get_running_loop():
                return await hot_reader.fetch(statement, params)
            statement = statement.statement
        async with self.read() as connection:
            result = await connection.execute(statement, params)
            return result.all()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """An ``AsyncSession`` for one write transaction; the caller commits. (An ORM session:
        "session" alone means a login session in Sessionary.)"""
        session = AsyncSession(bind=self._engines()[1], expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()

    async def ping(self) -> None:
        """Raise if the database cannot answer ``SELECT 1``."""
        async with self.read() as connection:
            await connection.execute(text("SELECT 1"))
