"""A database of one CLI test's own: the CLI commits for real, so never into the shared one."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Row, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sessionary import migrations
from sessionary.api_keys import service as api_keys_service
from sessionary.config import Settings
from sessionary.core.db import Database, engine_for_url
from sessionary.core.security import PasswordHasher
from sessionary.identity.principal import Principal
from sessionary.sessions import credential
from sessionary.sessions import service as sessions_service
from sessionary.users import service as users_service

# The defaults the CLI hashes with (OWASP's argon2id parameters).
HASHER = PasswordHasher(memory_cost=19_456, time_cost=2, parallelism=1, threads=1)


class ScratchDatabase:
    """One test's database, read and seeded here through the same code the CLI uses."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        self.settings = Settings(database_url=url)

    def migrate(self) -> None:
        migrations.upgrade(self.url)

    def rows(self, sql: str, **params: Any) -> list[Row[Any]]:
        async def fetch() -> list[Row[Any]]:
            engine = engine_for_url(self.url)
            try:
                async with engine.connect() as connection:
                    return list((await connection.execute(text(sql), params)).all())
            finally:
                await engine.dispose()

        return asyncio.run(fetch())

    def scalar(self, sql: str, **params: Any) -> Any:
        rows = self.rows(sql, **params)
        return rows[0][0] if rows else None

    def table_names(self) -> set[str]:
        async def names() -> set[str]:
            engine = engine_for_url(self.url)
            try:
                async with engine.connect() as connection:
                    found = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
                    return set(found)
            finally:
                await engine.dispose()

        return asyncio.run(names())

    def user(self, username: str) -> Row[Any] | None:
        """The ``users`` row whose stored (NFKC) username is exactly ``username``."""
        rows = self.rows(
            "SELECT id, username, email, password_hash, is_active FROM users"
            " WHERE username = :username",
            username=username,
        )
        return rows[0] if rows else None

    def roles_of(self, username: str) -> list[str]:
        return [
            row.role_name
            for row in self.rows(
                "SELECT r.role_name FROM user_roles r JOIN users u ON u.id = r.user_id"
                " WHERE u.username = :username ORDER BY r.role_name",
                username=username,
            )
        ]

    def count_users(self) -> int:
        return int(self.scalar("SELECT count(*) FROM users"))

    def add_user(self, username: str, password: str, email: str | None = None) -> int:
        """A member made through the users service, committed; returns its id."""

        async def create() -> int:
            database = Database(self.settings)
            try:
                async with database.write() as session:
                    user = await users_service.create_user(
                        session,
                        HASHER,
                        username=username,
                        email=email or f"{username}@example.com",
                        password=password,
                    )
                    await session.commit()
                    return user.id
            finally:
                await database.stop()

        return asyncio.run(create())

    def add_api_key(self, user_id: int, scopes: list[str]) -> str:
        """An API key of the user's with these scopes, committed; returns the key."""

        async def issue() -> str:
            database = Database(self.settings)
            try:
                async with database.write() as session:
                    issued = await api_keys_service.create_key(
                        session, owner_id=user_id, name="scratch", scopes=scopes
                    )
                    await session.commit()
                    return issued.key
            finally:
                await database.stop()

        return asyncio.run(issue())

    def open_session(self, user_id: int, username: str) -> str:
        """A live session for the user (as a login would make it); returns its token."""

        async def open_one() -> str:
            database = Database(self.settings)
            try:
                async with database.write() as session:
                    issued = await sessions_service.open_session(
                        session, self.settings, user_id=user_id, username=username
                    )
                    await session.commit()
                    return issued.token
            finally:
                await database.stop()

        return asyncio.run(open_one())

    def resolve(self, token: str) -> Principal | None:
        """Who the token authenticates as, exactly as the app decides it."""

        async def lookup() -> Principal | None:
            database = Database(self.settings)
            try:
                return await credential.resolve(database, self.settings, token)
            finally:
                await database.stop()

        return asyncio.run(lookup())


async def _administer(url: str, statement: str) -> None:
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


@contextmanager
def scratch_database(
    test_database_url: str, directory: Path, *, template: ScratchDatabase | None = None
) -> Iterator[ScratchDatabase]:
    """A database of the same kind as the run's test database, removed afterwards: SQLite, a
    file in ``directory``; PostgreSQL, ``<test db>_cli_<random>`` on the same server. Empty, or
    a copy of ``template`` (cheaper than migrating every time)."""
    base = make_url(test_database_url)
    if base.get_backend_name() == "sqlite":
        path = directory / f"cli_{uuid.uuid4().hex[:8]}_test.db"
        if template is not None:
            shutil.copyfile(make_url(template.url).database or "", path)
        yield ScratchDatabase(f"sqlite+aiosqlite:///{path}")
        return
    name = f"{base.database}_cli_{uuid.uuid4().hex[:8]}"
    assert "test" in name
    url = base.set(database=name).render_as_string(hide_password=False)
    copy = f' TEMPLATE "{make_url(template.url).database}"' if template is not None else ""
    asyncio.run(_administer(url, f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield ScratchDatabase(url)
    finally:
        # FORCE: a server under test may still hold connections.
        asyncio.run(_administer(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
