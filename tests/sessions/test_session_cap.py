"""The per-user session cap: the oldest live sessions end when a login goes past it
(docs/security.md "Session management")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    AuditLog,
    Clock,
    LoginAs,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User
from tests.sessions.browsers import (
    IDLE,
    session_id,
)

# -- the per-user session cap -----------------------------------------------------------------


class TestSessionCap:
    @pytest.fixture(autouse=True)
    def cap_of_three(self, settings: SettingsOverride) -> None:
        settings.max_sessions_per_user = 3

    def test_a_fourth_login_revokes_the_oldest(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        first, second, third = (login_as(user, via="login") for _ in range(3))
        clock.advance(seconds=10)

        fourth = login_as(user, via="login")

        assert first.get("/users/me").status_code == 401
        for browser in (second, third, fourth):
            assert browser.get("/users/me").status_code == 200

    def test_the_eviction_is_audited_as_session_revoked_with_the_cap_reason(
        self, login_as: LoginAs, user: User, db: SyncDB, audit_log: AuditLog
    ) -> None:
        oldest = login_as(user, via="login")
        oldest_id = session_id(db, oldest)
        login_as(user, via="login")
        login_as(user, via="login")

        login_as(user, via="login")

        event = audit_log.assert_recorded("session.revoked", actor=user, target=oldest_id)
        assert event.target_type == "session"
        assert "cap" in str(event.detail.get("reason", ""))
        assert len(audit_log.events("session.revoked")) == 1

    def test_the_oldest_is_decided_by_created_at_not_by_id(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        start = clock.now()
        clock.set(start + timedelta(seconds=60))
        later = login_as(user, via="login")  # the smallest id, yet not the oldest
        clock.set(start)
        oldest = login_as(user, via="login")
        clock.set(start + timedelta(seconds=120))
        third = login_as(user, via="login")

        fourth = login_as(user, via="login")

        assert oldest.get("/users/me").status_code == 401
        for browser in (later, third, fourth):
            assert browser.get("/users/me").status_code == 200

    def test_ties_on_created_at_evict_the_smallest_id_first(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        browsers = [login_as(user, via="login") for _ in range(3)]
        assert db.count(LoginSession, LoginSession.created_at == clock.now()) == 3  # one instant

        browsers.append(login_as(user, via="login"))
        browsers.append(login_as(user, via="login"))

        alive = [browser.get("/users/me").status_code == 200 for browser in browsers]
        assert alive == [False, False, True, True, True]

    def test_logged_out_sessions_do_not_count(self, login_as: LoginAs, user: User) -> None:
        gone = login_as(user, via="login")
        assert gone.post("/auth/logout").status_code == 204
        browsers = [login_as(user, via="login") for _ in range(3)]

        assert [browser.get("/users/me").status_code for browser in browsers] == [200, 200, 200]

    def test_expired_sessions_do_not_count(
        self, login_as: LoginAs, user: User, clock: Clock, audit_log: AuditLog
    ) -> None:
        login_as(user, via="login")
        clock.advance(seconds=IDLE + 1)
        browsers = [login_as(user, via="login") for _ in range(3)]

        assert [browser.get("/users/me").status_code for browser in browsers] == [200, 200, 200]
        assert audit_log.events("session.revoked") == []

    def test_other_users_sessions_neither_count_nor_get_evicted(
        self, login_as: LoginAs, user_factory: UserFactory
    ) -> None:
        alice: User = user_factory(username="alice")
        bob: User = user_factory(username="bob")
        bobs = [login_as(bob, via="login") for _ in range(3)]

        alices = [login_as(alice, via="login") for _ in range(3)]

        for browser in bobs + alices:
            assert browser.get("/users/me").status_code == 200

    def test_a_lowered_cap_evicts_down_to_it_on_the_next_login(
        self,
        login_as: LoginAs,
        user: User,
        clock: Clock,
        settings: SettingsOverride,
        audit_log: AuditLog,
    ) -> None:
        settings.max_sessions_per_user = 100
        browsers = []
        for _ in range(4):
            browsers.append(login_as(user, via="login"))
            clock.advance(seconds=1)
        settings.max_sessions_per_user = 2

        browsers.append(login_as(user, via="login"))

        alive = [browser.get("/users/me").status_code == 200 for browser in browsers]
        assert alive == [False, False, False, True, True]
        assert len(audit_log.events("session.revoked")) == 3
