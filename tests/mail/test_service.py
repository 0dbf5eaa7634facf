"""Delivery after the commit: nothing for a rollback, never in the way of the caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from structlog.testing import capture_logs

from sessionary.config import Settings
from sessionary.mail.mailers import ConsoleMailer, MemoryMailer
from sessionary.mail.service import Mail, build_mailer
from sessionary.mail.smtp import SMTPMailer

pytestmark = [pytest.mark.no_db, pytest.mark.anyio]

SETTINGS = Settings()


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    """A session on a throwaway in-memory database: only its transactions matter here."""
    engine = create_async_engine("sqlite+aiosqlite://")
    async with AsyncSession(engine) as session:
        yield session
    await engine.dispose()


def a_message(mail: Mail, to: str = "alice@example.com") -> EmailMessage:
    return mail.compose(SETTINGS, "test", to=to)


class SlowMailer:
    """Sends only when released: stands for a slow SMTP server."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        await self.release.wait()
        self.sent.append(message)


class TestAfterTheCommit:
    async def test_nothing_goes_before_the_commit(self, session: AsyncSession) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        await session.execute(text("SELECT 1"))

        mail.schedule(session, a_message(mail))

        assert memory.messages == []
        await session.commit()
        assert [m["To"] for m in memory.messages] == ["alice@example.com"]

    async def test_a_rollback_drops_the_mail(self, session: AsyncSession) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        await session.execute(text("SELECT 1"))
        mail.schedule(session, a_message(mail))

        await session.rollback()
        await session.execute(text("SELECT 1"))
        await session.commit()

        assert memory.messages == []

    async def test_a_failed_commit_drops_the_mail(self, session: AsyncSession) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        await session.execute(text("INSERT INTO t VALUES (1)"))
        mail.schedule(session, a_message(mail))

        with pytest.raises(Exception, match="UNIQUE"):
            await session.execute(text("INSERT INTO t VALUES (1)"))
        await session.rollback()

        assert memory.messages == []

    async def test_each_transaction_sends_its_own_mail_once(self, session: AsyncSession) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        for to in ("a@example.com", "b@example.com"):
            await session.execute(text("SELECT 1"))
            mail.schedule(session, a_message(mail, to))
            await session.commit()

        assert [m["To"] for m in memory.messages] == ["a@example.com", "b@example.com"]

    async def test_a_savepoint_does_not_send_before_the_outer_commit(
        self, session: AsyncSession
    ) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        await session.execute(text("SELECT 1"))
        async with session.begin_nested():
            mail.schedule(session, a_message(mail))

        assert memory.messages == []
        await session.commit()
        assert len(memory.messages) == 1


class TestInTheBackground:
    async def test_a_slow_server_does_not_hold_up_the_commit(self, session: AsyncSession) -> None:
        slow = SlowMailer()
        mail = Mail(slow)
        await session.execute(text("SELECT 1"))
        mail.schedule(session, a_message(mail))

        await asyncio.wait_for(session.commit(), timeout=5)  # returns while the send waits

        assert slow.sent == []
        slow.release.set()
        await mail.drain(grace=5)
        assert len(slow.sent) == 1

    async def test_drain_cancels_what_outlives_the_grace(self) -> None:
        slow = SlowMailer()
        mail = Mail(slow)
        mail.send_soon(a_message(mail))

        with capture_logs() as logs:
            await mail.drain(grace=0.01)

        assert slow.sent == []
        assert [entry["event"] for entry in logs] == ["mail.cancelled"]
        await mail.drain(grace=0)  # nothing left

    async def test_deliveries_in_flight_are_bounded(self) -> None:
        slow = SlowMailer()
        mail = Mail(slow, max_in_flight=2)

        with capture_logs() as logs:
            for _ in range(3):
                mail.send_soon(a_message(mail))

        assert [entry["event"] for entry in logs] == ["mail.dropped"]
        slow.release.set()
        await mail.drain(grace=5)
        assert len(slow.sent) == 2

    async def test_a_broken_local_backend_is_logged_not_raised(self) -> None:
        class Broken(MemoryMailer):
            def deliver_now(self, message: EmailMessage) -> None:
                raise RuntimeError("boom")

        mail = Mail(Broken())
        with capture_logs() as logs:
            mail.send_soon(a_message(mail))

        assert [entry["event"] for entry in logs] == ["mail.failed"]


class TestBackends:
    async def test_console_logs_the_whole_text_with_its_links(self) -> None:
        mail = Mail(ConsoleMailer())
        with capture_logs() as logs:
            mail.send_soon(a_message(mail))

        [entry] = logs
        assert entry["event"] == "mail.console"
        assert entry["to"] == "alice@example.com"
        assert entry["subject"] == "Sessionary test message"
        assert "http://localhost:8000" in entry["text"]

    async def test_memory_keeps_every_message_until_cleared(self) -> None:
        memory = MemoryMailer()
        mail = Mail(memory)
        await memory.send(a_message(mail, "a@example.com"))
        await memory.send(a_message(mail, "b@example.com"))

        assert [m["To"] for m in memory.messages] == ["a@example.com", "b@example.com"]
        memory.clear()
        assert memory.messages == []

    @pytest.mark.parametrize(
        ("settings", "kind"),
        [
            (Settings(), ConsoleMailer),
            (Settings(mail_backend="memory"), MemoryMailer),
            (
                Settings(
                    mail_backend="smtp",
                    smtp_url="smtp://mail.example.com:587?starttls=true",
                    mail_from="no-reply@example.com",
                ),
                SMTPMailer,
            ),
        ],
        ids=["console-by-default", "memory", "smtp"],
    )
    async def test_the_setting_chooses_the_backend(self, settings: Settings, kind: type) -> None:
        assert isinstance(build_mailer(settings), kind)
        assert isinstance(Mail.from_settings(settings).mailer, kind)
