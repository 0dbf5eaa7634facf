"""The mail settings: SESSIONARY_SMTP_URL read and checked (its password kept out of every
repr and error), the backend's needs, the public URL and the sender."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from sessionary.cli import app as cli
from sessionary.config import MailBackend, Settings, SMTPSecurity, parse_smtp_url

pytestmark = [pytest.mark.no_db, pytest.mark.usefixtures("no_sessionary_env")]

SECRET = "hunter2-secret"


class TestDefaults:
    def test_console_backend_and_a_local_public_url(self) -> None:
        settings = Settings()

        assert settings.mail_backend is MailBackend.CONSOLE
        assert settings.smtp_url is None
        assert settings.smtp_server is None
        assert settings.smtp_timeout == 10
        assert settings.public_url == "http://localhost:8000"
        assert settings.mail_templates == []

    def test_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSIONARY_MAIL_BACKEND", "smtp")
        monkeypatch.setenv("SESSIONARY_SMTP_URL", f"smtp://bob:{SECRET}@mail.example.com:587")
        monkeypatch.setenv("SESSIONARY_MAIL_FROM", "App <no-reply@example.com>")
        monkeypatch.setenv("SESSIONARY_MAIL_TEMPLATES", "one, pkg:two")
        monkeypatch.setenv("SESSIONARY_PUBLIC_URL", "https://app.example.com/")

        settings = Settings()

        assert settings.mail_backend is MailBackend.SMTP
        server = settings.smtp_server
        assert server is not None
        assert (server.host, server.port, server.username) == ("mail.example.com", 587, "bob")
        assert server.security is SMTPSecurity.OPPORTUNISTIC
        assert server.password is not None
        assert server.password.get_secret_value() == SECRET
        assert settings.mail_templates == ["one", "pkg:two"]
        assert settings.public_url == "https://app.example.com"


class TestSMTPURL:
    @pytest.mark.parametrize(
        ("url", "host", "port", "security"),
        [
            ("smtp://mail.example.com", "mail.example.com", 25, SMTPSecurity.OPPORTUNISTIC),
            ("smtp://h:587?starttls=true", "h", 587, SMTPSecurity.STARTTLS),
            ("smtp://h:2525?starttls=false", "h", 2525, SMTPSecurity.NONE),
            ("smtps://h", "h", 465, SMTPSecurity.TLS),
            ("smtp://[::1]:25", "::1", 25, SMTPSecurity.OPPORTUNISTIC),
        ],
    )
    def test_forms(self, url: str, host: str, port: int, security: SMTPSecurity) -> None:
        server = parse_smtp_url(url)

        assert (server.host, server.port, server.security) == (host, port, security)
        assert server.username is None
        assert server.password is None

    def test_user_and_password_are_percent_decoded(self) -> None:
        server = parse_smtp_url("smtp://me%40example.com:p%40ss%3Aword@h")

        assert server.username == "me@example.com"
        assert server.password is not None
        assert server.password.get_secret_value() == "p@ss:word"

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("http://h", "smtp:// or smtps://"),
            ("smtp://", "no host"),
            ("smtp://h:99999", "port"),
            ("smtp://h:abc", "port"),
            ("smtp://h?starttls=maybe", "true or false"),
            ("smtps://h?starttls=true", "smtps://"),
            ("smtp://h?tls=1", "unknown option"),
        ],
    )
    def test_a_bad_url_is_a_clear_error_without_the_password(self, url: str, reason: str) -> None:
        with_secret = url.replace("://", f"://u:{SECRET}@", 1)

        with pytest.raises(ValidationError, match=reason) as error:
            Settings(smtp_url=with_secret)

        assert SECRET not in str(error.value)
        assert error.value.errors()[0]["loc"] == ("smtp_url",)

    def test_the_password_is_in_no_repr(self) -> None:
        settings = Settings(smtp_url=f"smtp://bob:{SECRET}@h")

        assert SECRET not in repr(settings)
        assert SECRET not in repr(settings.smtp_server)
        assert SECRET not in str(settings.model_dump())

    def test_an_empty_value_is_unset(self) -> None:
        assert Settings(smtp_url="").smtp_url is None


class TestTheSMTPBackendsNeeds:
    def test_a_url(self) -> None:
        with pytest.raises(ValidationError, match="needs SESSIONARY_SMTP_URL"):
            Settings(mail_backend="smtp", mail_from="a@example.com")

    def test_a_sender(self) -> None:
        with pytest.raises(ValidationError, match="needs SESSIONARY_MAIL_FROM"):
            Settings(mail_backend="smtp", smtp_url="smtp://h")

    def test_the_command_line_says_so_in_one_line(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SESSIONARY_MAIL_BACKEND", "smtp")

        result = CliRunner().invoke(cli, ["mail", "test", "a@example.com"])

        assert result.exit_code == 1
        assert result.stderr.strip() == (
            "error: invalid settings: Value error, "
            "SESSIONARY_MAIL_BACKEND=smtp needs SESSIONARY_SMTP_URL"
        )


class TestOtherMailSettings:
    @pytest.mark.parametrize(
        "value", ["app.example.com", "ftp://h", "https://", "https://h/?x=1", "https://h/#top"]
    )
    def test_a_bad_public_url(self, value: str) -> None:
        with pytest.raises(ValidationError, match="public_url"):
            Settings(public_url=value)

    def test_the_public_url_keeps_its_path(self) -> None:
        assert Settings(public_url="https://h.example/app/").public_url == "https://h.example/app"

    @pytest.mark.parametrize(
        "value", ["nobody", "App <no-reply@example.com>\r\nBcc: all@example.com", ""]
    )
    def test_a_bad_sender(self, value: str) -> None:
        with pytest.raises(ValidationError, match="mail_from"):
            Settings(mail_from=value)

    @pytest.mark.parametrize("value", ["0", "-1", "301"])
    def test_a_bad_timeout(self, value: str) -> None:
        with pytest.raises(ValidationError, match="smtp_timeout"):
            Settings(smtp_timeout=value)
