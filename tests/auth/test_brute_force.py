"""Brute-force throttling over HTTP: 429 with Retry-After, device buckets, fail-closed on Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from sessionary.auth.models import LoginDevice
from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.core.security import hash_token
from sessionary.runtime import runtime_of
from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    SessionaryTestClient,
    SettingsOverride,
    SyncDB,
    ThrottleHandle,
    UserFactory,
)
from sessionary.users.models import User

WRONG = "not-the-password"


def login(client: SessionaryTestClient, username: str, password: str) -> int:
    response = client.post("/auth/login", json={"username": username, "password": password})
    return response.status_code


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    created: User = user_factory(username="alice")
    return created


@pytest.fixture
def low_limits(settings: SettingsOverride) -> SettingsOverride:
    settings.set(login_failures_per_account=3, login_failures_per_client=6)
    return settings


class TestAccountBucket:
    def test_after_the_limit_even_the_right_password_is_429_with_retry_after(
        self, client: SessionaryTestClient, alice: User, low_limits: SettingsOverride
    ) -> None:
        assert [login(client, "alice", WRONG) for _ in range(3)] == [401, 401, 401]

        response = client.post(
            "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 900
        assert "set-cookie" not in response.headers

    def test_the_window_moves_on(
        self, client: SessionaryTestClient, alice: User, low_limits: SettingsOverride, clock: Clock
    ) -> None:
        for _ in range(3):
            login(client, "alice", WRONG)
        assert login(client, "alice", DEFAULT_PASSWORD) == 429

        clock.advance(seconds=901)

        assert login(client, "alice", DEFAULT_PASSWORD) == 200

    def test_unknown_accounts_are_counted_like_real_ones(
        self, client: SessionaryTestClient, low_limits: SettingsOverride
    ) -> None:
        statuses = [login(client, "nobody", WRONG) for _ in range(4)]

        assert statuses == [401, 401, 401, 429]

    def test_another_account_is_not_affected(
        self,
        client: SessionaryTestClient,
        alice: User,
        user_factory: UserFactory,
        low_limits: SettingsOverride,
    ) -> None:
        user_factory(username="bob")
        for _ in range(3):
            login(client, "alice", WRONG)

        assert login(client, "bob", DEFAULT_PASSWORD) == 200

    def test_throttling_is_audited(
        self,
        client: SessionaryTestClient,
        alice: User,
        low_limits: SettingsOverride,
        audit_log: AuditLog,
    ) -> None:
        for _ in range(4):
            login(client, "alice", WRONG)

        event = audit_log.assert_recorded("login.throttled", target=alice)
        assert event.detail == {"username": "alice", "count": 1}
        assert len(audit_log.events("login.failed")) == 3

    def test_failures_are_counted_per_account(
        self,
        client: SessionaryTestClient,
        alice: User,
        low_limits: SettingsOverride,
        throttle: ThrottleHandle,
    ) -> None:
        login(client, "alice", WRONG)
        login(client, "ALICE", WRONG)  # the same account, however it is typed

        assert throttle.counts("alice").account == 2


class TestClientBucket:
    def test_many_accounts_from_one_client_hit_the_client_limit(
        self,
        client: SessionaryTestClient,
        user_factory: UserFactory,
        low_limits: SettingsOverride,
    ) -> None:
        users = user_factory.create_batch(3)
        for user in users[:2]:
            for _ in range(3):
                login(client, user.username, WRONG)

        assert login(client, users[2].username, DEFAULT_PASSWORD) == 429


class TestDeviceCookie:
    def test_a_browser_that_logged_in_before_keeps_its_own_bucket(
        self,
        client: SessionaryTestClient,
        alice: User,
        sessionary_app: FastAPI,
        low_limits: SettingsOverride,
    ) -> None:
        owner = SessionaryTestClient(sessionary_app, portal=client.portal)
        assert login(owner, "alice", DEFAULT_PASSWORD) == 200
        assert "session_device" in owner.cookies
        # An attacker on the same network (same client address) locks the account bucket...
        for _ in range(3):
            login(client, "alice", WRONG)
        assert login(client, "alice", DEFAULT_PASSWORD) == 429

        # ...but the owner's browser still gets in.
        assert login(owner, "alice", DEFAULT_PASSWORD) == 200

    def test_the_device_cookie_is_httponly_and_stored_hashed(
        self, client: SessionaryTestClient, alice: User, db: SyncDB
    ) -> None:
        response = client.post(
            "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}
        )

        header = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith("session_device=")
        )
        assert "HttpOnly" in header
        assert "SameSite=lax" in header
        token = response.cookies["session_device"]
        assert len(token) == 43
        stored = db.execute(select(LoginDevice.token_hash, LoginDevice.user_id))
        assert [(row.token_hash, row.user_id) for row in stored] == [(hash_token(token), alice.id)]

    def test_a_device_cookie_for_another_account_gives_no_bucket_of_its_own(
        self,
        client: SessionaryTestClient,
        alice: User,
        user_factory: UserFactory,
        low_limits: SettingsOverride,
    ) -> None:
        user_factory(username="bob")
        assert login(client, "bob", DEFAULT_PASSWORD) == 200  # a device cookie for bob
        for _ in range(3):
            login(client, "alice", WRONG)

        assert login(client, "alice", DEFAULT_PASSWORD) == 429


class TestReauthCounts:
    def test_a_wrong_reauth_password_counts_as_a_failure(
        self, login_as: LoginAs, alice: User, low_limits: SettingsOverride
    ) -> None:
        client = login_as(alice)
        for _ in range(3):
            assert client.post("/auth/reauth", json={"password": WRONG}).status_code == 401

        response = client.post("/auth/reauth", json={"password": DEFAULT_PASSWORD})

        assert response.status_code == 429
        assert "retry-after" in response.headers


@pytest.fixture
def redis_down(sessionary_app: FastAPI) -> Iterator[LoginThrottle]:
    """The app's throttle pointed at a Redis that is not there (port 1)."""
    original = runtime_of(sessionary_app).throttle
    down = LoginThrottle(Settings(redis_url="redis://127.0.0.1:1/0", _env_file=None))
    runtime_of(sessionary_app).throttle = down
    yield down
    runtime_of(sessionary_app).throttle = original


class TestThrottleStorageOutage:
    def test_login_and_reauth_fail_closed_with_503_and_retry_after(
        self, login_as: LoginAs, client: SessionaryTestClient, alice: User, redis_down: object
    ) -> None:
        logged_in = login_as(alice)

        login_response = client.post(
            "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}
        )
        reauth = logged_in.post("/auth/reauth", json={"password": DEFAULT_PASSWORD})

        for response in (login_response, reauth):
            assert response.status_code == 503
            assert int(response.headers["retry-after"]) >= 1
        assert "set-cookie" not in login_response.headers

    def test_every_other_route_is_unaffected(
        self, login_as: LoginAs, alice: User, redis_down: object
    ) -> None:
        client = login_as(alice)

        assert client.get("/users/me").status_code == 200
        assert client.get("/auth/sessions").status_code == 200
        assert client.post("/auth/logout").status_code == 204

    def test_readiness_reports_redis(
        self, client: SessionaryTestClient, redis_down: object
    ) -> None:
        response = client.get("/health/ready")

        assert response.status_code == 503
        assert response.json()["checks"]["redis"] != "ok"
