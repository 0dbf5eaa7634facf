"""Events an attacker can repeat at will are counted, not written one row per request
(docs/security.md "Audit log"): the first per window per (account, client) is recorded at
once; the next window's row carries the count of those folded since."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.core.security import hash_token
from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    SessionaryTestClient,
    SettingsOverride,
    SyncDB,
    UserFactory,
)

WINDOW = 900
THROTTLED = "login.throttled"
THEFT = "session.revoked_token_presented"
WRONG = "wrong-password"


def login(client: SessionaryTestClient, username: str, password: str = WRONG) -> int:
    response = client.post("/auth/login", json={"username": username, "password": password})
    return response.status_code


class TestRefusedLogins:
    def test_twenty_refusals_write_one_row_and_the_next_window_counts_them(
        self,
        client: SessionaryTestClient,
        user_factory: UserFactory,
        settings: SettingsOverride,
        clock: Clock,
        audit_log: AuditLog,
    ) -> None:
        alice = user_factory(username="alice")
        settings.set(login_failures_per_account=3, login_failure_window=WINDOW)
        assert [login(client, "alice") for _ in range(3)] == [401] * 3

        statuses = [login(client, "alice", DEFAULT_PASSWORD) for _ in range(20)]

        assert statuses == [429] * 20
        [first] = audit_log.events(THROTTLED)
        assert first.detail == {"username": "alice", "count": 1}
        assert first.target_id == str(alice.id)

        clock.advance(seconds=WINDOW + 1)  # the failures and the open window have passed
        assert [login(client, "alice") for _ in range(3)] == [401] * 3
        assert login(client, "alice") == 429

        counts = [event.detail["count"] for event in audit_log.events(THROTTLED)]
        assert sorted(counts) == [1, 20]  # 19 folded into the first window, plus this one

    def test_a_full_client_bucket_writes_one_row_whatever_the_usernames(
        self,
        client: SessionaryTestClient,
        settings: SettingsOverride,
        audit_log: AuditLog,
    ) -> None:
        settings.set(login_failures_per_client=3)
        assert [login(client, f"user{n}") for n in range(3)] == [401] * 3

        assert [login(client, f"other{n}") for n in range(10)] == [429] * 10

        assert len(audit_log.events(THROTTLED)) == 1


class TestReplayedRevokedTokens:
    def test_ten_replays_write_one_row_and_the_next_window_counts_them(
        self,
        login_as: LoginAs,
        user_factory: UserFactory,
        client: TestClient,
        db: SyncDB,
        clock: Clock,
        audit_log: AuditLog,
    ) -> None:
        user = user_factory()
        browser = login_as(user)
        token = browser.cookies["session_cookie"]
        revoked_id = db.scalar(
            select(LoginSession.id).where(LoginSession.token_hash == hash_token(token))
        )
        assert browser.post("/auth/logout").status_code == 204
        stolen = {"Cookie": f"session_cookie={token}"}

        assert [client.get("/users/me", headers=stolen).status_code for _ in range(10)] == [
            401
        ] * 10
        [first] = audit_log.events(THEFT)
        assert first.detail == {"count": 1}
        assert first.target_id == str(revoked_id)

        clock.advance(seconds=WINDOW)
        assert client.get("/users/me", headers=stolen).status_code == 401

        assert sorted(event.detail["count"] for event in audit_log.events(THEFT)) == [1, 10]
