"""Brute-force throttle for password checks: failed attempts in moving windows (``limits``).

Two buckets apply to every attempt, each a moving window of
``login_failure_window`` seconds:

* per client — the client key (an IP, an IPv6 /64, or ``"unknown"``), up to
  ``login_failures_per_client`` failures;
* per account — the browser's own device bucket when it proved with its
  ``session_device`` cookie that it logged in as this account before, else the
  (account, client) pair; up to ``login_failures_per_account`` failures.

Limits are read from the settings passed to each call, and a bucket's key
names the bucket only (never the limit), so a changed setting applies at once
and keeps the counts. Keys: ``login/client/<client>``,
``login/account/<sha256 of the account key>/<client>``, ``login/device/<id>``
(the client percent-encoded), under ``<redis_key_prefix>throttle:`` in Redis.
The storage itself (Redis URL, key prefix) is fixed when the throttle is made.

Retry-After is the whole seconds until the oldest failure counted in a full
bucket leaves its window (the later one when both are full), at least 1.

Storage: in process memory by default — ``limits``' thread-safe synchronous
``MemoryStorage`` (its asyncio twin keeps per-loop locks and timer tasks, and
this one throttle is shared by every loop of the process: the lifespan's, a
bare ``TestClient``'s per request, the test plugin's two). With ``redis_url``,
Redis through redis-py's asyncio client, whose connections belong to one
event loop, so each loop gets a client of its own (see :class:`_PerLoop`).
Redis unreachable: :class:`~sessionary.errors.ServiceUnavailable` within
about a second and a half (logins fail closed).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, cast
from urllib.parse import quote

import redis.asyncio
import structlog
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from sessionary.config import Settings
from sessionary.errors import ServiceUnavailable, Throttled

log = structlog.get_logger(__name__)

# Fail fast when Redis is down: a login waits at most about this long before its 503.
CONNECT_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 1.0
OPERATION_TIMEOUT_SECONDS = 1.5
UNAVAILABLE_RETRY_AFTER = 5
_STORAGE_ERRORS = (RedisError, StorageError, OSError, TimeoutError)
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class ThrottleCounts(NamedTuple):
    """Failures counted in the window by the two buckets an attempt falls into."""

    client: int
    account: int


class _Window(RateLimitItemPerSecond):
    """A moving window whose storage key names the bucket alone (``limits`` would add the
    amount and period, so changing a limit would silently start every count afresh)."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(part) for part in identifiers)])


def _buckets(
    settings: Settings, *, account: str, client: str, device_id: int | None
) -> tuple[tuple[_Window, str], tuple[_Window, str]]:
    window = settings.login_failure_window
    client_part = quote(client, safe="")  # "/" in "2001:db8::/64" must not split the key
    if device_id is not None:
        account_bucket = f"device/{int(device_id)}"
    else:
        digest = hashlib.sha256(account.encode()).hexdigest()  # no raw user input in keys
        account_bucket = f"account/{digest}/{client_part}"
    return (
        (_Window(settings.login_failures_per_client, window, "login"), f"client/{client_part}"),
        (_Window(settings.login_failures_per_account, window, "login"), account_bucket),
    )


def _retry_after(reset_at: float) -> int:
    # Redis still counts the oldest failure at exactly ``reset_at`` (its comparison is
    # inclusive), so come back one whole second after it, never at it.
    return max(1, math.floor(reset_at - time.time()) + 1)


class _MemoryBackend:
    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)

    async def hit(self, window: _Window, key: str) -> bool:
        return self._limiter.hit(window, key)

    async def stats(self, window: _Window, key: str) -> WindowStats:
        return self._limiter.get_window_stats(window, key)

    def reset(self) -> None:
        self._storage.reset()


class _RedisBackend:
    """One event loop's Redis client (redis-py's asyncio one) and ``limits`` storage."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.client = redis.asyncio.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            # One retry replaces a pooled connection the server dropped; no backoff sleeps.
            retry=Retry(NoBackoff(), 1),
        )
        # limits and reset()/ping() share the one pool that close() releases.
        shared: dict[str, Any] = {"connection_pool": self.client.connection_pool}
        storage = RedisStorage(url, implementation="redispy", key_prefix=prefix, **shared)
        self._limiter = AsyncMovingWindow(storage)

    async def hit(self, window: _Window, key: str) -> bool:
        return await self._limiter.hit(window, key)

    async def stats(self, window: _Window, key: str) -> WindowStats:
        return await self._limiter.get_window_stats(window, key)

    async def reset(self) -> None:
        # limits' own reset runs KEYS over the whole database; SCAN only this prefix.
        pattern = _GLOB_SPECIAL.sub(r"\\\1", f"{self.prefix}:") + "*"
        batch: list[bytes] = []
        async for key in self.client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                await self.client.unlink(*batch)
                batch.clear()
        if batch:
            await self.client.unlink(*batch)

    async def ping(self) -> None:
        # redis-py types its commands for both clients; this one is the asyncio client.
        await cast(Awaitable[bool], self.client.ping())

    async def close(self) -> None:
        await self.client.aclose(close_connection_pool=True)


class _PerLoop:
    """One :class:`_RedisBackend` per running event loop, made on first use.

    Each is closed on its loop by :meth:`close` (the lifespan's shutdown) or, at the
    latest, when its loop shuts down: every backend is guarded by a suspended async
    generator, and ``asyncio.run``, ``asyncio.Runner`` and anyio (so uvicorn and every
    ``TestClient`` portal, one per request without lifespan) finalise a loop's async
    generators before closing it. A loop closed without that keeps its entry (no
    connection is dropped unclosed, which would warn).
    """

    def __init__(self, make: Callable[[], _RedisBackend]) -> None:
        self._make = make
        self._open: dict[
            asyncio.AbstractEventLoop, tuple[_RedisBackend, AsyncGenerator[None, None]]
        ] = {}

    async def get(self) -> _RedisBackend:
        loop = asyncio.get_running_loop()
        entry = self._open.get(loop)
        if entry is None:
            backend = self._make()
            guard = self._guard(loop, backend)
            entry = self._open[loop] = (backend, guard)
            await anext(guard)  # runs to its yield at once; the loop now tracks it
        return entry[0]

    async def _guard(
        self, loop: asyncio.AbstractEventLoop, backend: _RedisBackend
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if (entry := self._open.get(loop)) is not None and entry[0] is backend:
                del self._open[loop]
            await backend.close()

    async def close(self) -> None:
        """Close this loop's backend (other loops close theirs as they shut down)."""
        entry = self._open.get(asyncio.get_running_loop())
        if entry is not None:
            await entry[1].aclose()


class LoginThrottle:
    """Counts failed password checks; refuses attempts past a limit, right password or not."""

    def __init__(self, settings: Settings) -> None:
        self._backends: _MemoryBackend | _PerLoop
        if settings.redis_url is None:
            self._backends = _MemoryBackend()
        else:
            url, prefix = settings.redis_url, f"{settings.redis_key_prefix}throttle"
            self._backends = _PerLoop(lambda: _RedisBackend(url, prefix))

    @property
    def uses_redis(self) -> bool:
        return isinstance(self._backends, _PerLoop)

    async def check(
        self, settings: Settings, *, account: str, client: str, device_id: int | None
    ) -> None:
        """Before verifying a password: raise Throttled(retry_after) when a bucket that applies
        is exhausted (this blocks correct passwords too), ServiceUnavailable when the storage
        is down."""
        buckets = _buckets(settings, account=account, client=client, device_id=device_id)
        async with self._storage("check") as backend:
            stats = [await backend.stats(window, key) for window, key in buckets]
        exhausted = [window.reset_time for window in stats if window.remaining <= 0]
        if exhausted:
            # Both buckets may be full: the attempt is allowed only once both have room.
            raise Throttled(_retry_after(max(exhausted)))

    async def fail(
        self, settings: Settings, *, account: str, client: str, device_id: int | None
    ) -> None:
        """Count one failed attempt in every bucket that applies (ServiceUnavailable when the
        storage is down). A full bucket stays full: the failure is not stacked on top."""
        buckets = _buckets(settings, account=account, client=client, device_id=device_id)
        async with self._storage("fail") as backend:
            for window, key in buckets:
                await backend.hit(window, key)

    async def counts(
        self, settings: Settings, *, account: str, client: str, device_id: int | None
    ) -> ThrottleCounts:
        """The failures counted now in the two buckets such an attempt falls into."""
        buckets = _buckets(settings, account=account, client=client, device_id=device_id)
        async with self._storage("counts") as backend:
            stats = [await backend.stats(window, key) for window, key in buckets]
        client_count, account_count = (
            window.amount - found.remaining
            for (window, _), found in zip(buckets, stats, strict=True)
        )
        return ThrottleCounts(client=client_count, account=account_count)

    async def ping(self) -> None:
        """Raise when the storage is unreachable (for /health/ready)."""
        if isinstance(self._backends, _PerLoop):
            async with asyncio.timeout(OPERATION_TIMEOUT_SECONDS):
                await (await self._backends.get()).ping()

    async def reset(self) -> None:
        """Forget every count (tests): only keys under this app's prefix, never FLUSHDB."""
        if isinstance(self._backends, _PerLoop):
            await (await self._backends.get()).reset()
        else:
            self._backends.reset()

    def reset_memory(self) -> bool:
        """Forget in-memory counts without an event loop; False when they live in Redis."""
        if isinstance(self._backends, _PerLoop):
            return False
        self._backends.reset()
        return True

    async def close(self) -> None:
        """Release this loop's connections (lifespan shutdown); a later call reconnects."""
        if isinstance(self._backends, _PerLoop):
            await self._backends.close()

    @asynccontextmanager
    async def _storage(self, operation: str) -> AsyncIterator[_MemoryBackend | _RedisBackend]:
        if isinstance(self._backends, _MemoryBackend):
            yield self._backends
            return
        try:
            async with asyncio.timeout(OPERATION_TIMEOUT_SECONDS):
                yield await self._backends.get()
        except _STORAGE_ERRORS as exc:
            # Fail closed: without counts, password guessing would be unlimited.
            log.warning("throttle_storage_down", operation=operation, error=type(exc).__name__)
            raise ServiceUnavailable(
                "Login temporarily unavailable", retry_after=UNAVAILABLE_RETRY_AFTER
            ) from exc
