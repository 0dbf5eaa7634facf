"""``sessionary db upgrade|downgrade|current`` and how a bad database is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from sessionary.cli import app
from sessionary.migrations import alembic_config

from .checks import assert_one_line_error, run_entry_point
from .scratch import ScratchDatabase

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

pytestmark = pytest.mark.no_db

TABLES = {"users", "roles", "role_permissions", "user_roles", "sessions"}
UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing_test"


class TestUpgrade:
    def test_empty_database_is_migrated_to_head(
        self, runner: CliRunner, empty_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, ["db", "upgrade"])

        assert result.exit_code == 0, result.output
        assert result.stdout == f"database at {HEAD} (head)\n"
        assert empty_database.table_names() >= TABLES
        assert empty_database.scalar("SELECT count(*) FROM roles") == 2

    def test_second_upgrade_changes_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, ["db", "upgrade"])

        assert result.exit_code == 0, result.output
        assert result.stdout == f"database at {HEAD} (head)\n"
        assert migrated_database.scalar("SELECT count(*) FROM roles") == 2

    def test_unknown_revision_is_one_line(
        self, runner: CliRunner, empty_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, ["db", "upgrade", "nosuchrev"])

        assert_one_line_error(result, "nosuchrev")
        assert not TABLES & empty_database.table_names()


class TestCurrent:
    @pytest.mark.usefixtures("migrated_database")
    def test_migrated_database_is_at_head(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["db", "current"])

        assert result.exit_code == 0, result.output
        assert result.stdout == f"{HEAD} (head)\n"

    @pytest.mark.usefixtures("empty_database")
    def test_unmigrated_database_is_at_base(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["db", "current"])

        assert result.exit_code == 0, result.output
        assert result.stdout == "base (not migrated)\n"


class TestDowngrade:
    def test_downgrade_to_base_drops_the_tables_and_upgrade_restores_them(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        down = runner.invoke(app, ["db", "downgrade", "base"])

        assert down.exit_code == 0, down.output
        assert down.stdout == "database at base\n"
        assert not TABLES & migrated_database.table_names()
        assert runner.invoke(app, ["db", "current"]).stdout == "base (not migrated)\n"

        up = runner.invoke(app, ["db", "upgrade"])

        assert up.exit_code == 0, up.output
        assert migrated_database.table_names() >= TABLES
        assert runner.invoke(app, ["db", "current"]).stdout == f"{HEAD} (head)\n"

    def test_missing_revision_is_a_usage_error(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, ["db", "downgrade"])

        assert result.exit_code == 2
        assert "REVISION" in result.stderr.upper()
        assert migrated_database.table_names() >= TABLES


COMMANDS = [
    pytest.param(["db", "upgrade"], id="db-upgrade"),
    pytest.param(["db", "current"], id="db-current"),
    pytest.param(["db", "downgrade", "base"], id="db-downgrade"),
    pytest.param(["users", "deactivate", "alice"], id="users-deactivate"),
    pytest.param(["demo"], id="demo"),
]


class TestUnusableDatabaseURL:
    @pytest.mark.parametrize("args", COMMANDS)
    def test_unsupported_scheme_is_one_line(self, runner: CliRunner, args: list[str]) -> None:
        result = runner.invoke(app, args, env={"SESSIONARY_DATABASE_URL": "mysql://x"})

        assert_one_line_error(result, "unsupported database URL scheme 'mysql'")

    @pytest.mark.parametrize("args", COMMANDS)
    def test_malformed_url_is_one_line(self, runner: CliRunner, args: list[str]) -> None:
        result = runner.invoke(app, args, env={"SESSIONARY_DATABASE_URL": "not a url"})

        assert_one_line_error(result, "malformed database URL")

    @pytest.mark.parametrize("args", COMMANDS)
    def test_unreachable_postgres_is_one_line(self, runner: CliRunner, args: list[str]) -> None:
        result = runner.invoke(app, args, env={"SESSIONARY_DATABASE_URL": UNREACHABLE_POSTGRES})

        assert_one_line_error(result, "cannot reach the database")

    @pytest.mark.parametrize("args", COMMANDS)
    def test_invalid_setting_is_one_line(self, runner: CliRunner, args: list[str]) -> None:
        result = runner.invoke(app, args, env={"SESSIONARY_LOG_LEVEL": "LOUD"})

        assert_one_line_error(result, "SESSIONARY_LOG_LEVEL")


class TestEntryPointFailures:
    """The installed command, in a real process: exit status and stderr as an operator sees."""

    def test_unsupported_scheme_exits_1_with_one_stderr_line(self, tmp_path: Path) -> None:
        completed = run_entry_point("db", "upgrade", database_url="mysql://x", cwd=tmp_path)

        assert completed.returncode == 1
        assert completed.stdout == ""
        assert "Traceback" not in completed.stderr
        assert completed.stderr.count("\n") == 1
        assert completed.stderr.startswith("error: unsupported database URL scheme 'mysql'")

    def test_unreachable_postgres_exits_1_with_one_stderr_line(self, tmp_path: Path) -> None:
        completed = run_entry_point(
            "db", "upgrade", database_url=UNREACHABLE_POSTGRES, cwd=tmp_path
        )

        assert completed.returncode == 1
        assert completed.stdout == ""
        assert "Traceback" not in completed.stderr
        assert completed.stderr.count("\n") == 1
        assert completed.stderr.startswith("error: cannot reach the database")
