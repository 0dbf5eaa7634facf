"""The mail interface and the two backends that stay in the process.

:class:`Mailer` is all a backend is: ``await send(message)``, raising
:class:`DeliveryFailed` when the message did not go. ``console`` (the default) logs each
message whole, links and tokens included: it is the only backend that may, and it is meant
for development. ``memory`` keeps them in a list, for tests. ``smtp`` is in ``smtp.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from email.message import EmailMessage
from typing import Any, Protocol

import structlog

from sessionary.mail.message import text_of


def log() -> Any:
    """The mail logger, looked up per call: mail is rare, and a fresh logger follows the
    current configuration (structlog caches one on first use, which then escapes
    ``structlog.testing.capture_logs`` and a reconfiguration)."""
    return structlog.get_logger("sessionary.mail")


class DeliveryFailed(Exception):
    """The message did not go; ``permanent`` when trying again cannot help (a 5xx)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class LocalMailer(ABC):
    """A backend that delivers at once, in the process: the outbox calls
    :meth:`deliver_now` as the transaction commits, so what it holds (or logged) is
    complete when the response is sent — no background task for a test to wait on."""

    @abstractmethod
    def deliver_now(self, message: EmailMessage) -> None: ...

    async def send(self, message: EmailMessage) -> None:
        self.deliver_now(message)


class ConsoleMailer(LocalMailer):
    """Logs every message (``mail.console``), with its text part: for development."""

    def deliver_now(self, message: EmailMessage) -> None:
        log().info(
            "mail.console",
            to=message["To"],
            subject=message["Subject"],
            text=text_of(message),
        )


class MemoryMailer(LocalMailer):
    """Keeps every message, oldest first, in :attr:`messages` (for tests)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def deliver_now(self, message: EmailMessage) -> None:
        self.messages.append(message)

    def clear(self) -> None:
        self.messages.clear()
