"""The kernel's fixtures, used the way a service builder's tests use them."""

from __future__ import annotations

import importlib
import inspect
import tempfile
from pathlib import Path

import pytest
from _pytest.fixtures import FixtureFunctionDefinition

from sessionary.testing import plugin

from .harness import InnerRun

# A builder's own app: Sessionary's plus one route of theirs that writes nothing.
BUILDER_APP = """
from sessionary.app import create_app

app = create_app()


@app.get("/builder/ping")
async def ping() -> dict[str, str]:
    return {"app": "builder"}
"""

FIXTURE_TESTS = """
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import builder_app
from sessionary import clock as app_clock
from sessionary.runtime import runtime_of
from sessionary.sessions.models import LoginSession
from sessionary.roles.permissions import Permission
from sessionary.testing import DEFAULT_PASSWORD
from sessionary.users.models import User

STARTED = {}


def log_in(client, username):
    return client.post("/auth/login", json={"username": username, "password": DEFAULT_PASSWORD})


class TestSessionaryApp:
    def test_client_talks_to_the_builders_app(self, client, sessionary_app):
        assert sessionary_app is builder_app.app
        assert client.get("/builder/ping").json() == {"app": "builder"}


class TestSettings:
    def test_1_a_change_applies_at_once(self, settings, client, user_factory, sessionary_app):
        settings.session_cookie_name = "changed_cookie"
        assert runtime_of(sessionary_app).settings.session_cookie_name == "changed_cookie"
        user_factory(username="alice")
        response = log_in(client, "alice")
        assert response.status_code == 200, response.text
        # (session_device is the brute-force device cookie, not the session)
        assert set(response.cookies) - {"session_device"} == {"changed_cookie"}

    def test_2_it_is_restored_in_the_next_test(self, settings, client, user_factory):
        assert settings.session_cookie_name == "session_cookie"
        user_factory(username="alice")
        assert set(log_in(client, "alice").cookies) - {"session_device"} == {"session_cookie"}


class TestClock:
    def test_1_advance_moves_the_app_clock_and_time_time_not_monotonic(self, clock):
        start = STARTED["clock"] = clock.now()
        assert app_clock.now() == start
        wall, steady = time.time(), time.monotonic()
        clock.advance(hours=2)
        assert app_clock.now() == start + timedelta(hours=2)
        assert time.time() - wall == pytest.approx(7200, abs=1)
        assert time.monotonic() - steady < 60

    def test_2_advance_expires_an_idle_session(self, clock, login_as, settings):
        member = login_as("member")
        assert member.get("/users/me").status_code == 200
        clock.advance(seconds=settings.session_idle_timeout + 1)
        assert member.get("/users/me").status_code == 401

    def test_3_time_runs_again_in_the_next_test(self):
        assert app_clock.now() - STARTED["clock"] < timedelta(hours=1)


class TestUserFactory:
    def test_1_usernames_are_numbered_within_a_test(self, user_factory, db):
        first, second = user_factory(), user_factory()
        assert (first.username, second.username) == ("user1", "user2")
        assert first.email == "user1@example.com"
        assert db.count(User) == 2

    def test_2_numbering_restarts_in_the_next_test(self, user_factory):
        assert user_factory().username == "user1"


class TestDb:
    def test_db_and_the_app_see_each_others_writes(self, client, user_factory, db):
        alice = user_factory(username="alice")
        assert log_in(client, "alice").status_code == 200
        assert db.count(LoginSession) == 1
        assert db.count(LoginSession, LoginSession.user_id == alice.id) == 1
        assert db.get(User, alice.id).username == "alice"
        rows = db.execute(select(LoginSession.user_id, LoginSession.user_agent))
        assert [tuple(row) for row in rows] == [(alice.id, "testclient")]
        assert db.execute(update(User).where(User.id == alice.id).values(is_active=False)) == 1
        assert client.get("/users/me").status_code == 401


class TestLoginAs:
    def test_a_role_name_makes_a_user_with_that_role(self, login_as):
        body = login_as("admin").get("/users/me").json()
        assert body["roles"] == ["admin"]
        assert body["permissions"] == sorted(permission.value for permission in Permission)

    def test_via_login_goes_through_the_login_route(self, login_as, user_factory, db):
        alice, bob = user_factory(username="alice"), user_factory(username="bob")
        assert login_as(alice).get("/users/me").json()["username"] == "alice"
        assert login_as(bob, via="login").get("/users/me").json()["username"] == "bob"
        # Only the route records the client's user agent.
        def agent(user):
            return db.scalar(select(LoginSession.user_agent).where(LoginSession.user_id == user.id))

        assert (agent(alice), agent(bob)) == (None, "testclient")


class TestAssertNumQueries:
    def test_1_each_request_on_the_hot_path_is_one_query(self, member_client, assert_num_queries):
        with assert_num_queries(1) as requests:
            for _ in range(5):
                assert member_client.get("/users/me").status_code == 200
        assert len(requests) == 5

    def test_2_expecting_two_fails_listing_the_sql(self, member_client, assert_num_queries):
        with assert_num_queries(2):
            member_client.get("/users/me")
"""

INNER_TESTS = 13

# A TestClient the test author made runs each request in a task of its own.
HAND_MADE_CLIENT_COUNT = """
from fastapi.testclient import TestClient


def test_each_request_of_a_hand_made_client_is_counted_alone(
    member_client, sessionary_app, assert_num_queries
):
    hand_made = TestClient(
        sessionary_app, base_url="https://testserver", cookies=dict(member_client.cookies)
    )
    with assert_num_queries(1) as requests:
        for _ in range(20):
            assert hand_made.get("/users/me").status_code == 200
    assert len(requests) == 20
"""

KERNEL_FIXTURES = {
    "client",
    "login_as",
    "admin_client",
    "member_client",
    "user_factory",
    "user",
    "admin_user",
    "db",
    "clock",
    "settings",
    "assert_num_queries",
    "assert_max_num_queries",
}


@pytest.mark.no_db
class TestFixturesInABuildersSuite:
    def test_every_fixture_behaves_and_the_query_count_failure_lists_the_sql(
        self, inner: InnerRun
    ) -> None:
        inner.pytester.makepyfile(builder_app=BUILDER_APP, test_fixtures=FIXTURE_TESTS)
        # On SQLite, the plugin's default database: a file in the run's temp dir.
        default = inner.backend == "sqlite"

        result = inner.run("-v", "--sessionary-app=builder_app:app", db_url=None if default else "")

        outcomes = inner.outcomes(result)
        failed = {test for test, outcome in outcomes.items() if outcome != "PASSED"}
        assert failed == {"TestAssertNumQueries::test_2_expecting_two_fails_listing_the_sql"}
        assert len(outcomes) == INNER_TESTS
        result.stdout.fnmatch_lines(
            [
                "*expected exactly 2 queries per request:",
                "request *: 1 queries",
                "    SELECT * FROM sessions JOIN users ON *",
            ]
        )
        # The header names the app under test beside its database.
        result.stdout.fnmatch_lines(
            ["sessionary app under test: builder_app:app", "sessionary test database: *"]
        )
        if default:
            # A directory of the plugin's own (pytest's tmp_path_factory is a fixture, too late
            # for the URL the plugin sets at configure time), removed at the end of the run.
            result.stdout.fnmatch_lines(
                [
                    "sessionary test database: sqlite+aiosqlite:///"
                    f"{tempfile.gettempdir()}/sessionary-test-*/sessionary_test.db"
                ]
            )
            header = next(line for line in result.outlines if "sessionary test database" in line)
            folder = Path(header.split("sqlite+aiosqlite:///", 1)[1]).parent
            assert not folder.exists(), "removed at the end of the run"
        else:
            assert not inner.exists()


@pytest.mark.no_db
class TestAssertNumQueriesWithAHandMadeClient:
    def test_twenty_requests_are_twenty_requests_of_one_query(self, inner: InnerRun) -> None:
        inner.pytester.makepyfile(test_hand_made=HAND_MADE_CLIENT_COUNT)

        result = inner.run()

        result.assert_outcomes(passed=1)


def _plugin_fixtures() -> dict[str, FixtureFunctionDefinition]:
    """Every fixture of the modules the plugin loads: the kernel's and each feature's."""
    return {
        name: value
        for module in plugin.pytest_plugins
        for name, value in vars(importlib.import_module(module)).items()
        if isinstance(value, FixtureFunctionDefinition)
    }


def _names(line: str, fixture: str) -> bool:
    """``name -- path:line`` or ``name [session scope] -- path:line``."""
    return line.startswith((f"{fixture} -- ", f"{fixture} ["))


@pytest.mark.no_db
class TestFixturesAreDocumented:
    def test_pytest_fixtures_lists_each_public_fixture_with_its_docstring(
        self, inner: InnerRun
    ) -> None:
        fixtures = _plugin_fixtures()
        public = {name for name in fixtures if not name.startswith("_")}
        assert public >= KERNEL_FIXTURES

        result = inner.run("--fixtures")

        assert result.ret == pytest.ExitCode.OK
        lines = result.outlines
        for name in sorted(public):
            doc = inspect.getdoc(fixtures[name])
            assert doc, f"fixture {name} has no docstring"
            header = next((i for i, line in enumerate(lines) if _names(line, name)), None)
            assert header is not None, f"{name} is not listed"
            assert lines[header + 1] == f"    {doc.splitlines()[0]}"
        assert not any(line.startswith("_sessionary") for line in lines), "private ones hidden"
