"""``sessionary users create|set-password|deactivate``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionary.cli import app

from .checks import assert_one_line_error, run_entry_point
from .scratch import HASHER, ScratchDatabase

pytestmark = pytest.mark.no_db

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
CREATE_ALICE = ("users", "create", "alice", "--email", "a@example.com")


class TestCreateUser:
    def test_creates_an_active_member_with_the_given_password(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(
            app,
            [*CREATE_ALICE, "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert result.exit_code == 0, result.output
        assert result.stdout == "created user alice\n"
        # Only the console backend's verification mail (a log line), never on stdout.
        [logged] = result.stderr.splitlines()
        assert "mail.console" in logged
        assert "to=a@example.com" in logged
        alice = migrated_database.user("alice")
        assert alice is not None
        assert alice.email == "a@example.com"
        assert alice.is_active
        assert PASSWORD not in alice.password_hash
        assert HASHER.verify_sync(PASSWORD, alice.password_hash)[0]
        assert migrated_database.roles_of("alice") == ["member"]

    def test_repeated_role_option_grants_every_role(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(
            app,
            [*CREATE_ALICE, "--role", "admin", "--role", "member", "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert result.exit_code == 0, result.output
        assert migrated_database.roles_of("alice") == ["admin", "member"]


class TestCreateUserRefusals:
    """Each refusal: exit 1, one line saying why, and nothing written."""

    def test_unknown_role_creates_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(
            app,
            [*CREATE_ALICE, "--role", "member", "--role", "wizard", "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert_one_line_error(result, "Unknown role: wizard")
        assert migrated_database.count_users() == 0
        assert migrated_database.scalar("SELECT count(*) FROM user_roles") == 0

    @pytest.mark.parametrize(
        "twin",
        [
            pytest.param("alice", id="same"),
            pytest.param("ALICE", id="case"),
            pytest.param("\uff41\uff4c\uff49\uff43\uff45", id="nfkc-full-width"),
        ],
    )
    def test_duplicate_username_is_refused(
        self, runner: CliRunner, migrated_database: ScratchDatabase, twin: str
    ) -> None:
        migrated_database.add_user("alice", PASSWORD, email="a@example.com")

        result = runner.invoke(
            app,
            ["users", "create", twin, "--email", "other@example.com", "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert_one_line_error(result, "Username already taken")
        assert migrated_database.count_users() == 1

    def test_duplicate_email_is_refused_case_insensitively(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("alice", PASSWORD, email="a@example.com")

        result = runner.invoke(
            app,
            ["users", "create", "bob", "--email", "A@EXAMPLE.COM", "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert_one_line_error(result, "Email already in use")
        assert migrated_database.user("bob") is None

    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            pytest.param("password", "too common", id="common"),
            pytest.param("PassWord", "too common", id="common-any-case"),
            pytest.param("seven77", "at least 8 characters", id="short"),
            pytest.param("x" * 129, "at most 128 characters", id="long"),
            pytest.param("Carolina-1984", "must not be the username", id="username"),
        ],
    )
    def test_weak_password_is_refused_with_the_reason(
        self, runner: CliRunner, migrated_database: ScratchDatabase, password: str, reason: str
    ) -> None:
        result = runner.invoke(
            app,
            ["users", "create", "carolina-1984", "--email", "c@example.com", "--password-stdin"],
            input=f"{password}\n",
        )

        assert_one_line_error(result, reason)
        assert migrated_database.count_users() == 0

    @pytest.mark.parametrize(
        ("username", "reason"),
        [
            pytest.param("bad name", "only letters, digits", id="space"),
            pytest.param("a/b", "only letters, digits", id="slash"),
            pytest.param("<script>", "only letters, digits", id="markup"),
            pytest.param("a" * 65, "1-64 characters", id="too-long"),
        ],
    )
    def test_invalid_username_is_refused(
        self, runner: CliRunner, migrated_database: ScratchDatabase, username: str, reason: str
    ) -> None:
        result = runner.invoke(
            app,
            ["users", "create", username, "--email", "c@example.com", "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert_one_line_error(result, reason)
        assert migrated_database.count_users() == 0

    def test_empty_password_on_stdin_is_refused(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(
            app,
            [*CREATE_ALICE, "--password-stdin"],
            input="\n",
        )

        assert_one_line_error(result, "no password on standard input")
        assert migrated_database.count_users() == 0

    @pytest.mark.usefixtures("empty_database")
    def test_unmigrated_database_says_to_run_db_upgrade(self, runner: CliRunner) -> None:
        result = runner.invoke(
            app,
            [*CREATE_ALICE, "--password-stdin"],
            input=f"{PASSWORD}\n",
        )

        assert_one_line_error(result, "not migrated", "sessionary db upgrade")


class TestCreateUserWithoutTerminal:
    def test_no_password_stdin_and_no_terminal_is_a_usage_error(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, list(CREATE_ALICE), input=f"{PASSWORD}\n")

        assert result.exit_code == 2
        assert "--password-stdin" in result.stderr
        assert "Traceback" not in result.output
        assert migrated_database.count_users() == 0

    def test_installed_command_exits_2_with_stdin_not_a_terminal(
        self, tmp_path: Path, migrated_database: ScratchDatabase
    ) -> None:
        completed = run_entry_point(*CREATE_ALICE, database_url=migrated_database.url, cwd=tmp_path)

        assert completed.returncode == 2
        assert "--password-stdin" in completed.stderr
        assert "Traceback" not in completed.stderr
        assert migrated_database.count_users() == 0

    def test_installed_command_reads_the_password_from_stdin(
        self, tmp_path: Path, migrated_database: ScratchDatabase
    ) -> None:
        completed = run_entry_point(
            *CREATE_ALICE,
            "--password-stdin",
            database_url=migrated_database.url,
            cwd=tmp_path,
            stdin=f"{PASSWORD}\n",
        )

        assert completed.returncode == 0, completed.stderr
        assert completed.stdout == "created user alice\n"
        alice = migrated_database.user("alice")
        assert alice is not None
        assert HASHER.verify_sync(PASSWORD, alice.password_hash)[0]


class TestSetPassword:
    def test_new_password_verifies_and_every_session_is_revoked(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice_id = migrated_database.add_user("alice", PASSWORD)
        tokens = [migrated_database.open_session(alice_id, "alice") for _ in range(2)]
        assert all(migrated_database.resolve(token) for token in tokens)

        result = runner.invoke(
            app, ["users", "set-password", "alice", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
        )

        assert result.exit_code == 0, result.output
        assert "sessions were revoked" in result.stdout
        alice = migrated_database.user("alice")
        assert alice is not None
        assert HASHER.verify_sync(NEW_PASSWORD, alice.password_hash)[0]
        assert not HASHER.verify_sync(PASSWORD, alice.password_hash)[0]
        assert [migrated_database.resolve(token) for token in tokens] == [None, None]
        assert (
            migrated_database.scalar(
                "SELECT count(*) FROM sessions WHERE user_id = :id AND revoked_at IS NULL",
                id=alice_id,
            )
            == 0
        )

    def test_username_is_matched_case_insensitively(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("alice", PASSWORD)

        result = runner.invoke(
            app, ["users", "set-password", "ALICE", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
        )

        assert result.exit_code == 0, result.output
        alice = migrated_database.user("alice")
        assert alice is not None
        assert HASHER.verify_sync(NEW_PASSWORD, alice.password_hash)[0]

    def test_weak_password_changes_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice_id = migrated_database.add_user("alice", PASSWORD)
        token = migrated_database.open_session(alice_id, "alice")
        before = migrated_database.user("alice")

        result = runner.invoke(
            app, ["users", "set-password", "alice", "--password-stdin"], input="password\n"
        )

        assert_one_line_error(result, "too common")
        assert migrated_database.user("alice") == before
        assert migrated_database.resolve(token) is not None

    @pytest.mark.usefixtures("migrated_database")
    def test_unknown_user_is_one_line(self, runner: CliRunner) -> None:
        result = runner.invoke(
            app, ["users", "set-password", "nobody", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
        )

        assert_one_line_error(result, "User not found")

    def test_no_password_stdin_and_no_terminal_is_a_usage_error(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        migrated_database.add_user("alice", PASSWORD)
        before = migrated_database.user("alice")

        result = runner.invoke(app, ["users", "set-password", "alice"], input=f"{NEW_PASSWORD}\n")

        assert result.exit_code == 2
        assert "--password-stdin" in result.stderr
        assert migrated_database.user("alice") == before


class TestDeactivate:
    def test_deactivates_the_user_and_revokes_every_session(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        alice_id = migrated_database.add_user("alice", PASSWORD)
        bob_id = migrated_database.add_user("bob", PASSWORD)
        tokens = [migrated_database.open_session(alice_id, "alice") for _ in range(2)]
        bobs = migrated_database.open_session(bob_id, "bob")

        result = runner.invoke(app, ["users", "deactivate", "alice"])

        assert result.exit_code == 0, result.output
        assert result.stdout == "deactivated alice; 2 session(s) revoked\n"
        alice = migrated_database.user("alice")
        assert alice is not None
        assert not alice.is_active
        assert [migrated_database.resolve(token) for token in tokens] == [None, None]
        bob = migrated_database.resolve(bobs)
        assert bob is not None
        assert bob.username == "bob"

    @pytest.mark.usefixtures("migrated_database")
    def test_unknown_user_is_one_line(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["users", "deactivate", "nobody"])

        assert_one_line_error(result, "User not found")
