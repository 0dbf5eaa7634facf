"""``sessionary db upgrade|downgrade|current|revision|check|init``, with and without an app's
migrations, and how a bad database or migrations directory is reported."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from sessionary import migrations
from sessionary.cli import app
from sessionary.migrations import alembic_config
from tests.app_migrations import APP_REVISION, write_app_migrations, write_app_models

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


# -- an app's migrations beside Sessionary's ---------------------------------------------------

BOTH = f"{HEAD} (sessionary) (head), {APP_REVISION} (app) (head)"


class TestAppMigrations:
    def test_upgrade_with_the_option_runs_both_branches(
        self, runner: CliRunner, empty_database: ScratchDatabase, tmp_path: Path
    ) -> None:
        app_dir = write_app_migrations(tmp_path)

        result = runner.invoke(app, ["db", "--migrations", str(app_dir), "upgrade"])

        assert result.exit_code == 0, result.output
        assert result.stdout == f"database at {BOTH}\n"
        assert empty_database.table_names() >= TABLES | {"projects"}

    def test_the_setting_names_them_and_current_lists_each_branch(
        self,
        runner: CliRunner,
        empty_database: ScratchDatabase,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("SESSIONARY_MIGRATIONS", str(write_app_migrations(tmp_path)))

        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        result = runner.invoke(app, ["db", "current"])

        assert result.exit_code == 0, result.output
        assert result.stdout == BOTH.replace(", ", "\n") + "\n"
        assert "projects" in empty_database.table_names()

    def test_the_option_wins_over_the_setting(
        self,
        runner: CliRunner,
        empty_database: ScratchDatabase,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("SESSIONARY_MIGRATIONS", str(tmp_path / "nowhere"))

        result = runner.invoke(
            app, ["db", "--migrations", str(write_app_migrations(tmp_path)), "upgrade"]
        )

        assert result.exit_code == 0, result.output
        assert "projects" in empty_database.table_names()

    def test_downgrading_the_app_branch_leaves_sessionarys_tables(
        self, runner: CliRunner, empty_database: ScratchDatabase, tmp_path: Path
    ) -> None:
        option = ["db", "--migrations", str(write_app_migrations(tmp_path))]
        assert runner.invoke(app, [*option, "upgrade"]).exit_code == 0

        result = runner.invoke(app, [*option, "downgrade", "app@base"])

        assert result.exit_code == 0, result.output
        assert result.stdout == f"database at {HEAD} (sessionary) (head)\n"
        tables = empty_database.table_names()
        assert "projects" not in tables
        assert tables >= TABLES

    def test_init_writes_an_env_importing_the_models(
        self, runner: CliRunner, tmp_path: Path
    ) -> None:
        target = tmp_path / "migrations"

        result = runner.invoke(app, ["db", "init", str(target), "--models", "myapp.models"])

        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"created {target}; set SESSIONARY_MIGRATIONS=")
        assert "\nimport myapp.models  # noqa: F401" in (target / "env.py").read_text()
        assert "\nrun_migrations()\n" in (target / "env.py").read_text()
        assert (target / "script.py.mako").is_file()
        assert (target / "versions").is_dir()


class TestAppMigrationMistakes:
    @pytest.mark.parametrize(
        ("spec", "fragment"),
        [
            pytest.param("{tmp}/nowhere", "migrations directory", id="missing-directory"),
            pytest.param("no_such_package_x:migrations", "cannot import", id="bad-package"),
            pytest.param("{tmp}", "has no env.py", id="not-a-migrations-directory"),
        ],
    )
    @pytest.mark.parametrize("command", [["upgrade"], ["current"], ["revision", "-m", "x"]])
    def test_unusable_migrations_are_one_line(
        self,
        runner: CliRunner,
        empty_database: ScratchDatabase,
        tmp_path: Path,
        spec: str,
        fragment: str,
        command: list[str],
    ) -> None:
        option = spec.format(tmp=tmp_path)

        result = runner.invoke(app, ["db", "--migrations", option, *command])

        assert_one_line_error(result, fragment)
        assert not TABLES & empty_database.table_names()

    @pytest.mark.usefixtures("empty_database")
    def test_revision_without_app_migrations_is_one_line(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["db", "revision", "-m", "x"])

        assert_one_line_error(result, "no app migrations", "--migrations")

    @pytest.mark.usefixtures("empty_database")
    def test_autogenerate_on_an_unmigrated_database_is_one_line(
        self, runner: CliRunner, tmp_path: Path
    ) -> None:
        option = ["db", "--migrations", str(write_app_migrations(tmp_path))]

        result = runner.invoke(app, [*option, "revision", "--autogenerate", "-m", "x"])

        assert_one_line_error(result, "not up to date", "sessionary db upgrade")

    @pytest.mark.usefixtures("empty_database")
    def test_head_alone_is_ambiguous_with_an_app(self, runner: CliRunner, tmp_path: Path) -> None:
        option = ["db", "--migrations", str(write_app_migrations(tmp_path))]

        result = runner.invoke(app, [*option, "upgrade", "head"])

        assert_one_line_error(result, "heads")

    @pytest.mark.parametrize("command", [["current"], ["upgrade"]])
    def test_a_database_with_app_revisions_read_without_them_is_one_line(
        self,
        runner: CliRunner,
        empty_database: ScratchDatabase,
        tmp_path: Path,
        command: list[str],
    ) -> None:
        option = ["db", "--migrations", str(write_app_migrations(tmp_path))]
        assert runner.invoke(app, [*option, "upgrade"]).exit_code == 0

        result = runner.invoke(app, ["db", *command])

        assert_one_line_error(result, APP_REVISION, "--migrations", "SESSIONARY_MIGRATIONS")
        assert "projects" in empty_database.table_names()

    def test_init_into_a_used_directory_is_one_line(
        self, runner: CliRunner, tmp_path: Path
    ) -> None:
        (tmp_path / "keep.txt").write_text("mine")

        result = runner.invoke(app, ["db", "init", str(tmp_path)])

        assert_one_line_error(result, "already exists")
        assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]


class TestAppAutogenerate:
    """In real processes: the app's model module adds a table to Sessionary's Base."""

    def test_revision_autogenerate_writes_the_apps_table_only(
        self, empty_database: ScratchDatabase, tmp_path: Path
    ) -> None:
        write_app_models(tmp_path)
        migrations.init(tmp_path / "migrations", models="myapp.models")

        def sessionary(*args: str) -> subprocess.CompletedProcess[str]:
            return run_entry_point(
                "db",
                "--migrations",
                "migrations",
                *args,
                database_url=empty_database.url,
                cwd=tmp_path,
            )

        # Sessionary's chain alone is the same state here, in-process (no model module).
        migrations.upgrade(empty_database.url)
        drift = sessionary("check")
        assert drift.returncode == 1
        assert drift.stderr == (
            "error: models and migrations differ (add_table projects, add_index "
            "ix_projects_owner_id); write a revision: sessionary db revision --autogenerate "
            "-m ...\n"
        )

        written = sessionary("revision", "--autogenerate", "-m", "add projects")

        assert written.returncode == 0, written.stderr
        path = tmp_path / written.stdout.removeprefix("created ").strip()
        assert path.parent == tmp_path / "migrations" / "versions"
        source = path.read_text()
        assert re.findall(r"op\.create_table\(\s*'(\w+)'", source) == ["projects"]
        assert "drop_table('users'" not in source
        assert f"depends_on: str | Sequence[str] | None = '{HEAD}'" in source
        assert "branch_labels: str | Sequence[str] | None = ('app',)" in source
        assert "sa.DateTime(timezone=True)" in source  # UTCDateTime, rendered portably
        assert sessionary("upgrade").returncode == 0
        assert "projects" in empty_database.table_names()
        matched = sessionary("check")
        assert (matched.returncode, matched.stdout) == (0, "models and migrations match\n")
