"""In a request: the mail of a committed request goes, a failed one's does not, and a slow
server holds up neither the response nor anything but the shutdown (which waits for it)."""

from __future__ import annotations

import threading
from email.message import EmailMessage
from pathlib import Path

import anyio.to_thread
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from sessionary import install
from sessionary.config import Settings
from sessionary.context import Context, ContextDep
from sessionary.errors import Conflict
from sessionary.mail.mailers import MemoryMailer
from sessionary.runtime import runtime_of

pytestmark = pytest.mark.no_db


def schedule_test_mail(ctx: Context) -> None:
    """What a flow does: compose from a template, schedule on the unit's transaction."""
    message = ctx.mail.compose(ctx.settings, "test", to="alice@example.com")
    ctx.mail.schedule(ctx.db, message)


def _refuse_commit(_: object) -> None:
    raise OperationalError("COMMIT", {}, Exception("database is locked"))


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    install(
        app,
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/mail.db", mail_backend="memory"),
        routers=(),
    )

    @app.post("/committed")
    async def committed(ctx: ContextDep) -> dict[str, bool]:
        schedule_test_mail(ctx)
        return {"ok": True}

    @app.post("/refused")
    async def refused(ctx: ContextDep) -> None:
        schedule_test_mail(ctx)
        raise Conflict("no")

    @app.post("/commit-fails")
    async def commit_fails(ctx: ContextDep) -> None:
        schedule_test_mail(ctx)
        event.listen(ctx.db.sync_session, "before_commit", _refuse_commit)

    return app


def memory(app: FastAPI) -> MemoryMailer:
    mailer = runtime_of(app).mail.mailer
    assert isinstance(mailer, MemoryMailer)
    return mailer


class SlowServer:
    """A mailer that sends only when the test releases it (from the test's thread)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self.release.wait)
        self.sent.append(message)


class TestAfterTheCommit:
    def test_a_committed_requests_mail_is_there_with_the_response(self, app: FastAPI) -> None:
        with TestClient(app) as client:
            assert client.post("/committed").status_code == 200

            assert [m["To"] for m in memory(app).messages] == ["alice@example.com"]

    def test_a_refused_requests_mail_never_goes(self, app: FastAPI) -> None:
        with TestClient(app) as client:
            assert client.post("/refused").status_code == 409

        assert memory(app).messages == []

    def test_a_failed_commits_mail_never_goes(self, app: FastAPI) -> None:
        with TestClient(app) as client:
            assert client.post("/commit-fails").status_code == 503

        assert memory(app).messages == []


class TestASlowServer:
    def test_the_response_does_not_wait_and_the_shutdown_does(self, app: FastAPI) -> None:
        slow = runtime_of(app).mail.mailer = SlowServer()

        with TestClient(app) as client:
            assert client.post("/committed").status_code == 200
            assert slow.sent == []
            slow.release.set()

        assert [m["To"] for m in slow.sent] == ["alice@example.com"]
