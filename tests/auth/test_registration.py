"""POST /auth/register: self sign-up as a member, only when the operator allows it (docs/security.md
"Passwords", README "Configuration")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.roles.models import UserRole
from sessionary.testing import AuditLog, Clock, SettingsOverride, SyncDB, UserFactory
from sessionary.users.models import User

PASSWORD = "a-long-enough-passphrase"
USER_FIELDS = {
    "user_id",
    "username",
    "email",
    "email_verified",
    "roles",
    "is_active",
    "created_at",
}


def register(client: TestClient, **changes: Any) -> httpx2.Response:
    body = {"username": "alice", "email": "alice@example.com", "password": PASSWORD, **changes}
    return client.post("/auth/register", json=body)


@pytest.fixture
def open_registration(settings: SettingsOverride) -> None:
    settings.allow_registration = True


class TestRegistrationTurnedOff:
    def test_is_off_by_default_and_answers_404_as_if_unrouted(
        self, client: TestClient, db: SyncDB, audit_log: AuditLog
    ) -> None:
        response = register(client)

        assert response.status_code == 404
        assert response.json() == client.post("/auth/no-such-route").json()
        assert db.count(User) == 0
        assert audit_log.events() == []

    def test_even_a_malformed_body_is_404(self, client: TestClient) -> None:
        # Off means "not here": validating the body first would reveal the route.
        response = client.post("/auth/register", json={"nonsense": True})

        assert response.status_code == 404

    def test_turning_it_off_applies_at_once(
        self, client: TestClient, settings: SettingsOverride, db: SyncDB
    ) -> None:
        settings.allow_registration = True
        assert register(client).status_code == 201

        settings.allow_registration = False

        assert register(client, username="bob", email="bob@example.com").status_code == 404
        assert db.count(User) == 1


@pytest.mark.usefixtures("open_registration")
class TestRegistering:
    def test_answers_201_with_the_new_member(self, client: TestClient, clock: Clock) -> None:
        response = register(client)

        assert response.status_code == 201
        body = response.json()
        assert set(body) == USER_FIELDS
        assert body["username"] == "alice"
        assert body["email"] == "alice@example.com"
        assert body["roles"] == ["member"]
        assert body["is_active"] is True
        created_at = datetime.fromisoformat(body["created_at"])
        assert created_at.utcoffset() == timedelta(0)
        assert created_at == clock.now()

    def test_the_new_user_is_a_stored_member(self, client: TestClient, db: SyncDB) -> None:
        user_id = register(client).json()["user_id"]

        rows = db.execute(select(UserRole.role_name).where(UserRole.user_id == user_id))
        assert [row.role_name for row in rows] == ["member"]

    def test_the_new_user_can_log_in(self, client: TestClient) -> None:
        user_id = register(client).json()["user_id"]

        login = client.post("/auth/login", json={"username": "ALICE", "password": PASSWORD})

        assert login.status_code == 200
        assert login.json()["user_id"] == user_id
        assert client.get("/users/me").json()["roles"] == ["member"]

    def test_the_username_is_shown_after_nfkc(self, client: TestClient) -> None:
        response = register(client, username="\uff21lice")  # full-width A

        assert response.status_code == 201
        assert response.json()["username"] == "Alice"

    def test_is_audited_as_user_registered(self, client: TestClient, audit_log: AuditLog) -> None:
        user_id = register(client).json()["user_id"]

        event = audit_log.assert_recorded("user.registered", actor=user_id, target=user_id)
        assert event.target_type == "user"
        assert event.detail["username"] == "alice"


@pytest.mark.usefixtures("open_registration")
class TestRegisteringATakenName:
    @pytest.mark.parametrize(
        "username",
        ["alice", "ALICE", "Alice", "\uff41\uff4c\uff49\uff43\uff45"],
        ids=["same", "upper-case", "title-case", "full-width"],
    )
    def test_a_taken_username_is_409(
        self,
        username: str,
        client: TestClient,
        user_factory: UserFactory,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        user_factory(username="alice", email="first@example.com")

        response = register(client, username=username, email="second@example.com")

        assert response.status_code == 409
        assert db.count(User) == 1
        assert audit_log.events("user.registered") == []

    @pytest.mark.parametrize(
        "email", ["taken@example.com", "TAKEN@Example.com"], ids=["same", "other-case"]
    )
    def test_a_taken_email_is_409(
        self, email: str, client: TestClient, user_factory: UserFactory, db: SyncDB
    ) -> None:
        user_factory(username="first", email="taken@example.com")

        response = register(client, email=email)

        assert response.status_code == 409
        assert db.count(User) == 1


@pytest.mark.usefixtures("open_registration")
class TestRegisteringWithAWeakPassword:
    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("short1", "at least 8"),
            ("iloveyou", "common"),
            ("FootBall", "common"),
            ("QUILLFEATHER42", "username"),
            ("x" * 129, "at most 128"),
        ],
        ids=["too-short", "common", "common-any-case", "the-username", "too-long"],
    )
    def test_is_422_saying_why_and_creates_nobody(
        self, password: str, reason: str, client: TestClient, db: SyncDB, audit_log: AuditLog
    ) -> None:
        response = register(client, username="quillfeather42", password=password)

        assert response.status_code == 422
        assert reason in str(response.json()["detail"]).lower()
        assert db.count(User) == 0
        assert audit_log.events("user.registered") == []


@pytest.mark.usefixtures("open_registration")
class TestRegistrationRequests:
    @pytest.mark.parametrize(
        "extra",
        [{"roles": ["admin"]}, {"is_active": False}, {"user_id": 1}, {"permissions": ["x:y"]}],
        ids=["roles", "is_active", "user_id", "permissions"],
    )
    def test_extra_fields_are_422_and_create_nobody(
        self, extra: dict[str, Any], client: TestClient, db: SyncDB
    ) -> None:
        response = register(client, **extra)

        assert response.status_code == 422
        assert db.count(User) == 0

    @pytest.mark.parametrize(
        "changes",
        [
            {"username": "has space"},
            {"username": ""},
            {"username": "x" * 65},
            {"email": "not-an-email"},
            {"password": None},
        ],
        ids=["username-space", "username-empty", "username-too-long", "bad-email", "no-pw"],
    )
    def test_invalid_fields_are_refused_and_create_nobody(
        self, changes: dict[str, Any], client: TestClient, db: SyncDB
    ) -> None:
        response = register(client, **changes)

        assert response.status_code in {400, 422}
        assert db.count(User) == 0


@pytest.mark.usefixtures("open_registration")
class TestSignUpsAreThrottledPerClient:
    """A 409 tells whether a username or email is taken: answers are rationed per client."""

    def test_past_the_limit_every_attempt_is_429_with_retry_after(
        self, client: TestClient, settings: SettingsOverride, clock: Clock, db: SyncDB
    ) -> None:
        settings.set(registrations_per_client=3, registration_window=3600)
        assert register(client).status_code == 201
        assert register(client).status_code == 409  # taken: still an answer, still counted
        assert register(client, username="bob", email="bob@example.com").status_code == 201

        refused = register(client, username="carol", email="carol@example.com")

        assert refused.status_code == 429
        assert 3500 < int(refused.headers["Retry-After"]) <= 3601
        assert db.count(User) == 2
        clock.advance(seconds=3601)
        assert register(client, username="carol", email="carol@example.com").status_code == 201
