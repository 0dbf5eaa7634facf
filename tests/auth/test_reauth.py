"""POST /auth/reauth and the re-authentication window that guards PATCH /users/me (docs/security.md
"Re-authentication")."""

from __future__ import annotations

import hashlib

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.sessions.models import LoginSession
from sessionary.testing import DEFAULT_PASSWORD, AuditLog, Clock, LoginAs, SettingsOverride, SyncDB
from sessionary.users.models import User

WINDOW = 900
REAUTH_REQUIRED = {"detail": "Reauthentication required"}


def session_id(db: SyncDB, browser: TestClient) -> int:
    token: str = browser.cookies["session_cookie"]
    digest = hashlib.sha256(token.encode()).digest()
    found: int | None = db.scalar(select(LoginSession.id).where(LoginSession.token_hash == digest))
    assert found is not None
    return found


def reauth(browser: TestClient, password: str = DEFAULT_PASSWORD) -> httpx2.Response:
    return browser.post("/auth/reauth", json={"password": password})


def change_email(browser: TestClient, email: str = "new@example.com") -> httpx2.Response:
    return browser.patch("/users/me", json={"email": email})


def stored_email(db: SyncDB, user: User) -> str:
    email: str = db.scalar(select(User.email).where(User.id == user.id))
    return email


class TestReauthenticating:
    def test_the_right_password_answers_204_and_makes_a_stale_session_fresh(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browser = login_as(user, fresh=False)
        assert change_email(browser).status_code == 403

        response = reauth(browser)

        assert response.status_code == 204
        assert response.content == b""
        changed = change_email(browser)
        assert changed.status_code == 200
        assert changed.json()["pending_email"] == "new@example.com"  # its link is mailed

    def test_is_audited_as_reauth_succeeded_on_this_session(
        self, login_as: LoginAs, user: User, db: SyncDB, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, fresh=False)

        reauth(browser)

        event = audit_log.assert_recorded(
            "reauth.succeeded", actor=user, target=session_id(db, browser)
        )
        assert event.target_type == "session"

    def test_the_window_starts_again_at_the_reauthentication(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user, fresh=False)
        assert reauth(browser).status_code == 204

        clock.advance(seconds=WINDOW - 1)
        assert change_email(browser, "first@example.com").status_code == 200
        clock.advance(seconds=2)
        assert change_email(browser, "second@example.com").status_code == 403

    def test_keeps_the_same_session_and_cookie(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browser = login_as(user, fresh=False)
        before = session_id(db, browser)

        response = reauth(browser)

        assert "session_cookie" not in response.headers.get("set-cookie", "")
        assert session_id(db, browser) == before
        assert db.count(LoginSession) == 1

    def test_only_this_session_becomes_fresh(self, login_as: LoginAs, user: User) -> None:
        laptop, phone = login_as(user, fresh=False), login_as(user, fresh=False)

        assert reauth(laptop).status_code == 204

        assert change_email(phone).status_code == 403
        assert change_email(laptop).status_code == 200


class TestReauthenticatingWithAWrongPassword:
    def test_is_401_and_the_session_stays_stale_but_alive(
        self, login_as: LoginAs, user: User, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, fresh=False)

        response = reauth(browser, "not-the-password")

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid credentials"}
        assert change_email(browser).status_code == 403
        assert browser.get("/users/me").status_code == 200
        assert audit_log.events("reauth.succeeded") == []

    def test_is_audited_as_login_failed_on_the_account(
        self, login_as: LoginAs, user: User, audit_log: AuditLog
    ) -> None:
        reauth(login_as(user, fresh=False), "not-the-password")

        event = audit_log.assert_recorded("login.failed", target=user)
        assert event.target_type == "user"
        assert event.detail["username"] == user.username

    def test_counts_as_a_failed_login(
        self, login_as: LoginAs, user: User, client: TestClient, settings: SettingsOverride
    ) -> None:
        settings.login_failures_per_account = 2
        browser = login_as(user, fresh=False)
        assert reauth(browser, "not-the-password").status_code == 401
        assert reauth(browser, "still-not-the-password").status_code == 401

        throttled = reauth(browser)

        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
        login = client.post(
            "/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
        )
        assert login.status_code == 429


class TestReauthRequests:
    def test_anonymous_is_401(self, client: TestClient) -> None:
        assert reauth(client).status_code == 401

    @pytest.mark.parametrize(
        "body",
        [{}, {"password": ""}, {"password": DEFAULT_PASSWORD, "username": "someone"}],
        ids=["missing", "empty", "extra-field"],
    )
    def test_a_malformed_body_is_422(
        self, body: dict[str, str], login_as: LoginAs, user: User
    ) -> None:
        assert login_as(user).post("/auth/reauth", json=body).status_code == 422


class TestTheReauthenticationWindow:
    def test_a_stale_session_may_not_change_the_email(
        self, login_as: LoginAs, user: User, db: SyncDB, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, fresh=False)

        response = change_email(browser)

        assert response.status_code == 403
        assert response.json() == REAUTH_REQUIRED
        assert stored_email(db, user) == user.email
        assert audit_log.events("user.updated") == []

    def test_a_password_login_is_fresh(self, login_as: LoginAs, user: User) -> None:
        assert change_email(login_as(user, via="login")).status_code == 200

    def test_a_fresh_session_is_fresh_until_the_window_ends(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user)

        clock.advance(seconds=WINDOW - 1)

        assert change_email(browser).status_code == 200

    def test_a_fresh_session_goes_stale_after_the_window(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user)

        clock.advance(seconds=WINDOW + 1)

        response = change_email(browser)
        assert response.status_code == 403
        assert response.json() == REAUTH_REQUIRED
        assert browser.get("/users/me").status_code == 200  # stale, not logged out

    def test_a_shorter_window_applies_at_once(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        browser = login_as(user)
        clock.advance(seconds=120)
        assert change_email(browser, "first@example.com").status_code == 200

        settings.reauth_window = 60

        assert change_email(browser, "second@example.com").status_code == 403

    def test_a_longer_window_applies_at_once(
        self, login_as: LoginAs, user: User, settings: SettingsOverride
    ) -> None:
        browser = login_as(user, fresh=False)  # entered a password WINDOW + 1 seconds ago
        assert change_email(browser).status_code == 403

        settings.reauth_window = 2 * WINDOW

        assert change_email(browser).status_code == 200
