"""PATCH /users/me: a freshly re-authenticated user changes their own email, and nothing else
(docs/security.md "Re-authentication", "Client input never becomes a 5xx")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sessionary.roles.models import UserRole
from sessionary.testing import AuditLog, LoginAs, Mailbox, SyncDB, UserFactory
from sessionary.users.models import User

USER_ME_FIELDS = {
    "user_id",
    "username",
    "email",
    "email_verified",
    "pending_email",
    "roles",
    "permissions",
    "is_active",
    "created_at",
}
MEMBER_PERMISSIONS = ["api_keys:write", "notes:read", "notes:write"]


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    created: User = user_factory(username="alice", email="alice@example.com")
    return created


@pytest.fixture
def browser(login_as: LoginAs, alice: User) -> TestClient:
    """Alice, freshly authenticated."""
    return login_as(alice)


def update_me(browser: TestClient, body: dict[str, Any]) -> httpx2.Response:
    return browser.patch("/users/me", json=body)


def stored(db: SyncDB, user: User) -> User:
    row = db.get(User, user.id)
    assert row is not None
    return row


def roles_of(db: SyncDB, user: User) -> list[str]:
    rows = db.execute(select(UserRole.role_name).where(UserRole.user_id == user.id))
    return sorted(row.role_name for row in rows)


def assert_unchanged(db: SyncDB, alice: User) -> None:
    row = stored(db, alice)
    assert row.email == "alice@example.com"
    assert row.username == "alice"
    assert row.is_active is True
    assert roles_of(db, alice) == ["member"]


class TestChangingMyEmail:
    """A new address waits for the link mailed to it (tests/users/test_email_verification.py
    follows it through)."""

    def test_answers_200_with_me_and_the_pending_address(
        self, browser: TestClient, alice: User
    ) -> None:
        response = update_me(browser, {"email": "alice@new.example"})

        assert response.status_code == 200
        body = response.json()
        assert set(body) == USER_ME_FIELDS
        assert body["user_id"] == alice.id
        assert body["username"] == "alice"
        assert body["email"] == "alice@example.com"
        assert body["pending_email"] == "alice@new.example"
        assert body["email_verified"] is True
        assert body["roles"] == ["member"]
        assert body["permissions"] == MEMBER_PERMISSIONS
        assert body["is_active"] is True
        assert datetime.fromisoformat(body["created_at"]).utcoffset() == timedelta(0)

    def test_the_stored_email_stays_until_the_link_is_opened(
        self, browser: TestClient, alice: User, db: SyncDB, mailbox: Mailbox
    ) -> None:
        update_me(browser, {"email": "alice@new.example"})

        assert stored(db, alice).email == "alice@example.com"
        assert browser.get("/protected_data/").json()["email"] == "alice@example.com"
        assert mailbox.last()["To"] == "alice@new.example"

    def test_my_own_email_in_another_case_is_not_a_conflict(
        self, browser: TestClient, alice: User, db: SyncDB
    ) -> None:
        response = update_me(browser, {"email": "Alice@Example.COM"})

        assert response.status_code == 200
        assert stored(db, alice).email == "Alice@Example.COM"

    def test_is_audited_as_email_change_requested(
        self, browser: TestClient, alice: User, audit_log: AuditLog
    ) -> None:
        update_me(browser, {"email": "alice@new.example"})

        event = audit_log.assert_recorded("email.change_requested", actor=alice, target=alice)
        assert event.target_type == "user"
        assert audit_log.events("user.updated") == []

    def test_anonymous_is_401(self, client: TestClient) -> None:
        response = update_me(client, {"email": "someone@example.com"})

        assert response.status_code == 401


class TestAnEmailTakenByAnotherUser:
    @pytest.mark.parametrize(
        "email", ["bob@example.com", "BOB@Example.com"], ids=["same-case", "other-case"]
    )
    def test_is_409_and_changes_nothing(
        self,
        email: str,
        browser: TestClient,
        alice: User,
        user_factory: UserFactory,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        bob: User = user_factory(username="bob", email="bob@example.com")

        response = update_me(browser, {"email": email})

        assert response.status_code == 409
        assert response.json() == {"detail": "Email already in use"}
        assert_unchanged(db, alice)
        assert stored(db, bob).email == "bob@example.com"
        assert audit_log.events("user.updated") == []


class TestFieldsThatAreNotMineToSet:
    @pytest.mark.parametrize(
        "body",
        [
            {"email": "alice@new.example", "roles": ["admin"]},
            {"email": "alice@new.example", "is_active": False},
            {"email": "alice@new.example", "username": "mallory"},
            {"roles": ["admin"]},
            {"is_active": False},
            {"username": "mallory"},
            {"email": "alice@new.example", "permissions": ["users:write"]},
        ],
        ids=[
            "email+roles",
            "email+is_active",
            "email+username",
            "roles",
            "is_active",
            "username",
            "email+permissions",
        ],
    )
    def test_are_422_and_nothing_is_applied(
        self,
        body: dict[str, Any],
        browser: TestClient,
        alice: User,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        response = update_me(browser, body)

        assert response.status_code == 422
        assert_unchanged(db, alice)
        assert browser.get("/users/me").json()["roles"] == ["member"]
        assert audit_log.events("user.updated") == []


class TestAMalformedEmail:
    @pytest.mark.parametrize(
        "email",
        [
            "not-an-email",
            "a@b@example.com",
            "two words@example.com",
            "@example.com",
            "alice@",
            "",
            "  ",
            "x" * 250 + "@example.com",
            None,
        ],
        ids=[
            "no-at",
            "two-ats",
            "space",
            "no-local-part",
            "no-domain",
            "empty",
            "blank",
            "over-254",
            "null",
        ],
    )
    def test_is_refused_and_changes_nothing(
        self,
        email: str | None,
        browser: TestClient,
        alice: User,
        db: SyncDB,
        audit_log: AuditLog,
    ) -> None:
        response = update_me(browser, {"email": email})

        assert 400 <= response.status_code < 500
        assert response.status_code not in {401, 403, 404}
        assert_unchanged(db, alice)
        assert audit_log.events("user.updated") == []


class TestAnAddressTheOldShapeCheckLetThrough:
    """Before email-validator, "one @, something on each side, no spaces" let these in."""

    @pytest.mark.parametrize(
        "email",
        [
            "alice@localhost",
            "alice..smith@example.com",
            ".alice@example.com",
            "alice.@example.com",
            "alice@-example.com",
            "alice@exa_mple.com",
            "alice@example.com.",
            "alice@exa\u200bmple.com",
            "alice@[127.0.0.1]",
            "alice@example.test",
        ],
        ids=[
            "single-label-domain",
            "two-dots",
            "leading-dot",
            "trailing-dot-local",
            "hyphen-first-label",
            "underscore-in-domain",
            "trailing-dot-domain",
            "zero-width-space",
            "address-literal",
            "special-use-domain",
        ],
    )
    def test_is_a_422_naming_the_email_field(
        self, email: str, browser: TestClient, alice: User, db: SyncDB
    ) -> None:
        response = update_me(browser, {"email": email})

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "email"]
        assert error["msg"].startswith("Email must look like name@example.com: ")
        assert_unchanged(db, alice)

    @pytest.mark.parametrize(
        "email",
        ["o'brien+tag@example.com", "zoë@exämple.de", "a@b.co", "x" * 64 + "@example.com"],
        ids=["apostrophe-plus", "internationalised", "short", "64-character-local-part"],
    )
    def test_a_real_address_is_accepted_as_given(
        self, email: str, browser: TestClient, alice: User, mailbox: Mailbox
    ) -> None:
        response = update_me(browser, {"email": email})

        assert response.status_code == 200
        assert response.json()["pending_email"] == email
        assert mailbox.last()["To"] == email
