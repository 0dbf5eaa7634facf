"""Remembered login devices (``session_device``) expire, and are forgotten when the account is
secured: a password change, a deactivation (issue 11)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from sessionary.auth.models import LoginDevice
from sessionary.testing import (
    DEFAULT_PASSWORD,
    Clock,
    LoginAs,
    SessionaryTestClient,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User

WRONG = "not-the-password"
NEW_PASSWORD = "a-brand-new-passphrase"
TTL = 7 * 86400


def login(client: SessionaryTestClient, username: str, password: str = DEFAULT_PASSWORD) -> int:
    response = client.post("/auth/login", json={"username": username, "password": password})
    return response.status_code


def devices_of(db: SyncDB, user: User) -> int:
    return db.count(LoginDevice, LoginDevice.user_id == user.id)


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    created: User = user_factory(username="alice")
    return created


@pytest.fixture
def browser(client: SessionaryTestClient, sessionary_app: FastAPI) -> SessionaryTestClient:
    """Another browser on the same client address."""
    return SessionaryTestClient(sessionary_app, portal=client.portal)


@pytest.fixture
def low_limits(settings: SettingsOverride) -> SettingsOverride:
    settings.set(login_failures_per_account=3, login_failures_per_client=50, login_device_ttl=TTL)
    return settings


class TestAnUnusedDeviceExpires:
    def _lock_the_account_bucket(self, attacker: SessionaryTestClient) -> None:
        for _ in range(3):
            login(attacker, "alice", WRONG)
        assert login(attacker, "alice") == 429

    @pytest.mark.usefixtures("alice", "low_limits")
    def test_past_the_ttl_it_gives_no_bucket_of_its_own(
        self, client: SessionaryTestClient, browser: SessionaryTestClient, clock: Clock
    ) -> None:
        assert login(browser, "alice") == 200
        clock.advance(seconds=TTL + 1)

        self._lock_the_account_bucket(client)

        assert login(browser, "alice") == 429

    @pytest.mark.usefixtures("alice", "low_limits")
    def test_within_the_ttl_it_keeps_its_bucket(
        self, client: SessionaryTestClient, browser: SessionaryTestClient, clock: Clock
    ) -> None:
        assert login(browser, "alice") == 200
        clock.advance(seconds=TTL - 60)

        self._lock_the_account_bucket(client)

        assert login(browser, "alice") == 200


class TestSecuringTheAccountForgetsItsDevices:
    def test_my_password_change_forgets_every_device_of_mine_only(
        self,
        alice: User,
        client: SessionaryTestClient,
        browser: SessionaryTestClient,
        user_factory: UserFactory,
        sessionary_app: FastAPI,
        db: SyncDB,
    ) -> None:
        bob = user_factory(username="bob")
        assert login(SessionaryTestClient(sessionary_app, portal=client.portal), "bob") == 200
        assert login(client, "alice") == 200
        assert login(browser, "alice") == 200
        assert devices_of(db, alice) == 2

        body = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
        assert client.post("/users/me/password", json=body).status_code == 204

        assert devices_of(db, alice) == 0
        assert devices_of(db, bob) == 1

    def test_a_deactivation_forgets_their_devices(
        self,
        alice: User,
        browser: SessionaryTestClient,
        login_as: LoginAs,
        user_factory: UserFactory,
        db: SyncDB,
    ) -> None:
        admin = login_as(user_factory(roles=["admin"]))
        assert login(browser, "alice") == 200
        assert devices_of(db, alice) == 1

        response = admin.patch(f"/users/{alice.id}", json={"is_active": False})

        assert response.status_code == 200
        assert devices_of(db, alice) == 0
