"""The theft signal: a revoked token presented again is audited, an expired one is not
(docs/security.md "Session management")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    SettingsOverride,
    SyncDB,
)
from sessionary.users.models import User
from tests.sessions.browsers import (
    IDLE,
    NOT_AUTHENTICATED,
    THEFT,
    by_hand,
    session_id,
    token_of,
)

# -- the theft signal -------------------------------------------------------------------------


class TestTheftSignal:
    def test_a_token_revoked_elsewhere_presented_again_is_401_and_raises_it(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB, audit_log: AuditLog
    ) -> None:
        laptop, phone = login_as(user), login_as(user)
        phone_id, stolen = session_id(db, phone), token_of(phone)
        assert laptop.delete(f"/auth/sessions/{phone_id}").status_code == 204

        response = client.get("/users/me", headers=by_hand(stolen, **{"User-Agent": "thief/1"}))

        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED
        event = audit_log.assert_recorded(THEFT, actor=user, target=phone_id)
        assert event.target_type == "session"
        assert event.user_agent == "thief/1"
        assert len(audit_log.events(THEFT)) == 1

    def test_a_token_ended_by_logout_presented_again_raises_it(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, via="login")
        token, revoked_id = token_of(browser), session_id(db, browser)
        assert browser.post("/auth/logout").status_code == 204

        assert client.get("/protected_data/", headers=by_hand(token)).status_code == 401

        audit_log.assert_recorded(THEFT, actor=user, target=revoked_id)

    def test_a_token_ended_by_logout_all_presented_again_raises_it(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB, audit_log: AuditLog
    ) -> None:
        laptop, phone = login_as(user), login_as(user)
        phone_id, token = session_id(db, phone), token_of(phone)
        assert laptop.post("/auth/logout-all").status_code == 204

        assert client.get("/users/me", headers=by_hand(token)).status_code == 401

        audit_log.assert_recorded(THEFT, actor=user, target=phone_id)

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/auth/logout-all", None),
            ("GET", "/auth/sessions", None),
            ("DELETE", "/auth/sessions/1", None),
            ("PATCH", "/users/me", {"email": "thief@example.com"}),
            (
                "POST",
                "/users/me/password",
                {"current_password": DEFAULT_PASSWORD, "new_password": "thief-chosen-phrase"},
            ),
        ],
    )
    def test_is_raised_on_every_authenticated_route(
        self,
        method: str,
        path: str,
        body: dict[str, str] | None,
        login_as: LoginAs,
        user: User,
        client: TestClient,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        browser = login_as(user)
        token, revoked_id = token_of(browser), session_id(db, browser)
        assert browser.post("/auth/logout").status_code == 204

        response = client.request(method, path, json=body, headers=by_hand(token))

        assert response.status_code == 401
        audit_log.assert_recorded(THEFT, actor=user, target=revoked_id)
        assert db.scalar(select(User.email).where(User.id == user.id)) == user.email


class TestNoTheftSignal:
    def test_logout_never_raises_it_even_repeated_with_the_revoked_token(
        self, login_as: LoginAs, user: User, client: TestClient, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, via="login")
        token = token_of(browser)

        assert browser.post("/auth/logout").status_code == 204
        assert client.post("/auth/logout", headers=by_hand(token)).status_code == 204
        assert client.post("/auth/logout", headers=by_hand(token)).status_code == 204

        assert audit_log.events(THEFT) == []
        assert len(audit_log.events("logout")) == 1

    def test_logout_with_a_token_revoked_elsewhere_does_not_raise_it(
        self, login_as: LoginAs, user: User, db: SyncDB, audit_log: AuditLog
    ) -> None:
        laptop, phone = login_as(user), login_as(user)
        assert laptop.delete(f"/auth/sessions/{session_id(db, phone)}").status_code == 204

        assert phone.post("/auth/logout").status_code == 204

        assert audit_log.events(THEFT) == []

    def test_an_idle_expired_token_is_401_without_it(
        self, login_as: LoginAs, user: User, clock: Clock, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(seconds=IDLE + 1)

        assert browser.get("/users/me").status_code == 401

        assert audit_log.events(THEFT) == []

    def test_an_absolute_expired_token_is_401_without_it(
        self,
        login_as: LoginAs,
        user: User,
        clock: Clock,
        settings: SettingsOverride,
        audit_log: AuditLog,
    ) -> None:
        settings.session_absolute_timeout = 600
        browser = login_as(user, via="login")
        clock.advance(seconds=601)

        assert browser.get("/users/me").status_code == 401

        assert audit_log.events(THEFT) == []

    def test_an_unknown_token_is_401_without_it(
        self, client: TestClient, audit_log: AuditLog
    ) -> None:
        assert client.get("/users/me", headers=by_hand("A" * 43)).status_code == 401

        assert audit_log.events() == []


@pytest.mark.sessionary_db(transaction=True)
class TestTheftSignalWithRealCommits:
    """The event is committed in a transaction of its own: the 401's rollback keeps it."""

    def test_the_event_outlives_the_refused_request(
        self, login_as: LoginAs, user: User, client: TestClient, db: SyncDB, audit_log: AuditLog
    ) -> None:
        browser = login_as(user)
        token, revoked_id = token_of(browser), session_id(db, browser)
        assert browser.post("/auth/logout").status_code == 204

        assert client.post("/auth/logout-all", headers=by_hand(token)).status_code == 401

        audit_log.assert_recorded(THEFT, actor=user, target=revoked_id)
