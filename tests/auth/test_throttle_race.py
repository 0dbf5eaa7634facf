"""A burst of concurrent logins over real HTTP never checks more passwords than the limits allow
(docs/security.md "Brute force"): each attempt takes its throttle slot before its password is
verified. Memory and Redis storage alike; the server is uvicorn on loopback."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI

from sessionary.auth.throttle import LoginThrottle
from sessionary.core.security import PasswordHasher
from sessionary.runtime import runtime_of
from sessionary.testing import DEFAULT_PASSWORD, SettingsOverride, ThrottleHandle, UserFactory

from .live import live_server

REDIS_URL = "redis://127.0.0.1:6379/0"
BURST = 40
LIMIT = 10
WRONG = "not-the-password"

# Real commits on a connection per request: with savepoint isolation every request would take
# its turn on the test's one connection, and nothing would be in flight at once.
pytestmark = [pytest.mark.anyio, pytest.mark.sessionary_db(transaction=True)]


class Verifications:
    """How many argon2 verifications ran (they run on the hasher's threads)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Verifications:
    seen = Verifications()
    original = PasswordHasher.verify_sync

    def counting(
        self: PasswordHasher, password: str, password_hash: str
    ) -> tuple[bool, str | None]:
        seen.add()
        return original(self, password, password_hash)

    monkeypatch.setattr(PasswordHasher, "verify_sync", counting)
    return seen


@pytest.fixture(params=["memory", "redis"])
async def storage(
    request: pytest.FixtureRequest, sessionary_app: FastAPI, settings: SettingsOverride
) -> AsyncIterator[LoginThrottle]:
    """The app's throttle, in memory or in real Redis (under a prefix of this test's own)."""
    settings.set(login_failures_per_account=LIMIT, login_failures_per_client=LIMIT * 10)
    url = REDIS_URL if request.param == "redis" else None
    own = runtime_of(sessionary_app).settings.model_copy(
        update={"redis_url": url, "redis_key_prefix": f"sessionary-test:{uuid.uuid4().hex}:"}
    )
    throttle = LoginThrottle(own)
    previous = runtime_of(sessionary_app).throttle
    runtime_of(sessionary_app).throttle = throttle
    try:
        yield throttle
    finally:
        runtime_of(sessionary_app).throttle = previous
        await throttle.reset()
        await throttle.close()


async def burst(base_url: str, bodies: list[dict[str, str]]) -> list[int]:
    """Every body posted to /auth/login at once, each on its own connection."""
    limits = httpx2.Limits(max_connections=len(bodies))
    async with httpx2.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        responses = await asyncio.gather(*(http.post("/auth/login", json=b) for b in bodies))
    return [response.status_code for response in responses]


class TestABurstAgainstOneAccount:
    async def test_checks_no_more_passwords_than_the_account_limit(
        self,
        sessionary_app: FastAPI,
        storage: LoginThrottle,
        user_factory: UserFactory,
        verifications: Verifications,
        throttle: ThrottleHandle,
    ) -> None:
        await user_factory.acreate(username="alice")
        wrong = [{"username": "alice", "password": WRONG}] * BURST
        right = {"username": "alice", "password": DEFAULT_PASSWORD}  # last in the burst

        async with live_server(sessionary_app) as base_url:
            statuses = await burst(base_url, [*wrong, right])

        # At most LIMIT wrong passwords are checked; the right one, if it won a slot, gave it
        # back when it matched, and a wrong one still in flight may have taken it.
        assert statuses.count(401) <= LIMIT
        assert verifications.count <= LIMIT + 1
        assert statuses.count(401) + statuses.count(200) == verifications.count
        assert statuses.count(429) == BURST + 1 - verifications.count
        assert set(statuses) <= {200, 401, 429}
        # Only the failures stay counted: a right password (if it won a slot) gave it back.
        counts = await throttle.acounts("alice", client="127.0.0.1")
        assert counts.account == statuses.count(401)

    async def test_the_right_password_after_the_burst_is_still_refused(
        self,
        sessionary_app: FastAPI,
        storage: LoginThrottle,
        user_factory: UserFactory,
    ) -> None:
        await user_factory.acreate(username="alice")

        async with live_server(sessionary_app) as base_url:
            await burst(base_url, [{"username": "alice", "password": WRONG}] * BURST)
            after = await burst(base_url, [{"username": "alice", "password": DEFAULT_PASSWORD}])

        assert after == [429]


class TestABurstAgainstManyAccounts:
    async def test_checks_no_more_passwords_than_the_client_limit(
        self,
        sessionary_app: FastAPI,
        storage: LoginThrottle,
        settings: SettingsOverride,
        verifications: Verifications,
    ) -> None:
        settings.set(login_failures_per_client=LIMIT)
        bodies = [{"username": f"user{n}", "password": WRONG} for n in range(BURST)]

        async with live_server(sessionary_app) as base_url:
            statuses = await burst(base_url, bodies)

        assert verifications.count == LIMIT
        assert sorted(statuses) == [401] * LIMIT + [429] * (BURST - LIMIT)


class TestRightPasswordsGiveTheirSlotBack:
    async def test_a_burst_of_right_passwords_all_log_in(
        self,
        sessionary_app: FastAPI,
        storage: LoginThrottle,
        settings: SettingsOverride,
        user_factory: UserFactory,
        throttle: ThrottleHandle,
    ) -> None:
        settings.set(login_failures_per_account=3)
        await user_factory.acreate(username="alice")
        right = {"username": "alice", "password": DEFAULT_PASSWORD}

        async with live_server(sessionary_app) as base_url:
            statuses = await burst(base_url, [right] * 3)
            statuses += await burst(base_url, [right] * 3)

        assert statuses == [200] * 6
        assert await throttle.acounts("alice", client="127.0.0.1") == (0, 0)
