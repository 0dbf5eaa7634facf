"""POST /auth/login and its alias POST /login/ (docs/security.md "Logins and enumeration")."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, text, update

from sessionary.core.security import PasswordHasher
from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    Clock,
    QueryCounter,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.testing.database import TestDatabase
from sessionary.users.models import User
from tests.sessions.browsers import set_cookie

LOGIN_PATHS = ["/auth/login", "/login/"]
CURRENT_ARGON2 = "$argon2id$v=19$m=19456,t=2,p=1$"
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
INVALID = {"detail": "Invalid credentials"}


def login(client: TestClient, username: str, password: str = DEFAULT_PASSWORD) -> httpx2.Response:
    return client.post("/auth/login", json={"username": username, "password": password})


def stored_hash(db: SyncDB, user: User) -> str:
    value: str = db.scalar(select(User.password_hash).where(User.id == user.id))
    return value


@dataclass
class VerifySpy:
    """Where each ``PasswordHasher.verify_sync`` call ran: (thread name, on an event loop?)."""

    calls: list[tuple[str, bool]] = field(default_factory=list)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def verify_spy(monkeypatch: pytest.MonkeyPatch) -> VerifySpy:
    spy = VerifySpy()
    original = PasswordHasher.verify_sync

    def spying(self: PasswordHasher, password: str, password_hash: str) -> tuple[bool, str | None]:
        spy.calls.append((threading.current_thread().name, _on_event_loop()))
        return original(self, password, password_hash)

    monkeypatch.setattr(PasswordHasher, "verify_sync", spying)
    return spy


class TestSuccessfulLogin:
    @pytest.mark.parametrize("path", LOGIN_PATHS)
    def test_answers_login_successful_and_sets_the_session_cookie(
        self, path: str, client: TestClient, user_factory: UserFactory
    ) -> None:
        alice: User = user_factory(username="alice")

        response = client.post(path, json={"username": "alice", "password": DEFAULT_PASSWORD})

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Login successful"
        assert body["user_id"] == alice.id
        assert body["username"] == "alice"
        cookie = set_cookie(response)
        assert TOKEN_SHAPE.fullmatch(cookie["value"])
        assert client.get("/users/me").json()["user_id"] == alice.id

    def test_cookie_is_httponly_lax_root_secure_for_the_absolute_lifetime(
        self, client: TestClient, user: User
    ) -> None:
        cookie = set_cookie(login(client, user.username))

        assert "httponly" in cookie
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/"
        assert "secure" in cookie
        assert cookie["max-age"] == "86400"
        assert "domain" not in cookie  # host-only, as the __Host- prefix requires

    def test_max_age_is_the_full_absolute_lifetime_on_a_running_clock(
        self, client: TestClient, user: User
    ) -> None:
        # No frozen clock: time passes between creating the row and building the cookie,
        # and Max-Age must still be the whole lifetime, not one second short.
        cookie = set_cookie(login(client, user.username))

        assert cookie["max-age"] == "86400"

    def test_max_age_follows_the_absolute_timeout_setting(
        self, client: TestClient, user: User, clock: Clock, settings: SettingsOverride
    ) -> None:
        settings.session_absolute_timeout = 7200

        response = login(client, user.username)

        assert set_cookie(response)["max-age"] == "7200"
        expires_at = datetime.fromisoformat(response.json()["expires_at"])
        assert expires_at == clock.now() + timedelta(seconds=7200)

    def test_secure_is_absent_when_turned_off_for_plain_http(
        self, client: TestClient, user: User, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_secure = False

        cookie = set_cookie(login(client, user.username))

        assert "secure" not in cookie
        assert "httponly" in cookie
        assert cookie["samesite"].lower() == "lax"

    def test_a_custom_cookie_name_is_used(
        self, client: TestClient, user: User, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_name = "sid"

        response = login(client, user.username)

        assert response.status_code == 200
        assert "session_cookie" not in response.cookies
        token = set_cookie(response, "sid")["value"]
        assert client.get("/users/me").status_code == 200
        client.cookies.clear()
        under_default_name = {"Cookie": f"session_cookie={token}"}
        assert client.get("/users/me", headers=under_default_name).status_code == 401

    def test_authenticated_responses_under_a_custom_cookie_name_are_not_cached(
        self, client: TestClient, user: User, settings: SettingsOverride
    ) -> None:
        settings.session_cookie_name = "sid"
        login(client, user.username)

        response = client.get("/users/me")

        assert response.status_code == 200
        assert response.headers.get("cache-control") == "no-store"

    def test_expires_at_is_utc_with_an_explicit_offset(
        self, client: TestClient, user: User, clock: Clock
    ) -> None:
        expires_at = datetime.fromisoformat(login(client, user.username).json()["expires_at"])

        assert expires_at.utcoffset() == timedelta(0)
        assert expires_at == clock.now() + timedelta(seconds=86400)


class TestUsernameMatching:
    @pytest.mark.parametrize(
        ("stored", "typed"),
        [
            ("alice", "ALICE"),
            ("alice", "Alice"),
            ("Alice", "alice"),
            ("alice", "\uff41\uff4c\uff49\uff43\uff45"),  # full-width "alice"
            ("alice", "\uff21\uff2c\uff29\uff23\uff25"),  # full-width "ALICE"
            ("strasse", "STRAßE"),  # case folding, not just lower-casing
        ],
    )
    def test_username_matches_after_nfkc_and_case_folding(
        self, stored: str, typed: str, client: TestClient, user_factory: UserFactory
    ) -> None:
        account: User = user_factory(username=stored)

        response = login(client, typed)

        assert response.status_code == 200
        assert response.json()["user_id"] == account.id
        assert response.json()["username"] == stored  # shown as entered at sign-up

    def test_a_different_username_is_not_matched(
        self, client: TestClient, user_factory: UserFactory
    ) -> None:
        user_factory(username="alice")

        assert login(client, "alice2").status_code == 401


class TestBadCredentials:
    @pytest.fixture(autouse=True)
    def alice(self, user_factory: UserFactory) -> User:
        created: User = user_factory(username="alice")
        return created

    @pytest.mark.parametrize("path", LOGIN_PATHS)
    def test_wrong_password_is_401_invalid_credentials(self, path: str, client: TestClient) -> None:
        response = client.post(path, json={"username": "alice", "password": "wrong-password"})

        assert response.status_code == 401
        assert response.json() == INVALID
        assert "set-cookie" not in response.headers

    def test_unknown_user_is_401_like_wrong_password(self, client: TestClient) -> None:
        response = login(client, "nobody")

        assert response.status_code == 401
        assert response.json() == INVALID
        assert "set-cookie" not in response.headers

    def test_inactive_user_with_the_right_password_is_401_like_wrong_password(
        self, client: TestClient, user_factory: UserFactory, db: SyncDB
    ) -> None:
        user_factory(username="bob", is_active=False)

        response = login(client, "bob")

        assert response.status_code == 401
        assert response.json() == INVALID
        assert "set-cookie" not in response.headers
        assert db.count(LoginSession) == 0

    def test_every_cause_costs_exactly_one_verification_on_the_argon2_pool(
        self, client: TestClient, user_factory: UserFactory, verify_spy: VerifySpy
    ) -> None:
        user_factory(username="bob", is_active=False)
        causes = {
            "unknown user": ("nobody", DEFAULT_PASSWORD),
            "wrong password": ("alice", "wrong-password"),
            "inactive user": ("bob", DEFAULT_PASSWORD),
        }
        for cause, (username, password) in causes.items():
            verify_spy.calls.clear()

            response = login(client, username, password)

            assert (response.status_code, response.json()) == (401, INVALID), cause
            assert len(verify_spy.calls) == 1, cause
            thread, on_event_loop = verify_spy.calls[0]
            assert thread.startswith("argon2"), cause
            assert not on_event_loop, cause

    def test_a_successful_login_also_costs_exactly_one_verification(
        self, client: TestClient, verify_spy: VerifySpy
    ) -> None:
        assert login(client, "alice").status_code == 200

        assert len(verify_spy.calls) == 1
        thread, on_event_loop = verify_spy.calls[0]
        assert thread.startswith("argon2")
        assert not on_event_loop

    def test_every_cause_sends_the_same_queries(
        self,
        client: TestClient,
        user_factory: UserFactory,
        assert_max_num_queries: QueryCounter,
    ) -> None:
        user_factory(username="bob", is_active=False)
        counts: list[int] = []
        for username, password in [
            ("nobody", DEFAULT_PASSWORD),
            ("alice", "wrong-password"),
            ("bob", DEFAULT_PASSWORD),
        ]:
            with assert_max_num_queries(10) as requests:
                assert login(client, username, password).status_code == 401
            assert len(requests) == 1
            counts.extend(len(sent) for sent in requests.values())

        assert len(set(counts)) == 1, counts

    def test_a_failed_login_creates_no_session(self, client: TestClient, db: SyncDB) -> None:
        login(client, "alice", "wrong-password")

        assert db.count(LoginSession) == 0


class TestLoginValidation:
    SECRET = "Tr0ub4dor&3-never-echo-me"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"username": "alice"},
            {"password": SECRET},
            {"username": "", "password": SECRET},
            {"username": "alice", "password": ""},
            {"username": ["alice"], "password": SECRET},
            {"username": "alice", "password": SECRET, "remember_me": SECRET},
            {"username": "a" * 257, "password": SECRET},
        ],
        ids=[
            "empty",
            "no-password",
            "no-username",
            "empty-username",
            "empty-password",
            "username-not-a-string",
            "unknown-field",
            "username-too-long",
        ],
    )
    def test_malformed_bodies_are_422_in_fastapis_shape(
        self, body: dict[str, Any], client: TestClient
    ) -> None:
        response = client.post("/auth/login", json=body)

        assert response.status_code == 422
        detail = response.json()["detail"]
        assert isinstance(detail, list)
        assert detail
        for error in detail:
            assert {"loc", "msg", "type"} <= set(error)
            assert "input" not in error
        assert self.SECRET not in response.text

    @pytest.mark.parametrize(
        "password",
        [
            "p" * 129,
            SECRET * 6,
            "\ufb03" * 43,  # 43 code points, 129 after NFKC ("ffi" each)
        ],
        ids=["129-ascii", "long-secret", "ligatures-expand-past-128"],
    )
    def test_a_password_over_128_code_points_after_nfkc_is_422_and_never_echoed(
        self, password: str, client: TestClient, user: User
    ) -> None:
        response = client.post(
            "/auth/login", json={"username": user.username, "password": password}
        )

        assert response.status_code == 422
        assert password not in response.text
        assert password[:20] not in response.text
        assert response.json()["detail"][0]["loc"] == ["body", "password"]

    @pytest.mark.parametrize(
        "password",
        ["p" * 128, "e\u0301" * 100],  # the second is 200 code points, 100 after NFKC
        ids=["exactly-128", "combining-marks-compose-to-100"],
    )
    def test_a_password_of_at_most_128_code_points_after_nfkc_is_checked_not_rejected(
        self, password: str, client: TestClient, user: User
    ) -> None:
        response = client.post(
            "/auth/login", json={"username": user.username, "password": password}
        )

        assert response.status_code == 401
        assert response.json() == INVALID

    def test_malformed_json_is_422_without_echoing_it(self, client: TestClient) -> None:
        raw = '{"username": "alice", "password": "' + self.SECRET + '"'

        response = client.post(
            "/auth/login", content=raw, headers={"content-type": "application/json"}
        )

        assert response.status_code == 422
        assert self.SECRET not in response.text

    def test_a_form_encoded_body_is_422_without_echoing_it(self, client: TestClient) -> None:
        response = client.post("/auth/login", data={"username": "alice", "password": self.SECRET})

        assert response.status_code == 422
        assert self.SECRET not in response.text

    @pytest.mark.parametrize(
        ("chosen", "typed"),
        [
            ("\ufb03ciency-passw0rd", "fficiency-passw0rd"),  # "ﬃ" ligature at sign-up
            ("fficiency-passw0rd", "\ufb03ciency-passw0rd"),  # "ﬃ" ligature at login
            ("caf\u00e9-au-lait-42", "cafe\u0301-au-lait-42"),  # composed vs combining accent
        ],
        ids=["ligature-stored", "ligature-typed", "combining-accent-typed"],
    )
    def test_a_password_is_verified_after_nfkc_normalisation(
        self, chosen: str, typed: str, client: TestClient, user_factory: UserFactory
    ) -> None:
        user_factory(username="carol", password=chosen)

        assert login(client, "carol", typed).status_code == 200


class TestPasswordHashes:
    def test_a_new_users_hash_is_argon2id_with_owasp_parameters(
        self, user: User, db: SyncDB
    ) -> None:
        assert stored_hash(db, user).startswith(CURRENT_ARGON2)

    def test_a_hash_with_other_parameters_is_upgraded_on_successful_login(
        self, client: TestClient, user: User, db: SyncDB
    ) -> None:
        legacy = Argon2Hasher(memory_cost=19456, time_cost=3, parallelism=1).hash(DEFAULT_PASSWORD)
        db.execute(update(User).where(User.id == user.id).values(password_hash=legacy))

        assert login(client, user.username).status_code == 200

        upgraded = stored_hash(db, user)
        assert upgraded != legacy
        assert upgraded.startswith(CURRENT_ARGON2)
        assert Argon2Hasher().verify(DEFAULT_PASSWORD, upgraded)
        client.cookies.clear()
        assert login(client, user.username).status_code == 200

    def test_a_failed_login_does_not_touch_a_legacy_hash(
        self, client: TestClient, user: User, db: SyncDB
    ) -> None:
        legacy = Argon2Hasher(memory_cost=19456, time_cost=3, parallelism=1).hash(DEFAULT_PASSWORD)
        db.execute(update(User).where(User.id == user.id).values(password_hash=legacy))

        assert login(client, user.username, "wrong-password").status_code == 401

        assert stored_hash(db, user) == legacy

    def test_a_hash_with_current_parameters_is_left_alone(
        self, client: TestClient, user: User, db: SyncDB
    ) -> None:
        before = stored_hash(db, user)

        assert login(client, user.username).status_code == 200

        assert stored_hash(db, user) == before


class TestVerificationBeforeWrites:
    def test_the_password_is_verified_before_any_write_or_transaction_opens(
        self,
        client: TestClient,
        user: User,
        sessionary_database: TestDatabase,
        monkeypatch: pytest.MonkeyPatch,
        assert_num_queries: QueryCounter,
    ) -> None:
        events: list[str] = []
        queries = sessionary_database.queries
        record = queries.record
        verify = PasswordHasher.verify_sync

        def recording(statement: str) -> None:
            events.append(" ".join(statement.split()).upper())
            record(statement)

        def verifying(
            self: PasswordHasher, password: str, password_hash: str
        ) -> tuple[bool, str | None]:
            events.append("<VERIFY>")
            return verify(self, password, password_hash)

        monkeypatch.setattr(queries, "record", recording)
        monkeypatch.setattr(PasswordHasher, "verify_sync", verifying)

        # Read the credentials; then, after verifying: the session cap, the session, whether
        # the account has a device (a new one is then told), the new device's row and the
        # audit event.
        with assert_num_queries(6):
            assert login(client, user.username).status_code == 200

        before = events[: events.index("<VERIFY>")]
        after = events[events.index("<VERIFY>") + 1 :]
        assert any(e.startswith("SELECT") and "FROM USERS" in e for e in before), events
        assert not [e for e in before if e.split()[0] in {"INSERT", "UPDATE", "DELETE"}], events
        opened = sum(e.startswith(("SAVEPOINT", "BEGIN")) for e in before)
        closed = sum(e.startswith(("RELEASE", "ROLLBACK", "COMMIT")) for e in before)
        assert opened == closed, f"a transaction is open during verification: {events}"
        assert any(e.startswith("INSERT INTO SESSIONS") for e in after), events


class TestSessionTokens:
    def test_each_login_issues_a_different_token(
        self, client: TestClient, user: User, db: SyncDB
    ) -> None:
        first = set_cookie(login(client, user.username))["value"]
        client.cookies.clear()
        second = set_cookie(login(client, user.username))["value"]

        assert first != second
        assert db.count(LoginSession, LoginSession.user_id == user.id) == 2

    def test_logging_in_while_carrying_a_token_issues_a_new_one(
        self, client: TestClient, user: User
    ) -> None:
        old = set_cookie(login(client, user.username))["value"]

        response = login(client, user.username)  # the jar still sends the old cookie

        new = set_cookie(response)["value"]
        assert new != old
        assert client.cookies["session_cookie"] == new

    def test_a_token_is_43_url_safe_characters(self, client: TestClient, user: User) -> None:
        tokens = set()
        for _ in range(5):
            client.cookies.clear()
            tokens.add(set_cookie(login(client, user.username))["value"])

        assert len(tokens) == 5
        for token in tokens:
            assert TOKEN_SHAPE.fullmatch(token), token

    def test_only_the_sha256_of_the_token_is_stored(
        self, client: TestClient, user: User, db: SyncDB
    ) -> None:
        response = login(client, user.username)
        token = set_cookie(response)["value"]

        rows = db.execute(text("SELECT * FROM sessions"))

        assert len(rows) == 1
        row = rows[0]._mapping
        assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
        for column, value in row.items():
            raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            assert token.encode() not in raw, column
        assert token not in response.text


class TestSessionRow:
    def test_a_login_records_its_times_and_a_truncated_user_agent(
        self, client: TestClient, user: User, db: SyncDB, clock: Clock
    ) -> None:
        agent = "Mozilla/5.0 " + "x" * 600

        response = client.post(
            "/auth/login",
            json={"username": user.username, "password": DEFAULT_PASSWORD},
            headers={"user-agent": agent},
        )

        assert response.status_code == 200
        row: LoginSession | None = db.scalar(select(LoginSession))
        assert row is not None
        assert row.user_id == user.id
        assert row.created_at == row.last_seen_at == row.authenticated_at == clock.now()
        assert row.absolute_expires_at == clock.now() + timedelta(seconds=86400)
        assert row.revoked_at is None
        assert row.user_agent == agent[:512]
