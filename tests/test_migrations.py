"""Migrations are the only schema source: they match the models, they round-trip, and they seed
the permission catalogue and the built-in roles."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from sessionary import migrations
from sessionary.core.db import Database, engine_for_url
from sessionary.models import Base
from sessionary.roles.models import PermissionRecord, Role, RolePermission
from sessionary.roles.permissions import ADMIN, BUILTIN_ROLES, MEMBER, Permission
from sessionary.runtime import runtime_of
from sessionary.testing import SyncDB
from sessionary.testing.database import TestDatabase

TABLES = {"users", "roles", "permissions", "role_permissions", "user_roles", "sessions"}


def _diff(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def schema_diff(app: FastAPI, portal: BlockingPortal, metadata: MetaData) -> list[Any]:
    """What autogenerate would write to turn the test database into ``metadata``."""

    database: Database = runtime_of(app).database

    async def compare() -> list[Any]:
        async with database.read() as connection:
            return await connection.run_sync(_diff, metadata)

    return portal.call(compare)


def _with_extra_column() -> MetaData:
    copy = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["users"].append_column(Column("nickname", Integer, nullable=True))
    return copy


class TestModelsMatchMigrations:
    def test_no_drift(self, sessionary_app: FastAPI, sessionary_portal: BlockingPortal) -> None:
        diff = schema_diff(sessionary_app, sessionary_portal, Base.metadata)

        assert diff == [], "models and migrations differ; write a migration:\n" + "\n".join(
            map(repr, diff)
        )

    def test_a_column_without_a_migration_is_caught(
        self, sessionary_app: FastAPI, sessionary_portal: BlockingPortal
    ) -> None:
        diff = schema_diff(sessionary_app, sessionary_portal, _with_extra_column())

        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "users", "nickname")]

    def test_every_model_table_is_migrated(
        self, sessionary_app: FastAPI, sessionary_portal: BlockingPortal
    ) -> None:
        async def tables() -> set[str]:
            async with runtime_of(sessionary_app).database.read() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
                return set(names)

        present = sessionary_portal.call(tables)

        assert set(Base.metadata.tables) | {"alembic_version"} == present
        assert present >= TABLES


# -- round trip on a scratch database --------------------------------------------------------


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = engine_for_url(url)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
                return set(names)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _permission_count(url: str) -> int:
    async def read() -> int:
        engine = engine_for_url(url)
        try:
            async with engine.connect() as connection:
                return int(
                    (
                        await connection.execute(text("SELECT count(*) FROM permissions"))
                    ).scalar_one()
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def assert_round_trip(url: str) -> None:
    migrations.upgrade(url)
    head = migrations.current(url)
    assert "(head)" in head
    assert _tables(url) >= TABLES
    assert _permission_count(url) == len(Permission)

    migrations.downgrade(url, "base")
    assert migrations.current(url) == ""
    assert _tables(url) <= {"alembic_version"}

    migrations.upgrade(url)
    assert migrations.current(url) == head
    assert _tables(url) >= TABLES
    assert _permission_count(url) == len(Permission)


@pytest.fixture
def scratch_url(sessionary_database: TestDatabase, tmp_path: Path) -> Iterator[str]:
    """An empty database on this run's backend: a SQLite file, or ``<test db>_mig_<uuid>``."""
    if sessionary_database.backend != "postgresql":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    base = make_url(sessionary_database.url)
    name = f"{base.database}_mig_{uuid.uuid4().hex[:12]}"
    scratch = TestDatabase(base.set(database=name).render_as_string(hide_password=False))
    scratch.ensure_ready()  # created (with the toolkit's marker) and migrated
    try:
        yield scratch.url
    finally:
        scratch.drop()


@pytest.mark.no_db
class TestRoundTrip:
    def test_upgrade_downgrade_upgrade_on_sqlite(self, tmp_path: Path) -> None:
        assert_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'round-trip.db'}")

    def test_upgrade_downgrade_upgrade_on_this_runs_backend(self, scratch_url: str) -> None:
        assert_round_trip(scratch_url)

    def test_upgrade_is_idempotent(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'twice.db'}"
        migrations.upgrade(url)
        migrations.upgrade(url)

        assert _permission_count(url) == len(Permission)


# -- seed rows -------------------------------------------------------------------------------


def _rows(db: SyncDB, statement: Executable) -> list[Any]:
    async def fetch(session: AsyncSession) -> list[Any]:
        return list((await session.execute(statement)).all())

    return db.run(fetch)


def _grants(db: SyncDB, role: str) -> set[str]:
    rows = _rows(db, select(RolePermission.permission).where(RolePermission.role_name == role))
    return {row[0] for row in rows}


class TestPermissionCatalogue:
    def test_database_catalogue_equals_the_enum(self, db: SyncDB) -> None:
        rows = _rows(db, select(PermissionRecord.name))

        assert {row[0] for row in rows} == {p.value for p in Permission}

    def test_every_permission_has_a_description(self, db: SyncDB) -> None:
        rows = _rows(db, select(PermissionRecord.name, PermissionRecord.description))

        assert all(description.strip() for _, description in rows)

    def test_admin_holds_every_permission(self, db: SyncDB) -> None:
        assert _grants(db, ADMIN) == {p.value for p in Permission}

    def test_member_holds_exactly_the_member_set(self, db: SyncDB) -> None:
        assert _grants(db, MEMBER) == {"notes:read", "notes:write", "api_keys:write"}
        assert _grants(db, MEMBER) == {p.value for p in BUILTIN_ROLES[MEMBER]}

    def test_builtin_roles_exist_and_are_marked_builtin(self, db: SyncDB) -> None:
        rows = _rows(db, select(Role.name, Role.is_builtin))

        builtin = {name for name, is_builtin in rows if is_builtin}
        assert builtin == {ADMIN, MEMBER}
        assert set(BUILTIN_ROLES) == {ADMIN, MEMBER}
