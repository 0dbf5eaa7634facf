"""``sessionary users send-reset USERNAME`` and ``users create --verified``: the operator's
doors to account mail, through a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from sessionary.cli import app
from sessionary.mail.message import text_of
from tests.mail.servers import Server, smtp_server_in_thread

from .checks import assert_one_line_error
from .scratch import ScratchDatabase

pytestmark = [
    pytest.mark.no_db,
    pytest.mark.usefixtures("no_sessionary_env", "restored_logging"),
]

PASSWORD = "correct horse battery"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    with smtp_server_in_thread() as server:
        monkeypatch.setenv("SESSIONARY_MAIL_BACKEND", "smtp")
        monkeypatch.setenv("SESSIONARY_SMTP_URL", server.url(query="starttls=false"))
        monkeypatch.setenv("SESSIONARY_MAIL_FROM", "Ops <ops@example.com>")
        monkeypatch.setenv("SESSIONARY_PUBLIC_URL", "https://app.example.com")
        yield server


def create(runner: CliRunner, *options: str) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "alice", "--email", "alice@example.com", "--password-stdin", *options],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output


class TestSendReset:
    def test_mails_a_reset_link_and_says_where(
        self, runner: CliRunner, migrated_database: ScratchDatabase, smtp: Server
    ) -> None:
        create(runner, "--verified")

        result = runner.invoke(app, ["users", "send-reset", "alice"])

        assert result.exit_code == 0, result.output
        assert result.stdout == (
            "mailed a password reset link to alice@example.com (valid 30 min)\n"
        )
        [received] = smtp.inbox.received
        assert received.recipients == ["alice@example.com"]
        message = received.message()
        assert message["Subject"] == "Reset your password"
        assert "https://app.example.com/reset-password?token=" in text_of(message)
        assert "token=" not in result.output
        events = migrated_database.scalar(
            "SELECT count(*) FROM audit_events WHERE type = 'password.reset_requested'"
        )
        assert events == 1

    def test_an_unknown_user_is_one_line(
        self, runner: CliRunner, migrated_database: ScratchDatabase, smtp: Server
    ) -> None:
        result = runner.invoke(app, ["users", "send-reset", "nobody"])

        assert_one_line_error(result, "User not found")
        assert smtp.inbox.received == []

    def test_an_inactive_user_is_one_line(
        self, runner: CliRunner, migrated_database: ScratchDatabase, smtp: Server
    ) -> None:
        create(runner, "--verified")
        assert runner.invoke(app, ["users", "deactivate", "alice"]).exit_code == 0

        result = runner.invoke(app, ["users", "send-reset", "alice"])

        assert_one_line_error(result, "alice is inactive")
        assert smtp.inbox.received == []


class TestCreate:
    def test_without_verified_a_link_is_mailed(
        self, runner: CliRunner, migrated_database: ScratchDatabase, smtp: Server
    ) -> None:
        create(runner)

        [received] = smtp.inbox.received
        assert received.message()["Subject"] == "Confirm your email address"
        verified = migrated_database.scalar(
            "SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL"
        )
        assert verified == 0

    def test_verified_vouches_for_the_address(
        self, runner: CliRunner, migrated_database: ScratchDatabase, smtp: Server
    ) -> None:
        create(runner, "--verified")

        assert smtp.inbox.received == []
        verified = migrated_database.scalar(
            "SELECT count(*) FROM users WHERE email_verified_at IS NOT NULL"
        )
        assert verified == 1


class TestSetPassword:
    def test_the_user_is_told(
        self, runner: CliRunner, migrated_database: ScratchDatabase, smtp: Server
    ) -> None:
        create(runner, "--verified")

        result = runner.invoke(
            app, ["users", "set-password", "alice", "--password-stdin"], input="another long one\n"
        )

        assert result.exit_code == 0, result.output
        [received] = smtp.inbox.received
        message = received.message()
        assert message["Subject"] == "Your password was changed"
        assert "by an operator" in text_of(message)
