"""Cookie sessions on every authenticated request: parsing, expiry, activity, revocation."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    Clock,
    LoginAs,
    QueryCounter,
    SessionaryAsyncClient,
    SettingsOverride,
    SyncDB,
)
from sessionary.users.models import User

IDLE = 3600
ABSOLUTE = 86400


def token_of(browser: TestClient) -> str:
    token: str = browser.cookies["session_cookie"]
    return token


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def last_seen_at(db: SyncDB, token: str) -> datetime:
    value: datetime = db.scalar(
        select(LoginSession.last_seen_at).where(LoginSession.token_hash == digest(token))
    )
    return value


class TestCookieSentByHand:
    @pytest.mark.parametrize(
        "header",
        [
            "session_cookie={token}",
            "session_cookie= {token}",  # the original example's test sends this
            "theme=dark; session_cookie={token}",
            "session_cookie={token}; theme=dark",
        ],
        ids=["plain", "space-after-equals", "after-another-cookie", "before-another-cookie"],
    )
    def test_a_hand_written_cookie_header_is_accepted(
        self, header: str, login_as: LoginAs, user: User, client: TestClient
    ) -> None:
        token = token_of(login_as(user, via="login"))

        response = client.get("/protected_data/", headers={"Cookie": header.format(token=token)})

        assert response.status_code == 200
        assert response.json()["user_id"] == user.id


class TestBogusCookies:
    @pytest.mark.parametrize(
        "value",
        [
            "garbage",
            "",
            "A" * 43,  # well-formed, unknown
            "A" * 42 + "!",
            "x" * 600,
            "é" * 43,
            "\\x00" * 20,
        ],
        ids=[
            "garbage",
            "empty",
            "unknown-well-formed",
            "wrong-alphabet",
            "600-chars",
            "non-ascii",
            "escapes",
        ],
    )
    def test_a_bogus_cookie_is_401_never_500(
        self, value: str, client: TestClient, db: SyncDB
    ) -> None:
        header = f"session_cookie={value}".encode()  # UTF-8 bytes, as a browser might send
        response = client.get("/users/me", headers={b"Cookie": header})

        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert "set-cookie" not in response.headers
        assert db.count(LoginSession) == 0

    def test_a_cookie_just_under_the_header_limit_is_401(self, client: TestClient) -> None:
        response = client.get("/users/me", headers={"Cookie": "session_cookie=" + "x" * 8000})

        assert response.status_code == 401

    def test_a_10000_character_cookie_is_rejected_cleanly(self, client: TestClient) -> None:
        response = client.get("/users/me", headers={"Cookie": "session_cookie=" + "x" * 10_000})

        # 401 for the cookie, or 431 once the 8 KiB header limit is enforced; never a 500.
        assert response.status_code in {401, 431}

    def test_a_valid_token_padded_past_512_characters_is_401(
        self, login_as: LoginAs, user: User, client: TestClient
    ) -> None:
        token = token_of(login_as(user))

        padded = client.get("/users/me", headers={"Cookie": f"session_cookie={token}{'A' * 500}"})

        assert padded.status_code == 401

    def test_an_unknown_token_is_never_adopted(self, client: TestClient, db: SyncDB) -> None:
        chosen = "attacker-chosen-" + "x" * 27  # well-formed: 43 URL-safe characters

        response = client.get("/users/me", headers={"Cookie": f"session_cookie={chosen}"})

        assert response.status_code == 401
        assert "set-cookie" not in response.headers
        assert db.count(LoginSession, LoginSession.token_hash == digest(chosen)) == 0


class TestIdleTimeout:
    def test_a_session_idle_past_the_timeout_is_401(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(seconds=IDLE + 1)

        response = browser.get("/users/me")

        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
        assert browser.get("/protected_data/").status_code == 401

    def test_a_session_idle_just_under_the_timeout_is_alive(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(seconds=IDLE - 1)

        assert browser.get("/users/me").status_code == 200

    def test_a_request_to_an_idle_expired_session_does_not_revive_it(
        self, login_as: LoginAs, user: User, clock: Clock, db: SyncDB
    ) -> None:
        browser = login_as(user, via="login")
        seen = last_seen_at(db, token_of(browser))
        clock.advance(seconds=IDLE + 1)

        assert browser.get("/users/me").status_code == 401

        assert last_seen_at(db, token_of(browser)) == seen
        assert browser.get("/users/me").status_code == 401

    def test_activity_every_30_minutes_keeps_it_alive_until_the_absolute_timeout(
        self, login_as: LoginAs, user: User, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        elapsed = 0
        while elapsed + 1800 < ABSOLUTE:
            clock.advance(seconds=1800)
            elapsed += 1800
            assert browser.get("/users/me").status_code == 200, f"{elapsed} s after login"
        clock.advance(seconds=ABSOLUTE - 1 - elapsed)
        assert browser.get("/users/me").status_code == 200

        clock.advance(seconds=2)

        assert browser.get("/users/me").status_code == 401


class TestTimeoutSettings:
    def test_a_shorter_idle_timeout_applies_to_existing_sessions_at_once(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        browser = login_as(user)
        clock.advance(seconds=200)
        assert browser.get("/users/me").status_code == 200
        clock.advance(seconds=121)

        settings.session_idle_timeout = 120

        assert browser.get("/users/me").status_code == 401

    def test_a_longer_idle_timeout_keeps_a_quiet_session_alive(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_idle_timeout = 2 * IDLE
        browser = login_as(user)

        clock.advance(seconds=IDLE + 1)

        assert browser.get("/users/me").status_code == 200

    def test_the_absolute_timeout_setting_bounds_new_sessions(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_absolute_timeout = 600
        browser = login_as(user, via="login")
        clock.advance(seconds=599)
        assert browser.get("/users/me").status_code == 200

        clock.advance(seconds=2)

        assert browser.get("/users/me").status_code == 401

    def test_a_shorter_absolute_timeout_applies_to_existing_sessions_at_once(
        self, login_as: LoginAs, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(seconds=700)
        assert browser.get("/users/me").status_code == 200

        settings.session_absolute_timeout = 600

        assert browser.get("/users/me").status_code == 401


class TestLastSeen:
    def test_two_requests_within_a_minute_write_nothing(
        self,
        login_as: LoginAs,
        user: User,
        clock: Clock,
        db: SyncDB,
        assert_num_queries: QueryCounter,
    ) -> None:
        browser = login_as(user, via="login")
        token = token_of(browser)
        created = last_seen_at(db, token)

        with assert_num_queries(1):
            assert browser.get("/users/me").status_code == 200
            clock.advance(seconds=59)
            assert browser.get("/users/me").status_code == 200

        assert last_seen_at(db, token) == created

    def test_a_request_a_minute_later_records_the_activity(
        self,
        login_as: LoginAs,
        user: User,
        clock: Clock,
        db: SyncDB,
        assert_num_queries: QueryCounter,
    ) -> None:
        browser = login_as(user, via="login")
        token = token_of(browser)
        assert browser.get("/users/me").status_code == 200

        clock.advance(minutes=1)
        with assert_num_queries(2):  # the lookup, then the last_seen_at write
            assert browser.get("/users/me").status_code == 200

        assert last_seen_at(db, token) == clock.now()
        with assert_num_queries(1):  # written: the next request is back to one query
            assert browser.get("/users/me").status_code == 200

    @pytest.mark.anyio
    async def test_concurrent_requests_that_find_it_due_write_it_once(
        self,
        async_member_client: SessionaryAsyncClient,
        clock: Clock,
        assert_num_queries: QueryCounter,
    ) -> None:
        clock.advance(minutes=2)

        with assert_num_queries(2, exact=False) as queries:  # per request: lookup (+ write)
            responses = await asyncio.gather(
                *(async_member_client.get("/users/me") for _ in range(5))
            )

        assert [response.status_code for response in responses] == [200] * 5
        writes = [sql for sqls in queries.values() for sql in sqls if sql.startswith("UPDATE")]
        assert len(writes) == 1  # not one per request that found it due

    def test_last_seen_at_is_stored_in_utc(
        self, login_as: LoginAs, user: User, clock: Clock, db: SyncDB
    ) -> None:
        browser = login_as(user, via="login")
        clock.advance(minutes=5)
        browser.get("/users/me")

        seen = last_seen_at(db, token_of(browser))

        assert seen.utcoffset() == timedelta(0)
        assert seen == clock.now()


class TestSessionsThatNoLongerCount:
    def test_an_inactive_users_existing_session_is_401(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browser = login_as(user, via="login")
        assert browser.get("/users/me").status_code == 200

        db.execute(update(User).where(User.id == user.id).values(is_active=False))

        assert browser.get("/users/me").status_code == 401
        assert browser.get("/protected_data/").status_code == 401

    def test_a_revoked_session_is_401(
        self, login_as: LoginAs, user: User, db: SyncDB, clock: Clock
    ) -> None:
        browser = login_as(user, via="login")
        token = token_of(browser)

        db.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == digest(token))
            .values(revoked_at=clock.now())
        )

        assert browser.get("/users/me").status_code == 401
        assert browser.get("/protected_data/").status_code == 401

    def test_a_deleted_users_session_is_401(
        self, login_as: LoginAs, user: User, db: SyncDB
    ) -> None:
        browser = login_as(user, via="login")

        db.execute(delete(User).where(User.id == user.id))

        assert browser.get("/users/me").status_code == 401


class TestTimestamps:
    def test_users_me_created_at_carries_an_explicit_utc_offset(
        self, login_as: LoginAs, user: User
    ) -> None:
        body = login_as(user, via="login").get("/users/me").json()

        assert datetime.fromisoformat(body["created_at"]).utcoffset() == timedelta(0)

    def test_login_expires_at_carries_an_explicit_utc_offset(
        self, client: TestClient, user: User, clock: Clock
    ) -> None:
        body = client.post(
            "/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
        ).json()

        raw = body["expires_at"]
        assert raw.endswith(("Z", "+00:00"))
        assert datetime.fromisoformat(raw) == clock.now() + timedelta(seconds=ABSOLUTE)
