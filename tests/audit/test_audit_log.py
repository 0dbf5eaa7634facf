"""The audit log: every event the app produces, its shape, what it must never hold, and the
table's append-only, foreign-key-free nature (docs/security.md "Audit log")."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

import sessionary
from sessionary.audit.models import AuditEvent
from sessionary.audit.service import EventType
from sessionary.mail.mailers import DeliveryFailed
from sessionary.runtime import runtime_of
from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    Mailbox,
    SessionaryAsyncClient,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User

EVENT_FIELDS = {
    "id",
    "type",
    "actor_user_id",
    "actor_api_key_id",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "created_at",
    "detail",
}
NEW_PASSWORD = "a-brand-new-passphrase"


def login(client: TestClient, username: str, password: str = DEFAULT_PASSWORD) -> httpx2.Response:
    return client.post("/auth/login", json={"username": username, "password": password})


def by_hand(token: str) -> dict[str, str]:
    return {"Cookie": f"session_cookie={token}"}


def session_id(db: SyncDB, browser: TestClient) -> int:
    digest = hashlib.sha256(browser.cookies["session_cookie"].encode()).digest()
    found: int | None = db.scalar(select(LoginSession.id).where(LoginSession.token_hash == digest))
    assert found is not None
    return found


# -- one scenario per event type the app produces ---------------------------------------------


@dataclass(frozen=True)
class World:
    client: TestClient
    login_as: LoginAs
    alice: User
    db: SyncDB
    settings: SettingsOverride
    mailbox: Mailbox
    app: FastAPI


@dataclass(frozen=True)
class Expected:
    actor_user_id: int | None
    target_type: str | None
    target_id: int | str | None


def _login_succeeded(w: World) -> Expected:
    assert login(w.client, "alice").status_code == 200
    return Expected(w.alice.id, "session", session_id(w.db, w.client))


def _login_failed(w: World) -> Expected:
    assert login(w.client, "alice", "wrong-password-1").status_code == 401
    return Expected(None, "user", w.alice.id)


def _login_throttled(w: World) -> Expected:
    w.settings.login_failures_per_account = 1
    assert login(w.client, "alice", "wrong-password-1").status_code == 401
    assert login(w.client, "alice").status_code == 429
    return Expected(None, "user", w.alice.id)


def _logout(w: World) -> Expected:
    browser = w.login_as(w.alice)
    revoked = session_id(w.db, browser)
    assert browser.post("/auth/logout").status_code == 204
    return Expected(w.alice.id, "session", revoked)


def _logout_all(w: World) -> Expected:
    assert w.login_as(w.alice).post("/auth/logout-all").status_code == 204
    return Expected(w.alice.id, "user", w.alice.id)


def _session_revoked(w: World) -> Expected:
    laptop, phone = w.login_as(w.alice), w.login_as(w.alice)
    revoked = session_id(w.db, phone)
    assert laptop.delete(f"/auth/sessions/{revoked}").status_code == 204
    return Expected(w.alice.id, "session", revoked)


def _revoked_token_presented(w: World) -> Expected:
    laptop, phone = w.login_as(w.alice), w.login_as(w.alice)
    revoked, token = session_id(w.db, phone), phone.cookies["session_cookie"]
    assert laptop.delete(f"/auth/sessions/{revoked}").status_code == 204
    assert w.client.get("/users/me", headers=by_hand(token)).status_code == 401
    return Expected(w.alice.id, "session", revoked)


def _password_changed(w: World) -> Expected:
    response = w.login_as(w.alice).post(
        "/users/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204
    return Expected(w.alice.id, "user", w.alice.id)


def _reauth_succeeded(w: World) -> Expected:
    browser = w.login_as(w.alice, fresh=False)
    assert browser.post("/auth/reauth", json={"password": DEFAULT_PASSWORD}).status_code == 204
    return Expected(w.alice.id, "session", session_id(w.db, browser))


def _user_registered(w: World) -> Expected:
    w.settings.allow_registration = True
    response = w.client.post(
        "/auth/register",
        json={"username": "bob", "email": "bob@example.com", "password": NEW_PASSWORD},
    )
    assert response.status_code == 201
    bob: int = response.json()["user_id"]
    return Expected(bob, "user", bob)


def _user_updated(w: World) -> Expected:
    response = w.login_as(w.alice).patch("/users/me", json={"email": "Alice@Example.com"})
    assert response.status_code == 200
    return Expected(w.alice.id, "user", w.alice.id)


def _password_reset_requested(w: World) -> Expected:
    response = w.client.post("/auth/password-reset", json={"email": "alice@example.com"})
    assert response.status_code == 202
    return Expected(None, "user", w.alice.id)


def _password_reset(w: World) -> Expected:
    w.client.post("/auth/password-reset", json={"email": "alice@example.com"})
    body = {"token": w.mailbox.token(to="alice@example.com"), "new_password": NEW_PASSWORD}
    assert w.client.post("/auth/password-reset/confirm", json=body).status_code == 204
    return Expected(w.alice.id, "user", w.alice.id)


def _email_change_requested(w: World) -> Expected:
    response = w.login_as(w.alice).patch("/users/me", json={"email": "alice@new.example"})
    assert response.status_code == 200
    return Expected(w.alice.id, "user", w.alice.id)


def _email_verified(w: World) -> Expected:
    _email_change_requested(w)
    body = {"token": w.mailbox.token(to="alice@new.example")}
    assert w.client.post("/auth/verify-email", json=body).status_code == 204
    return Expected(w.alice.id, "user", w.alice.id)


class _Refusing:
    async def send(self, message: EmailMessage) -> None:
        raise DeliveryFailed("550 5.1.1 no such mailbox", permanent=True)


def _mail_failed(w: World) -> Expected:
    mail = runtime_of(w.app).mail
    message = mail.compose(runtime_of(w.app).settings, "test", to="alice@example.com")
    mail.mailer = _Refusing()  # the mailbox fixture puts its own back afterwards
    portal = w.client.portal  # the app's loop, where the request's mail would go out
    assert portal is not None
    assert portal.call(mail.deliver, message) is False
    return Expected(None, None, None)


def _user_created(w: World) -> Expected:
    admin = w.login_as("admin")
    body = {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD}
    response = admin.post("/users", json=body)
    assert response.status_code == 201, response.text
    return Expected(admin.user.id, "user", response.json()["user_id"])


def _user_deactivated(w: World) -> Expected:
    admin = w.login_as("admin")
    response = admin.patch(f"/users/{w.alice.id}", json={"is_active": False})
    assert response.status_code == 200, response.text
    return Expected(admin.user.id, "user", w.alice.id)


def _user_deleted(w: World) -> Expected:
    admin = w.login_as("admin")
    assert admin.delete(f"/users/{w.alice.id}").status_code == 204
    return Expected(admin.user.id, "user", w.alice.id)


def _user_roles_changed(w: World) -> Expected:
    admin = w.login_as("admin")
    response = admin.patch(f"/users/{w.alice.id}", json={"roles": ["admin"]})
    assert response.status_code == 200, response.text
    return Expected(admin.user.id, "user", w.alice.id)


def _role_created(w: World) -> Expected:
    admin = w.login_as("admin")
    response = admin.post("/roles", json={"name": "auditor", "permissions": ["audit:read"]})
    assert response.status_code == 201, response.text
    return Expected(admin.user.id, "role", "auditor")


def _role_updated(w: World) -> Expected:
    admin = w.login_as("admin")
    response = admin.patch("/roles/member", json={"permissions": ["notes:read"]})
    assert response.status_code == 200, response.text
    return Expected(admin.user.id, "role", "member")


def _role_deleted(w: World) -> Expected:
    admin = w.login_as("admin")
    assert admin.post("/roles", json={"name": "temp", "permissions": []}).status_code == 201
    assert admin.delete("/roles/temp").status_code == 204
    return Expected(admin.user.id, "role", "temp")


def _create_key(browser: TestClient) -> int:
    response = browser.post("/api-keys", json={"name": "ci", "scopes": ["notes:read"]})
    assert response.status_code == 201, response.text
    key_id: int = response.json()["id"]
    return key_id


def _api_key_created(w: World) -> Expected:
    key_id = _create_key(w.login_as(w.alice))
    return Expected(w.alice.id, "api_key", key_id)


def _api_key_revoked(w: World) -> Expected:
    browser = w.login_as(w.alice)
    key_id = _create_key(browser)
    assert browser.delete(f"/api-keys/{key_id}").status_code == 204
    return Expected(w.alice.id, "api_key", key_id)


SCENARIOS: dict[str, Callable[[World], Expected]] = {
    "user.created": _user_created,
    "user.deactivated": _user_deactivated,
    "user.deleted": _user_deleted,
    "user.roles_changed": _user_roles_changed,
    "role.created": _role_created,
    "role.updated": _role_updated,
    "role.deleted": _role_deleted,
    "api_key.created": _api_key_created,
    "api_key.revoked": _api_key_revoked,
    "login.succeeded": _login_succeeded,
    "login.failed": _login_failed,
    "login.throttled": _login_throttled,
    "logout": _logout,
    "logout_all": _logout_all,
    "session.revoked": _session_revoked,
    "session.revoked_token_presented": _revoked_token_presented,
    "password.changed": _password_changed,
    "reauth.succeeded": _reauth_succeeded,
    "user.registered": _user_registered,
    "user.updated": _user_updated,
    "password.reset_requested": _password_reset_requested,
    "password.reset": _password_reset,
    "email.change_requested": _email_change_requested,
    "email.verified": _email_verified,
    "mail.failed": _mail_failed,
}


def produced_event_types() -> set[str]:
    """Every ``EventType`` member the application code names (outside its definition)."""
    package = Path(sessionary.__file__).parent
    names: set[str] = set()
    for path in package.rglob("*.py"):
        if path.parts[-2:] != ("audit", "service.py"):
            names.update(re.findall(r"\bEventType\.([A-Z_]+)\b", path.read_text()))
    return {EventType[name].value for name in names}


@pytest.fixture
def world(
    client: TestClient,
    login_as: LoginAs,
    user_factory: UserFactory,
    db: SyncDB,
    settings: SettingsOverride,
    mailbox: Mailbox,
    sessionary_app: FastAPI,
) -> World:
    alice: User = user_factory(username="alice", email="alice@example.com")
    return World(client, login_as, alice, db, settings, mailbox, sessionary_app)


class TestEveryEventType:
    def test_every_event_type_the_app_produces_has_a_scenario_here(self) -> None:
        missing = produced_event_types() - set(SCENARIOS)

        assert not missing, f"add a scenario for: {sorted(missing)}"
        assert set(SCENARIOS) <= {member.value for member in EventType}

    @pytest.mark.parametrize("event_type", sorted(SCENARIOS))
    def test_is_recorded_with_the_documented_shape(
        self, event_type: str, world: World, db: SyncDB, clock: Clock, audit_log: AuditLog
    ) -> None:
        expected = SCENARIOS[event_type](world)

        (event,) = audit_log.events(event_type)
        stored = db.execute(text("SELECT * FROM audit_events WHERE id = :id"), {"id": event.id})
        assert set(stored[0]._mapping) == EVENT_FIELDS
        assert event.type == event_type
        assert event.actor_user_id == expected.actor_user_id
        assert event.actor_api_key_id is None
        assert event.target_type == expected.target_type
        assert event.target_id == (None if expected.target_id is None else str(expected.target_id))
        assert isinstance(event.detail, dict)
        assert event.created_at == clock.now()
        assert event.created_at.utcoffset() == timedelta(0)


class TestWhereAndWhen:
    @pytest.mark.parametrize(
        ("password", "event_type"),
        [(DEFAULT_PASSWORD, "login.succeeded"), ("wrong-password-1", "login.failed")],
        ids=["in-the-request-transaction", "in-a-transaction-of-its-own"],
    )
    def test_the_clients_address_and_user_agent_are_recorded(
        self,
        password: str,
        event_type: str,
        sessionary_app: FastAPI,
        user: User,
        audit_log: AuditLog,
    ) -> None:
        browser = TestClient(sessionary_app, base_url="https://testserver", client=("192.0.2.7", 1))
        agent = "Audit-Test/2.0 " + "z" * 600
        browser.post(
            "/auth/login",
            json={"username": user.username, "password": password},
            headers={"User-Agent": agent},
        )

        (event,) = audit_log.events(event_type)

        assert event.ip == "192.0.2.7"
        assert event.user_agent == agent[:512]

    def test_created_at_is_stored_as_utc_wall_time(
        self,
        client: TestClient,
        user: User,
        clock: Clock,
        db: SyncDB,
        sessionary_app: FastAPI,
        audit_log: AuditLog,
    ) -> None:
        clock.set(datetime(2031, 5, 7, 8, 30, tzinfo=timezone(timedelta(hours=2))))

        login(client, user.username)

        (event,) = audit_log.events("login.succeeded")
        assert event.created_at == datetime(2031, 5, 7, 6, 30, tzinfo=UTC)
        if runtime_of(sessionary_app).settings.is_sqlite:
            raw = db.scalar(text("SELECT created_at FROM audit_events"))
            assert str(raw).startswith("2031-05-07 06:30:00")
        else:
            raw = db.scalar(
                text(
                    "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                    "FROM audit_events"
                )
            )
            assert raw == "2031-05-07 06:30"


class TestLoginFailedEvents:
    def test_an_existing_account_is_the_target_and_the_attempted_username_the_detail(
        self, client: TestClient, user_factory: UserFactory, audit_log: AuditLog
    ) -> None:
        alice: User = user_factory(username="alice")

        login(client, "ALICE", "wrong-password-1")

        (event,) = audit_log.events("login.failed")
        assert (event.target_type, event.target_id) == ("user", str(alice.id))
        assert event.actor_user_id is None
        assert event.detail["username"] == "ALICE"

    def test_an_inactive_account_is_the_target_too(
        self, client: TestClient, user_factory: UserFactory, audit_log: AuditLog
    ) -> None:
        dormant: User = user_factory(username="dormant", is_active=False)

        login(client, "dormant")

        audit_log.assert_recorded("login.failed", target=dormant)

    def test_an_unknown_user_has_no_target(
        self, client: TestClient, user: User, audit_log: AuditLog
    ) -> None:
        login(client, "nobody", "wrong-password-1")

        (event,) = audit_log.events("login.failed")
        assert (event.target_type, event.target_id) == (None, None)
        assert event.actor_user_id is None
        assert event.detail["username"] == "nobody"

    @pytest.mark.anyio
    async def test_from_an_async_client(
        self, async_client: SessionaryAsyncClient, user_factory: UserFactory, audit_log: AuditLog
    ) -> None:
        alice: User = await user_factory.acreate(username="alice")

        response = await async_client.post(
            "/auth/login", json={"username": "alice", "password": "wrong-password-1"}
        )

        assert response.status_code == 401
        event = await audit_log.aassert_recorded("login.failed", target=alice)
        assert event.detail["username"] == "alice"
        assert len(await audit_log.aevents("login.failed")) == 1


@pytest.mark.sessionary_db(transaction=True)
class TestEventsAboutFailedRequestsWithRealCommits:
    """Committed in a transaction of their own: the failed request's rollback keeps them."""

    def test_login_failed_outlives_the_401(
        self, client: TestClient, user: User, audit_log: AuditLog
    ) -> None:
        assert login(client, user.username, "wrong-password-1").status_code == 401

        audit_log.assert_recorded("login.failed", target=user)

    def test_login_throttled_outlives_the_429(
        self, client: TestClient, user: User, settings: SettingsOverride, audit_log: AuditLog
    ) -> None:
        settings.login_failures_per_account = 1
        login(client, user.username, "wrong-password-1")

        assert login(client, user.username).status_code == 429

        audit_log.assert_recorded("login.throttled", target=user)


class TestNoSecrets:
    def test_no_password_or_token_ever_reaches_an_audit_row(
        self,
        client: TestClient,
        login_as: LoginAs,
        user_factory: UserFactory,
        settings: SettingsOverride,
        db: SyncDB,
    ) -> None:
        settings.allow_registration = True
        alice: User = user_factory(username="alice")
        passwords = [DEFAULT_PASSWORD, NEW_PASSWORD, "wrong-Guess-zebra-1", "reg-passphrase-42"]
        cookies: list[str] = []

        def keep_cookies(response: httpx2.Response) -> httpx2.Response:
            cookies.extend(value for _, value in response.cookies.items())
            return response

        keep_cookies(login(client, "alice", passwords[2]))
        keep_cookies(login(client, "nobody", passwords[2]))
        keep_cookies(login(client, "alice"))
        stale = login_as(alice, fresh=False)
        cookies.append(stale.cookies["session_cookie"])
        keep_cookies(stale.post("/auth/reauth", json={"password": passwords[2]}))
        keep_cookies(stale.post("/auth/reauth", json={"password": DEFAULT_PASSWORD}))
        keep_cookies(stale.patch("/users/me", json={"email": "alice@new.example"}))
        keep_cookies(
            client.post(
                "/users/me/password",
                json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
            )
        )
        keep_cookies(
            client.post(
                "/auth/register",
                json={"username": "bob", "email": "bob@example.com", "password": passwords[3]},
            )
        )
        assert stale.get("/users/me").status_code == 401  # revoked by the password change
        keep_cookies(client.post("/auth/logout-all"))
        secrets = [*passwords, *(cookie for cookie in cookies if len(cookie) >= 8)]
        assert len(secrets) >= 7

        rows = db.execute(text("SELECT * FROM audit_events"))

        assert len(rows) >= 8
        for row in rows:
            written = " ".join(str(value) for value in row)
            for secret in secrets:
                assert secret not in written, f"a secret in the {row.type} event"


class TestAppendOnly:
    @pytest.fixture
    def event(self, client: TestClient, user: User, audit_log: AuditLog) -> AuditEvent:
        assert login(client, user.username).status_code == 200
        (recorded,) = audit_log.events("login.succeeded")
        return recorded

    def test_an_sql_update_is_refused_by_the_database(
        self, event: AuditEvent, db: SyncDB, audit_log: AuditLog
    ) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(
                text("UPDATE audit_events SET type = 'tampered' WHERE id = :id"), {"id": event.id}
            )

        assert [e.type for e in audit_log.events()] == ["login.succeeded"]

    def test_an_orm_update_is_refused_too(
        self, event: AuditEvent, db: SyncDB, audit_log: AuditLog
    ) -> None:
        async def tamper(session: AsyncSession) -> None:
            row = await session.get(AuditEvent, event.id)
            assert row is not None
            row.detail = {"tampered": True}
            row.actor_user_id = None
            await session.flush()

        with pytest.raises(DBAPIError, match="append-only"):
            db.run(tamper)

        (unchanged,) = audit_log.events()
        assert unchanged.detail == event.detail
        assert unchanged.actor_user_id == event.actor_user_id


class TestDeletingAUser:
    def test_keeps_every_audit_row_about_them(
        self, login_as: LoginAs, user: User, db: SyncDB, audit_log: AuditLog
    ) -> None:
        browser = login_as(user, via="login")
        assert browser.post("/auth/logout").status_code == 204
        before = [(e.id, e.type, e.actor_user_id, e.target_id) for e in audit_log.events()]
        assert len(before) == 2

        assert db.execute(delete(User).where(User.id == user.id)) == 1

        assert db.get(User, user.id) is None
        after = [(e.id, e.type, e.actor_user_id, e.target_id) for e in audit_log.events()]
        assert after == before

    def test_the_table_has_no_foreign_keys(self, db: SyncDB) -> None:
        async def foreign_keys(session: AsyncSession) -> list[object]:
            connection = await session.connection()
            return await connection.run_sync(
                lambda sync: list(inspect(sync).get_foreign_keys("audit_events"))
            )

        assert db.run(foreign_keys) == []
