"""The command line is an actor too (issue 11): ``sessionary users …`` and ``sessions revoke``
go through the API's verbs, record the same audit events — actor null, ``detail.via`` "cli"
and the OS user — and keep the same rules."""

from __future__ import annotations

import getpass
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from sessionary.cli import app

from .checks import assert_one_line_error
from .scratch import ScratchDatabase

pytestmark = pytest.mark.no_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
CLI_ACTOR = {"via": "cli", "os_user": getpass.getuser()}


def events(database: ScratchDatabase) -> list[dict[str, Any]]:
    rows = database.rows(
        "SELECT type, actor_user_id, actor_api_key_id, target_type, target_id, detail"
        " FROM audit_events ORDER BY id"
    )
    return [
        {
            **row._asdict(),
            "detail": row.detail if isinstance(row.detail, dict) else json.loads(row.detail),
        }
        for row in rows
    ]


def invoke(runner: CliRunner, *args: str, password: str | None = None) -> Any:
    options = ["--password-stdin"] if password is not None else []
    stdin = f"{password}\n" if password is not None else None
    return runner.invoke(app, [*args, *options], input=stdin)


def assert_cli_event(event: dict[str, Any], type_: str, user_id: int, **detail: Any) -> None:
    assert event["type"] == type_
    assert (event["actor_user_id"], event["actor_api_key_id"]) == (None, None)
    assert (event["target_type"], event["target_id"]) == ("user", str(user_id))
    assert event["detail"] == {**detail, **CLI_ACTOR}


class TestEveryCommandIsAudited:
    def test_create_records_user_created(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = invoke(
            runner, "users", "create", "alice", "--email", "a@example.com", password=PASSWORD
        )

        assert result.exit_code == 0, result.output
        alice = migrated_database.user("alice")
        assert alice is not None
        (event,) = events(migrated_database)
        assert_cli_event(event, "user.created", alice.id, username="alice", roles=["member"])

    def test_set_password_records_password_changed(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        migrated_database.open_session(alice, "alice")

        result = invoke(runner, "users", "set-password", "alice", password=NEW_PASSWORD)

        assert result.exit_code == 0, result.output
        (event,) = events(migrated_database)
        assert_cli_event(event, "password.changed", alice, username="alice", sessions_revoked=1)

    def test_deactivate_records_user_deactivated(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        migrated_database.open_session(alice, "alice")

        result = invoke(runner, "users", "deactivate", "alice")

        assert result.exit_code == 0, result.output
        (event,) = events(migrated_database)
        assert_cli_event(event, "user.deactivated", alice, username="alice", sessions_revoked=1)

    def test_activate_records_user_updated(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        assert invoke(runner, "users", "deactivate", "alice").exit_code == 0

        result = invoke(runner, "users", "activate", "alice")

        assert result.exit_code == 0, result.output
        assert result.stdout == "activated alice\n"
        user = migrated_database.user("alice")
        assert user is not None
        assert user.is_active
        event = events(migrated_database)[-1]
        assert_cli_event(event, "user.updated", alice, username="alice", fields=["is_active"])

    def test_sessions_revoke_records_logout_all(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice = migrated_database.add_user("alice", PASSWORD)
        for _ in range(2):
            migrated_database.open_session(alice, "alice")

        result = invoke(runner, "sessions", "revoke", "--user", "alice")

        assert result.exit_code == 0, result.output
        (event,) = events(migrated_database)
        assert_cli_event(event, "logout_all", alice, username="alice", sessions_revoked=2)

    def test_a_refused_command_records_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("alice", PASSWORD)

        result = invoke(runner, "users", "set-password", "alice", password="password")

        assert_one_line_error(result, "too common")
        assert events(migrated_database) == []


class TestTheLastActiveAdminStays:
    def test_deactivating_them_is_one_line_exit_1_and_changes_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        created = invoke(
            runner,
            "users",
            "create",
            "root",
            "--email",
            "r@example.com",
            "--role",
            "admin",
            password=PASSWORD,
        )
        assert created.exit_code == 0, created.output
        before = events(migrated_database)

        result = invoke(runner, "users", "deactivate", "root")

        assert_one_line_error(result, "last active admin")
        root = migrated_database.user("root")
        assert root is not None
        assert root.is_active
        assert events(migrated_database) == before

    def test_with_another_active_admin_it_works(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        for name in ("root", "ops"):
            made = invoke(
                runner,
                "users",
                "create",
                name,
                "--email",
                f"{name}@example.com",
                "--role",
                "admin",
                password=PASSWORD,
            )
            assert made.exit_code == 0, made.output

        result = invoke(runner, "users", "deactivate", "root")

        assert result.exit_code == 0, result.output
        root = migrated_database.user("root")
        assert root is not None
        assert not root.is_active


class TestActivityThatIsAlreadySo:
    def test_deactivating_an_inactive_user_says_so_and_records_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("alice", PASSWORD)
        assert invoke(runner, "users", "deactivate", "alice").exit_code == 0
        before = events(migrated_database)

        result = invoke(runner, "users", "deactivate", "alice")

        assert result.exit_code == 0, result.output
        assert result.stdout == "alice is already inactive\n"
        assert events(migrated_database) == before

    def test_activating_an_active_user_says_so_and_records_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("alice", PASSWORD)

        result = invoke(runner, "users", "activate", "alice")

        assert result.exit_code == 0, result.output
        assert result.stdout == "alice is already active\n"
        assert events(migrated_database) == []

    @pytest.mark.usefixtures("migrated_database")
    def test_activating_an_unknown_user_is_one_line(self, runner: CliRunner) -> None:
        assert_one_line_error(invoke(runner, "users", "activate", "nobody"), "User not found")
