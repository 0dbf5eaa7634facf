"""The heart of the toolkit: whatever a test commits is gone before the next test."""

from __future__ import annotations

import pytest

from .harness import RECORD_DATABASE, WORKERS, InnerRun

# Shared by the inner modules: what the checks count, and a login through the real route.
HELPERS = """
from sessionary.sessions.models import LoginSession
from sessionary.roles.models import UserRole
from sessionary.testing import DEFAULT_PASSWORD
from sessionary.users.models import User

BASE_URL = "https://testserver"
EMPTY = {"users": 0, "user_roles": 0, "sessions": 0}


def rows(db):
    return {
        "users": db.count(User),
        "user_roles": db.count(UserRole),
        "sessions": db.count(LoginSession),
    }


def log_in(client, username):
    body = {"username": username, "password": DEFAULT_PASSWORD}
    response = client.post("/auth/login", json=body)
    assert response.status_code == 200, response.text
    assert client.get("/users/me").json()["username"] == username
"""

# Every writing test first proves its rows are visible (the negative control within the
# test), then a checking test finds all tables empty again.
ISOLATION = """
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from helpers import BASE_URL, EMPTY, log_in, rows
from sessionary.runtime import runtime_of
from sessionary.main import app
from sessionary.users import service as users_service


def test_a0_tables_start_empty(db):
    assert rows(db) == EMPTY


def test_a1_login_route_commits_a_session(client, user_factory, db):
    user_factory(username="alice")
    log_in(client, "alice")
    assert rows(db) == {"users": 1, "user_roles": 1, "sessions": 1}


def test_a2_tables_are_empty_after_the_login_route(db):
    assert rows(db) == EMPTY


def test_b1_hand_made_client_without_with_commits(user_factory, db):
    user_factory(username="bob")
    log_in(TestClient(app, base_url=BASE_URL), "bob")
    assert rows(db) == {"users": 1, "user_roles": 1, "sessions": 1}


def test_b2_tables_are_empty_after_the_hand_made_client(db):
    assert rows(db) == EMPTY


def test_c1_with_block_client_commits(user_factory, db):
    user_factory(username="carol")
    with TestClient(app, base_url=BASE_URL) as client:
        log_in(client, "carol")
    assert rows(db) == {"users": 1, "user_roles": 1, "sessions": 1}


def test_c2_tables_are_empty_after_the_with_block_client(db):
    assert rows(db) == EMPTY


def test_d1_db_run_commits(db, sessionary_app):
    hasher = runtime_of(sessionary_app).hasher

    async def create(session):
        await users_service.create_user(
            session, hasher, username="dave", email="dave@example.com", password="x",
            enforce_policy=False, password_hash="not-a-real-hash",
        )
        await session.commit()

    db.run(create)
    assert rows(db) == {"users": 1, "user_roles": 1, "sessions": 0}


def test_d2_tables_are_empty_after_db_run(db):
    assert rows(db) == EMPTY


def test_e1_concurrent_requests_all_commit(user_factory, db):
    names = ["erin", "frank", "grace", "heidi"]
    for name in names:
        user_factory(username=name)
    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda name: log_in(TestClient(app, base_url=BASE_URL), name), names))
    assert rows(db) == {"users": 4, "user_roles": 4, "sessions": 4}


def test_e2_tables_are_empty_after_concurrent_requests(db):
    assert rows(db) == EMPTY
"""

# The check itself can fail: a commit that bypasses the isolation is seen by the next test.
LEAK_CONTROL = """
import asyncio
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import EMPTY, rows
from sessionary.core.db import engine_for_url
from sessionary.users.models import User


@pytest.mark.no_db
def test_y1_commit_bypassing_the_isolation():
    async def commit():
        engine = engine_for_url(os.environ["SESSIONARY_DATABASE_URL"])
        try:
            async with AsyncSession(engine) as session:
                now = datetime.now(UTC)
                session.add(User(
                    username="leak", username_key="leak", email="leak@example.com",
                    email_key="leak@example.com", password_hash="x", is_active=True,
                    created_at=now, updated_at=now,
                ))
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(commit())


def test_y2_tables_are_empty_after_the_bypass(db):
    assert rows(db) == EMPTY
"""

ISOLATED_TESTS = 11


@pytest.fixture
def isolation_suite(inner: InnerRun) -> InnerRun:
    inner.pytester.makepyfile(
        helpers=HELPERS, test_isolation=ISOLATION, test_zz_leak_control=LEAK_CONTROL
    )
    inner.pytester.makeconftest(RECORD_DATABASE)
    return inner


@pytest.mark.no_db
class TestCommitsInsideATestAreRolledBack:
    def test_in_file_order_every_check_after_a_commit_finds_empty_tables(
        self, isolation_suite: InnerRun
    ) -> None:
        result = isolation_suite.run("-v")

        outcomes = isolation_suite.outcomes(result)
        assert len(outcomes) == ISOLATED_TESTS + 2
        failed = {test for test, outcome in outcomes.items() if outcome != "PASSED"}
        # Only the negative control fails, for the right reason: the bypassing row is seen.
        assert failed == {"test_y2_tables_are_empty_after_the_bypass"}
        result.stdout.fnmatch_lines(["*AssertionError: assert {'users': 1, *"])
        assert isolation_suite.seen_databases() == {"main": isolation_suite.url}
        assert not isolation_suite.exists(), "the run must drop the database it created"

    def test_under_two_xdist_workers_isolation_holds_on_each_worker_database(
        self, isolation_suite: InnerRun
    ) -> None:
        result = isolation_suite.run("-n", "2", "test_isolation.py")

        result.assert_outcomes(passed=ISOLATED_TESTS)
        seen = isolation_suite.seen_databases()
        assert seen == {worker: isolation_suite.worker_url(worker) for worker in WORKERS}
        for url in seen.values():
            assert not isolation_suite.exists(url), f"{url} was left behind"
