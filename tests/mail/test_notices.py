"""Security notices (ASVS V2.2.3): a changed password, a changed address, a new API key and a
login from a new browser are each mailed to the user, and each can be switched off
(docs/security.md "Account recovery")."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sessionary.testing import (
    DEFAULT_PASSWORD,
    LoginAs,
    Mailbox,
    SettingsOverride,
    UserFactory,
)
from sessionary.users.models import User

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def alice(user_factory: UserFactory) -> User:
    created: User = user_factory(username="alice", email="alice@example.com")
    return created


def change_password(browser: TestClient) -> None:
    response = browser.post(
        "/users/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204


def create_key(browser: TestClient) -> None:
    response = browser.post("/api-keys", json={"name": "ci-deploy", "scopes": ["notes:read"]})
    assert response.status_code == 201


def login(client: TestClient) -> None:
    response = client.post(
        "/auth/login",
        json={"username": "alice", "password": DEFAULT_PASSWORD},
        headers={"User-Agent": "Firefox on a laptop"},
    )
    assert response.status_code == 200


class TestPasswordChanged:
    def test_my_own_change_is_mailed_to_me(
        self, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        change_password(login_as(alice))

        notice = mailbox.last(to="alice@example.com")
        assert notice["Subject"] == "Your password was changed"
        assert "from your account settings" in mailbox.text(notice)


class TestApiKeyCreated:
    def test_names_the_key_and_its_scopes(
        self, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        create_key(login_as(alice))

        notice = mailbox.last(to="alice@example.com")
        assert notice["Subject"] == "A new API key was created"
        assert '"ci-deploy"' in mailbox.text(notice)
        assert "notes:read" in mailbox.text(notice)
        assert "sk_" not in mailbox.text(notice) + mailbox.html(notice)


class TestNewDevice:
    def test_a_second_browser_is_told_the_first_is_not(
        self, alice: User, mailbox: Mailbox, login_as: LoginAs
    ) -> None:
        first, second = login_as(alice, via="login"), login_as(alice, via="login")
        assert first.cookies.get("session_device") != second.cookies.get("session_device")

        assert [m["Subject"] for m in mailbox.messages] == ["New sign-in to your account"]

    def test_a_known_browser_is_not_told(
        self, client: TestClient, alice: User, mailbox: Mailbox, login_as: LoginAs
    ) -> None:
        login_as(alice, via="login")
        login(client)
        mailbox.clear()

        login(client)  # the same browser, its device cookie kept

        assert mailbox.messages == []

    def test_says_from_where(
        self, client: TestClient, alice: User, mailbox: Mailbox, login_as: LoginAs
    ) -> None:
        login_as(alice, via="login")

        login(client)

        text = mailbox.text(mailbox.last(to="alice@example.com"))
        assert "Firefox on a laptop" in text


class TestEachCanBeSwitchedOff:
    @pytest.mark.parametrize(
        "setting", ["notify_password_changed", "notify_api_key_created", "notify_new_device"]
    )
    def test_off_sends_nothing(
        self,
        settings: SettingsOverride,
        login_as: LoginAs,
        client: TestClient,
        alice: User,
        mailbox: Mailbox,
        setting: str,
    ) -> None:
        browser = login_as(alice, via="login")
        mailbox.clear()
        settings.set(**{setting: False})

        if setting == "notify_password_changed":
            change_password(browser)
        elif setting == "notify_api_key_created":
            create_key(browser)
        else:
            login(client)

        assert mailbox.messages == []

    def test_email_changed_off(
        self, settings: SettingsOverride, login_as: LoginAs, alice: User, mailbox: Mailbox
    ) -> None:
        settings.notify_email_changed = False
        admin = login_as("admin")

        admin.patch(f"/users/{alice.id}", json={"email": "alice@new.example"})

        assert [m["To"] for m in mailbox.messages] == ["alice@new.example"]  # the link only
