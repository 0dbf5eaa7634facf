"""SQLite connection set-up from ``engine_for_url``: pragmas, BEGIN vs BEGIN IMMEDIATE, and the
savepoint workaround the test isolation relies on. Each test builds its own SQLite file, so these
run in the PostgreSQL suite run too."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sessionary import migrations
from sessionary.core.db import engine_for_url, writer

pytestmark = [pytest.mark.no_db, pytest.mark.anyio]

BUSY_TIMEOUT_MS = 1234
INSERT_ROLE = text("INSERT INTO roles (name, is_builtin) VALUES (:name, false)")
COUNT_ROLE = text("SELECT count(*) FROM roles WHERE name = :name")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "engine.db"


@pytest.fixture
def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    made = engine_for_url(url, busy_timeout_ms=BUSY_TIMEOUT_MS)
    yield made
    await made.dispose()


@pytest.fixture
def migrated(url: str) -> str:
    migrations.upgrade(url)
    return url


@contextmanager
def captured_sql(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def another_writer_can_begin(path: Path) -> bool:
    """Whether a second connection can take the write lock right now (no waiting)."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as other:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return False
        other.execute("ROLLBACK")
        return True


class TestConnectionPragmas:
    async def test_foreign_keys_are_enforced(self, engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1

    async def test_journal_mode_is_wal(self, engine: AsyncEngine, path: Path) -> None:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        # WAL is a property of the file: a plain sqlite3 connection sees it too.
        with closing(sqlite3.connect(path)) as plain:
            assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    async def test_busy_timeout_is_the_setting(self, engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
        assert timeout == BUSY_TIMEOUT_MS

    async def test_every_new_connection_gets_them(self, engine: AsyncEngine) -> None:
        for _ in range(2):  # NullPool: each connect() is a fresh sqlite3 connection
            async with engine.connect() as connection:
                assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
                assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == (
                    BUSY_TIMEOUT_MS
                )

    @pytest.mark.usefixtures("migrated")
    async def test_a_dangling_foreign_key_is_refused(self, engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
                await connection.execute(
                    text("INSERT INTO user_roles (user_id, role_name) VALUES (424242, 'member')")
                )


@pytest.mark.usefixtures("migrated")
class TestTransactionBegin:
    async def test_writer_engine_begins_immediate(self, engine: AsyncEngine) -> None:
        with captured_sql(engine) as statements:
            async with writer(engine).connect() as connection:
                await connection.execute(COUNT_ROLE, {"name": "x"})
                await connection.rollback()

        assert statements[0] == "BEGIN IMMEDIATE"

    async def test_plain_engine_begins_deferred(self, engine: AsyncEngine) -> None:
        with captured_sql(engine) as statements:
            async with engine.connect() as connection:
                await connection.execute(COUNT_ROLE, {"name": "x"})
                await connection.rollback()

        assert statements[0] == "BEGIN"

    async def test_writer_holds_the_write_lock_from_its_first_statement(
        self, engine: AsyncEngine, path: Path
    ) -> None:
        async with writer(engine).connect() as connection:
            await connection.execute(COUNT_ROLE, {"name": "x"})  # a read, yet the lock is taken
            assert not another_writer_can_begin(path)
            await connection.rollback()
        assert another_writer_can_begin(path)

    async def test_plain_reader_does_not_block_writers(
        self, engine: AsyncEngine, path: Path
    ) -> None:
        async with engine.connect() as connection:
            await connection.execute(COUNT_ROLE, {"name": "x"})
            assert another_writer_can_begin(path)
            await connection.rollback()


@pytest.mark.usefixtures("migrated")
class TestSavepointInsideOuterTransaction:
    """pysqlite/aiosqlite emit no BEGIN before a SAVEPOINT, which would make the savepoint the
    real transaction and its RELEASE a commit; the engine emits BEGIN itself to prevent that."""

    async def test_rolled_back_savepoint_leaves_nothing(
        self, engine: AsyncEngine, path: Path
    ) -> None:
        async with engine.connect() as connection:
            outer = await connection.begin()
            nested = await connection.begin_nested()
            await connection.execute(INSERT_ROLE, {"name": "inner"})
            await nested.rollback()
            assert (await connection.execute(COUNT_ROLE, {"name": "inner"})).scalar() == 0
            await outer.commit()

        with closing(sqlite3.connect(path)) as plain:
            assert plain.execute("SELECT count(*) FROM roles WHERE name='inner'").fetchone() == (0,)

    async def test_released_savepoint_is_undone_by_the_outer_rollback(
        self, engine: AsyncEngine, path: Path
    ) -> None:
        # The test isolation's shape: the app "commits" (RELEASE) inside the test's transaction.
        async with engine.connect() as connection:
            outer = await connection.begin()
            nested = await connection.begin_nested()
            await connection.execute(INSERT_ROLE, {"name": "released"})
            await nested.commit()
            assert (await connection.execute(COUNT_ROLE, {"name": "released"})).scalar() == 1
            await outer.rollback()

        with closing(sqlite3.connect(path)) as plain:
            count = plain.execute("SELECT count(*) FROM roles WHERE name='released'").fetchone()
        assert count == (0,)

    async def test_outer_work_survives_a_rolled_back_savepoint(
        self, engine: AsyncEngine, path: Path
    ) -> None:
        async with engine.connect() as connection:
            outer = await connection.begin()
            await connection.execute(INSERT_ROLE, {"name": "kept"})
            nested = await connection.begin_nested()
            await connection.execute(INSERT_ROLE, {"name": "dropped"})
            await nested.rollback()
            await outer.commit()

        with closing(sqlite3.connect(path)) as plain:
            names = {row[0] for row in plain.execute("SELECT name FROM roles")}
        assert "kept" in names
        assert "dropped" not in names
