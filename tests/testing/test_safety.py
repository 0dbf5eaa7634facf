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
