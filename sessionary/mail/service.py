"""Sessionary's mail for one app (``runtime.mail``): compose, and deliver after the commit.

A flow composes a message from a template and calls :meth:`Mail.schedule` with its
database session. Nothing goes out unless that transaction commits: SQLAlchemy's
``after_commit`` hands the messages over, a rollback drops them. A local backend
(console, memory) delivers right there, so a test sees the mail when the response
arrives; SMTP runs as a background task on the running loop, never delaying the response,
with a bounded retry (a permanent 5xx is not retried). A failure is logged
(``mail.failed``) and passed to ``on_failure`` (where auditing plugs in); the request that
caused the mail never sees it. The lifespan ends with :meth:`Mail.drain`: deliveries still
running get a few seconds, then are cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from sessionary.config import MailBackend, Settings
from sessionary.mail.mailers import (
    ConsoleMailer,
    DeliveryFailed,
    LocalMailer,
    Mailer,
    MemoryMailer,
    log,
)
from sessionary.mail.message import compose
from sessionary.mail.smtp import SMTPMailer
from sessionary.mail.templates import MailTemplates

FailureHook = Callable[[EmailMessage, DeliveryFailed], Awaitable[None]]


class MailUnit(Protocol):
    """What a flow that mails needs of its unit of work (``sessionary.context.Context`` is
    one): the transaction the mail waits for, the settings and the app's :class:`Mail`."""

    @property
    def db(self) -> AsyncSession: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def mail(self) -> Mail: ...


_PENDING = "sessionary.mail.pending"


def build_mailer(settings: Settings) -> Mailer:
    """The backend ``SESSIONARY_MAIL_BACKEND`` names."""
    if settings.mail_backend is MailBackend.MEMORY:
        return MemoryMailer()
    if settings.mail_backend is MailBackend.SMTP:
        # The settings refuse the smtp backend without SESSIONARY_SMTP_URL.
        if (server := settings.smtp_server) is None:
            raise ValueError("SESSIONARY_MAIL_BACKEND=smtp needs SESSIONARY_SMTP_URL")
        return SMTPMailer(server, timeout=settings.smtp_timeout)
    return ConsoleMailer()


class Mail:
    """The mailer (swappable: the test toolkit puts a memory one there), the templates and
    the deliveries in flight."""

    def __init__(
        self,
        mailer: Mailer,
        templates: MailTemplates | None = None,
        *,
        attempts: int = 3,
        backoff: float = 1.0,
        max_in_flight: int = 1000,
        on_failure: FailureHook | None = None,
    ) -> None:
        self.mailer = mailer
        self.templates = templates or MailTemplates()
        self.attempts, self.backoff, self.max_in_flight = attempts, backoff, max_in_flight
        self.on_failure = on_failure
        self._in_flight: set[asyncio.Task[bool]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> Mail:
        return cls(build_mailer(settings), MailTemplates(settings.mail_templates))

    def compose(
        self,
        settings: Settings,
        template: str,
        *,
        to: str,
        context: Mapping[str, Any] | None = None,
    ) -> EmailMessage:
        """The mail ``template`` (``templates.py``) for ``to``, from ``SESSIONARY_MAIL_FROM``."""
        return compose(self.templates, settings, template, to=to, context=context)

    def schedule(self, db: AsyncSession, message: EmailMessage) -> None:
        """Deliver ``message`` once ``db``'s transaction commits; never if it rolls back."""
        session = db.sync_session
        if _PENDING not in session.info:
            event.listen(session, "after_commit", self._committed)
            event.listen(session, "after_transaction_end", _forget_on_rollback)
            session.info[_PENDING] = []
        session.info[_PENDING].append(message)

    def send_soon(self, message: EmailMessage) -> None:
        """Deliver now without waiting: at once for a local backend, else in the background."""
        if isinstance(self.mailer, LocalMailer):
            try:
                self.mailer.deliver_now(message)
            except Exception as exc:  # a local backend's bug must not fail the request
                log().exception("mail.failed", to=message["To"], error=repr(exc))
            return
        if len(self._in_flight) >= self.max_in_flight:
            log().error("mail.dropped", to=message["To"], reason="too many deliveries in flight")
            return
        task = asyncio.get_running_loop().create_task(self.deliver(message))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def deliver(self, message: EmailMessage) -> bool:
        """Send with up to ``attempts`` tries, backing off; False (logged) if it never went."""
        for attempt in range(1, self.attempts + 1):
            try:
                await self.mailer.send(message)
            except DeliveryFailed as exc:
                if exc.permanent or attempt == self.attempts:
                    await self._failed(message, exc, attempt)
                    return False
                log().warning("mail.retry", to=message["To"], attempt=attempt, error=str(exc))
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            except asyncio.CancelledError:
                log().warning("mail.cancelled", to=message["To"], subject=message["Subject"])
                raise
            else:
                log().info("mail.sent", to=message["To"], subject=message["Subject"])
                return True
        return False  # attempts < 1: nothing tried

    async def drain(self, grace: float = 10.0) -> None:
        """Wait up to ``grace`` seconds for this loop's deliveries, then cancel the rest."""
        loop = asyncio.get_running_loop()
        running = [task for task in self._in_flight if task.get_loop() is loop]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _committed(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a SAVEPOINT released: the outer transaction may still roll back
        pending: list[EmailMessage] = session.info[_PENDING]
        committed = list(pending)
        pending.clear()
        for message in committed:
            self.send_soon(message)

    async def _failed(self, message: EmailMessage, exc: DeliveryFailed, attempts: int) -> None:
        log().error(
            "mail.failed",
            to=message["To"],
            subject=message["Subject"],
            attempts=attempts,
            error=str(exc),
        )
        if self.on_failure is not None:
            try:
                await self.on_failure(message, exc)
            except Exception:
                log().exception("mail.failure_hook_failed", to=message["To"])


def _forget_on_rollback(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the list is already handed over; what is left was rolled back.
    if transaction.parent is None:
        pending: list[EmailMessage] | None = session.info.get(_PENDING)
        if pending:
            pending.clear()
