"""Login devices from the command line: ``sessions purge`` deletes the expired ones (and expired
mailed tokens), ``users set-password`` and ``users deactivate`` forget the user's (issue 11)."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from sessionary.auth.models import LoginDevice
from sessionary.cli import app
from sessionary.core.db import engine_for_url
from sessionary.testing import Clock
from sessionary.users.models import AccountToken
from sessionary.users.tokens import Purpose

from .scratch import ScratchDatabase

pytestmark = pytest.mark.no_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
DEFAULT_TTL = timedelta(days=30)


def add_device(database: ScratchDatabase, user_id: int, last_used_at: datetime) -> None:
    async def run() -> None:
        engine = engine_for_url(database.url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(LoginDevice).values(
                        user_id=user_id,
                        token_hash=os.urandom(32),
                        created_at=last_used_at,
                        last_used_at=last_used_at,
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


def devices(database: ScratchDatabase, user_id: int) -> list[datetime]:
    rows = database.rows(
        "SELECT last_used_at FROM login_devices WHERE user_id = :id ORDER BY id", id=user_id
    )
    return [row[0] for row in rows]


class TestPurge:
    def test_deletes_devices_unused_for_the_ttl_and_keeps_the_others(
        self, runner: CliRunner, migrated_database: ScratchDatabase, clock: Clock
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        now = clock.now()
        add_device(migrated_database, alice, now - DEFAULT_TTL - timedelta(minutes=1))
        add_device(migrated_database, alice, now - DEFAULT_TTL)
        add_device(migrated_database, alice, now - DEFAULT_TTL + timedelta(minutes=1))
        add_device(migrated_database, alice, now)

        result = runner.invoke(app, ["sessions", "purge"])

        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[-1] == "purged 2 login device(s)"
        assert len(devices(migrated_database, alice)) == 2

    def test_the_ttl_is_a_setting(
        self,
        runner: CliRunner,
        migrated_database: ScratchDatabase,
        clock: Clock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        add_device(migrated_database, alice, clock.now() - timedelta(hours=2))
        monkeypatch.setenv("SESSIONARY_LOGIN_DEVICE_TTL", "3600")

        assert runner.invoke(app, ["sessions", "purge"]).exit_code == 0

        assert devices(migrated_database, alice) == []


class TestSecuringTheAccount:
    @pytest.mark.parametrize(
        "command",
        [
            pytest.param(["users", "set-password", "alice", "--password-stdin"], id="set-password"),
            pytest.param(["users", "deactivate", "alice"], id="deactivate"),
        ],
    )
    def test_forgets_the_users_devices_only(
        self,
        command: list[str],
        runner: CliRunner,
        migrated_database: ScratchDatabase,
        clock: Clock,
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        bob = migrated_database.add_user("bob", PASSWORD)
        for user in (alice, alice, bob):
            add_device(migrated_database, user, clock.now())

        result = runner.invoke(app, command, input=f"{NEW_PASSWORD}\n")

        assert result.exit_code == 0, result.output
        assert devices(migrated_database, alice) == []
        assert len(devices(migrated_database, bob)) == 1


class TestPurgeMailedTokens:
    def test_deletes_expired_tokens_and_keeps_live_ones(
        self, runner: CliRunner, migrated_database: ScratchDatabase, clock: Clock
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        bob = migrated_database.add_user("bob", PASSWORD)
        now = clock.now()
        add_token(migrated_database, alice, expires_at=now - timedelta(seconds=1))
        add_token(migrated_database, bob, expires_at=now + timedelta(minutes=5))

        result = runner.invoke(app, ["sessions", "purge"])

        assert result.exit_code == 0, result.output
        assert "purged 1 expired mailed token(s)" in result.stdout.splitlines()
        kept = migrated_database.rows("SELECT user_id FROM account_tokens")
        assert [row[0] for row in kept] == [bob]


def add_token(database: ScratchDatabase, user_id: int, *, expires_at: datetime) -> None:
    async def run() -> None:
        engine = engine_for_url(database.url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(AccountToken).values(
                        user_id=user_id,
                        purpose=Purpose.PASSWORD_RESET.value,
                        token_hash=os.urandom(32),
                        created_at=expires_at - timedelta(minutes=30),
                        expires_at=expires_at,
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(run())
