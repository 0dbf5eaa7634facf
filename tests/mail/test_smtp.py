"""The smtp backend against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import time
from email.message import EmailMessage

import pytest
from structlog.testing import capture_logs

from sessionary.config import Settings, parse_smtp_url
from sessionary.mail.mailers import DeliveryFailed, MemoryMailer
from sessionary.mail.message import html_of, link, text_of
from sessionary.mail.service import Mail
from sessionary.mail.smtp import SMTPMailer

from .servers import Certificates, silent_server, smtp_server

pytestmark = [pytest.mark.no_db, pytest.mark.anyio]

SETTINGS = Settings(mail_from="Sessionary <no-reply@sessionary.example>")
HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted")


@pytest.fixture(scope="module")
def certificates() -> Certificates:
    return Certificates.make()


def a_message(to: str = "alice@example.com") -> EmailMessage:
    """The test mail with a link carrying a token, as a reset mail will."""
    mail = Mail(MemoryMailer())
    message = mail.compose(SETTINGS, "test", to=to)
    message.replace_header("Subject", "A link for you")
    plain = message.get_body(("plain",))
    assert plain is not None
    plain.set_content(f"Open {link(SETTINGS, '/reset', 'tok+en/1')}\n")
    return message


def mailer(url: str, *, timeout: float = 5, certificates: Certificates | None = None) -> SMTPMailer:
    return SMTPMailer(
        parse_smtp_url(url),
        timeout=timeout,
        tls_context=certificates.client if certificates else None,
    )


class TestDelivery:
    async def test_delivers_exactly_what_the_memory_backend_captured(self) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        message = mail.compose(SETTINGS, "test", to="alice@example.com")
        await memory.send(message)

        async with smtp_server() as server:
            await mailer(server.url()).send(message)

        [captured] = memory.messages
        [received] = server.inbox.received
        delivered = received.message()
        assert received.sender == "no-reply@sessionary.example"
        assert received.recipients == ["alice@example.com"]
        for header in HEADERS:
            assert delivered[header] == captured[header], header
        assert delivered.get_content_type() == "multipart/alternative"
        assert text_of(delivered).replace("\r\n", "\n") == text_of(captured)
        assert html_of(delivered).replace("\r\n", "\n") == html_of(captured)

    async def test_the_link_arrives_intact(self) -> None:
        message = a_message()

        async with smtp_server() as server:
            await mailer(server.url()).send(message)

        [received] = server.inbox.received
        expected = "http://localhost:8000/reset?token=tok%2Ben%2F1"
        assert expected in text_of(received.message())

    async def test_plain_smtp_without_starttls_is_not_encrypted(self) -> None:
        async with smtp_server() as server:
            await mailer(server.url(query="starttls=false")).send(a_message())

        assert server.inbox.received[0].over_tls is False


class TestTLS:
    async def test_starttls_when_asked(self, certificates: Certificates) -> None:
        async with smtp_server(starttls=certificates.server) as server:
            url = server.url(query="starttls=true")
            await mailer(url, certificates=certificates).send(a_message())

        assert server.inbox.received[0].over_tls is True

    async def test_starttls_when_offered_and_not_asked_about(
        self, certificates: Certificates
    ) -> None:
        async with smtp_server(starttls=certificates.server) as server:
            await mailer(server.url(), certificates=certificates).send(a_message())

        assert server.inbox.received[0].over_tls is True

    async def test_required_starttls_never_falls_back_to_plain_text(self) -> None:
        async with smtp_server() as server:  # offers no STARTTLS
            with pytest.raises(DeliveryFailed):
                await mailer(server.url(query="starttls=true")).send(a_message())

        assert server.inbox.received == []

    async def test_an_untrusted_certificate_is_refused(self) -> None:
        stranger = Certificates.make()  # a CA the client does not trust
        async with smtp_server(starttls=stranger.server) as server:
            client = mailer(server.url(query="starttls=true"), certificates=Certificates.make())
            with pytest.raises(DeliveryFailed):
                await client.send(a_message())

        assert server.inbox.received == []

    async def test_smtps_is_tls_from_the_first_byte(self, certificates: Certificates) -> None:
        async with smtp_server(implicit_tls=certificates.server) as server:
            await mailer(server.url("smtps"), certificates=certificates).send(a_message())

        assert server.inbox.received[0].over_tls is True


class TestLogin:
    async def test_logs_in_with_the_urls_user_and_password(
        self, certificates: Certificates
    ) -> None:
        async with smtp_server(starttls=certificates.server, with_auth=True) as server:
            url = server.url(userinfo="alice%40example.com:p%40ss%3Aword", query="starttls=true")
            await mailer(url, certificates=certificates).send(a_message())

        assert server.inbox.logins == [("alice@example.com", "p@ss:word")]
        assert server.inbox.received[0].login == "alice@example.com"


class TestARefusingServer:
    async def test_a_550_is_a_permanent_failure(self) -> None:
        async with smtp_server() as server:
            server.inbox.refusals.append("550 5.1.1 No such user")
            with pytest.raises(DeliveryFailed, match="550") as failure:
                await mailer(server.url()).send(a_message())

        assert failure.value.permanent is True

    async def test_is_logged_once_not_retried_and_the_caller_goes_on(self) -> None:
        failures: list[str] = []

        async def on_failure(message: EmailMessage, exc: DeliveryFailed) -> None:
            failures.append(f"{message['To']}: {exc}")

        async with smtp_server() as server:
            server.inbox.refusals.append("550 5.1.1 No such user")
            mail = Mail(mailer(server.url()), attempts=3, backoff=0, on_failure=on_failure)
            with capture_logs() as logs:
                delivered = await mail.deliver(a_message())

        assert delivered is False
        [failed] = [entry for entry in logs if entry["event"] == "mail.failed"]
        assert failed["attempts"] == 1
        assert "550" in failed["error"]
        assert failures == [f"alice@example.com: {failed['error']}"]
        assert not [entry for entry in logs if entry["event"] == "mail.retry"]

    async def test_a_temporary_refusal_is_retried(self) -> None:
        async with smtp_server() as server:
            server.inbox.refusals.append("451 4.3.0 Try again later")
            mail = Mail(mailer(server.url()), attempts=3, backoff=0)
            with capture_logs() as logs:
                delivered = await mail.deliver(a_message())

        assert delivered is True
        assert len(server.inbox.received) == 1
        assert [entry["event"] for entry in logs] == ["mail.retry", "mail.sent"]


class TestAHungServer:
    async def test_times_out_as_configured(self) -> None:
        async with silent_server() as port:
            started = time.monotonic()
            with pytest.raises(DeliveryFailed, match=r"did not answer within 0\.2 s"):
                await mailer(f"smtp://127.0.0.1:{port}", timeout=0.2).send(a_message())

        assert time.monotonic() - started < 5

    async def test_every_attempt_times_out_then_it_is_logged(self) -> None:
        async with silent_server() as port:
            mail = Mail(mailer(f"smtp://127.0.0.1:{port}", timeout=0.1), attempts=2, backoff=0)
            with capture_logs() as logs:
                delivered = await mail.deliver(a_message())

        assert delivered is False
        assert [entry["event"] for entry in logs] == ["mail.retry", "mail.failed"]


class TestNoServer:
    async def test_a_closed_port_is_a_delivery_failure(self) -> None:
        async with silent_server() as port:
            pass  # closed again: nothing listens there now

        with pytest.raises(DeliveryFailed, match=f"cannot send through 127.0.0.1:{port}"):
            await mailer(f"smtp://127.0.0.1:{port}").send(a_message())


class TestSecrets:
    async def test_the_password_is_in_no_log_line_and_no_error(self) -> None:
        async with silent_server() as port:
            url = f"smtp://alice:hunter2-secret@127.0.0.1:{port}"
            mail = Mail(mailer(url, timeout=0.1), attempts=1)
            with capture_logs() as logs:
                await mail.deliver(a_message())

        assert "hunter2-secret" not in repr(logs)
        assert "hunter2-secret" not in repr(mail.mailer)
        assert "hunter2-secret" not in repr(parse_smtp_url(url))


class TestInternationalAddresses:
    async def test_an_international_domain_goes_out_in_its_ascii_form(self) -> None:
        message = Mail(MemoryMailer()).compose(SETTINGS, "test", to="alice@exämple.de")

        async with smtp_server() as server:
            await mailer(server.url()).send(message)

        [received] = server.inbox.received
        assert received.recipients == ["alice@xn--exmple-cua.de"]
        assert received.message()["To"] == "alice@xn--exmple-cua.de"

    async def test_a_non_ascii_local_part_without_smtputf8_fails_for_good(self) -> None:
        message = Mail(MemoryMailer()).compose(SETTINGS, "test", to="zoë@exämple.de")

        async with smtp_server() as server:
            with pytest.raises(DeliveryFailed, match="SMTPUTF8") as failure:
                await mailer(server.url()).send(message)

        assert failure.value.permanent
        assert server.inbox.received == []
