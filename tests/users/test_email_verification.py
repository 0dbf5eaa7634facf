"""Email verification: a link on sign-up, on a change of address (applied only once the new
address is proven, the old one told) and on request; ``SESSIONARY_REQUIRE_VERIFIED_EMAIL``
(docs/security.md "Account recovery")."""

from __future__ import annotations

import httpx2
import pytest
from fastapi.testclient import TestClient

from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    Mailbox,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User

NEW_PASSWORD = "a-brand-new-passphrase"
BAD_TOKEN = {"detail": "Invalid or expired token"}
ACCEPTED = {"message": "If the address belongs to an account, a mail is on its way."}


def verify(client: TestClient, token: str) -> httpx2.Response:
    return client.post("/auth/verify-email", json={"token": token})


def resend(client: TestClient, email: str) -> httpx2.Response:
    return client.post("/auth/verify-email/resend", json={"email": email})


def stored(db: SyncDB, user_id: int) -> User:
    row = db.get(User, user_id)
    assert row is not None
    return row


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    """Signed up, address not proven yet."""
    created: User = user_factory(username="alice", email="alice@example.com", email_verified=False)
    return created


class TestSigningUp:
    @pytest.fixture(autouse=True)
    def open_registration(self, settings: SettingsOverride) -> None:
        settings.allow_registration = True

    def register(self, client: TestClient) -> httpx2.Response:
        return client.post(
            "/auth/register",
            json={"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD},
        )

    def test_mails_a_link_and_the_account_starts_unverified(
        self, client: TestClient, mailbox: Mailbox
    ) -> None:
        response = self.register(client)

        assert response.status_code == 201
        assert response.json()["email_verified"] is False
        message = mailbox.last(to="dora@example.com")
        assert message["Subject"] == "Confirm your email address"
        assert mailbox.link(message).startswith("http://localhost:8000/verify-email?token=")

    def test_opening_the_link_proves_the_address(
        self, client: TestClient, mailbox: Mailbox, db: SyncDB, clock: Clock, audit_log: AuditLog
    ) -> None:
        user_id = self.register(client).json()["user_id"]

        assert verify(client, mailbox.token()).status_code == 204

        assert stored(db, user_id).email_verified_at == clock.now()
        audit_log.assert_recorded("email.verified", actor=user_id, target=user_id)
        login = client.post("/auth/login", json={"username": "dora", "password": NEW_PASSWORD})
        assert login.status_code == 200
        assert client.get("/users/me").json()["email_verified"] is True


class TestALinkThatNoLongerWorks:
    @pytest.fixture
    def token(self, client: TestClient, alice: User, mailbox: Mailbox) -> str:
        assert resend(client, "alice@example.com").status_code == 202
        return mailbox.token()

    def test_used(self, client: TestClient, token: str) -> None:
        assert verify(client, token).status_code == 204

        response = verify(client, token)
        assert (response.status_code, response.json()) == (400, BAD_TOKEN)

    def test_expired_after_a_day(
        self, client: TestClient, token: str, clock: Clock, db: SyncDB, alice: User
    ) -> None:
        clock.advance(hours=24)

        response = verify(client, token)
        assert (response.status_code, response.json()) == (400, BAD_TOKEN)
        assert stored(db, alice.id).email_verified_at is None

    @pytest.mark.parametrize("token", ["x" * 43, "nonsense"])
    def test_unknown(self, client: TestClient, token: str) -> None:
        response = verify(client, token)
        assert (response.status_code, response.json()) == (400, BAD_TOKEN)


class TestResending:
    def test_an_unverified_address_gets_a_new_link_and_the_old_one_stops(
        self, client: TestClient, alice: User, mailbox: Mailbox
    ) -> None:
        resend(client, "alice@example.com")
        first = mailbox.token()
        resend(client, "alice@example.com")

        assert verify(client, first).status_code == 400
        assert verify(client, mailbox.token()).status_code == 204

    @pytest.mark.parametrize("email", ["nobody@example.com", "vera@example.com"])
    def test_anyone_else_gets_the_same_answer_and_no_mail(
        self,
        client: TestClient,
        alice: User,
        user_factory: UserFactory,
        mailbox: Mailbox,
        email: str,
    ) -> None:
        user_factory(username="vera", email="vera@example.com")  # already verified

        answers = [resend(client, "alice@example.com"), resend(client, email)]

        assert [(r.status_code, r.json()) for r in answers] == [(202, ACCEPTED)] * 2
        assert [m["To"] for m in mailbox.messages] == ["alice@example.com"]

    def test_is_throttled_per_address(self, client: TestClient, alice: User) -> None:
        answers = [resend(client, "alice@example.com").status_code for _ in range(6)]

        assert answers == [202] * 5 + [429]


class TestChangingMyAddress:
    @pytest.fixture
    def browser(self, login_as: LoginAs, user_factory: UserFactory) -> TestClient:
        bob = user_factory(username="bob", email="bob@example.com")
        return login_as(bob)

    def test_the_new_address_waits_for_its_link(
        self, browser: TestClient, mailbox: Mailbox
    ) -> None:
        response = browser.patch("/users/me", json={"email": "bob@new.example"})

        assert response.status_code == 200
        body = response.json()
        assert (body["email"], body["pending_email"]) == ("bob@example.com", "bob@new.example")
        assert body["email_verified"] is True
        message = mailbox.last(to="bob@new.example")
        assert message["Subject"] == "Confirm your new email address"
        assert browser.get("/users/me").json()["email"] == "bob@example.com"

    def test_opening_the_link_applies_it_and_tells_the_old_address(
        self, browser: TestClient, client: TestClient, mailbox: Mailbox, audit_log: AuditLog
    ) -> None:
        browser.patch("/users/me", json={"email": "bob@new.example"})

        assert verify(client, mailbox.token(to="bob@new.example")).status_code == 204

        me = browser.get("/users/me").json()
        assert (me["email"], me["email_verified"]) == ("bob@new.example", True)
        notice = mailbox.last(to="bob@example.com")
        assert notice["Subject"] == "Your email address was changed"
        assert "bob@new.example" in mailbox.text(notice)
        assert audit_log.events("email.change_requested")
        assert audit_log.events("user.updated")[0].detail["fields"] == ["email"]

    def test_an_address_taken_meanwhile_is_409_and_nothing_changes(
        self,
        browser: TestClient,
        client: TestClient,
        mailbox: Mailbox,
        user_factory: UserFactory,
    ) -> None:
        browser.patch("/users/me", json={"email": "bob@new.example"})
        user_factory(username="eve", email="BOB@new.example")

        assert verify(client, mailbox.token(to="bob@new.example")).status_code == 409
        assert browser.get("/users/me").json()["email"] == "bob@example.com"

    def test_an_address_already_taken_is_409_with_no_mail(
        self, browser: TestClient, mailbox: Mailbox, user_factory: UserFactory
    ) -> None:
        user_factory(username="eve", email="eve@example.com")

        assert browser.patch("/users/me", json={"email": "Eve@example.com"}).status_code == 409
        assert mailbox.messages == []

    def test_a_new_spelling_of_the_same_address_applies_at_once(
        self, browser: TestClient, mailbox: Mailbox
    ) -> None:
        response = browser.patch("/users/me", json={"email": "Bob@Example.com"})

        body = response.json()
        assert (body["email"], body["pending_email"], body["email_verified"]) == (
            "Bob@Example.com",
            None,
            True,
        )
        assert mailbox.messages == []


class TestRequiringAVerifiedAddress:
    @pytest.fixture(autouse=True)
    def required(self, settings: SettingsOverride) -> None:
        settings.require_verified_email = True

    def login(self, client: TestClient, password: str = DEFAULT_PASSWORD) -> httpx2.Response:
        return client.post("/auth/login", json={"username": "alice", "password": password})

    def test_the_right_password_of_an_unverified_account_is_403(
        self, client: TestClient, alice: User
    ) -> None:
        response = self.login(client)

        assert (response.status_code, response.json()) == (
            403,
            {"detail": "Email address not verified"},
        )
        assert "set-cookie" not in response.headers

    def test_a_wrong_password_is_the_usual_401(self, client: TestClient, alice: User) -> None:
        response = self.login(client, "wrong-password")

        assert (response.status_code, response.json()) == (401, {"detail": "Invalid credentials"})

    def test_once_verified_the_login_works(
        self, client: TestClient, alice: User, mailbox: Mailbox
    ) -> None:
        resend(client, "alice@example.com")
        verify(client, mailbox.token())

        assert self.login(client).status_code == 200

    def test_off_by_default(
        self, client: TestClient, alice: User, settings: SettingsOverride
    ) -> None:
        settings.require_verified_email = False

        assert self.login(client).status_code == 200


class TestAdministrators:
    def test_may_vouch_for_a_new_users_address(self, login_as: LoginAs, mailbox: Mailbox) -> None:
        admin = login_as("admin")
        body = {"username": "newbie", "email": "newbie@example.com", "password": NEW_PASSWORD}

        vouched = admin.post("/users", json={**body, "email_verified": True})
        unvouched = admin.post(
            "/users", json={**body, "username": "other", "email": "other@example.com"}
        )

        assert vouched.json()["email_verified"] is True
        assert unvouched.json()["email_verified"] is False
        assert [m["To"] for m in mailbox.messages] == ["other@example.com"]

    def test_changing_an_address_tells_the_old_one_and_asks_the_new_one(
        self, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        admin = login_as("admin")

        response = admin.patch(f"/users/{alice.id}", json={"email": "alice@new.example"})

        assert (response.json()["email"], response.json()["email_verified"]) == (
            "alice@new.example",
            False,
        )
        assert mailbox.last(to="alice@example.com")["Subject"] == "Your email address was changed"
        assert mailbox.last(to="alice@new.example")["Subject"] == "Confirm your email address"

    def test_may_mark_an_address_verified(
        self, login_as: LoginAs, alice: User, db: SyncDB, clock: Clock, audit_log: AuditLog
    ) -> None:
        admin = login_as("admin")

        response = admin.patch(f"/users/{alice.id}", json={"email_verified": True})

        assert response.json()["email_verified"] is True
        assert stored(db, alice.id).email_verified_at == clock.now()
        assert audit_log.events("user.updated")[0].detail["fields"] == ["email_verified"]
