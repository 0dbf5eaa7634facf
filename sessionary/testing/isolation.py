"""Per-test isolation: every connection the app asks for is the test's own.

The test holds one connection per event loop with an outer transaction that
is rolled back afterwards. App sessions join it through SAVEPOINTs
(``join_transaction_mode="create_savepoint"``), so even code that commits
leaves nothing behind. Requests made concurrently inside one test take turns
on that connection (a lock the holding task may re-enter: a request's
transaction and its principal lookup share the connection).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, AsyncTransaction

from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.testing.database import TestDatabase


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
class _LoopState:
    lock: _TaskLock = field(default_factory=_TaskLock)
    connection: AsyncConnection | None = None
    transaction: AsyncTransaction | None = None


class Isolation:
    """The test's connections (one per event loop it touched) and their outer transactions."""

    def __init__(self, database: TestDatabase) -> None:
        self.database = database
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self._home: asyncio.AbstractEventLoop | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """The test's connection on this loop, held for the block; opened on first use."""
        loop = asyncio.get_running_loop()
        if self._home is None:
            self._home = loop
        elif loop is not self._home:
            # Its connection could not see the test's data, nor be rolled back with it.
            raise RuntimeError(
                "this test's database work runs on one event loop, and this request on "
                "another: use `async_client` (not `client`/TestClient) in async tests, and "
                "the toolkit's clients rather than a TestClient with its own loop"
            )
        state = self._loops.setdefault(loop, _LoopState())
        await state.lock.acquire()
        try:
            if state.connection is None:
                if not self.database.is_ready:
                    # Creating and migrating runs its own event loop: give it a thread.
                    await asyncio.to_thread(self.database.ensure_ready)
                state.connection = await self.database.engine().connect()
                state.transaction = await state.connection.begin()
            yield state.connection
        finally:
            state.lock.release()

    def loops(self) -> list[asyncio.AbstractEventLoop]:
        return [loop for loop, state in self._loops.items() if state.connection is not None]

    async def close(self) -> None:
        """Roll back and return this loop's connection (call on that loop)."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is None or state.connection is None:
            return
        try:
            if state.transaction is not None and state.transaction.is_active:
                await state.transaction.rollback()
        finally:
            await state.connection.close()


class IsolatedDatabase(Database):
    """The app's database provider during a test: everything runs on the test's connection."""

    def __init__(self, settings: Settings, isolation: Isolation) -> None:
        super().__init__(settings)
        self.isolation = isolation

    async def start(self) -> None:
        """Nothing to pool: the test owns the connection."""

    async def stop(self) -> None:
        """Nothing to close: the test's teardown rolls back."""

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        # A failing read must not abort the test's transaction (PostgreSQL would
        # refuse every later statement), so reads get a savepoint of their own.
        async with self.isolation.connection() as connection, connection.begin_nested():
            yield connection

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.isolation.connection() as connection:
            session = AsyncSession(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            try:
                yield session
            finally:
                await session.close()
