"""Real SMTP servers on loopback for the smtp backend's tests (aiosmtpd), and a TLS CA.

:func:`smtp_server` runs one on the test's own event loop, on a free port: it records what
arrives (with whether it came over TLS and who logged in), and can refuse recipients.
:func:`silent_server` accepts connections and never answers (a hung server).
:func:`smtp_server_in_thread` is the first on a loop of its own, for code that runs its own
loop (the command line).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes
    over_tls: bool
    login: str | None

    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps what arrives; ``refusals`` answer RCPT TO in turn."""

    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        data = session.auth_data
        login = data.login.decode() if isinstance(data, LoginPassword) else None
        self.received.append(
            Received(
                sender=str(envelope.mail_from),
                recipients=list(envelope.rcpt_tos),
                content=cast(bytes, envelope.original_content),
                # After STARTTLS, and from the start with implicit TLS, the transport is TLS.
                over_tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 Message accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True, auth_data=data)


@dataclass
class Server:
    inbox: Inbox
    port: int

    def url(self, scheme: str = "smtp", userinfo: str = "", query: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}{f'?{query}' if query else ''}"


@dataclass
class Certificates:
    """A throwaway CA, a server context with its certificate for 127.0.0.1, and a client
    context that trusts the CA (and nothing else)."""

    server: ssl.SSLContext
    client: ssl.SSLContext

    @classmethod
    def make(cls) -> Certificates:
        authority = trustme.CA()
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1").configure_cert(server)
        client = ssl.create_default_context()
        authority.configure_trust(client)
        return cls(server=server, client=client)


@asynccontextmanager
async def smtp_server(
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    with_auth: bool = False,
) -> AsyncIterator[Server]:
    """aiosmtpd on 127.0.0.1, a free port, the running loop; STARTTLS offered (and required)
    with ``starttls``, TLS from the first byte with ``implicit_tls``, AUTH with ``with_auth``."""
    inbox = Inbox()
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(
            inbox,
            hostname="mail.test",  # not socket.getfqdn(): it may wait on DNS
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=inbox.authenticate if with_auth else None,
            auth_require_tls=starttls is not None or implicit_tls is not None,
            loop=loop,
        )

    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=implicit_tls)
    try:
        yield Server(inbox, server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word: its port."""
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # until the client gives up and closes

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@contextmanager
def smtp_server_in_thread() -> Iterator[Server]:
    """:func:`smtp_server` on an event loop in a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = smtp_server()
    try:
        yield asyncio.run_coroutine_threadsafe(running.__aenter__(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(running.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
