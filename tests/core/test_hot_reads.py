"""The production hot path: hot queries sent straight to the driver once the lifespan started
the pools. The test toolkit redirects ``Database.fetch`` to the test's connection, so these
tests use a database of their own, committed for real, of the run's kind (SQLite file or
PostgreSQL database), and compare the driver path with the engine path row for row."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from sessionary import clock, migrations
from sessionary.api_keys.credential import API_KEY_PRINCIPAL_QUERY, key_principal_from_rows
from sessionary.app import create_app
from sessionary.config import Settings
from sessionary.core import hot_reads
from sessionary.core.db import Database
from sessionary.core.security import hash_token
from sessionary.errors import database_error
from sessionary.roles.permissions import Permission
from sessionary.sessions.credential import PRINCIPAL_QUERY, principal_from_rows
from sessionary.sessions.models import LoginSession
from sessionary.testing import DEFAULT_PASSWORD
from sessionary.testing.database import TestDatabase
from sessionary.users.models import User
from tests.cli.scratch import ScratchDatabase, scratch_database

pytestmark = [pytest.mark.no_db]


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    user_id: int
    token: str
    key: str


def _seed(database: ScratchDatabase) -> Seeded:
    database.migrate()
    user_id = database.add_user("hotpath", DEFAULT_PASSWORD)
    token = database.open_session(user_id, "hotpath")

    settings = Settings(database_url=database.url, session_cookie_secure=False, _env_file=None)
    key = database.add_api_key(user_id, [Permission.USERS_READ, Permission.NOTES_READ])
    return Seeded(settings, user_id, token, key)


@pytest.fixture(scope="module")
def seeded(
    sessionary_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """A migrated database of this module's own with one member, a session and an API key."""
    with scratch_database(sessionary_database.url, tmp_path_factory.mktemp("hot")) as database:
        yield _seed(database)


@pytest.fixture
async def started(seeded: Seeded) -> AsyncIterator[Database]:
    """A production ``Database`` whose lifespan started: hot queries take the driver path."""
    database = Database(seeded.settings)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


async def _engine_rows(settings: Settings, query: hot_reads.HotQuery, **params: Any) -> list[Any]:
    """The same query through the engine (no lifespan: the one-connection-per-use path)."""
    database = Database(settings)
    try:
        return list(await database.fetch(query, params))
    finally:
        await database.stop()


def _as_tuples(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in rows), key=repr)


@pytest.mark.anyio
class TestDriverPathMatchesTheEngine:
    async def test_session_rows_are_what_sqlalchemy_returns(
        self, seeded: Seeded, started: Database
    ) -> None:
        params = {"token_hash": hash_token(seeded.token)}

        hot = list(await started.fetch(PRINCIPAL_QUERY, params))
        engine = await _engine_rows(seeded.settings, PRINCIPAL_QUERY, **params)

        assert hot, "the session exists"
        assert _as_tuples(hot) == _as_tuples(engine)
        first = hot[0]
        assert first.user_id == seeded.user_id
        assert first.is_active is True
        assert isinstance(first.created_at, datetime)
        assert first.created_at.utcoffset() is not None
        assert first.revoked_at is None
        assert principal_from_rows(hot) == principal_from_rows(engine)

    async def test_api_key_rows_decode_scopes_like_sqlalchemy(
        self, seeded: Seeded, started: Database
    ) -> None:
        params = {"key_hash": hash_token(seeded.key)}

        hot = list(await started.fetch(API_KEY_PRINCIPAL_QUERY, params))
        engine = await _engine_rows(seeded.settings, API_KEY_PRINCIPAL_QUERY, **params)

        assert hot[0].scopes == ["notes:read", "users:read"]
        assert _as_tuples(hot) == _as_tuples(engine)
        assert key_principal_from_rows(hot) == key_principal_from_rows(engine)

    async def test_unknown_token_is_no_rows(self, started: Database) -> None:
        assert list(await started.fetch(PRINCIPAL_QUERY, {"token_hash": b"\0" * 32})) == []

    async def test_the_engine_is_not_used(
        self, seeded: Seeded, started: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def no_engine(*_: Any) -> Any:
            raise AssertionError("a hot query went through the engine")

        monkeypatch.setattr(started, "read", no_engine)

        rows = await started.fetch(PRINCIPAL_QUERY, {"token_hash": hash_token(seeded.token)})

        assert rows[0].username == "hotpath"

    async def test_a_committed_write_is_seen_by_the_next_read(
        self, seeded: Seeded, started: Database
    ) -> None:
        params = {"token_hash": hash_token(seeded.token)}
        assert (await started.fetch(PRINCIPAL_QUERY, params))[0].revoked_at is None
        now = clock.now()
        try:
            await _set_revoked(seeded.settings, now)

            rows = await started.fetch(PRINCIPAL_QUERY, params)

            # No read snapshot outlives a call: the revocation is seen at once.
            assert rows[0].revoked_at == now
        finally:
            await _set_revoked(seeded.settings, None)


async def _set_revoked(settings: Settings, when: datetime | None) -> None:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(LoginSession).values(revoked_at=when))
    finally:
        await engine.dispose()


class TestReaderChoice:
    @pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
    def test_in_memory_sqlite_reads_through_the_engine(self, url: str) -> None:
        engine = create_async_engine(url)

        assert hot_reads.hot_reader(engine, pool_size=1, pool_timeout=1) is None

    def test_file_and_postgres_get_a_driver_reader(self, tmp_path: Path) -> None:
        sqlite = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        postgres = create_async_engine("postgresql+asyncpg://user@127.0.0.1/db")

        readers = [
            hot_reads.hot_reader(engine, pool_size=1, pool_timeout=1)
            for engine in (sqlite, postgres)
        ]

        assert isinstance(readers[0], hot_reads.SQLiteReader)
        assert isinstance(readers[1], hot_reads.PostgresReader)


class TestThroughTheApp:
    """The whole app on its lifespan, as ``sessionary serve`` runs it."""

    def test_cookie_and_key_requests_answer_from_the_driver_path(self, seeded: Seeded) -> None:
        with TestClient(create_app(seeded.settings)) as client:
            client.cookies.set(seeded.settings.session_cookie_name, seeded.token)
            by_cookie = client.get("/users/me")
            client.cookies.clear()
            by_key = client.get(
                "/protected_data/", headers={"Authorization": f"Bearer {seeded.key}"}
            )

        assert by_cookie.status_code == 200
        assert by_cookie.json()["username"] == "hotpath"
        assert by_key.status_code == 200
        assert by_key.json() == {
            "user_id": seeded.user_id,
            "username": "hotpath",
            "email": "hotpath@example.com",
        }

    def test_login_reads_credentials_and_device_from_the_driver_path(self, seeded: Seeded) -> None:
        credentials = {"username": "hotpath", "password": DEFAULT_PASSWORD}
        with TestClient(create_app(seeded.settings)) as client:
            first = client.post("/auth/login", json=credentials)
            again = client.post("/auth/login", json=credentials)  # with the device cookie now
            wrong = client.post("/auth/login", json={**credentials, "password": "not-it-at-all"})
            me = client.get("/users/me")

        assert first.status_code == again.status_code == 200
        assert "session_device" in client.cookies
        assert wrong.status_code == 401
        assert me.json()["username"] == "hotpath"


@pytest.fixture
def unmigrated(sessionary_database: TestDatabase, tmp_path: Path) -> Iterator[Settings]:
    with scratch_database(sessionary_database.url, tmp_path) as database:
        yield Settings(database_url=database.url, session_cookie_secure=False, _env_file=None)


class TestDriverErrors:
    def test_a_missing_table_is_503_not_500(self, unmigrated: Settings) -> None:
        with TestClient(create_app(unmigrated), raise_server_exceptions=False) as client:
            client.cookies.set(unmigrated.session_cookie_name, "a" * 43)
            response = client.get("/users/me")

        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"

    def test_an_unreachable_postgres_is_503(self) -> None:
        # A port nothing listens on (the discard port): connection refused at once.
        settings = Settings(
            database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none",
            session_cookie_secure=False,
            _env_file=None,
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            client.cookies.set(settings.session_cookie_name, "a" * 43)
            response = client.get("/users/me")

        assert response.status_code == 503
        assert response.json() == {"detail": "Database unavailable"}


class TestPostgresOptions:
    def test_the_url_statement_cache_size_reaches_asyncpg(self) -> None:
        # Behind PgBouncer in transaction mode the URL says prepared_statement_cache_size=0.
        engine = create_async_engine(
            "postgresql+asyncpg://u@127.0.0.1/db?prepared_statement_cache_size=0&ssl=disable"
        )

        reader = hot_reads.PostgresReader(engine, size=2, acquire_timeout=1)

        assert reader.options["statement_cache_size"] == 0
        assert reader.options["ssl"] == "disable"
        assert "prepared_statement_cache_size" not in reader.options


@pytest.mark.anyio
class TestHotQueriesWithLiterals:
    async def test_values_written_into_the_statement_are_sent_too(
        self, seeded: Seeded, started: Database
    ) -> None:
        active_named = hot_reads.HotQuery(
            select(User.id).where(
                User.username == bindparam("username"), User.is_active.is_(True), User.id > 0
            ),
            "active_named",
        )

        hot = await started.fetch(active_named, {"username": "hotpath"})
        missing = await started.fetch(active_named, {"username": "nobody"})

        assert [row.id for row in hot] == [seeded.user_id]
        assert list(missing) == []


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    """A migrated SQLite file left in rollback-journal mode, as another tool might leave it."""
    path = tmp_path / "journal.db"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    return path


@pytest.mark.anyio
async def test_the_sqlite_reader_puts_a_rollback_journal_file_in_wal_mode(
    journal_file: Path,
) -> None:
    # Runs on the PostgreSQL run too: it is about a SQLite file of its own.
    database = Database(
        Settings(database_url=f"sqlite+aiosqlite:///{journal_file}", _env_file=None)
    )
    await database.start()
    try:
        rows = await database.fetch(PRINCIPAL_QUERY, {"token_hash": b"\0" * 32})
    finally:
        await database.stop()

    assert list(rows) == []
    with closing(sqlite3.connect(journal_file)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.anyio
class TestValuesTheDriverCannotBind:
    """The driver path refuses what the engine refuses, as the same 422 (never a raw
    ``OverflowError``, a 500, nor asyncpg's DataError taken for a lost connection, a 503)."""

    BY_ID = hot_reads.HotQuery(select(User.id).where(User.id == bindparam("id")), "by_id")
    BY_NAME = hot_reads.HotQuery(
        select(User.id).where(User.username == bindparam("username")), "by_name"
    )

    @pytest.mark.parametrize("value", [2**63, 2**64], ids=["2**63", "2**64"])
    async def test_an_integer_past_64_bits_is_422(self, started: Database, value: int) -> None:
        with pytest.raises(DBAPIError) as refused:
            await started.fetch(self.BY_ID, {"id": value})

        assert database_error(refused.value).status_code == 422

    async def test_a_lone_surrogate_in_text_is_422(self, started: Database) -> None:
        with pytest.raises(DBAPIError) as refused:
            await started.fetch(self.BY_NAME, {"username": "a\ud800"})

        assert database_error(refused.value).status_code == 422

    async def test_nul_in_text_is_422_where_the_database_refuses_it(
        self, started: Database
    ) -> None:
        refused: DBAPIError | None = None
        try:
            rows = await started.fetch(self.BY_NAME, {"username": "a\x00b"})
        except DBAPIError as exc:  # PostgreSQL: SQLSTATE 22021
            refused, rows = exc, []

        # SQLite stores NUL (no rows match); the request schemas stop it before any query.
        assert list(rows) == []
        assert refused is None or database_error(refused).status_code == 422

    async def test_the_reader_still_answers_afterwards(
        self, seeded: Seeded, started: Database
    ) -> None:
        with pytest.raises(DBAPIError):
            await started.fetch(self.BY_ID, {"id": 2**64})

        assert [row.id for row in await started.fetch(self.BY_ID, {"id": seeded.user_id})] == [
            seeded.user_id
        ]
