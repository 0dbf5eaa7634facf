"""``sessionary demo``: the original example's user, idempotently."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sessionary.cli import app

from .checks import assert_one_line_error
from .scratch import HASHER, ScratchDatabase

pytestmark = pytest.mark.no_db


class TestDemo:
    def test_loads_the_seed_user_as_a_member(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        result = runner.invoke(app, ["demo"])

        assert result.exit_code == 0, result.output
        assert result.stdout == "demo data loaded: user123\n"
        # secretpassword passes the policy, so there is no bypass to announce.
        assert "bypass" not in result.output
        user = migrated_database.user("user123")
        assert user is not None
        assert user.email == "user@example.com"
        assert user.is_active
        assert HASHER.verify_sync("secretpassword", user.password_hash)[0]
        assert migrated_database.roles_of("user123") == ["member"]

    def test_second_run_says_already_present_and_changes_nothing(
        self, runner: CliRunner, migrated_database: ScratchDatabase
    ) -> None:
        assert runner.invoke(app, ["demo"]).exit_code == 0
        before = migrated_database.user("user123")

        result = runner.invoke(app, ["demo"])

        assert result.exit_code == 0, result.output
        assert result.stdout == "demo data already present: user123\n"
        assert migrated_database.count_users() == 1
        assert migrated_database.user("user123") == before

    @pytest.mark.usefixtures("empty_database")
    def test_unmigrated_database_says_to_run_db_upgrade(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["demo"])

        assert_one_line_error(result, "sessionary db upgrade")
