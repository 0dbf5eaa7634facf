"""Which event loop a test's database work runs on.

A worker has two long-lived loops: a portal thread's loop for sync tests
(every ``TestClient`` request is pinned to it) and anyio's test runner loop for
``@pytest.mark.anyio`` tests (held open for the whole session by a session-scoped
async fixture, so async tests and their clients share one loop). asyncpg
connections belong to one loop, so set-up code (factories, ``db``, ``login_as``)
must run on the test's loop too.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import pytest
from anyio.from_thread import BlockingPortal

T = TypeVar("T")


class TestLoop(Protocol):
    """Runs a coroutine function to completion on the test's loop, from sync code."""

    def call(self, work: Callable[[], Awaitable[T]]) -> T: ...

    def event_loop(self) -> asyncio.AbstractEventLoop: ...


class PortalLoop:
    __test__ = False

    def __init__(self, portal: BlockingPortal) -> None:
        self.portal = portal

    def call(self, work: Callable[[], Awaitable[T]]) -> T:
        return self.portal.call(work)

    def event_loop(self) -> asyncio.AbstractEventLoop:
        return self.portal.call(_running_loop)


class RunnerLoop:
    """anyio's test runner loop: usable from sync fixtures of an async test, not from its body.

    Sync fixtures run between anyio's steps, while its loop is idle, so set-up work runs
    there with ``run_until_complete`` as anyio runs its own fixtures.
    """

    __test__ = False

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def call(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise pytest.UsageError(
                "a sync sessionary.testing helper was called inside an async test; "
                "use its async form (`await user_factory.acreate()`, `async_db`, "
                "`await async_login_as(...)`)"
            )

        async def run() -> T:
            return await work()

        return self.loop.run_until_complete(run())

    def event_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def is_async_test(item: pytest.Item) -> bool:
    """An ``async def`` test run by anyio's plugin (it requests ``anyio_backend``)."""
    function = getattr(item, "obj", None)
    return inspect.iscoroutinefunction(function) and "anyio_backend" in getattr(
        item, "fixturenames", ()
    )
