"""The run refuses any database that could hold someone's real data, before touching it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from .harness import InnerRun

NEEDS_DATABASE = """
from sessionary.users.models import User


def test_needs_the_database(db):
    assert db.count(User) == 0
"""


def _refused(result: pytest.RunResult, reason: str) -> None:
    """A usage error before any test ran, saying why."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: sessionary.testing: {reason}"])


@pytest.mark.no_db
class TestOperatorsDatabaseIsRefused:
    def test_db_url_equal_to_sessionary_database_url_in_the_environment(
        self, inner: InnerRun, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        inner.create_database("operator data", marked=False)
        inner.pytester.makepyfile(test_needs_database=NEEDS_DATABASE)
        monkeypatch.setenv("SESSIONARY_DATABASE_URL", inner.url)

        result = inner.run()

        _refused(result, "*is SESSIONARY_DATABASE_URL, the operator's database*")
        assert inner.execute("SELECT note FROM lifecycle_marks") == [("operator data",)]

    def test_db_url_equal_to_sessionary_database_url_in_dot_env(self, inner: InnerRun) -> None:
        inner.create_database("operator data", marked=False)
        inner.pytester.makepyfile(test_needs_database=NEEDS_DATABASE)
        # Spelled differently from --db-url: a relative path, or the default port left out.
        test = make_url(inner.url)
        if inner.backend == "sqlite":
            operator = test.set(database=f"./{Path(test.database or '').name}")
        else:
            port = 5432 if test.port is None else None if test.port == 5432 else test.port
            operator = URL.create(
                test.drivername, test.username, test.password, test.host, port, test.database
            )
        spelled = operator.render_as_string(hide_password=False)
        assert spelled != inner.url
        (inner.pytester.path / ".env").write_text(f"SESSIONARY_DATABASE_URL={spelled}\n")

        result = inner.run()

        _refused(result, "*is SESSIONARY_DATABASE_URL, the operator's database*")
        assert inner.execute("SELECT note FROM lifecycle_marks") == [("operator data",)]


@pytest.mark.no_db
class TestDatabaseNameMustContainTest:
    def test_name_without_test_is_refused_and_nothing_is_created(self, inner: InnerRun) -> None:
        token = uuid.uuid4().hex[:8]
        url = inner.database_url(f"sessionary_plugin_{token}", f"sessionary_{token}.db")
        inner.pytester.makepyfile(test_needs_database=NEEDS_DATABASE)

        result = inner.run(db_url=url)

        _refused(result, f"*refusing test database '*{token}*': its name must contain 'test'*")
        assert not inner.exists(url)


def _one_line_refusal(result: pytest.RunResult, reason: str) -> None:
    """The run stopped before any test with one ``ERROR:`` line and no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert [line for line in result.errlines if line.strip()] == [
        line for line in result.errlines if line.startswith("ERROR: sessionary.testing: ")
    ], result.stderr.str()
    result.stderr.fnmatch_lines([f"ERROR: sessionary.testing: {reason}"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "passed" not in result.stdout.str()
    assert "failed" not in result.stdout.str()


# Three tests that need the database: without a usable one, each used to fail with a traceback.
THREE_DATABASE_TESTS = """
import pytest

from sessionary.users.models import User


@pytest.mark.parametrize("n", range(3))
def test_needs_the_database(n, db):
    assert db.count(User) == 0
"""


@pytest.mark.no_db
class TestUnusableDatabaseFailsTheRunOnce:
    @pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
    def test_an_unreachable_server_is_one_line(self, inner: InnerRun, workers: list[str]) -> None:
        inner.pytester.makepyfile(test_needs_database=THREE_DATABASE_TESTS)

        # Port 1 on the loopback: nothing listens there, the connection is refused at once.
        result = inner.run(*workers, db_url="postgresql+asyncpg://postgres@127.0.0.1:1/app_test")

        _one_line_refusal(
            result, "cannot reach the test database server 127.0.0.1:1 as postgres: *"
        )

    @pytest.mark.parametrize(
        "url",
        ["postgresql+asyncpg://postgres@127.0.0.1:1", "sqlite+aiosqlite://"],
        ids=["postgresql", "sqlite"],
    )
    def test_a_url_without_a_database_name_is_one_line(self, inner: InnerRun, url: str) -> None:
        inner.pytester.makepyfile(test_needs_database=THREE_DATABASE_TESTS)

        result = inner.run(db_url=url)

        _one_line_refusal(result, "the test database URL * names no database*")

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
    def test_someone_elses_database_is_one_line_and_survives(
        self, inner: InnerRun, workers: list[str]
    ) -> None:
        # Under xdist the databases are <name>_gw0, <name>_gw1: the second one is foreign.
        url = inner.worker_url("gw1") if workers else inner.url
        inner.create_database("keep me", marked=False, url=url)
        inner.pytester.makepyfile(test_needs_database=THREE_DATABASE_TESTS)

        result = inner.run(*workers)

        name = inner.database_name(url)
        _one_line_refusal(result, f"database *{name}* exists and was not created by *")
        assert inner.execute("SELECT note FROM lifecycle_marks", url) == [("keep me",)]

    def test_a_file_that_is_no_database_is_someone_elses(self, inner: InnerRun) -> None:
        path = inner.pytester.path / "notes_test.db"
        path.write_text("my notes, not a database")
        inner.pytester.makepyfile(test_needs_database=THREE_DATABASE_TESTS)

        result = inner.run(db_url=f"sqlite+aiosqlite:///{path}")

        _one_line_refusal(result, "database '*notes_test.db' exists and was not created by *")
        assert path.read_text() == "my notes, not a database"

    def test_found_only_once_tests_run_it_fails_one_test_in_one_line_and_stops(
        self, inner: InnerRun
    ) -> None:
        # Someone makes the database after the run's first look and before its first test.
        inner.pytester.makeconftest(MADE_BEHIND_THE_RUNS_BACK)
        inner.pytester.makepyfile(test_needs_database=THREE_DATABASE_TESTS)

        result = inner.run()

        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "sessionary.testing: database * exists and was not created by sessionary.testing*",
                "*Interrupted: sessionary.testing: database *",
            ]
        )
        assert "Traceback" not in result.stdout.str()


MADE_BEHIND_THE_RUNS_BACK = """
import asyncio
import os
import sqlite3
from contextlib import closing

from sqlalchemy import text
from sqlalchemy.engine import make_url

from sessionary.testing.database import maintenance_engine


def pytest_sessionstart(session):
    url = make_url(os.environ["SESSIONARY_DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database)) as connection:
            connection.execute("CREATE TABLE someone_elses (note TEXT)")
            connection.commit()
        return

    async def create():
        admin = maintenance_engine(os.environ["SESSIONARY_DATABASE_URL"])
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        await admin.dispose()

    asyncio.run(create())
"""
