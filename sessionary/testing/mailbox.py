"""Mail in tests: every test's app sends into a fresh in-memory mailbox, and the ``mailbox``
fixture opens it.

Part of the kernel: the mailer is the runtime's, whatever features an app installs.
Whatever ``SESSIONARY_MAIL_BACKEND`` says, each test that uses the database gets a
:class:`Mailbox` as its mailer (nothing reaches a console or a server) and the original is
put back afterwards. Mail is delivered as the request's
transaction commits, so it is in the box when the response arrives, in sync and async tests
alike. Every token a mailed link carries is told to the secret-leak sentinel: it may be in
the mailbox, and nowhere else (a response body, a log record).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI

from sessionary.mail.mailers import MemoryMailer
from sessionary.mail.message import html_of, text_of
from sessionary.runtime import runtime_of
from sessionary.testing.sentinel import track_secret

_LINK = re.compile(r"https?://[^\s<>\"']+")


class Mailbox(MemoryMailer):
    """The mail a test's app sent, oldest first (:attr:`messages`)."""

    def deliver_now(self, message: EmailMessage) -> None:
        super().deliver_now(message)
        for url in _LINK.findall(text_of(message)):
            for token in parse_qs(urlsplit(url).query).get("token", []):
                track_secret(token, "mailed token")

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to ``address`` (compared case-insensitively), oldest first."""
        return [m for m in self.messages if str(m["To"]).casefold() == address.casefold()]

    def last(self, *, to: str | None = None) -> EmailMessage:
        """The newest message (to ``to``); AssertionError, listing what came, when none."""
        found = self.to(to) if to is not None else self.messages
        if not found:
            raise AssertionError(f"no mail{f' to {to}' if to else ''}; got: {self._summary()}")
        return found[-1]

    def text(self, message: EmailMessage | None = None, *, to: str | None = None) -> str:
        """The plain-text part (of the newest message, to ``to``)."""
        return text_of(message or self.last(to=to))

    def html(self, message: EmailMessage | None = None, *, to: str | None = None) -> str:
        return html_of(message or self.last(to=to))

    def link(self, message: EmailMessage | None = None, *, to: str | None = None) -> str:
        """The link carrying a ``token`` in the message's text part (the newest, to ``to``)."""
        message = message or self.last(to=to)
        links = [
            u for u in _LINK.findall(text_of(message)) if "token" in parse_qs(urlsplit(u).query)
        ]
        if len(links) != 1:
            raise AssertionError(
                f"expected one link with a token in {message['Subject']!r}: {links}"
            )
        found: str = links[0]
        return found

    def token(self, message: EmailMessage | None = None, *, to: str | None = None) -> str:
        """The token of :meth:`link`: what the page it opens posts back."""
        return parse_qs(urlsplit(self.link(message, to=to)).query)["token"][0]

    def _summary(self) -> str:
        return ", ".join(f"{m['Subject']!r} to {m['To']}" for m in self.messages) or "nothing"


@pytest.fixture(autouse=True)
def _sessionary_mailbox(request: pytest.FixtureRequest) -> Iterator[Mailbox | None]:
    """Swap the app's mailer for a fresh mailbox for the test (not under ``no_db``)."""
    if request.node.get_closest_marker("no_db"):
        yield None
        return
    request.getfixturevalue("_sessionary_isolation")  # the sentinel is watching first
    app: FastAPI = request.getfixturevalue("sessionary_app")
    mail = runtime_of(app).mail
    box, saved = Mailbox(), mail.mailer
    mail.mailer = box
    try:
        yield box
    finally:
        mail.mailer = saved


@pytest.fixture
def mailbox(_sessionary_mailbox: Mailbox | None) -> Mailbox:
    """What the app mailed during this test: ``mailbox.last(to=…)``, ``.link()``,
    ``.token()``, ``.text()``, ``.messages``."""
    if _sessionary_mailbox is None:
        raise pytest.UsageError("mailbox needs the app's database; remove @pytest.mark.no_db")
    return _sessionary_mailbox
