"""Where the login throttle keeps its counts: process memory or Redis.

Both backends offer the same five operations on a moving window (``limits``):
``acquire`` takes a slot atomically (False when the window is full), ``release``
gives the newest slot back, ``stats`` reads a window, plus ``repeat`` for the
audit log's coalesced events and ``reset`` for tests.

Memory: ``limits``' thread-safe synchronous ``MemoryStorage`` (its asyncio twin
keeps per-loop locks and timer tasks, and one throttle is shared by every loop
of the process: the lifespan's, a bare ``TestClient``'s per request, the test
plugin's two). Redis: redis-py's asyncio client, whose connections belong to
one event loop, so each loop gets a backend of its own (:class:`PerLoop`).

Every time is the caller's ``time.time()`` (``limits`` passes its timestamps to
Redis the same way), never Redis' own clock or TTLs, so tests move time with
the ``clock`` fixture on both backends alike.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, cast

import redis.asyncio
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

# Fail fast when Redis is down: a login waits at most about this long before its 503.
CONNECT_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 1.0
STORAGE_ERRORS = (RedisError, StorageError, OSError, TimeoutError)
# A repeat counted but not yet written is kept this long after its window (Redis key TTL).
REPEAT_MEMORY_SECONDS = 7 * 24 * 3600
_MEMORY_REPEATS_MAX = 10_000
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")

# KEYS[1]: the bucket's hash {ends, folded}; ARGV: now, the end of a window opened now (both
# as Python's repr, so they compare exactly), key TTL seconds. Returns the occurrences this one
# stands for when it opens a window (1 + those folded since the last one recorded), else 0 (it
# was folded into the open window's count). The TTL is set after the write: EXPIRE on a key
# that does not exist yet does nothing, and a bucket seen once would be kept forever.
_REPEAT_SCRIPT = """
local ends = tonumber(redis.call('hget', KEYS[1], 'ends') or '0')
local folded = tonumber(redis.call('hget', KEYS[1], 'folded') or '0')
local stands_for = 0
if tonumber(ARGV[1]) >= ends then
  redis.call('hset', KEYS[1], 'ends', ARGV[2], 'folded', 0)
  stands_for = folded + 1
else
  redis.call('hincrby', KEYS[1], 'folded', 1)
end
redis.call('expire', KEYS[1], ARGV[3])
return stands_for
"""


class Window(RateLimitItemPerSecond):
    """A moving window whose storage key names the bucket alone (``limits`` would add the
    amount and period, so changing a limit would silently start every count afresh)."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(part) for part in identifiers)])


class MemoryBackend:
    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._repeats: dict[str, tuple[float, int]] = {}  # bucket -> (window end, folded)
        self._repeats_lock = threading.Lock()

    async def acquire(self, window: Window, key: str) -> bool:
        return self._limiter.hit(window, key)

    async def release(self, window: Window, key: str) -> None:
        # MemoryStorage keeps a window's entries newest first, under a lock per key.
        full_key = window.key_for(key)
        with self._storage.locks[full_key]:
            if entries := self._storage.events.get(full_key):
                del entries[0]

    async def stats(self, window: Window, key: str) -> WindowStats:
        return self._limiter.get_window_stats(window, key)

    async def repeat(self, bucket: str, seconds: int) -> int:
        now = time.time()
        with self._repeats_lock:
            ends, folded = self._repeats.get(bucket, (0.0, 0))
            if now < ends:
                self._repeats[bucket] = (ends, folded + 1)
                return 0
            if len(self._repeats) >= _MEMORY_REPEATS_MAX:  # bounded: forget ended windows
                self._repeats = {k: v for k, v in self._repeats.items() if v[0] > now}
            self._repeats[bucket] = (now + seconds, 0)
            return folded + 1

    def reset(self) -> None:
        self._storage.reset()
        with self._repeats_lock:
            self._repeats.clear()


class RedisBackend:
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
        self._repeat = self.client.register_script(_REPEAT_SCRIPT)

    async def acquire(self, window: Window, key: str) -> bool:
        return await self._limiter.hit(window, key)

    async def release(self, window: Window, key: str) -> None:
        # limits keeps a moving window as a list of timestamps, newest at the head, under
        # "<prefix>:<key>": give back the newest (ours, or one a few ms younger).
        await cast(Awaitable[Any], self.client.lpop(f"{self.prefix}:{window.key_for(key)}"))

    async def stats(self, window: Window, key: str) -> WindowStats:
        return await self._limiter.get_window_stats(window, key)

    async def repeat(self, bucket: str, seconds: int) -> int:
        keys = [f"{self.prefix}:repeat/{bucket}"]
        now = time.time()
        args: list[str | int] = [repr(now), repr(now + seconds), seconds + REPEAT_MEMORY_SECONDS]
        return int(await self._repeat(keys=keys, args=args))

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


class PerLoop:
    """One :class:`RedisBackend` per running event loop, made on first use.

    Each is closed on its loop by :meth:`close` (the lifespan's shutdown) or, at the
    latest, when its loop shuts down: every backend is guarded by a suspended async
    generator, and ``asyncio.run``, ``asyncio.Runner`` and anyio (so uvicorn and every
    ``TestClient`` portal, one per request without lifespan) finalise a loop's async
    generators before closing it. A loop closed without that keeps its entry (no
    connection is dropped unclosed, which would warn).
    """

    def __init__(self, make: Callable[[], RedisBackend]) -> None:
        self._make = make
        self._open: dict[
            asyncio.AbstractEventLoop, tuple[RedisBackend, AsyncGenerator[None, None]]
        ] = {}

    async def get(self) -> RedisBackend:
        loop = asyncio.get_running_loop()
        entry = self._open.get(loop)
        if entry is None:
            backend = self._make()
            guard = self._guard(loop, backend)
            entry = self._open[loop] = (backend, guard)
            await anext(guard)  # runs to its yield at once; the loop now tracks it
        return entry[0]

    async def _guard(
        self, loop: asyncio.AbstractEventLoop, backend: RedisBackend
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
