"""The login throttle in tests: the ``throttle`` fixture and the reset after every test.

Throttle counts live outside the database (process memory, or Redis), so the
rollback that cleans every test does not touch them: :func:`reset_throttle`
forgets them after each test. With Redis it deletes only the keys under the
app's ``redis_key_prefix`` — one prefix per xdist worker — and never flushes
the database.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from sessionary.auth.throttle import LoginThrottle, ThrottleCounts
from sessionary.core.runtime import STATE_KEY
from sessionary.runtime import Runtime, runtime_of
from sessionary.testing.loops import TestLoop
from sessionary.users.usernames import username_key


def reset_throttle(app: FastAPI, loop: TestLoop) -> None:
    """Forget every count of ``app``'s login throttle; from sync code (fixture teardown)."""
    runtime: Runtime | None = getattr(app.state, STATE_KEY, None)
    # In memory no loop is needed; Redis clients belong to a loop, so use the test's.
    if runtime is not None and not runtime.throttle.reset_memory():
        loop.call(runtime.throttle.reset)


class ThrottleHandle:
    """The app's login throttle, read with the app's current settings."""

    __test__ = False

    def __init__(self, app: FastAPI, loop: TestLoop) -> None:
        self._app = app
        self._loop = loop

    def counts(
        self, username: str, *, client: str = "unknown", device_id: int | None = None
    ) -> ThrottleCounts:
        """Failures counted against a login as ``username`` from ``client`` (its bucket: an IP,
        an IPv6 /64, or ``"unknown"`` as for a TestClient), or from the device ``device_id``."""
        return self._loop.call(lambda: self.acounts(username, client=client, device_id=device_id))

    async def acounts(
        self, username: str, *, client: str = "unknown", device_id: int | None = None
    ) -> ThrottleCounts:
        """The async twin of :meth:`counts`."""
        throttle: LoginThrottle = runtime_of(self._app).throttle
        return await throttle.counts(
            runtime_of(self._app).settings,
            account=username_key(username),
            client=client,
            device_id=device_id,
        )

    def reset(self) -> None:
        """Forget every count now (the plugin also does after every test)."""
        reset_throttle(self._app, self._loop)

    async def areset(self) -> None:
        """The async twin of :meth:`reset`."""
        throttle: LoginThrottle = runtime_of(self._app).throttle
        await throttle.reset()


@pytest.fixture
def throttle(sessionary_app: FastAPI, sessionary_loop: TestLoop) -> ThrottleHandle:
    """The login throttle's failure counts: ``throttle.counts("alice")``, ``throttle.reset()``."""
    return ThrottleHandle(sessionary_app, sessionary_loop)
