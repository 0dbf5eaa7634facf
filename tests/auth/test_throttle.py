"""The login throttle on its own (docs/security.md "Brute force"): every
behaviour against memory storage and real Redis; Redis down fails closed, fast."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio
from fastapi import FastAPI

from sessionary.app import install
from sessionary.auth.testing import reset_throttle
from sessionary.auth.throttle import LoginThrottle, ThrottleCounts
from sessionary.config import Settings
from sessionary.errors import ServiceUnavailable, Throttled
from sessionary.runtime import runtime_of
from sessionary.testing import Clock, SettingsOverride, ThrottleHandle, loops

REDIS_URL = "redis://127.0.0.1:6379/0"
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
START = datetime(2030, 1, 1, tzinfo=UTC)  # a whole second, so every Retry-After is exact
CLIENT = "203.0.113.7"
OTHER_CLIENT = "2001:db8:1:2::/64"
WINDOW = 900


def make_throttle(app: FastAPI, redis_url: str | None, prefix: str = "unused:") -> LoginThrottle:
    base: Settings = runtime_of(app).settings
    return LoginThrottle(
        base.model_copy(update={"redis_url": redis_url, "redis_key_prefix": prefix})
    )


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test (or worker, or run) uses."""
    return f"sessionary-test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", "redis"])
async def login_throttle(
    request: pytest.FixtureRequest, sessionary_app: FastAPI, redis_prefix: str
) -> AsyncIterator[LoginThrottle]:
    """A throttle of the test's own: in memory, or in real Redis under its own prefix."""
    url = REDIS_URL if request.param == "redis" else None
    throttle = make_throttle(sessionary_app, url, redis_prefix)
    yield throttle
    await throttle.reset()
    await throttle.close()


@pytest.fixture
async def redis_throttle(
    sessionary_app: FastAPI, redis_prefix: str
) -> AsyncIterator[LoginThrottle]:
    throttle = make_throttle(sessionary_app, REDIS_URL, redis_prefix)
    yield throttle
    await throttle.reset()
    await throttle.close()


@pytest.fixture
async def down(sessionary_app: FastAPI) -> AsyncIterator[LoginThrottle]:
    """A throttle whose Redis is unreachable."""
    throttle = make_throttle(sessionary_app, DOWN_URL)
    yield throttle
    await throttle.close()


@pytest.fixture
async def raw_redis() -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def frozen(clock: Clock) -> Clock:
    clock.set(START)
    return clock


@pytest.fixture
def limits(settings: SettingsOverride, frozen: Clock) -> Settings:
    """3 failures per account, 5 per client, in 900 s; the clock at a whole second."""
    return settings.set(
        login_failures_per_account=3, login_failures_per_client=5, login_failure_window=WINDOW
    )


async def fail(
    throttle: LoginThrottle,
    settings: Settings,
    times: int = 1,
    *,
    account: str = "alice",
    client: str = CLIENT,
    device_id: int | None = None,
) -> None:
    """``times`` wrong passwords: each takes its slots, and a failure keeps them."""
    for _ in range(times):
        await throttle.acquire(settings, account=account, client=client, device_id=device_id)


async def refused_for(
    throttle: LoginThrottle,
    settings: Settings,
    *,
    account: str = "alice",
    client: str = CLIENT,
    device_id: int | None = None,
) -> int:
    """The Retry-After of the 429 this attempt gets."""
    with pytest.raises(Throttled) as refused:
        await throttle.acquire(settings, account=account, client=client, device_id=device_id)
    assert refused.value.status_code == 429
    return int(refused.value.headers["Retry-After"])


async def allowed(
    throttle: LoginThrottle,
    settings: Settings,
    *,
    account: str = "alice",
    client: str = CLIENT,
    device_id: int | None = None,
    keep: bool = False,
) -> bool:
    """Whether an attempt is let through now; it gives its slots back (a right password)
    unless ``keep`` (a wrong one)."""
    try:
        slots = await throttle.acquire(
            settings, account=account, client=client, device_id=device_id
        )
    except Throttled:
        return False
    if not keep:
        await throttle.release(slots)
    return True


@pytest.mark.anyio
class TestAccountLimit:
    async def test_the_attempt_after_the_limit_is_429_with_retry_after(
        self, login_throttle: LoginThrottle, limits: Settings, frozen: Clock
    ) -> None:
        for _ in range(3):
            await fail(login_throttle, limits)
            frozen.advance(seconds=10)

        # The oldest failure (30 s ago) leaves the window in 870 s: come back just after.
        assert await refused_for(login_throttle, limits) == 871

    async def test_the_window_moves_with_each_failure(
        self, login_throttle: LoginThrottle, limits: Settings, frozen: Clock
    ) -> None:
        for _ in range(3):
            await fail(login_throttle, limits)
            frozen.advance(seconds=10)
        retry_after = await refused_for(login_throttle, limits)

        frozen.advance(seconds=retry_after - 2)
        assert await refused_for(login_throttle, limits) == 2
        frozen.advance(seconds=2)
        assert await allowed(login_throttle, limits)

        # Only the oldest failure left: one more failure fills the window again.
        await fail(login_throttle, limits)
        assert await refused_for(login_throttle, limits) == 10

    async def test_failures_are_counted_per_account(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 3, account="alice")

        assert not await allowed(login_throttle, limits, account="alice")
        assert await allowed(login_throttle, limits, account="bob")
        assert await allowed(login_throttle, limits, account="alice", client=OTHER_CLIENT)
        counts = await login_throttle.counts(limits, account="bob", client=CLIENT, device_id=None)
        assert counts == ThrottleCounts(client=3, account=0)

    async def test_a_refused_attempt_takes_no_slot(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 3)
        for _ in range(5):
            await refused_for(login_throttle, limits)

        counts = await login_throttle.counts(limits, account="alice", client=CLIENT, device_id=None)
        assert counts == ThrottleCounts(client=3, account=3)

    async def test_a_lowered_limit_applies_at_once_and_keeps_the_counts(
        self, login_throttle: LoginThrottle, limits: Settings, settings: SettingsOverride
    ) -> None:
        await fail(login_throttle, limits, 2)

        lowered = settings.set(login_failures_per_account=2)

        assert not await allowed(login_throttle, lowered)
        assert await allowed(login_throttle, settings.set(login_failures_per_account=3))


@pytest.mark.anyio
class TestClientLimit:
    async def test_many_accounts_from_one_client_exhaust_it(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        for number in range(5):
            await fail(login_throttle, limits, account=f"user{number}")

        assert await refused_for(login_throttle, limits, account="fresh") == WINDOW + 1
        assert await allowed(login_throttle, limits, account="fresh", client=OTHER_CLIENT)

    async def test_when_both_are_full_retry_after_waits_for_the_later(
        self, login_throttle: LoginThrottle, limits: Settings, frozen: Clock
    ) -> None:
        await fail(login_throttle, limits, 2, account="other")  # the client's oldest two
        frozen.advance(seconds=100)
        await fail(login_throttle, limits, 3, account="alice")

        # Client bucket: room again in 800 s; alice's bucket: in 900 s.
        assert await refused_for(login_throttle, limits, account="alice") == WINDOW + 1
        assert await refused_for(login_throttle, limits, account="bob") == WINDOW - 100 + 1


@pytest.mark.anyio
class TestDeviceBucket:
    async def test_a_known_device_gets_in_after_an_attacker_filled_the_account(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 3, account="alice")  # the attacker, no device cookie

        assert not await allowed(login_throttle, limits, account="alice")
        assert await allowed(login_throttle, limits, account="alice", device_id=7)

    async def test_device_failures_stay_in_the_device_bucket(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 3, account="alice", device_id=7)

        assert not await allowed(login_throttle, limits, account="alice", device_id=7)
        assert await allowed(login_throttle, limits, account="alice", device_id=8)
        assert await allowed(login_throttle, limits, account="alice")

    async def test_the_client_limit_still_applies_to_a_device(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        for number in range(5):
            await fail(login_throttle, limits, account=f"user{number}")

        assert await refused_for(login_throttle, limits, account="alice", device_id=7) > 1
        counts = await login_throttle.counts(limits, account="alice", client=CLIENT, device_id=7)
        assert counts == ThrottleCounts(client=5, account=0)


@pytest.mark.anyio
class TestKeys:
    async def test_buckets_whose_parts_would_concatenate_alike_stay_apart(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 3, account="a/b", client="c")

        assert await allowed(login_throttle, limits, account="a", client="b/c")
        assert await allowed(login_throttle, limits, account="a/b/c", client="unknown")

    async def test_redis_keys_are_under_the_prefix_and_never_hold_the_username(
        self,
        redis_throttle: LoginThrottle,
        redis_prefix: str,
        limits: Settings,
        raw_redis: redis.asyncio.Redis,
    ) -> None:
        await fail(redis_throttle, limits, account="ali*ce/[1]", client=OTHER_CLIENT)

        keys = sorted([key.decode() async for key in raw_redis.scan_iter(match=f"{redis_prefix}*")])
        digest = hashlib.sha256(b"ali*ce/[1]").hexdigest()
        client = "2001%3Adb8%3A1%3A2%3A%3A%2F64"
        assert keys == [
            f"{redis_prefix}throttle:login/account/{digest}/{client}",
            f"{redis_prefix}throttle:login/client/{client}",
        ]


@pytest.mark.anyio
class TestRedisKeysExpire:
    """Every key the throttle writes leaves Redis by itself: buckets seen once included (a
    repeat's key set its TTL before the key existed, so it was kept forever)."""

    async def test_every_key_has_a_ttl(
        self,
        redis_throttle: LoginThrottle,
        redis_prefix: str,
        limits: Settings,
        raw_redis: redis.asyncio.Redis,
    ) -> None:
        await fail(redis_throttle, limits)
        await redis_throttle.acquire_registration(limits, client=CLIENT)
        await redis_throttle.acquire_mail_request(
            limits, purpose="reset", address="a@example.com", client=CLIENT
        )
        assert await redis_throttle.repeat(limits, "seen-once") == 1
        assert await redis_throttle.repeat(limits, "seen-twice") == 1
        assert await redis_throttle.repeat(limits, "seen-twice") is None

        keys = [key async for key in raw_redis.scan_iter(match=f"{redis_prefix}*")]
        ttls = {key.decode(): await raw_redis.ttl(key) for key in keys}
        assert len(ttls) == 7, ttls
        assert all(ttl > 0 for ttl in ttls.values()), ttls


@pytest.mark.anyio
class TestReset:
    async def test_reset_forgets_every_count(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 3)
        await fail(login_throttle, limits, 2, account="bob", device_id=7)

        await login_throttle.reset()

        assert await allowed(login_throttle, limits)
        for device_id in (None, 7):
            counts = await login_throttle.counts(
                limits, account="alice", client=CLIENT, device_id=device_id
            )
            assert counts == ThrottleCounts(client=0, account=0)

    async def test_redis_reset_deletes_only_keys_under_the_prefix(
        self,
        sessionary_app: FastAPI,
        redis_prefix: str,
        limits: Settings,
        raw_redis: redis.asyncio.Redis,
    ) -> None:
        # Glob characters in the prefix: unescaped, its SCAN pattern would match the neighbour.
        throttle = make_throttle(sessionary_app, REDIS_URL, f"{redis_prefix}[ab]*")
        neighbours = [f"{redis_prefix}athrottle:login/client/x", f"{redis_prefix}unrelated"]
        await raw_redis.mset(dict.fromkeys(neighbours, b"1"))
        try:
            await fail(throttle, limits, 2)
            await throttle.reset()

            left = [key.decode() async for key in raw_redis.scan_iter(match=f"{redis_prefix}*")]
            assert sorted(left) == sorted(neighbours)
        finally:
            await raw_redis.delete(*neighbours)
            await throttle.close()


@pytest.mark.anyio
class TestSlotsAreTakenBeforeTheCheck:
    async def test_concurrent_attempts_get_no_more_slots_than_the_limit(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        attempts = (allowed(login_throttle, limits, keep=True) for _ in range(40))

        outcomes = await asyncio.gather(*attempts)

        assert outcomes.count(True) == 3

    async def test_a_right_password_gives_its_slots_back(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await fail(login_throttle, limits, 2)
        slots = await login_throttle.acquire(limits, account="alice", client=CLIENT, device_id=None)
        assert await login_throttle.counts(
            limits, account="alice", client=CLIENT, device_id=None
        ) == ThrottleCounts(client=3, account=3)

        await login_throttle.release(slots)

        assert await login_throttle.counts(
            limits, account="alice", client=CLIENT, device_id=None
        ) == ThrottleCounts(client=2, account=2)
        assert await allowed(login_throttle, limits)

    async def test_refused_by_the_client_bucket_holds_no_account_slot(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        for number in range(5):
            await fail(login_throttle, limits, account=f"user{number}")

        await refused_for(login_throttle, limits, account="alice")

        counts = await login_throttle.counts(limits, account="alice", client=CLIENT, device_id=None)
        assert counts == ThrottleCounts(client=5, account=0)

    async def test_releasing_while_redis_is_down_is_silent(
        self, login_throttle: LoginThrottle, limits: Settings, down: LoginThrottle
    ) -> None:
        slots = await login_throttle.acquire(limits, account="alice", client=CLIENT, device_id=None)

        await down.release(slots)  # no exception: the slots just stay counted


@pytest.mark.anyio
class TestRepeats:
    async def test_the_first_in_a_window_is_recorded_and_later_ones_are_counted(
        self, login_throttle: LoginThrottle, limits: Settings, frozen: Clock
    ) -> None:
        assert await login_throttle.repeat(limits, "bucket") == 1
        assert [await login_throttle.repeat(limits, "bucket") for _ in range(4)] == [None] * 4
        assert await login_throttle.repeat(limits, "other") == 1

        frozen.advance(seconds=WINDOW)

        # The next row stands for itself and the four folded into the last window.
        assert await login_throttle.repeat(limits, "bucket") == 5
        assert await login_throttle.repeat(limits, "bucket") is None

    async def test_reset_forgets_repeats(
        self, login_throttle: LoginThrottle, limits: Settings
    ) -> None:
        await login_throttle.repeat(limits, "bucket")

        await login_throttle.reset()

        assert await login_throttle.repeat(limits, "bucket") == 1

    async def test_storage_down_records_every_one(
        self, down: LoginThrottle, limits: Settings
    ) -> None:
        assert [await down.repeat(limits, "bucket") for _ in range(2)] == [1, 1]


@pytest.mark.anyio
class TestRegistrationBucket:
    async def test_every_attempt_counts_per_client(
        self, login_throttle: LoginThrottle, settings: SettingsOverride, frozen: Clock
    ) -> None:
        limited = settings.set(registrations_per_client=2, registration_window=3600)
        for _ in range(2):
            await login_throttle.acquire_registration(limited, client=CLIENT)

        with pytest.raises(Throttled) as refused:
            await login_throttle.acquire_registration(limited, client=CLIENT)

        assert refused.value.headers["Retry-After"] == "3601"
        await login_throttle.acquire_registration(limited, client=OTHER_CLIENT)
        frozen.advance(seconds=3601)
        await login_throttle.acquire_registration(limited, client=CLIENT)


@pytest.mark.anyio
class TestMailRequestBuckets:
    async def test_every_request_counts_per_address(
        self, login_throttle: LoginThrottle, settings: SettingsOverride, frozen: Clock
    ) -> None:
        limited = settings.set(mail_requests_per_address=2, mail_request_window=600)
        for _ in range(2):
            await login_throttle.acquire_mail_request(
                limited, purpose="reset", address="a@example.com", client=CLIENT
            )

        with pytest.raises(Throttled) as refused:
            await login_throttle.acquire_mail_request(
                limited, purpose="reset", address="a@example.com", client=OTHER_CLIENT
            )

        assert refused.value.headers["Retry-After"] == "601"
        await login_throttle.acquire_mail_request(
            limited, purpose="reset", address="b@example.com", client=CLIENT
        )
        await login_throttle.acquire_mail_request(
            limited, purpose="verify", address="a@example.com", client=CLIENT
        )
        frozen.advance(seconds=601)
        await login_throttle.acquire_mail_request(
            limited, purpose="reset", address="a@example.com", client=CLIENT
        )

    async def test_and_per_client_whatever_the_address(
        self, login_throttle: LoginThrottle, settings: SettingsOverride, frozen: Clock
    ) -> None:
        limited = settings.set(mail_requests_per_client=3)
        for n in range(3):
            await login_throttle.acquire_mail_request(
                limited, purpose="reset", address=f"{n}@example.com", client=CLIENT
            )

        with pytest.raises(Throttled):
            await login_throttle.acquire_mail_request(
                limited, purpose="reset", address="new@example.com", client=CLIENT
            )
        await login_throttle.acquire_mail_request(
            limited, purpose="reset", address="new@example.com", client=OTHER_CLIENT
        )

    async def test_a_refused_request_holds_no_slot(
        self, login_throttle: LoginThrottle, settings: SettingsOverride, frozen: Clock
    ) -> None:
        limited = settings.set(mail_requests_per_address=1, mail_requests_per_client=2)
        await login_throttle.acquire_mail_request(
            limited, purpose="reset", address="a@example.com", client=CLIENT
        )
        with pytest.raises(Throttled):
            await login_throttle.acquire_mail_request(
                limited, purpose="reset", address="a@example.com", client=CLIENT
            )

        # The refusal took no client slot: one is still free for another address.
        await login_throttle.acquire_mail_request(
            limited, purpose="reset", address="b@example.com", client=CLIENT
        )


class TestRedisDown:
    """Fail closed, fast: 503 with Retry-After instead of unlimited guessing or a hang."""

    @pytest.mark.anyio
    @pytest.mark.parametrize("operation", ["acquire", "counts"])
    async def test_acquire_and_counts_are_503_within_two_seconds(
        self, down: LoginThrottle, sessionary_app: FastAPI, operation: str
    ) -> None:
        call = down.acquire if operation == "acquire" else down.counts
        started = time.monotonic()

        with pytest.raises(ServiceUnavailable) as unavailable:
            await call(
                runtime_of(sessionary_app).settings, account="a", client=CLIENT, device_id=None
            )

        assert time.monotonic() - started < 2
        assert unavailable.value.status_code == 503
        assert unavailable.value.detail == "Login temporarily unavailable"
        assert int(unavailable.value.headers["Retry-After"]) >= 1

    @pytest.mark.anyio
    async def test_ping_raises(self, down: LoginThrottle) -> None:
        started = time.monotonic()

        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the client raises
            await down.ping()

        assert time.monotonic() - started < 2

    @pytest.mark.anyio
    async def test_memory_storage_pings_fine(self, sessionary_app: FastAPI) -> None:
        await make_throttle(sessionary_app, None).ping()


class TestEventLoops:
    """Redis clients belong to one event loop: a bare ``TestClient(app)`` serves each request
    on a new one, and the counts must still be shared, with nothing left open."""

    @pytest.mark.parametrize("storage", ["memory", "redis"])
    def test_counts_are_shared_by_loops_that_come_and_go(
        self, sessionary_app: FastAPI, redis_prefix: str, storage: str
    ) -> None:
        settings: Settings = runtime_of(sessionary_app).settings.model_copy(
            update={"login_failures_per_account": 3}
        )
        url = REDIS_URL if storage == "redis" else None
        throttle = make_throttle(sessionary_app, url, redis_prefix)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            for _ in range(3):  # each asyncio.run is a fresh loop, shut down afterwards
                asyncio.run(fail(throttle, settings))
            with pytest.raises(Throttled):
                asyncio.run(
                    throttle.acquire(settings, account="alice", client=CLIENT, device_id=None)
                )
            asyncio.run(throttle.reset())
            gc.collect()  # an unclosed client or socket would warn here

        assert asyncio.run(
            throttle.counts(settings, account="alice", client=CLIENT, device_id=None)
        ) == ThrottleCounts(client=0, account=0)

    def test_two_threads_loops_share_one_memory_storage(self, sessionary_app: FastAPI) -> None:
        settings: Settings = runtime_of(sessionary_app).settings
        throttle = make_throttle(sessionary_app, None)

        def worker() -> None:
            asyncio.run(fail(throttle, settings, 4))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        counts = asyncio.run(
            throttle.counts(settings, account="alice", client=CLIENT, device_id=None)
        )
        assert counts == ThrottleCounts(client=8, account=8)


class TestToolkit:
    """``reset_throttle`` (the plugin's after-test reset) and the ``throttle`` fixture's handle."""

    @pytest.mark.parametrize("storage", ["memory", "redis"])
    def test_reset_throttle_from_a_sync_test(
        self, sessionary_loop: loops.TestLoop, redis_prefix: str, storage: str
    ) -> None:
        app = FastAPI()
        runtime = install(app, Settings(_env_file=None, login_failures_per_account=3))
        url = REDIS_URL if storage == "redis" else None
        runtime.throttle = throttle = make_throttle(app, url, redis_prefix)
        handle = ThrottleHandle(app, sessionary_loop)
        try:
            sessionary_loop.call(lambda: fail(throttle, runtime.settings, 3, account="alice"))
            assert handle.counts("ALICE", client=CLIENT) == ThrottleCounts(client=3, account=3)

            reset_throttle(app, sessionary_loop)

            assert handle.counts("alice", client=CLIENT) == ThrottleCounts(client=0, account=0)
        finally:
            sessionary_loop.call(throttle.close)

    def test_reset_throttle_ignores_an_app_without_one(
        self, sessionary_loop: loops.TestLoop
    ) -> None:
        reset_throttle(FastAPI(), sessionary_loop)

    @pytest.mark.anyio
    async def test_the_handle_in_an_async_test_reads_the_apps_throttle(
        self, sessionary_app: FastAPI, sessionary_loop: loops.TestLoop, limits: Settings
    ) -> None:
        handle = ThrottleHandle(sessionary_app, sessionary_loop)
        throttle: LoginThrottle = runtime_of(sessionary_app).throttle
        await throttle.acquire(limits, account="alice", client="unknown", device_id=None)

        assert await handle.acounts("Alice") == ThrottleCounts(client=1, account=1)
        await handle.areset()
        assert await handle.acounts("Alice") == ThrottleCounts(client=0, account=0)
