"""When the test database is created, which one each xdist worker gets, and when it goes."""

from __future__ import annotations

import pytest

from .harness import RECORD_DATABASE, WORKERS, InnerRun

# Tests that need no database, though only the first says so.
NO_DATABASE_NEEDED = """
from datetime import timedelta

import pytest


@pytest.mark.no_db
def test_marked_no_db():
    assert True


def test_plain_test_without_database_fixtures():
    assert sum([1, 2]) == 3


def test_client_on_a_route_without_database(client):
    assert client.get("/health/live").json() == {"status": "ok"}


def test_settings_and_clock_without_database(settings, clock):
    settings.session_idle_timeout = 120
    start = clock.now()
    assert clock.advance(minutes=1) == start + timedelta(minutes=1)
"""

# The ``lifecycle_marks`` table is committed from outside any run (InnerRun.create_database or by
# hand): NOTE says what this worker's database should hold. Four tests, so that both
# workers of ``-n 2`` get some.
NOTES_CHECK = """
import os

import pytest
from sqlalchemy import inspect, text

from sessionary.users.models import User


def notes(db):
    def look(session):
        if not inspect(session.connection()).has_table("lifecycle_marks"):
            return None
        return session.execute(text("SELECT note FROM lifecycle_marks")).scalar_one()

    return db.run(lambda session: session.run_sync(look))


@pytest.mark.parametrize("n", range(4))
def test_notes(n, db, request):
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    expected = {"none": None, "worker": worker}[os.environ["NOTE"]]
    assert notes(db) == expected
    assert db.count(User) == 0, "migrated and empty"
"""


@pytest.mark.no_db
class TestDatabaseIsCreatedLazily:
    def test_run_whose_tests_never_touch_the_database_creates_none(self, inner: InnerRun) -> None:
        inner.pytester.makepyfile(test_no_database=NO_DATABASE_NEEDED)

        # --reuse-db keeps whatever the run created, so nothing created means nothing there.
        result = inner.run("--reuse-db")

        result.assert_outcomes(passed=4)
        assert not inner.exists()
        assert not list(inner.pytester.path.rglob("*.db")), "no SQLite file either"


@pytest.mark.no_db
class TestReuseDbKeepsEachWorkersDatabase:
    def test_worker_databases_are_kept_and_the_next_reuse_db_run_finds_them(
        self, inner: InnerRun, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        inner.pytester.makepyfile(test_notes=NOTES_CHECK)
        inner.pytester.makeconftest(RECORD_DATABASE)
        workers = {worker: inner.worker_url(worker) for worker in WORKERS}

        monkeypatch.setenv("NOTE", "none")
        inner.run("-n", "2", "--reuse-db").assert_outcomes(passed=4)
        assert inner.seen_databases() == workers
        assert all(inner.exists(url) for url in workers.values()), "--reuse-db keeps them"

        # Committed outside any test: only a reused database can still hold it.
        for worker, url in workers.items():
            inner.write_note(worker, url)
        monkeypatch.setenv("NOTE", "worker")
        inner.run("-n", "2", "--reuse-db").assert_outcomes(passed=4)
        assert inner.seen_databases() == workers
        assert all(inner.exists(url) for url in workers.values())


@pytest.mark.no_db
class TestCreateDbRebuildsTheDatabase:
    def test_create_db_with_reuse_db_starts_fresh_and_keeps_the_new_database(
        self, inner: InnerRun, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # As an earlier --reuse-db run leaves it, plus a table no migration knows.
        inner.create_database("stale", marked=True)
        inner.pytester.makepyfile(test_notes=NOTES_CHECK)
        monkeypatch.setenv("NOTE", "none")

        inner.run("--reuse-db", "--create-db").assert_outcomes(passed=4)

        # pytest-django's meaning: --create-db forces a fresh database, --reuse-db keeps it.
        assert inner.exists(), "kept for the next --reuse-db run"
