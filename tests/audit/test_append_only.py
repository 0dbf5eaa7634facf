"""The audit log is append-only in the database itself: DELETE and TRUNCATE are refused like
UPDATE, while the test toolkit can still empty it between committing tests (issue 11)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient
from sqlalchemy import delete, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.audit import service as audit
from sessionary.audit.models import AuditEvent
from sessionary.audit.service import EventType
from sessionary.testing import DEFAULT_PASSWORD, AuditLog, SyncDB
from sessionary.testing.database import TestDatabase
from sessionary.users.models import User


@pytest.fixture
def event(client: TestClient, user: User, audit_log: AuditLog) -> AuditEvent:
    login = {"username": user.username, "password": DEFAULT_PASSWORD}
    assert client.post("/auth/login", json=login).status_code == 200
    (recorded,) = audit_log.events("login.succeeded")
    return recorded


def emptying_statement(database: TestDatabase) -> str:
    """PostgreSQL's TRUNCATE; SQLite has none, its unqualified DELETE is the truncate."""
    return (
        "TRUNCATE audit_events" if database.backend == "postgresql" else "DELETE FROM audit_events"
    )


class TestDeletesAreRefused:
    def test_an_sql_delete_of_one_row_is_refused(
        self, event: AuditEvent, db: SyncDB, audit_log: AuditLog
    ) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": event.id})

        assert [e.id for e in audit_log.events()] == [event.id]

    def test_an_orm_delete_is_refused_too(
        self, event: AuditEvent, db: SyncDB, audit_log: AuditLog
    ) -> None:
        async def remove(session: AsyncSession) -> None:
            row = await session.get(AuditEvent, event.id)
            assert row is not None
            await session.delete(row)
            await session.flush()

        with pytest.raises(DBAPIError, match="append-only"):
            db.run(remove)

        assert [e.id for e in audit_log.events()] == [event.id]

    def test_a_bulk_delete_is_refused(
        self, event: AuditEvent, db: SyncDB, audit_log: AuditLog
    ) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(delete(AuditEvent).where(AuditEvent.type == "login.succeeded"))

        assert [e.id for e in audit_log.events()] == [event.id]


# Every column copied from the recorded row, under a new type: a forged event in its place.
_FORGED = (
    "(id, actor_user_id, actor_api_key_id, target_type, target_id, ip, user_agent, created_at,"
    " type, detail) SELECT id, actor_user_id, actor_api_key_id, target_type, target_id, ip,"
    " user_agent, created_at, 'tampered', detail FROM audit_events WHERE id = :id"
)
_UPSERT = f"INSERT INTO audit_events {_FORGED} ON CONFLICT (id) DO UPDATE SET type = excluded.type"


def overwriting_statements(database: TestDatabase) -> list[str]:
    """Inserts that land on a recorded id and would overwrite it, on the run's engine."""
    if database.backend == "postgresql":
        return [_UPSERT]
    # SQLite's REPLACE deletes the old row without firing DELETE triggers (migration 0006).
    return [
        f"REPLACE INTO audit_events {_FORGED}",
        f"INSERT OR REPLACE INTO audit_events {_FORGED}",
        _UPSERT,
    ]


class TestOverwritingARowIsRefused:
    def test_no_insert_replaces_a_recorded_event(
        self,
        event: AuditEvent,
        db: SyncDB,
        audit_log: AuditLog,
        sessionary_database: TestDatabase,
    ) -> None:
        for statement in overwriting_statements(sessionary_database):
            with pytest.raises(DBAPIError, match="append-only"):
                db.execute(text(statement), {"id": event.id})

        assert [(e.id, e.type) for e in audit_log.events()] == [(event.id, "login.succeeded")]


class TestEmptyingTheTableIsRefused:
    def test_truncate_is_refused(
        self,
        event: AuditEvent,
        db: SyncDB,
        audit_log: AuditLog,
        sessionary_database: TestDatabase,
    ) -> None:
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(emptying_statement(sessionary_database)))

        assert [e.id for e in audit_log.events()] == [event.id]


@pytest.mark.usefixtures("transactional_db")
class TestTheToolkitStillEmptiesIt:
    """``transactional_db`` and ``--db-isolation=delete`` clean up by DELETE in foreign-key
    order: the guard is off for that one transaction only."""

    def test_the_clean_up_empties_the_log_and_the_guard_is_back_afterwards(
        self,
        event: AuditEvent,
        db: SyncDB,
        audit_log: AuditLog,
        sessionary_database: TestDatabase,
        sessionary_portal: BlockingPortal,
    ) -> None:
        counts = sessionary_portal.call(sessionary_database.reset)

        assert counts["audit_events"] == 0
        assert audit_log.events() == []

        async def record(session: AsyncSession) -> None:
            await audit.record_event(session, EventType.LOGOUT)

        db.run(record)
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(emptying_statement(sessionary_database)))
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(delete(AuditEvent))
        assert [e.type for e in audit_log.events()] == ["logout"]


APP_ROLE_SQL = Path(__file__).parents[2] / "docs" / "deploy" / "app-role.sql"


def app_role_statements() -> list[str]:
    lines = APP_ROLE_SQL.read_text().splitlines()
    script = "\n".join(line for line in lines if not line.startswith("--"))
    return [sql.strip() for sql in script.split(";") if sql.strip()]


class TestANonOwnerAppRole:
    """The operator's lock-down (docs/deploy/app-role.sql, run as written): the app's role
    still records events but can neither remove them nor switch the guard off."""

    ATTEMPTS: ClassVar[dict[str, str]] = {
        "delete": "DELETE FROM audit_events",
        "truncate": "TRUNCATE audit_events",
        "update": "UPDATE audit_events SET type = 'tampered'",
        "disable the trigger": "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_delete",
        "drop the trigger": "DROP TRIGGER audit_events_no_delete ON audit_events",
        "drop the table": "DROP TABLE audit_events",
        "skip triggers": "SET LOCAL session_replication_role = replica",
    }

    def test_may_insert_and_read_but_not_remove_or_unguard(
        self, event: AuditEvent, db: SyncDB, sessionary_database: TestDatabase
    ) -> None:
        if sessionary_database.backend != "postgresql":
            pytest.skip("SQLite has no roles: whoever may write the file owns the database")
        role = f"sessionary_app_{uuid.uuid4().hex[:8]}"

        async def as_app_role(session: AsyncSession) -> dict[str, str]:
            connection = await session.connection()
            # CREATE ROLE is transactional: the test's rollback removes it again.
            await connection.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            for sql in app_role_statements():
                await connection.execute(text(sql.replace("sessionary_app", f'"{role}"')))
            await connection.execute(text(f'SET ROLE "{role}"'))
            outcomes: dict[str, str] = {}
            try:
                async with connection.begin_nested():
                    await audit.record_event(session, EventType.LOGOUT)
                for name, sql in self.ATTEMPTS.items():
                    try:
                        async with connection.begin_nested():
                            await connection.execute(text(sql))
                        outcomes[name] = "done"
                    except DBAPIError as exc:
                        outcomes[name] = str(exc.orig)
            finally:
                await connection.execute(text("RESET ROLE"))
            return outcomes

        outcomes = db.run(as_app_role)

        for name, outcome in outcomes.items():
            assert re.search("permission denied|must be owner", outcome), (name, outcome)
        assert db.count(AuditEvent) == 2
        assert db.get(AuditEvent, event.id) is not None
