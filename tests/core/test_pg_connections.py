"""The hot path's PostgreSQL connection set and the reader's retry, with stand-in connections:
what is handed to whom, when a slot frees, what times out, what a cancellation leaves behind.
(The real asyncpg path is covered end to end in test_hot_reads.py on the PostgreSQL run.)"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import create_async_engine

from sessionary.core.hot_reads import PostgresReader
from sessionary.core.pg_connections import ConnectionSet, ConnectionSetClosed
from sessionary.sessions.credential import PRINCIPAL_QUERY

pytestmark = [pytest.mark.no_db, pytest.mark.anyio]


class FakeConnection:
    """What ConnectionSet and PostgresReader use of an asyncpg connection."""

    def __init__(self, number: int, failures: list[BaseException] | None = None) -> None:
        self.number = number
        self.closed = False
        self.failures = failures if failures is not None else []

    def is_closed(self) -> bool:
        return self.closed

    def terminate(self) -> None:
        self.closed = True

    async def close(self) -> None:
        self.closed = True

    async def fetch(self, _sql: str, *_args: Any) -> list[tuple[Any, ...]]:
        if self.failures:
            raise self.failures.pop(0)
        return []


class Opener:
    def __init__(self, fail_first: int = 0) -> None:
        self.numbers = itertools.count(1)
        self.opened: list[FakeConnection] = []
        self.fail_first = fail_first

    async def __call__(self) -> Any:
        if self.fail_first:
            self.fail_first -= 1
            raise OSError("connection refused")
        connection = FakeConnection(next(self.numbers))
        self.opened.append(connection)
        return connection


def connection_set(opener: Opener, size: int = 2, timeout: float = 5.0) -> ConnectionSet:
    return ConnectionSet(opener, size=size, timeout=timeout)


async def waiting(connections: ConnectionSet) -> asyncio.Task[Any]:
    """A take() that is queued (the set is full) by the time this returns."""
    task = asyncio.ensure_future(connections.take())
    await asyncio.sleep(0)  # let it reach its place in line
    assert not task.done()
    return task


class TestTakeAndGive:
    async def test_opens_up_to_size_then_reuses_the_last_given_back(self) -> None:
        opener = Opener()
        connections = connection_set(opener)

        first, second = await connections.take(), await connections.take()
        connections.give(first)
        again = await connections.take()

        assert (first.number, second.number) == (1, 2)
        assert again is first
        assert len(opener.opened) == connections.size == 2

    async def test_a_full_set_serves_waiters_first_come_first_served(self) -> None:
        connections = connection_set(Opener(), size=1)
        held = await connections.take()
        early = await waiting(connections)
        late = await waiting(connections)

        connections.give(held)
        assert await early is held
        connections.give(held)
        assert await late is held

    async def test_a_waiter_gives_up_after_the_timeout(self) -> None:
        connections = connection_set(Opener(), size=1, timeout=0.01)
        await connections.take()

        with pytest.raises(TimeoutError):
            await connections.take()

    async def test_a_closed_idle_connection_is_replaced(self) -> None:
        opener = Opener()
        connections = connection_set(opener, size=1)
        stale = await connections.take()
        connections.give(stale)
        stale.closed = True  # the server ended it while idle

        fresh = await connections.take()

        assert fresh is not stale
        assert connections.size == 1


class TestSlots:
    async def test_a_discarded_connection_frees_its_slot_for_a_waiter(self) -> None:
        opener = Opener()
        connections = connection_set(opener, size=1)
        broken = await connections.take()
        waiter = await waiting(connections)

        connections.discard(broken)

        replacement = await waiter
        assert broken.closed
        assert replacement.number == 2
        assert connections.size == 1

    async def test_a_failed_open_frees_its_slot(self) -> None:
        connections = connection_set(Opener(fail_first=1), size=1)

        with pytest.raises(OSError, match="refused"):
            await connections.take()

        assert connections.size == 0
        assert (await connections.take()).number == 1

    async def test_a_waiter_cancelled_as_it_is_served_passes_the_connection_on(self) -> None:
        connections = connection_set(Opener(), size=1)
        held = await connections.take()
        cancelled = await waiting(connections)
        next_in_line = await waiting(connections)

        connections.give(held)  # handed to `cancelled`, which is cancelled before it runs
        cancelled.cancel()

        assert await next_in_line is held
        assert cancelled.cancelled()


class TestClose:
    async def test_close_fails_waiters_and_refuses_takes(self) -> None:
        connections = connection_set(Opener(), size=1)
        in_use = await connections.take()
        waiter = await waiting(connections)

        await connections.close()

        with pytest.raises(ConnectionSetClosed):
            await waiter
        with pytest.raises(ConnectionSetClosed):
            await connections.take()
        connections.give(in_use)  # handed back after the close: closed, not kept
        assert in_use.closed
        assert connections.size == 0

    async def test_close_closes_idle_connections(self) -> None:
        connections = connection_set(Opener(), size=2)
        idle = await connections.take()
        connections.give(idle)

        await connections.close()

        assert idle.closed
        assert connections.size == 0


def reader_with(opener: Opener) -> PostgresReader:
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1/none")
    reader = PostgresReader(engine, size=2, acquire_timeout=5)
    reader.connections = ConnectionSet(opener, size=2, timeout=5)
    return reader


class TestReaderRetry:
    async def test_a_connection_lost_unnoticed_is_retried_on_another(self) -> None:
        opener = Opener()
        reader = reader_with(opener)
        first = await reader.connections.take()
        first.failures.append(asyncpg.ConnectionDoesNotExistError("connection was closed"))
        reader.connections.give(first)

        rows = await reader.fetch(PRINCIPAL_QUERY, {"token_hash": b"\0" * 32})

        assert rows == []
        assert first.closed
        assert reader.connections.size == 1

    async def test_a_second_loss_is_answered_as_unavailable(self) -> None:
        opener = Opener()
        reader = reader_with(opener)
        lost = asyncpg.ConnectionDoesNotExistError("connection was closed")
        for _ in range(2):
            connection = await reader.connections.take()
            connection.failures.append(lost)
        for connection in opener.opened:
            reader.connections.give(connection)

        with pytest.raises(OperationalError):
            await reader.fetch(PRINCIPAL_QUERY, {"token_hash": b"\0" * 32})

        assert reader.connections.size == 0

    async def test_no_free_connection_in_time_is_a_pool_timeout_after_one_wait(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        reader = reader_with(Opener())
        reader.connections = ConnectionSet(Opener(), size=1, timeout=0.01)
        await reader.connections.take()
        takes = 0
        take = reader.connections.take

        async def counted() -> Any:
            nonlocal takes
            takes += 1
            return await take()

        monkeypatch.setattr(reader.connections, "take", counted)

        with pytest.raises(PoolTimeoutError):
            await reader.fetch(PRINCIPAL_QUERY, {"token_hash": b"\0" * 32})

        assert takes == 1  # a timeout is not a lost connection: no second wait
