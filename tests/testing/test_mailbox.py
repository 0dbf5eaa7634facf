"""The ``mailbox`` fixture: what the app mailed during a test, and the sentinel that keeps
mailed tokens in the mail (docs/testing.md "Mail")."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.mail.mailers import ConsoleMailer
from sessionary.runtime import runtime_of
from sessionary.testing import (
    AsyncLoginAs,
    LoginAs,
    Mailbox,
    SessionaryAsyncClient,
    UserFactory,
)
from sessionary.users.models import User

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    created: User = user_factory(username="alice", email="alice@example.com")
    return created


class TestFiveLines:
    """The flow a test author writes: request a reset, open the mail, confirm, old
    sessions are dead."""

    def test_sync(
        self, client: TestClient, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        old = login_as(alice)
        client.post("/auth/password-reset", json={"email": alice.email})
        token = mailbox.token(to=alice.email)
        client.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert old.get("/users/me").status_code == 401

    @pytest.mark.anyio
    async def test_async(
        self,
        async_client: SessionaryAsyncClient,
        async_login_as: AsyncLoginAs,
        user_factory: UserFactory,
        mailbox: Mailbox,
    ) -> None:
        alice = await user_factory.acreate(username="alice")
        old = await async_login_as(alice)
        await async_client.post("/auth/password-reset", json={"email": alice.email})
        body = {"token": mailbox.token(to=alice.email), "new_password": NEW_PASSWORD}
        await async_client.post("/auth/password-reset/confirm", json=body)
        assert (await old.get("/users/me")).status_code == 401


class TestTheMailbox:
    def test_replaces_the_apps_mailer_for_the_test_only(
        self, sessionary_app: FastAPI, mailbox: Mailbox
    ) -> None:
        assert runtime_of(sessionary_app).mail.mailer is mailbox

    def test_is_empty_at_the_start_of_every_test(self, mailbox: Mailbox) -> None:
        assert mailbox.messages == []

    def test_finds_mail_by_recipient_newest_last(
        self, client: TestClient, alice: User, user_factory: UserFactory, mailbox: Mailbox
    ) -> None:
        user_factory(username="bob", email="bob@example.com")
        for email in ("alice@example.com", "bob@example.com", "alice@example.com"):
            client.post("/auth/password-reset", json={"email": email})

        assert len(mailbox.to("ALICE@example.com")) == 2
        assert mailbox.last(to="alice@example.com") is mailbox.messages[2]
        assert mailbox.last() is mailbox.messages[2]
        assert mailbox.token(to="bob@example.com") != mailbox.token(to="alice@example.com")

    def test_says_what_came_when_the_expected_mail_did_not(
        self, client: TestClient, alice: User, mailbox: Mailbox
    ) -> None:
        client.post("/auth/password-reset", json={"email": "alice@example.com"})

        with pytest.raises(AssertionError, match=r"no mail to bob@example\.com; got: 'Reset"):
            mailbox.last(to="bob@example.com")

    def test_a_message_without_a_link_has_no_token(
        self, client: TestClient, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        login_as(alice).post("/api-keys", json={"name": "ci", "scopes": []})

        with pytest.raises(AssertionError, match="expected one link with a token"):
            mailbox.token()

    @pytest.mark.no_db
    def test_without_the_database_it_is_a_usage_error(self, request: pytest.FixtureRequest) -> None:
        with pytest.raises(pytest.UsageError, match=r"remove @pytest\.mark\.no_db"):
            request.getfixturevalue("mailbox")

    def test_a_test_without_the_fixture_still_sends_nothing_out(
        self, sessionary_app: FastAPI
    ) -> None:
        assert not isinstance(runtime_of(sessionary_app).mail.mailer, ConsoleMailer)


LEAKY_APP = """
from fastapi import Request
from sessionary.app import create_app

app = create_app()


@app.post("/echo")
async def echo(request: Request) -> dict[str, object]:
    return {"you_sent": await request.json()}
"""


@pytest.mark.no_db
class TestTheSentinelKnowsMailedTokens:
    def test_a_mailed_token_in_a_response_fails_the_test(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(leaky=LEAKY_APP)
        pytester.makepyfile(
            test_leak="""
            def test_echo(client, user_factory, mailbox):
                user_factory(username="alice", email="alice@example.com")
                client.post("/auth/password-reset", json={"email": "alice@example.com"})
                assert client.post("/echo", json={"t": mailbox.token()}).status_code == 200
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=leaky:app", "-p", "no:cacheprovider"
        )

        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            ["*secret leak: a mailed token appeared in the response to POST /echo*"]
        )

    def test_in_the_mailbox_it_is_no_leak(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(leaky=LEAKY_APP)
        pytester.makepyfile(
            test_fine="""
            def test_reset(client, user_factory, mailbox):
                user_factory(username="alice", email="alice@example.com")
                client.post("/auth/password-reset", json={"email": "alice@example.com"})
                body = {"token": mailbox.token(), "new_password": "a-brand-new-passphrase"}
                assert client.post("/auth/password-reset/confirm", json=body).status_code == 204
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=leaky:app", "-p", "no:cacheprovider"
        )

        result.assert_outcomes(passed=1)
