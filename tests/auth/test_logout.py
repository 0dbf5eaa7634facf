"""POST /auth/logout: revoke the current session and expire the cookie, idempotently."""

from __future__ import annotations

import hashlib

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.sessions.models import LoginSession
from sessionary.testing import Clock, LoginAs, SettingsOverride, SyncDB
from sessionary.users.models import User
from tests.sessions.browsers import set_cookie


def assert_cookie_expired(response: httpx2.Response, name: str = "session_cookie") -> None:
    cookie = set_cookie(response, name)
    assert cookie["value"] in {"", '""'}
    assert cookie["max-age"] == "0"
    assert cookie["path"] == "/"
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"


def by_hand(token: str) -> dict[str, str]:
    return {"Cookie": f"session_cookie={token}"}


def session_row(db: SyncDB, token: str) -> LoginSession:
    digest = hashlib.sha256(token.encode()).digest()
    row: LoginSession | None = db.scalar(
        select(LoginSession).where(LoginSession.token_hash == digest)
    )
    assert row is not None
    return row


class TestLogout:
    def test_answers_204_and_expires_the_cookie(self, login_as: LoginAs, user: User) -> None:
        browser = login_as(user, via="login")

        response = browser.post("/auth/logout")

        assert response.status_code == 204
        assert response.content == b""
        assert_cookie_expired(response)
        assert "secure" in set_cookie(response)
        assert "session_cookie" not in browser.cookies
        assert browser.get("/users/me").status_code == 401

    def test_the_old_token_is_401_afterwards_and_its_row_is_kept_revoked(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        token = browser.cookies["session_cookie"]

        assert browser.post("/auth/logout").status_code == 204

        response = client.get("/users/me", headers=by_hand(token))
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert client.get("/protected_data/", headers=by_hand(token)).status_code == 401
        assert session_row(db, token).revoked_at == clock.now()

    def test_other_sessions_of_the_user_stay_alive(self, login_as: LoginAs, user: User) -> None:
        laptop = login_as(user, via="login")
        phone = login_as(user, via="login")

        assert laptop.post("/auth/logout").status_code == 204

        assert laptop.get("/users/me").status_code == 401
        assert phone.get("/users/me").status_code == 200

    def test_without_secure_cookies_the_expiry_is_not_secure_either(
        self, login_as: LoginAs, user: User, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_secure = False
        browser = login_as(user, via="login")

        response = browser.post("/auth/logout")

        assert response.status_code == 204
        assert_cookie_expired(response)
        assert "secure" not in set_cookie(response)

    def test_a_custom_cookie_name_is_the_one_cleared(
        self, login_as: LoginAs, user: User, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_name = "sid"
        browser = login_as(user, via="login")
        assert browser.get("/users/me").status_code == 200

        response = browser.post("/auth/logout")

        assert response.status_code == 204
        assert_cookie_expired(response, "sid")
        assert browser.get("/users/me").status_code == 401


class TestLogoutIsIdempotent:
    def test_without_any_cookie_is_204(self, client: TestClient) -> None:
        response = client.post("/auth/logout")

        assert response.status_code == 204
        assert_cookie_expired(response)

    @pytest.mark.parametrize(
        "value",
        ["garbage", "", "A" * 43, "x" * 600, "%00%ff\\\"'"],
        ids=["garbage", "empty", "unknown-well-formed", "over-long", "odd-characters"],
    )
    def test_with_a_dead_or_bogus_cookie_is_204(
        self, value: str, client: TestClient, db: SyncDB
    ) -> None:
        response = client.post("/auth/logout", headers=by_hand(value))

        assert response.status_code == 204
        assert_cookie_expired(response)
        assert db.count(LoginSession) == 0

    def test_a_second_logout_is_204_and_keeps_the_first_revocation_time(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB, clock: Clock
    ) -> None:
        token = login_as(user, via="login").cookies["session_cookie"]
        assert client.post("/auth/logout", headers=by_hand(token)).status_code == 204
        revoked_at = session_row(db, token).revoked_at
        clock.advance(minutes=5)

        response = client.post("/auth/logout", headers=by_hand(token))

        assert response.status_code == 204
        assert_cookie_expired(response)
        assert session_row(db, token).revoked_at == revoked_at

    def test_with_an_expired_session_is_204(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(days=2)

        response = browser.post("/auth/logout")

        assert response.status_code == 204
        assert_cookie_expired(response)
