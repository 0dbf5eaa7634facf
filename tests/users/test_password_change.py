"""POST /users/me/password: a new password, my other sessions ended, this one rotated
(docs/security.md "Session management", "Passwords")."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User
from tests.sessions.browsers import set_cookie

NEW_PASSWORD = "a-brand-new-passphrase"
ABSOLUTE = 86400


def token_of(browser: TestClient) -> str:
    token: str = browser.cookies["session_cookie"]
    return token


def by_hand(token: str) -> dict[str, str]:
    return {"Cookie": f"session_cookie={token}"}


def session_row(db: SyncDB, token: str) -> LoginSession:
    digest = hashlib.sha256(token.encode()).digest()
    row: LoginSession | None = db.scalar(
        select(LoginSession).where(LoginSession.token_hash == digest)
    )
    assert row is not None
    return row


def change(
    browser: TestClient, current: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD
) -> httpx2.Response:
    return browser.post(
        "/users/me/password", json={"current_password": current, "new_password": new}
    )


def logs_in(client: TestClient, username: str, password: str) -> bool:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code in {200, 401}, response.text
    client.cookies.clear()
    return response.status_code == 200


class TestChangingMyPassword:
    def test_answers_204_and_only_the_new_password_logs_in(
        self, login_as: LoginAs, user: User, client: TestClient
    ) -> None:
        response = change(login_as(user, via="login"))

        assert response.status_code == 204
        assert response.content == b""
        assert logs_in(client, user.username, NEW_PASSWORD)
        assert not logs_in(client, user.username, DEFAULT_PASSWORD)

    def test_my_other_sessions_are_revoked(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        phone, tablet = login_as(user), login_as(user, fresh=False)
        others = [token_of(phone), token_of(tablet)]

        assert change(browser).status_code == 204

        assert phone.get("/users/me").status_code == 401
        assert tablet.get("/users/me").status_code == 401
        assert [session_row(db, token).revoked_at for token in others] == [clock.now()] * 2
        assert browser.get("/users/me").status_code == 200

    def test_other_users_sessions_are_untouched(
        self, login_as: LoginAs, user_factory: UserFactory
    ) -> None:
        alices = login_as(user_factory(username="alice"))
        bobs = login_as(user_factory(username="bob"))

        assert change(alices).status_code == 204

        assert bobs.get("/users/me").status_code == 200

    def test_is_audited_as_password_changed(
        self, login_as: LoginAs, user: User, audit_log: AuditLog
    ) -> None:
        change(login_as(user))

        event = audit_log.assert_recorded("password.changed", actor=user, target=user)
        assert event.target_type == "user"

    def test_a_stale_session_may_change_it_and_is_fresh_afterwards(
        self, login_as: LoginAs, user: User
    ) -> None:
        browser = login_as(user, fresh=False)

        assert change(browser).status_code == 204

        # Entering the current password is a re-authentication.
        assert browser.patch("/users/me", json={"email": "new@example.com"}).status_code == 200

    def test_anonymous_is_401(self, client: TestClient, user: User) -> None:
        assert change(client).status_code == 401
        assert logs_in(client, user.username, DEFAULT_PASSWORD)


class TestTheCurrentSessionIsRotated:
    def test_it_gets_a_new_token_and_the_old_one_is_401(
        self, login_as: LoginAs, user: User, client: TestClient
    ) -> None:
        browser = login_as(user, via="login")
        old = token_of(browser)

        response = change(browser)

        new = set_cookie(response)["value"]
        assert new not in {"", old}
        assert client.get("/users/me", headers=by_hand(old)).status_code == 401
        assert client.get("/users/me", headers=by_hand(new)).status_code == 200
        assert token_of(browser) == new
        assert browser.get("/users/me").status_code == 200

    def test_it_keeps_its_row_and_absolute_deadline(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        before = session_row(db, token_of(browser))
        clock.advance(minutes=20)

        change(browser)

        after = session_row(db, token_of(browser))
        assert after.id == before.id
        assert after.created_at == before.created_at
        assert after.absolute_expires_at == before.absolute_expires_at
        assert after.revoked_at is None
        assert db.count(LoginSession, LoginSession.user_id == user.id) == 1

    def test_the_cookie_max_age_is_the_remaining_absolute_lifetime(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(minutes=50)

        cookie = set_cookie(change(browser))

        assert cookie["max-age"] == str(ABSOLUTE - 50 * 60)
        assert "httponly" in cookie
        assert "secure" in cookie
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/"

    def test_the_cookie_max_age_follows_a_lowered_absolute_timeout(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        browser = login_as(user, via="login")
        settings.session_absolute_timeout = 7200
        clock.advance(minutes=10)

        cookie = set_cookie(change(browser))

        # The session now ends 7200 s after login (the lowered timeout applies at once).
        assert cookie["max-age"] == str(7200 - 10 * 60)

    def test_it_still_ends_at_the_original_absolute_deadline(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_idle_timeout = 2 * ABSOLUTE  # only the absolute deadline matters here
        logged_in_at = clock.now()
        browser = login_as(user, via="login")
        clock.advance(hours=6)
        assert change(browser).status_code == 204

        clock.set(logged_in_at + timedelta(seconds=ABSOLUTE - 1))
        assert browser.get("/users/me").status_code == 200
        clock.set(logged_in_at + timedelta(seconds=ABSOLUTE))
        assert browser.get("/users/me").status_code == 401

    def test_it_is_listed_as_the_current_session(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browser = login_as(user, via="login")
        row_id = session_row(db, token_of(browser)).id
        login_as(user)

        change(browser)

        items = browser.get("/auth/sessions").json()["items"]
        assert [(item["id"], item["current"]) for item in items] == [(row_id, True)]


class TestAWrongCurrentPassword:
    def test_is_400_and_changes_nothing(
        self,
        login_as: LoginAs,
        user: User,
        client: TestClient,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        browser, phone = login_as(user, via="login"), login_as(user)
        token = token_of(browser)
        stored_hash = db.scalar(select(User.password_hash).where(User.id == user.id))

        response = change(browser, current="not-the-password")

        assert response.status_code == 400
        assert response.json() == {"detail": "Current password is incorrect"}
        assert "session_cookie" not in response.headers.get("set-cookie", "")
        assert db.scalar(select(User.password_hash).where(User.id == user.id)) == stored_hash
        assert browser.get("/users/me", headers=by_hand(token)).status_code == 200
        assert phone.get("/users/me").status_code == 200
        assert audit_log.events("password.changed") == []
        assert logs_in(client, user.username, DEFAULT_PASSWORD)


class TestAWeakNewPassword:
    @pytest.fixture
    def account(self, user_factory: UserFactory) -> User:
        created: User = user_factory(username="quillfeather42")
        return created

    @pytest.mark.parametrize(
        ("new_password", "reason"),
        [
            ("short1", "at least 8"),
            ("iloveyou", "common"),
            ("SunShine", "common"),  # case-folded before the look-up
            ("QUILLFEATHER42", "username"),
            ("x" * 129, "at most 128"),
        ],
        ids=["too-short", "common", "common-any-case", "the-username", "too-long"],
    )
    def test_is_422_saying_why_and_changes_nothing(
        self,
        new_password: str,
        reason: str,
        account: User,
        login_as: LoginAs,
        client: TestClient,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        browser, phone = login_as(account, via="login"), login_as(account)
        token = token_of(browser)

        response = change(browser, new=new_password)

        assert response.status_code == 422
        assert reason in str(response.json()["detail"]).lower()
        assert token_of(browser) == token
        assert browser.get("/users/me").status_code == 200
        assert phone.get("/users/me").status_code == 200
        assert db.count(LoginSession, LoginSession.revoked_at.is_not(None)) == 0
        assert audit_log.events("password.changed") == []
        assert logs_in(client, "quillfeather42", DEFAULT_PASSWORD)


class TestPasswordChangeRequests:
    @pytest.mark.parametrize(
        "body",
        [
            {"new_password": NEW_PASSWORD},
            {"current_password": DEFAULT_PASSWORD},
            {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "user_id": 1},
        ],
        ids=["no-current", "no-new", "extra-field"],
    )
    def test_a_malformed_body_is_422_and_changes_nothing(
        self, body: dict[str, object], login_as: LoginAs, user: User, client: TestClient
    ) -> None:
        browser = login_as(user)

        assert browser.post("/users/me/password", json=body).status_code == 422

        assert browser.get("/users/me").status_code == 200
        assert logs_in(client, user.username, DEFAULT_PASSWORD)
