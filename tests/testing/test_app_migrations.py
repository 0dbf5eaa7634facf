"""The plugin migrates an app's combined history: ``sessionary_migrations`` (ini) or
``--sessionary-migrations`` names the app's migrations, run with Sessionary's own."""

from __future__ import annotations

import re

import pytest

from tests.app_migrations import APP_REVISION, write_app_migrations

from .harness import InnerRun

# Each test adds a project for a user of its own: a count of 1 in both shows that the
# app's table is there and that isolation empties it like Sessionary's own.
PROJECTS = """
import pytest
from sqlalchemy import inspect, text


async def add_and_count(session, owner_id):
    await session.execute(
        text("INSERT INTO projects (owner_id, name) VALUES (:owner, 'p')"), {"owner": owner_id}
    )
    return (await session.execute(text("SELECT count(*) FROM projects"))).scalar_one()


@pytest.mark.parametrize("n", range(2))
def test_projects(n, db, user):
    assert db.run(lambda session: add_and_count(session, user.id)) == 1


def test_tables(db):
    def names(session):
        return inspect(session.connection()).get_table_names()

    print("TABLES", ",".join(sorted(db.run(lambda session: session.run_sync(names)))))
"""

MILESTONES = """
import sqlalchemy as sa
from alembic import op

revision = "b1e55ed00002"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("milestones", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("milestones")
"""


def _tables(result: pytest.RunResult) -> set[str]:
    """What ``test_tables`` printed (run with ``-s``)."""
    found = re.search(r"TABLES (\S+)", result.stdout.str())
    assert found, result.stdout.str()
    return set(found[1].split(","))


@pytest.mark.no_db
class TestAppMigrationsInTheTestDatabase:
    def test_the_flag_then_the_ini_option_migrate_the_apps_branch_on_a_reused_database(
        self, inner: InnerRun
    ) -> None:
        app_dir = write_app_migrations(inner.pytester.path)
        inner.pytester.makepyfile(test_projects=PROJECTS)

        first = inner.run("-s", "--reuse-db", "--sessionary-migrations=migrations")

        first.assert_outcomes(passed=3)
        assert {"projects", "users", "sessions"} <= _tables(first)
        first.stdout.fnmatch_lines(["sessionary app migrations: */migrations"])

        # The app adds a revision; the kept database is migrated up to it.
        (app_dir / "versions" / "b1e55ed00002_milestones.py").write_text(
            MILESTONES.format(down=APP_REVISION)
        )
        inner.pytester.makeini("[pytest]\nsessionary_migrations = migrations\n")
        second = inner.run("-s", "--reuse-db")

        second.assert_outcomes(passed=3)
        assert {"projects", "milestones"} <= _tables(second)

    def test_missing_migrations_are_one_usage_error(self, inner: InnerRun) -> None:
        inner.pytester.makepyfile(test_projects=PROJECTS)

        result = inner.run("--sessionary-migrations=nowhere")

        assert result.ret == pytest.ExitCode.USAGE_ERROR
        errors = [line for line in result.errlines if "sessionary.testing" in line]
        assert len(errors) == 1
        assert "migrations directory" in errors[0]
        assert "does not exist" in errors[0]
