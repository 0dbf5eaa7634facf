"""Brute-force throttle for password checks: attempts in moving windows (``limits``).

Two buckets apply to every attempt, each a moving window of
``login_failure_window`` seconds:

* per client — the client key (an IP, an IPv6 /64, or ``"unknown"``), up to
  ``login_failures_per_client`` failures;
* per account — the browser's own device bucket when it proved with its
  ``session_device`` cookie that it logged in as this account before, else the
  (account, client) pair; up to ``login_failures_per_account`` failures.

An attempt takes its slot in both buckets *before* the password is verified
(:meth:`LoginThrottle.acquire`, atomic in memory and in Redis), so a burst of
concurrent attempts can never check more passwords than the limits allow; a
right password gives its slots back (:meth:`LoginThrottle.release`): only
failures stay counted. Past a limit every attempt is refused, right password
or not.

Limits are read from the settings passed to each call, and a bucket's key
names the bucket only (never the limit), so a changed setting applies at once
and keeps the counts. Keys: ``login/client/<client>``,
``login/account/<sha256 of the account key>/<client>``, ``login/device/<id>``
(the client percent-encoded), under ``<redis_key_prefix>throttle:`` in Redis.
The storage itself (Redis URL, key prefix) is fixed when the throttle is made
(:mod:`sessionary.auth.throttle_storage`).

Retry-After is the whole seconds until the oldest attempt counted in a full
bucket leaves its window (the later one when both are full), at least 1.
Redis unreachable: :class:`~sessionary.errors.ServiceUnavailable` within
about a second and a half (logins fail closed).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple
from urllib.parse import quote

import structlog

from sessionary.auth.throttle_storage import (
    STORAGE_ERRORS,
    MemoryBackend,
    PerLoop,
    RedisBackend,
    Window,
)
from sessionary.config import Settings
from sessionary.errors import ServiceUnavailable, Throttled

log = structlog.get_logger(__name__)

OPERATION_TIMEOUT_SECONDS = 1.5
UNAVAILABLE_RETRY_AFTER = 5


class ThrottleCounts(NamedTuple):
    """Attempts counted in the window by the two buckets an attempt falls into."""

    client: int
    account: int


class Refused(Throttled):
    """429: a bucket is full. ``bucket`` names it (for coalescing the audit events)."""

    def __init__(self, retry_after: int, bucket: str) -> None:
        super().__init__(retry_after)
        self.bucket = bucket


class Reservation(NamedTuple):
    """The slots one attempt holds: a failure keeps them, a right password releases them."""

    slots: tuple[tuple[Window, str], ...]


def _login_buckets(
    settings: Settings, *, account: str, client: str, device_id: int | None
) -> tuple[tuple[Window, str], tuple[Window, str]]:
    """(account or device bucket, client bucket)."""
    window = settings.login_failure_window
    client_part = quote(client, safe="")  # "/" in "2001:db8::/64" must not split the key
    if device_id is not None:
        account_bucket = f"device/{int(device_id)}"
    else:
        digest = hashlib.sha256(account.encode()).hexdigest()  # no raw user input in keys
        account_bucket = f"account/{digest}/{client_part}"
    return (
        (Window(settings.login_failures_per_account, window, "login"), account_bucket),
        (Window(settings.login_failures_per_client, window, "login"), f"client/{client_part}"),
    )


def _retry_after(reset_at: float) -> int:
    # Redis still counts the oldest attempt at exactly ``reset_at`` (its comparison is
    # inclusive), so come back one whole second after it, never at it.
    return max(1, math.floor(reset_at - time.time()) + 1)


class LoginThrottle:
    """Counts password attempts that failed (or are still being checked); refuses attempts
    past a limit, right password or not."""

    def __init__(self, settings: Settings) -> None:
        self._backends: MemoryBackend | PerLoop
        if settings.redis_url is None:
            self._backends = MemoryBackend()
        else:
            url, prefix = settings.redis_url, f"{settings.redis_key_prefix}throttle"
            self._backends = PerLoop(lambda: RedisBackend(url, prefix))

    @property
    def uses_redis(self) -> bool:
        return isinstance(self._backends, PerLoop)

    async def acquire(
        self, settings: Settings, *, account: str, client: str, device_id: int | None
    ) -> Reservation:
        """Before verifying a password: take a slot in both buckets, or raise :class:`Refused`
        (429 + Retry-After) holding none; ServiceUnavailable when the storage is down."""
        buckets = _login_buckets(settings, account=account, client=client, device_id=device_id)
        return await self._take(buckets)

    async def release(self, reservation: Reservation) -> None:
        """A right password: its attempt was not a failure. Best effort — when the storage
        is down the slots simply stay counted until they leave their window."""
        try:
            async with self._storage("release") as backend:
                for window, key in reservation.slots:
                    await backend.release(window, key)
        except ServiceUnavailable:
            pass  # logged by _storage

    async def acquire_registration(self, settings: Settings, *, client: str) -> None:
        """Every sign-up attempt takes a slot per client (it can confirm that a username or
        email is taken); Refused past ``registrations_per_client`` per window."""
        window = Window(settings.registrations_per_client, settings.registration_window, "signup")
        await self._take(((window, f"client/{quote(client, safe='')}"),))

    async def acquire_mail_request(
        self, settings: Settings, *, purpose: str, address: str, client: str
    ) -> None:
        """Every request that mails a token (``purpose``: ``reset``, ``verify``) takes a slot
        per address and per client, whether or not the address belongs to anyone (so the
        answer says nothing about it); Refused past ``mail_requests_per_address`` or
        ``mail_requests_per_client`` per ``mail_request_window``."""
        seconds = settings.mail_request_window
        digest = hashlib.sha256(address.encode()).hexdigest()  # no raw user input in keys
        await self._take(
            (
                (Window(settings.mail_requests_per_address, seconds, purpose), f"address/{digest}"),
                (
                    Window(settings.mail_requests_per_client, seconds, purpose),
                    f"client/{quote(client, safe='')}",
                ),
            )
        )

    async def counts(
        self, settings: Settings, *, account: str, client: str, device_id: int | None
    ) -> ThrottleCounts:
        """The attempts counted now in the two buckets such an attempt falls into."""
        buckets = _login_buckets(settings, account=account, client=client, device_id=device_id)
        async with self._storage("counts") as backend:
            stats = [await backend.stats(window, key) for window, key in buckets]
        account_count, client_count = (
            window.amount - found.remaining
            for (window, _), found in zip(buckets, stats, strict=True)
        )
        return ThrottleCounts(client=client_count, account=account_count)

    async def repeat(self, settings: Settings, bucket: str) -> int | None:
        """One more occurrence of a repeatable event (a refused login, a replayed token).

        The first in each ``login_failure_window`` per bucket returns how many occurrences
        its audit row stands for (itself plus those folded since the last row); the others
        are folded into that count and return None. Storage down: 1 (record it anyway).
        """
        try:
            async with self._storage("repeat") as backend:
                count = await backend.repeat(bucket, settings.login_failure_window)
        except ServiceUnavailable:
            return 1
        return count or None

    async def ping(self) -> None:
        """Raise when the storage is unreachable (for /health/ready)."""
        if isinstance(self._backends, PerLoop):
            async with asyncio.timeout(OPERATION_TIMEOUT_SECONDS):
                await (await self._backends.get()).ping()

    async def reset(self) -> None:
        """Forget every count (tests): only keys under this app's prefix, never FLUSHDB."""
        if isinstance(self._backends, PerLoop):
            await (await self._backends.get()).reset()
        else:
            self._backends.reset()

    def reset_memory(self) -> bool:
        """Forget in-memory counts without an event loop; False when they live in Redis."""
        if isinstance(self._backends, PerLoop):
            return False
        self._backends.reset()
        return True

    async def close(self) -> None:
        """Release this loop's connections (lifespan shutdown); a later call reconnects."""
        if isinstance(self._backends, PerLoop):
            await self._backends.close()

    async def _take(self, buckets: tuple[tuple[Window, str], ...]) -> Reservation:
        async with self._storage("acquire") as backend:
            taken: list[tuple[Window, str]] = []
            for window, key in buckets:
                if await backend.acquire(window, key):
                    taken.append((window, key))
                    continue
                for held in taken:  # refused attempts hold nothing
                    await backend.release(*held)
                stats = [await backend.stats(*bucket) for bucket in buckets]
                # Both may be full: the attempt is allowed only once both have room.
                full = [found.reset_time for found in stats if found.remaining <= 0]
                raise Refused(_retry_after(max(full, default=time.time())), key)
        return Reservation(tuple(taken))

    @asynccontextmanager
    async def _storage(self, operation: str) -> AsyncIterator[MemoryBackend | RedisBackend]:
        if isinstance(self._backends, MemoryBackend):
            yield self._backends
            return
        try:
            async with asyncio.timeout(OPERATION_TIMEOUT_SECONDS):
                yield await self._backends.get()
        except STORAGE_ERRORS as exc:
            # Fail closed: without counts, password guessing would be unlimited.
            log.warning("throttle_storage_down", operation=operation, error=type(exc).__name__)
            raise ServiceUnavailable(
                "Login temporarily unavailable", retry_after=UNAVAILABLE_RETRY_AFTER
            ) from exc
