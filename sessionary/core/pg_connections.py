"""Up to N asyncpg connections for the hot path's one-query reads, handed out last in, first out.

Not asyncpg's ``Pool``: its timed acquire (a task per wait), proxy objects, shielded release
(a task per release) and reset cost about 20 µs of CPU per query — 43 against 23 µs per
query with 64 concurrent lookups on 10 connections, measured side by side — and buy nothing
a read that begins no transaction and sets no session state needs.

* :meth:`ConnectionSet.take` returns an idle connection, opens one while fewer than ``size``
  exist, or waits in line (first come, first served) up to ``timeout`` seconds, then raises
  ``TimeoutError``.
* :meth:`ConnectionSet.give` hands a connection back after a query that finished, straight
  to the next waiter if there is one; :meth:`ConnectionSet.discard` drops one whose query
  failed or was interrupted (its state is unknown) and passes its slot on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]
# A waiter receives a connection, or None: "a slot is yours, open a connection in it".
_Waiter = asyncio.Future[asyncpg.Connection | None]


class ConnectionSetClosed(ConnectionError):
    """The set was closed (the app is shutting down): answered like an unreachable server."""


def _expire(waiter: _Waiter) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no connection free in time"))


class ConnectionSet:
    def __init__(self, connect: Connect, *, size: int, timeout: float) -> None:
        self._connect = connect
        self._size = size
        self._timeout = timeout
        self._idle: list[asyncpg.Connection] = []
        self._waiters: deque[_Waiter] = deque()
        self._count = 0  # connections open, opening or in use: slots taken
        self._closed = False

    @property
    def size(self) -> int:
        """Connections that exist right now (idle, in use or being opened)."""
        return self._count

    async def take(self) -> asyncpg.Connection:
        if self._closed:
            raise ConnectionSetClosed("connection set is closed")
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._count -= 1  # closed while idle (server restart, idle timeout)
        if self._count < self._size:
            self._count += 1
            return await self._open_in_slot()
        return await self._wait()

    async def _open_in_slot(self) -> asyncpg.Connection:
        try:
            return await self._connect()
        except BaseException:
            self._free_slot()
            raise

    async def _wait(self) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        waiter: _Waiter = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self._timeout, _expire, waiter)
        try:
            handed = await waiter
        except asyncio.CancelledError:
            # Cancelled just after something was handed over: pass it on, or it leaks.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._pass_on(waiter.result())
            raise
        finally:
            timer.cancel()
        return handed if handed is not None else await self._open_in_slot()

    def give(self, connection: asyncpg.Connection) -> None:
        """Hand back a connection whose query completed."""
        if self._closed or connection.is_closed():
            self.discard(connection)
            return
        self._pass_on(connection)

    def discard(self, connection: asyncpg.Connection) -> None:
        """Drop a connection in an unknown state; its slot goes to the next waiter."""
        connection.terminate()
        self._free_slot()

    def _pass_on(self, connection: asyncpg.Connection | None) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if connection is None:
            self._count -= 1
        else:
            self._idle.append(connection)

    def _free_slot(self) -> None:
        self._pass_on(None)

    async def close(self) -> None:
        """Close the idle connections; those in use are closed when handed back."""
        self._closed = True
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionSetClosed("connection set is closed"))
        idle, self._idle = self._idle, []
        self._count -= len(idle)
        await asyncio.gather(*(connection.close() for connection in idle), return_exceptions=True)
