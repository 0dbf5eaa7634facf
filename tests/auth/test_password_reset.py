"""Password reset: ``POST /auth/password-reset`` mails a single-use link to an active
account's address and answers every address alike; ``/confirm`` sets the new password and
ends everything the old one opened (docs/security.md "Account recovery")."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from sessionary.auth import password_reset
from sessionary.auth.models import LoginDevice
from sessionary.sessions.models import LoginSession
from sessionary.testing import (
    DEFAULT_PASSWORD,
    AuditLog,
    Clock,
    LoginAs,
    Mailbox,
    QueryCounter,
    SessionaryAsyncClient,
    SettingsOverride,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import AccountToken, User

from .live import live_server

NEW_PASSWORD = "a-brand-new-passphrase"
ACCEPTED = {"message": "If the address belongs to an account, a mail is on its way."}
BAD_TOKEN = {"detail": "Invalid or expired token"}
BURST = 20


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    created: User = user_factory(username="alice", email="alice@example.com")
    return created


def ask(client: TestClient, email: str) -> httpx2.Response:
    return client.post("/auth/password-reset", json={"email": email})


def confirm(client: TestClient, token: str, password: str = NEW_PASSWORD) -> httpx2.Response:
    return client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def burst(base_url: str, path: str, bodies: list[dict[str, str]]) -> list[int]:
    """Every body posted to ``path`` at once, each on its own connection."""
    limits = httpx2.Limits(max_connections=len(bodies))
    async with httpx2.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        responses = await asyncio.gather(*(http.post(path, json=body) for body in bodies))
    return [response.status_code for response in responses]


def login(client: TestClient, username: str, password: str) -> int:
    response = client.post("/auth/login", json={"username": username, "password": password})
    return response.status_code


class TestTheWholeFlow:
    def test_ask_open_the_mail_confirm_and_the_old_sessions_are_dead(
        self, client: TestClient, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        old_browser = login_as(alice)
        ask(client, "alice@example.com")
        confirm(client, mailbox.token(to="alice@example.com"))
        assert old_browser.get("/users/me").status_code == 401
        assert login(client, "alice", NEW_PASSWORD) == 200

    def test_the_old_password_no_longer_works(
        self, client: TestClient, alice: User, mailbox: Mailbox
    ) -> None:
        ask(client, "alice@example.com")

        assert confirm(client, mailbox.token()).status_code == 204
        assert login(client, "alice", DEFAULT_PASSWORD) == 401


class TestTheMail:
    def test_goes_to_the_accounts_address_with_a_link_to_the_reset_page(
        self, client: TestClient, alice: User, mailbox: Mailbox, settings: SettingsOverride
    ) -> None:
        settings.public_url = "https://app.example.com"

        assert ask(client, "ALICE@example.com").status_code == 202

        message = mailbox.last()
        assert message["To"] == "alice@example.com"
        assert message["Subject"] == "Reset your password"
        link = mailbox.link(message)
        assert link.startswith("https://app.example.com/reset-password?token=")
        assert link in mailbox.html(message)
        assert "30 minutes" in mailbox.text(message)

    def test_the_link_path_and_lifetime_are_settings(
        self, client: TestClient, alice: User, mailbox: Mailbox, settings: SettingsOverride
    ) -> None:
        settings.password_reset_path = "/account/new-password"
        settings.password_reset_ttl = 600

        ask(client, "alice@example.com")

        assert "/account/new-password?token=" in mailbox.link()
        assert "10 minutes" in mailbox.text()

    def test_the_token_is_256_bits_and_only_its_hash_is_stored(
        self, client: TestClient, alice: User, mailbox: Mailbox, db: SyncDB
    ) -> None:
        ask(client, "alice@example.com")

        token = mailbox.token()
        assert len(token) == 43  # 32 bytes, URL-safe base64 without padding
        rows = db.execute(select(AccountToken.token_hash, AccountToken.purpose))
        assert [(row.token_hash, row.purpose) for row in rows] == [
            (hashlib.sha256(token.encode()).digest(), "password_reset")
        ]

    def test_asking_is_recorded_without_the_token(
        self, client: TestClient, alice: User, mailbox: Mailbox, audit_log: AuditLog
    ) -> None:
        ask(client, "alice@example.com")

        event = audit_log.assert_recorded("password.reset_requested", target=alice)
        assert event.actor_user_id is None
        assert mailbox.token() not in str(event.detail)


class TestEveryAddressIsAnsweredAlike:
    @pytest.mark.parametrize("email", ["nobody@example.com", "bob@example.com"])
    def test_an_unknown_or_inactive_address_gets_the_same_answer_and_no_mail(
        self,
        client: TestClient,
        alice: User,
        user_factory: UserFactory,
        mailbox: Mailbox,
        email: str,
    ) -> None:
        user_factory(username="bob", email="bob@example.com", is_active=False)

        known, other = ask(client, "alice@example.com"), ask(client, email)

        assert (other.status_code, other.json()) == (known.status_code, known.json())
        assert (known.status_code, known.json()) == (202, ACCEPTED)
        assert [m["To"] for m in mailbox.messages] == ["alice@example.com"]

    def test_the_work_before_the_answer_is_the_same_for_every_address(
        self,
        client: TestClient,
        alice: User,
        user_factory: UserFactory,
        monkeypatch: pytest.MonkeyPatch,
        assert_num_queries: QueryCounter,
    ) -> None:
        user_factory(username="bob", email="bob@example.com", is_active=False)
        jobs: list[tuple[str, Any]] = []

        async def recorded(ctx: object, key: str, origin: object) -> None:
            jobs.append((key, origin))

        monkeypatch.setattr(password_reset, "mail_reset_link_to", recorded)

        for email in ("alice@example.com", "bob@example.com", "nobody@example.com"):
            # Nothing is read before the answer: the lookup is the job's, after it.
            with assert_num_queries(0):
                assert ask(client, email).status_code == 202

        assert [key for key, _ in jobs] == [
            "alice@example.com",
            "bob@example.com",
            "nobody@example.com",
        ]
        assert len({origin for _, origin in jobs}) == 1

    def test_a_malformed_address_is_422(self, client: TestClient, mailbox: Mailbox) -> None:
        response = ask(client, "not-an-address")

        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "email"]
        assert mailbox.messages == []


class TestTheJobAfterTheAnswer:
    def test_a_database_failure_is_logged_and_the_answer_stands(
        self, client: TestClient, alice: User, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def database_down(ctx: object, key: str, origin: object) -> None:
            raise OperationalError("SELECT", {}, Exception("connection refused"))

        monkeypatch.setattr(password_reset, "mail_reset_link_to", database_down)

        with capture_logs() as logs:
            response = ask(client, "alice@example.com")

        assert (response.status_code, response.json()) == (202, ACCEPTED)
        assert mailbox.messages == []
        [failed] = [entry for entry in logs if entry["event"] == "mail_request.failed"]
        assert (failed["purpose"], failed["error"]) == ("reset", "OperationalError")


class TestThrottling:
    def test_an_address_gets_at_most_five_requests_an_hour_known_or_not(
        self, client: TestClient, alice: User, mailbox: Mailbox, clock: Clock
    ) -> None:
        for email in ("alice@example.com", "nobody@example.com"):
            assert [ask(client, email).status_code for _ in range(6)] == [202] * 5 + [429]

        refused = ask(client, "alice@example.com")
        assert int(refused.headers["Retry-After"]) > 0
        assert len(mailbox.to("alice@example.com")) == 5
        clock.advance(hours=1, seconds=1)
        assert ask(client, "alice@example.com").status_code == 202

    def test_a_client_gets_at_most_mail_requests_per_client(
        self, client: TestClient, settings: SettingsOverride
    ) -> None:
        settings.mail_requests_per_client = 3

        answers = [ask(client, f"user{n}@example.com").status_code for n in range(4)]

        assert answers == [202, 202, 202, 429]


class TestConfirming:
    def test_ends_every_session_and_forgets_every_device(
        self,
        client: TestClient,
        login_as: LoginAs,
        alice: User,
        mailbox: Mailbox,
        db: SyncDB,
        clock: Clock,
    ) -> None:
        browsers = [login_as(alice, via="login") for _ in range(2)]
        ask(client, "alice@example.com")

        assert confirm(client, mailbox.token(to="alice@example.com")).status_code == 204

        assert [b.get("/users/me").status_code for b in browsers] == [401, 401]
        live = db.scalar(
            select(LoginSession.id).where(
                LoginSession.user_id == alice.id, LoginSession.revoked_at.is_(None)
            )
        )
        assert live is None
        assert db.count(LoginDevice, LoginDevice.user_id == alice.id) == 0

    def test_is_recorded_and_the_user_is_told(
        self, client: TestClient, alice: User, mailbox: Mailbox, audit_log: AuditLog
    ) -> None:
        ask(client, "alice@example.com")
        confirm(client, mailbox.token())

        event = audit_log.assert_recorded("password.reset", actor=alice, target=alice)
        assert event.detail["sessions_revoked"] == 0
        notice = mailbox.last(to="alice@example.com")
        assert notice["Subject"] == "Your password was changed"
        assert "with a password reset link" in mailbox.text(notice)

    def test_proves_the_address(
        self,
        client: TestClient,
        user_factory: UserFactory,
        mailbox: Mailbox,
        db: SyncDB,
        clock: Clock,
    ) -> None:
        carol = user_factory(username="carol", email_verified=False)
        ask(client, carol.email)
        confirm(client, mailbox.token())

        row = db.get(User, carol.id)
        assert row is not None
        assert row.email_verified_at == clock.now()

    def test_a_weak_password_is_422_and_the_token_still_works(
        self, client: TestClient, alice: User, mailbox: Mailbox
    ) -> None:
        ask(client, "alice@example.com")
        token = mailbox.token()

        weak = confirm(client, token, "qwertyuiop")
        assert weak.status_code == 422
        assert weak.json()["detail"][0]["loc"] == ["body", "new_password"]
        assert login(client, "alice", DEFAULT_PASSWORD) == 200

        assert confirm(client, token).status_code == 204


class TestATokenThatNoLongerWorks:
    """Unknown, used, expired, replaced or cancelled: the same 400 for all."""

    @pytest.fixture
    def token(self, client: TestClient, alice: User, mailbox: Mailbox) -> str:
        ask(client, "alice@example.com")
        return mailbox.token()

    def expect_refused(self, client: TestClient, token: str) -> None:
        response = confirm(client, token)
        assert (response.status_code, response.json()) == (400, BAD_TOKEN)
        assert login(client, "alice", NEW_PASSWORD) == 401

    @pytest.mark.parametrize("token", ["x" * 43, "not a token", "x"])
    def test_unknown(self, client: TestClient, alice: User, token: str) -> None:
        self.expect_refused(client, token)

    def test_used(self, client: TestClient, token: str) -> None:
        assert confirm(client, token, "another-new-passphrase").status_code == 204

        response = confirm(client, token)
        assert (response.status_code, response.json()) == (400, BAD_TOKEN)

    def test_expired_after_30_minutes(self, client: TestClient, token: str, clock: Clock) -> None:
        clock.advance(minutes=30)

        self.expect_refused(client, token)

    def test_still_good_just_before(self, client: TestClient, token: str, clock: Clock) -> None:
        clock.advance(minutes=29, seconds=59)

        assert confirm(client, token).status_code == 204

    def test_replaced_by_a_newer_request(
        self, client: TestClient, token: str, mailbox: Mailbox
    ) -> None:
        ask(client, "alice@example.com")
        assert mailbox.token() != token

        self.expect_refused(client, token)

    def test_cancelled_by_a_password_change(
        self, client: TestClient, login_as: LoginAs, alice: User, token: str
    ) -> None:
        browser = login_as(alice)
        changed = browser.post(
            "/users/me/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": "changed-it-myself"},
        )
        assert changed.status_code == 204

        response = confirm(client, token)
        assert (response.status_code, response.json()) == (400, BAD_TOKEN)

    def test_cancelled_by_deactivation(
        self, client: TestClient, login_as: LoginAs, alice: User, token: str
    ) -> None:
        admin = login_as("admin")
        assert admin.patch(f"/users/{alice.id}", json={"is_active": False}).status_code == 200
        assert admin.patch(f"/users/{alice.id}", json={"is_active": True}).status_code == 200

        self.expect_refused(client, token)

    def test_cancelled_by_an_address_change(
        self, client: TestClient, login_as: LoginAs, alice: User, token: str
    ) -> None:
        admin = login_as("admin")
        moved = admin.patch(f"/users/{alice.id}", json={"email": "alice@elsewhere.example"})
        assert moved.status_code == 200

        self.expect_refused(client, token)

    def test_for_another_purpose(
        self, client: TestClient, user_factory: UserFactory, mailbox: Mailbox, login_as: LoginAs
    ) -> None:
        user_factory(username="alice", email="alice@example.com", email_verified=False)
        assert (
            client.post(
                "/auth/verify-email/resend", json={"email": "alice@example.com"}
            ).status_code
            == 202
        )

        self.expect_refused(client, mailbox.token())


# Real commits on a connection per request, over real HTTP: everything in flight at once.
@pytest.mark.anyio
@pytest.mark.sessionary_db(transaction=True)
class TestBursts:
    async def test_of_confirms_with_one_token_let_exactly_one_through(
        self,
        sessionary_app: FastAPI,
        async_client: SessionaryAsyncClient,
        user_factory: UserFactory,
        mailbox: Mailbox,
    ) -> None:
        await user_factory.acreate(username="alice", email="alice@example.com")
        await async_client.post("/auth/password-reset", json={"email": "alice@example.com"})
        bodies = [
            {"token": mailbox.token(), "new_password": f"new-passphrase-number-{n}"}
            for n in range(BURST)
        ]

        async with live_server(sessionary_app) as base_url:
            statuses = await burst(base_url, "/auth/password-reset/confirm", bodies)

        assert sorted(statuses) == [204] + [400] * (BURST - 1)
        assert len(mailbox.to("alice@example.com")) == 2  # the link, one notice

    async def test_of_requests_for_one_address_mail_at_most_the_limit(
        self, sessionary_app: FastAPI, user_factory: UserFactory, mailbox: Mailbox
    ) -> None:
        await user_factory.acreate(username="alice", email="alice@example.com")
        bodies = [{"email": "alice@example.com"}] * BURST

        async with live_server(sessionary_app) as base_url:
            statuses = await burst(base_url, "/auth/password-reset", bodies)

        assert sorted(statuses) == [202] * 5 + [429] * (BURST - 5)
        assert len(mailbox.to("alice@example.com")) == 5


@pytest.mark.anyio
@pytest.mark.sessionary_db(transaction=True)
class TestTheJobCannotBeTimed:
    """The job runs after the response (a background task): uvicorn serves the client's next
    request on the same keep-alive connection without waiting for it, so not even that
    request can time the lookup and the mail."""

    async def test_the_next_request_on_the_connection_does_not_wait_for_the_job(
        self, sessionary_app: FastAPI, alice: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        release, started = asyncio.Event(), asyncio.Event()
        finished: list[str] = []

        async def slow(ctx: object, key: str, origin: object) -> None:
            started.set()
            await release.wait()
            finished.append(key)

        monkeypatch.setattr(password_reset, "mail_reset_link_to", slow)
        limits = httpx2.Limits(max_connections=1)  # one keep-alive connection for both
        async with (
            live_server(sessionary_app) as base_url,
            httpx2.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http,
        ):
            asked = await http.post("/auth/password-reset", json={"email": "alice@example.com"})
            await started.wait()
            try:
                # Were the connection held until the job ends, this would wait for the release.
                after = await asyncio.wait_for(http.get("/health/live"), timeout=10)
                unfinished_then = not finished
            finally:
                release.set()

        assert (asked.status_code, after.status_code) == (202, 200)
        assert unfinished_then
        assert finished == ["alice@example.com"]
