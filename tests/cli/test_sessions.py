"""``sessionary sessions purge`` and ``sessionary sessions revoke --user``."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.sql import Executable
from typer.testing import CliRunner

from sessionary.audit.models import AuditEvent
from sessionary.cli import app
from sessionary.core.db import engine_for_url
from sessionary.sessions.models import LoginSession
from sessionary.testing import Clock

from .checks import assert_one_line_error
from .scratch import ScratchDatabase

pytestmark = pytest.mark.no_db

PASSWORD = "correct horse battery"
IDLE = 3600
ABSOLUTE = 86400


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def execute(database: ScratchDatabase, statement: Executable) -> list[Any]:
    """Run one Core statement (through the models' column types) and commit."""

    async def run() -> list[Any]:
        engine = engine_for_url(database.url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(statement)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


def session_id(database: ScratchDatabase, token: str) -> int:
    rows = execute(
        database, select(LoginSession.id).where(LoginSession.token_hash == digest(token))
    )
    assert len(rows) == 1
    return int(rows[0][0])


def revoke(database: ScratchDatabase, token: str, at: datetime) -> None:
    execute(
        database,
        update(LoginSession).where(LoginSession.token_hash == digest(token)).values(revoked_at=at),
    )


def stored_ids(database: ScratchDatabase) -> set[int]:
    return {row[0] for row in execute(database, select(LoginSession.id))}


def revoked_at(database: ScratchDatabase, token: str) -> datetime | None:
    rows = execute(
        database, select(LoginSession.revoked_at).where(LoginSession.token_hash == digest(token))
    )
    value: datetime | None = rows[0][0]
    return value


def number_in(output: str) -> int:
    """The count of sessions the command reports."""
    numbers = re.findall(r"(\d+) session", output)
    assert len(numbers) == 1, output
    return int(numbers[0])


class TestPurge:
    @pytest.fixture
    def tokens(self, migrated_database: ScratchDatabase, clock: Clock) -> dict[str, str]:
        """Sessions of every kind, seen from ``now`` = two days after the first logins."""
        alice = migrated_database.add_user("alice", PASSWORD)
        start = clock.now()
        now = start + timedelta(days=2)
        made: dict[str, str] = {}

        def open_at(name: str, moment: datetime) -> None:
            clock.set(moment)
            made[name] = migrated_database.open_session(alice, "alice")

        open_at("absolute_expired", start)
        open_at("absolute_expired_revoked", start)
        open_at("absolute_expired_but_recently_seen", start)
        open_at("idle_expired", now - timedelta(seconds=2 * IDLE))
        open_at("idle_expired_revoked", now - timedelta(seconds=2 * IDLE))
        open_at("revoked_recently", now - timedelta(minutes=5))
        open_at("live", now - timedelta(minutes=5))
        revoke(migrated_database, made["absolute_expired_revoked"], start + timedelta(minutes=1))
        revoke(migrated_database, made["idle_expired_revoked"], now - timedelta(seconds=IDLE))
        revoke(migrated_database, made["revoked_recently"], now - timedelta(minutes=1))
        execute(
            migrated_database,
            update(LoginSession)
            .where(LoginSession.token_hash == digest(made["absolute_expired_but_recently_seen"]))
            .values(last_seen_at=now - timedelta(minutes=1)),
        )
        clock.set(now)
        return made

    def test_deletes_expired_rows_and_keeps_live_and_recently_revoked_ones(
        self, runner: CliRunner, migrated_database: ScratchDatabase, tokens: dict[str, str]
    ) -> None:
        ids = {name: session_id(migrated_database, token) for name, token in tokens.items()}

        result = runner.invoke(app, ["sessions", "purge"])

        assert result.exit_code == 0, result.output
        kept = {"idle_expired_revoked", "revoked_recently", "live"}
        assert stored_ids(migrated_database) == {ids[name] for name in kept}
        assert number_in(result.stdout) == len(tokens) - len(kept)

    def test_a_kept_revoked_row_still_raises_the_theft_signal(
        self, runner: CliRunner, migrated_database: ScratchDatabase, tokens: dict[str, str]
    ) -> None:
        assert runner.invoke(app, ["sessions", "purge"]).exit_code == 0

        assert migrated_database.resolve(tokens["idle_expired_revoked"]) is None

        presented = execute(
            migrated_database,
            select(AuditEvent.target_id).where(
                AuditEvent.type == "session.revoked_token_presented"
            ),
        )
        revoked = session_id(migrated_database, tokens["idle_expired_revoked"])
        assert [row[0] for row in presented] == [str(revoked)]

    def test_the_live_session_still_works_afterwards(
        self, runner: CliRunner, migrated_database: ScratchDatabase, tokens: dict[str, str]
    ) -> None:
        assert runner.invoke(app, ["sessions", "purge"]).exit_code == 0

        principal = migrated_database.resolve(tokens["live"])

        assert principal is not None
        assert principal.username == "alice"

    def test_a_second_purge_deletes_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase, tokens: dict[str, str]
    ) -> None:
        assert runner.invoke(app, ["sessions", "purge"]).exit_code == 0

        result = runner.invoke(app, ["sessions", "purge"])

        assert result.exit_code == 0, result.output
        assert number_in(result.stdout) == 0
        assert len(stored_ids(migrated_database)) == 3

    def test_an_empty_table_purges_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, ["sessions", "purge"])

        assert result.exit_code == 0, result.output
        assert number_in(result.stdout) == 0
        assert result.stderr == ""


class TestRevokeForAUser:
    @pytest.fixture
    def tokens(self, migrated_database: ScratchDatabase, clock: Clock) -> dict[str, str]:
        alice = migrated_database.add_user("alice", PASSWORD)
        bob = migrated_database.add_user("bob", PASSWORD)
        made = {
            "alice_laptop": migrated_database.open_session(alice, "alice"),
            "alice_phone": migrated_database.open_session(alice, "alice"),
            "alice_old": migrated_database.open_session(alice, "alice"),
            "bob": migrated_database.open_session(bob, "bob"),
        }
        revoke(migrated_database, made["alice_old"], clock.now() - timedelta(minutes=5))
        return made

    @pytest.mark.parametrize("username", ["alice", "ALICE"], ids=["as-stored", "other-case"])
    def test_revokes_every_session_of_the_user_and_says_how_many(
        self,
        username: str,
        runner: CliRunner,
        migrated_database: ScratchDatabase,
        tokens: dict[str, str],
    ) -> None:
        result = runner.invoke(app, ["sessions", "revoke", "--user", username])

        assert result.exit_code == 0, result.output
        assert number_in(result.stdout) == 2
        assert migrated_database.resolve(tokens["alice_laptop"]) is None
        assert migrated_database.resolve(tokens["alice_phone"]) is None

    def test_other_users_sessions_are_untouched(
        self, runner: CliRunner, migrated_database: ScratchDatabase, tokens: dict[str, str]
    ) -> None:
        assert runner.invoke(app, ["sessions", "revoke", "--user", "alice"]).exit_code == 0

        principal = migrated_database.resolve(tokens["bob"])
        assert principal is not None
        assert principal.username == "bob"

    def test_rows_are_kept_and_an_earlier_revocation_keeps_its_time(
        self,
        runner: CliRunner,
        migrated_database: ScratchDatabase,
        tokens: dict[str, str],
        clock: Clock,
    ) -> None:
        assert runner.invoke(app, ["sessions", "revoke", "--user", "alice"]).exit_code == 0

        assert revoked_at(migrated_database, tokens["alice_laptop"]) == clock.now()
        assert revoked_at(migrated_database, tokens["alice_old"]) == clock.now() - timedelta(
            minutes=5
        )
        count = execute(migrated_database, select(func.count()).select_from(LoginSession))
        assert count[0][0] == 4

    def test_a_user_without_sessions_gets_zero(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("carol", PASSWORD)

        result = runner.invoke(app, ["sessions", "revoke", "--user", "carol"])

        assert result.exit_code == 0, result.output
        assert number_in(result.stdout) == 0

    def test_an_unknown_user_is_one_line_and_revokes_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase, tokens: dict[str, str]
    ) -> None:
        result = runner.invoke(app, ["sessions", "revoke", "--user", "nobody"])

        assert_one_line_error(result, "User not found")
        assert migrated_database.resolve(tokens["alice_laptop"]) is not None
        assert migrated_database.resolve(tokens["bob"]) is not None

    @pytest.mark.usefixtures("migrated_database")
    def test_without_user_is_a_usage_error(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["sessions", "revoke"])

        assert result.exit_code == 2
