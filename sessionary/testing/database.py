"""The test database: created and migrated lazily, once per run and per xdist worker.

Creation happens the first time a test actually needs a connection, so a run
that never touches the database creates none. PostgreSQL databases made here
carry a marker comment; a database without it is never dropped or reused.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from sessionary import migrations
from sessionary.core.db import engine_for_url
from sessionary.testing.queries import QueryLog

MARKER = "created by sessionary.testing"
_DESCRIBE = text(
    "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :name"
)


class ForeignDatabase(Exception):
    """A database of the test name exists but the toolkit did not create it."""


class TestDatabase:
    """Owns the test database of one worker and an engine per event loop."""

    __test__ = False  # not a pytest test class

    def __init__(self, url: str, *, reuse: bool = False) -> None:
        self.url = url
        self.reuse = reuse
        self.backend = make_url(url).get_backend_name()
        self.created = False
        self._ready = False
        self._lock = threading.Lock()
        self._engines: dict[asyncio.AbstractEventLoop, AsyncEngine] = {}
        self.queries = QueryLog()

    @property
    def is_ready(self) -> bool:
        return self._ready

    # -- creation ---------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Create (or reuse) and migrate the database; safe to call from any thread."""
        with self._lock:
            if self._ready:
                return
            if self.backend == "postgresql":
                asyncio.run(self._prepare_postgres())
            else:
                self._prepare_sqlite()
            migrations.upgrade(self.url)
            self._ready = True

    def _prepare_sqlite(self) -> None:
        path = Path(make_url(self.url).database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.reuse:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        self.created = True

    async def _prepare_postgres(self) -> None:
        name = make_url(self.url).database
        admin = _maintenance_engine(self.url)
        try:
            async with admin.connect() as conn:
                row = (await conn.execute(_DESCRIBE, {"name": name})).first()
                exists, comment = row is not None, row[0] if row else None
                if exists and comment != MARKER:
                    raise ForeignDatabase(
                        f"database {name!r} exists and was not created by sessionary.testing; "
                        "drop it or choose another test database name"
                    )
                if exists and self.reuse:
                    self.created = True
                    return
                if exists:
                    await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
                await conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{MARKER}'"))
                self.created = True
        finally:
            await admin.dispose()

    def drop(self) -> None:
        """Remove the database this run created (kept with --reuse-db)."""
        if not self.created or self.reuse:
            return
        if self.backend == "postgresql":
            asyncio.run(self._drop_postgres())
        else:
            path = Path(make_url(self.url).database or "")
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        self.created = self._ready = False

    async def _drop_postgres(self) -> None:
        name = make_url(self.url).database
        admin = _maintenance_engine(self.url)
        try:
            async with admin.connect() as conn:
                row = (await conn.execute(_DESCRIBE, {"name": name})).first()
                if row is not None and row[0] == MARKER:
                    await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        finally:
            await admin.dispose()

    # -- engines ----------------------------------------------------------------------------

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
        self.queries.record(args[2])  # (conn, cursor, statement, parameters, context, many)

    async def dispose_engine(self) -> None:
        """Close the running loop's pool."""
        engine = self._engines.pop(asyncio.get_running_loop(), None)
        if engine is not None:
            await engine.dispose()


def _maintenance_engine(url: str) -> AsyncEngine:
    admin_url = make_url(url).set(database="postgres")
    return create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
