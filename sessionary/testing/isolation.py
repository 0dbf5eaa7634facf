"""The app's database provider during a test, in one of two modes.

``savepoint`` (default): the test holds one connection with an outer
transaction that is rolled back afterwards. App sessions join it through
SAVEPOINTs (``join_transaction_mode="create_savepoint"``), so even code that
commits leaves nothing behind. Requests made concurrently inside one test take
turns on that connection (a lock the holding task may re-enter: a request's
transaction and its principal lookup share the connection).

``delete`` (``--db-isolation=delete``, ``transactional_db``): real commits,
visible across connections; afterwards every table is emptied in foreign-key
order and the rows the migrations seeded are put back.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, AsyncTransaction

from sessionary.config import Settings
from sessionary.core.db import Database, writer
from sessionary.testing.database import TestDatabase
from sessionary.testing.queries import QueryLog


@dataclass(frozen=True)
class Closed:
    """What a test left behind, read as its provider closes."""

    counts: dict[str, int] | None  # rows per table after clean-up (None: no database yet)


class TestProvider(Database, ABC):
    """What the toolkit installs as ``runtime_of(app).database`` for one test."""

    __test__ = False
    mode: str

    def __init__(
        self,
        settings: Settings,
        test_database: TestDatabase,
        home: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(settings)
        self.test_database = test_database
        self.home = home  # the test's loop; None: whichever loop comes first

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self.home is None:
            self.home = loop
        elif loop is not self.home:
            # Its connection could not see the test's data, nor be rolled back with it.
            raise RuntimeError(_WRONG_LOOP)

    @property
    def queries(self) -> QueryLog:
        return self.test_database.queries

    async def start(self) -> None:
        """The test database's engines belong to the toolkit, not to the app's lifespan."""

    async def stop(self) -> None:
        """See :meth:`start`."""

    @abstractmethod
    async def close(self) -> Closed:
        """Undo what the test wrote (call on the test's loop) and say what was left."""

    async def written_rows(self, limit: int = 20) -> str:
        """The rows this test added beyond the migrations' seed, table by table."""
        if not self.test_database.is_ready:
            return "the test did not touch the database"
        seed = self.test_database.seed
        lines: list[str] = []
        with self.queries.paused():
            async with self.read() as connection:
                for table in seed.tables:
                    result = await connection.execute(select(table))
                    added = [
                        row for row in result.mappings() if dict(row) not in seed.rows[table.name]
                    ]
                    if added:
                        lines.append(f"{table.name}: {len(added)} row(s)")
                        lines.extend(f"    {dict(row)}" for row in added[:limit])
        return "\n".join(lines) or "no rows written"


class _TaskLock:
    """An asyncio lock that the task holding it may take again."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


@dataclass
class _Held:
    lock: _TaskLock = field(default_factory=_TaskLock)
    connection: AsyncConnection | None = None
    transaction: AsyncTransaction | None = None


_WRONG_LOOP = (
    "this test's database work runs on one event loop and this request on another: use "
    "`async_client` (not `client`/TestClient) in async tests, and the toolkit's clients "
    "rather than a TestClient with a loop of its own"
)


class IsolatedDatabase(TestProvider):
    """Savepoint mode: everything runs on the test's one connection."""

    mode = "savepoint"

    def __init__(
        self,
        settings: Settings,
        test_database: TestDatabase,
        home: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(settings, test_database, home)
        self._held = _Held()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """The test's connection, held for the block; opened (and begun) on first use."""
        self._check_loop()
        held = self._held
        await held.lock.acquire()
        try:
            if held.connection is None:
                engine = await self.test_database.ready_engine()
                held.connection = await engine.connect()
                held.transaction = await held.connection.begin()
            yield held.connection
        finally:
            held.lock.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        # A failing read must not abort the test's transaction (PostgreSQL would
        # refuse every later statement), so reads get a savepoint of their own.
        async with self.connection() as connection, connection.begin_nested():
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.connection() as connection:
            session = AsyncSession(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            try:
                yield session
            finally:
                await session.close()

    async def close(self) -> Closed:
        held, self._held = self._held, _Held()
        if held.connection is None:
            # Untouched through us; still count, in case the test wrote some other way.
            ready = self.test_database.is_ready
            return Closed(await self.test_database.row_counts() if ready else None)
        try:
            if held.transaction is not None and held.transaction.is_active:
                await held.transaction.rollback()
            # Counted on the same connection: no second checkout per test.
            return Closed(await self.test_database.row_counts(held.connection))
        finally:
            await held.connection.close()


class CommittingDatabase(TestProvider):
    """Delete mode: the app's own transactions commit; :meth:`close` empties the tables."""

    mode = "delete"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        self._check_loop()
        engine = await self.test_database.ready_engine()
        async with engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        self._check_loop()
        engine = await self.test_database.ready_engine()
        session = AsyncSession(bind=writer(engine), expire_on_commit=False)
        try:
            yield session
        finally:
            await session.close()

    async def close(self) -> Closed:
        if not self.test_database.is_ready:
            return Closed(None)
        return Closed(await self.test_database.reset())
