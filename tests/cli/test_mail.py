"""``sessionary mail test ADDRESS``: the configured backend, one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sessionary.cli import app
from sessionary.mail.message import text_of
from tests.mail.servers import smtp_server_in_thread

from .checks import assert_one_line_error
from .scratch import ScratchDatabase

# The command sets up logging (the console backend's message is a log line).
pytestmark = [
    pytest.mark.no_db,
    pytest.mark.usefixtures("no_sessionary_env", "restored_logging"),
]


def use_smtp(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SESSIONARY_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("SESSIONARY_SMTP_URL", url)
    monkeypatch.setenv("SESSIONARY_MAIL_FROM", "Ops <ops@example.com>")
    monkeypatch.setenv("SESSIONARY_SMTP_TIMEOUT", "0.5")


class TestMailTest:
    def test_the_console_backend_logs_it(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["mail", "test", "bob@example.com"])

        assert result.exit_code == 0, result.output
        assert result.stdout == "test message to bob@example.com: logged it (console backend)\n"
        [logged] = [line for line in result.stderr.splitlines() if "mail.console" in line]
        assert "to=bob@example.com" in logged
        assert "subject='Sessionary test message'" in logged
        assert "reaches bob@example.com" in logged

    def test_sends_through_the_smtp_server(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with smtp_server_in_thread() as server:
            use_smtp(monkeypatch, server.url(query="starttls=false"))

            result = runner.invoke(app, ["mail", "test", "bob@example.com"])

        assert result.exit_code == 0, result.output
        assert "sent it through SESSIONARY_SMTP_URL" in result.stdout
        [received] = server.inbox.received
        assert received.sender == "ops@example.com"
        assert received.recipients == ["bob@example.com"]
        message = received.message()
        assert message["Subject"] == "Sessionary test message"
        assert "reaches bob@example.com" in text_of(message)

    def test_a_bad_address_is_one_line(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["mail", "test", "bob@localhost"])

        assert_one_line_error(result, "Email must look like name@example.com")

    def test_an_unreachable_server_is_one_line(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with smtp_server_in_thread() as server:
            port = server.port  # closed once the block ends: nothing listens there now
        use_smtp(monkeypatch, f"smtp://ops:hunter2-secret@127.0.0.1:{port}")

        result = runner.invoke(app, ["mail", "test", "bob@example.com"])

        line = assert_one_line_error(result, "not sent", f"127.0.0.1:{port}")
        assert "hunter2-secret" not in line

    def test_a_refusing_server_is_one_line(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with smtp_server_in_thread() as server:
            server.inbox.refusals.append("550 5.7.1 Relaying denied")
            use_smtp(monkeypatch, server.url())

            result = runner.invoke(app, ["mail", "test", "bob@example.com"])

        assert_one_line_error(result, "not sent", "550 5.7.1 Relaying denied")

    def test_a_bad_smtp_url_is_one_line_without_its_password(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        use_smtp(monkeypatch, "smtp://ops:hunter2-secret@mail.example.com:nope")

        result = runner.invoke(app, ["mail", "test", "bob@example.com"])

        line = assert_one_line_error(result, "SESSIONARY_SMTP_URL", "port")
        assert "hunter2-secret" not in line

    def test_a_missing_template_directory_is_one_line(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SESSIONARY_MAIL_TEMPLATES", "/no/such/dir")

        result = runner.invoke(app, ["mail", "test", "bob@example.com"])

        assert_one_line_error(result, "mail templates", "/no/such/dir")

    def test_a_missing_template_directory_stops_any_command_in_one_line(
        self,
        runner: CliRunner,
        migrated_database: ScratchDatabase,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("SESSIONARY_MAIL_TEMPLATES", "/no/such/dir")

        result = runner.invoke(app, ["sessions", "purge"])

        assert_one_line_error(result, "mail templates", "/no/such/dir")
