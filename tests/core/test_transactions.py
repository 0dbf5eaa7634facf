"""One transaction per request, committed before the response is sent.

A commit that fails must reach the client as a clean 409/503 — never as a 200
for work that was lost — and a request that fails part-way writes nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import migrations
from sessionary.app import create_app
from sessionary.config import Settings
from sessionary.errors import Conflict
from sessionary.runtime import runtime_of
from sessionary.sessions import service as sessions_service
from sessionary.sessions.models import LoginSession
from sessionary.testing import DEFAULT_PASSWORD, SyncDB, UserFactory
from sessionary.users import service as users_service
from sessionary.users.models import User
from sessionary.users.testing import cached_hash

COOKIE = "session_cookie"


@contextmanager
def failing_commit(error: BaseException) -> Iterator[list[AsyncSession]]:
    """Make every ``AsyncSession.commit`` raise ``error`` inside the block; yields the sessions
    whose commit was attempted, so a test can tell the commit really was reached."""
    attempted: list[AsyncSession] = []

    async def commit(self: AsyncSession) -> None:
        attempted.append(self)
        raise error

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AsyncSession, "commit", commit)
        yield attempted


def login(client: TestClient, user: User) -> Any:
    return client.post(
        "/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
    )


def sessions_of(db: SyncDB, user: User) -> int:
    return db.count(LoginSession, LoginSession.user_id == user.id)


class TestFailedCommitIsNeverA200:
    def test_integrity_error_at_commit_is_409_without_session_or_cookie(
        self, client: TestClient, user_factory: UserFactory, db: SyncDB
    ) -> None:
        alice = user_factory(username="alice")

        with failing_commit(IntegrityError("x", {}, Exception("boom"))) as attempted:
            response = login(client, alice)

        assert attempted, "the request never reached its commit"
        assert response.status_code == 409
        assert response.json() == {"detail": "Conflict with existing data"}
        assert "set-cookie" not in response.headers
        assert COOKIE not in client.cookies
        assert sessions_of(db, alice) == 0

    def test_the_same_login_succeeds_once_commits_work_again(
        self, client: TestClient, user_factory: UserFactory, db: SyncDB
    ) -> None:
        alice = user_factory(username="alice")
        with failing_commit(IntegrityError("x", {}, Exception("boom"))):
            assert login(client, alice).status_code == 409

        response = login(client, alice)

        assert response.status_code == 200
        assert COOKIE in client.cookies
        assert sessions_of(db, alice) == 1


class TestDatabaseTroubleAtCommitIs503:
    @pytest.mark.parametrize(
        "error",
        [
            pytest.param(
                OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
                id="sqlite-locked",
            ),
            pytest.param(
                DBAPIError("COMMIT", {}, Exception("database is busy")), id="generic-busy"
            ),
        ],
    )
    def test_locked_database_is_503_with_retry_after(
        self, client: TestClient, user_factory: UserFactory, db: SyncDB, error: DBAPIError
    ) -> None:
        alice = user_factory(username="alice")

        with failing_commit(error):
            response = login(client, alice)

        assert response.status_code == 503
        assert response.json() == {"detail": "Database busy, retry shortly"}
        assert int(response.headers["retry-after"]) >= 1
        assert "set-cookie" not in response.headers
        assert sessions_of(db, alice) == 0

    @pytest.mark.parametrize(
        "error",
        [
            pytest.param(
                OperationalError(
                    "COMMIT", {}, Exception("server closed the connection unexpectedly")
                ),
                id="operational",
            ),
            pytest.param(
                InterfaceError(
                    "COMMIT", {}, Exception("connection is closed"), connection_invalidated=True
                ),
                id="interface-invalidated",
            ),
            pytest.param(
                DBAPIError("COMMIT", {}, Exception("lost"), connection_invalidated=True),
                id="dbapi-invalidated",
            ),
            pytest.param(ConnectionResetError(104, "Connection reset by peer"), id="os-error"),
        ],
    )
    def test_lost_connection_is_503_with_retry_after(
        self, client: TestClient, user_factory: UserFactory, db: SyncDB, error: BaseException
    ) -> None:
        alice = user_factory(username="alice")

        with failing_commit(error):
            response = login(client, alice)

        assert response.status_code == 503
        assert response.json() == {"detail": "Database unavailable"}
        assert int(response.headers["retry-after"]) >= 1
        assert "set-cookie" not in response.headers
        assert sessions_of(db, alice) == 0


class TestHandlerFailureRollsBack:
    def test_typed_error_after_a_flush_writes_nothing(
        self,
        client: TestClient,
        user_factory: UserFactory,
        db: SyncDB,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        alice = user_factory(username="alice")
        flushed: list[int] = []
        open_session = sessions_service.open_session

        async def open_then_fail(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
            await open_session(session, *args, **kwargs)
            # The row really is in the transaction before the handler fails.
            flushed.append(int(await session.scalar(select(func.count(LoginSession.id))) or 0))
            raise Conflict("late failure")

        monkeypatch.setattr(sessions_service, "open_session", open_then_fail)

        response = login(client, alice)

        assert flushed == [1]
        assert response.status_code == 409
        assert response.json() == {"detail": "late failure"}
        assert "set-cookie" not in response.headers
        assert sessions_of(db, alice) == 0

    def test_unexpected_exception_after_a_flush_writes_nothing(
        self,
        client: TestClient,
        user_factory: UserFactory,
        db: SyncDB,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        alice = user_factory(username="alice")
        open_session = sessions_service.open_session

        async def open_then_crash(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
            await open_session(session, *args, **kwargs)
            raise RuntimeError("handler bug")

        monkeypatch.setattr(sessions_service, "open_session", open_then_crash)

        with pytest.raises(RuntimeError, match="handler bug"):
            login(client, alice)

        assert sessions_of(db, alice) == 0


# -- a real SQLite write lock --------------------------------------------------------------


async def _create_user(app_settings: Settings, username: str) -> None:
    app = create_app(app_settings)
    hasher = runtime_of(app).hasher
    try:
        async with runtime_of(app).database.write() as session:
            await users_service.create_user(
                session,
                hasher,
                username=username,
                email=f"{username}@example.com",
                password=DEFAULT_PASSWORD,
                password_hash=cached_hash(hasher, DEFAULT_PASSWORD),
            )
            await session.commit()
        await runtime_of(app).database.stop()
    finally:
        hasher.close()


@pytest.fixture
def scratch_sqlite(tmp_path: Path) -> Settings:
    """A migrated SQLite file holding user ``alice``, with a 100 ms busy timeout."""
    path = tmp_path / "locked.db"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        sqlite_busy_timeout_ms=100,
        _env_file=None,
    )
    migrations.upgrade(settings.database_url)
    asyncio.run(_create_user(settings, "alice"))
    return settings


@contextmanager
def write_lock(settings: Settings) -> Iterator[None]:
    """Hold SQLite's write lock from another connection, as another worker would."""
    path = settings.database_url.removeprefix("sqlite+aiosqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@pytest.mark.no_db
class TestRealSqliteLock:
    def test_login_while_another_writer_holds_the_lock_is_503_then_recovers(
        self, scratch_sqlite: Settings
    ) -> None:
        app = create_app(scratch_sqlite)
        credentials = {"username": "alice", "password": DEFAULT_PASSWORD}
        try:
            with TestClient(app, base_url="https://testserver") as client:
                with write_lock(scratch_sqlite):
                    locked = client.post("/auth/login", json=credentials)

                assert locked.status_code == 503
                assert locked.json() == {"detail": "Database busy, retry shortly"}
                assert int(locked.headers["retry-after"]) >= 1
                assert "set-cookie" not in locked.headers

                released = client.post("/auth/login", json=credentials)

                assert released.status_code == 200
                assert COOKIE in client.cookies
                assert client.get("/users/me").json()["username"] == "alice"
        finally:
            runtime_of(app).hasher.close()

        path = scratch_sqlite.database_url.removeprefix("sqlite+aiosqlite:///")
        with closing(sqlite3.connect(path)) as check:
            # Only the login that answered 200 left a session behind.
            assert check.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
