"""The fixtures of sessionary.testing (the plugin module registers them)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

import anyio.from_thread
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sessionary.testing.clock import Clock
from sessionary.testing.database import TestDatabase
from sessionary.testing.factories import DEFAULT_PASSWORD, UserFactory
from sessionary.testing.handles import LoginAs, SettingsOverride, SyncDB, open_test_session
from sessionary.testing.isolation import IsolatedDatabase, Isolation
from sessionary.testing.queries import QueryCounter, describe
from sessionary.testing.state import RUN_STATE
from sessionary.users.models import User

BASE_URL = "https://testserver"  # https, so Secure cookies flow back


def _load_app(spec: str) -> FastAPI:
    module_name, _, attribute = spec.partition(":")
    app = getattr(importlib.import_module(module_name), attribute or "app")
    if not isinstance(app, FastAPI):
        raise pytest.UsageError(f"--sessionary-app {spec!r} is not a FastAPI app")
    return app


@pytest.fixture(scope="session")
def sessionary_app(pytestconfig: pytest.Config) -> FastAPI:
    """The app under test (``--sessionary-app``, default ``sessionary.main:app``)."""
    return _load_app(pytestconfig.stash[RUN_STATE].app_spec)


@pytest.fixture(scope="session")
def sessionary_portal() -> Iterator[BlockingPortal]:
    """The worker's event loop for sync tests: every TestClient request runs on it."""
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture(scope="session")
def sessionary_database(
    pytestconfig: pytest.Config, sessionary_portal: BlockingPortal
) -> Iterator[TestDatabase]:
    """This worker's test database (created and migrated on first use)."""
    state = pytestconfig.stash[RUN_STATE]
    database = TestDatabase(state.database_url, reuse=state.reuse and not state.create)
    yield database
    sessionary_portal.call(database.dispose_engine)
    database.drop()


@contextmanager
def _reusing(portal: BlockingPortal) -> Iterator[Callable[..., Any]]:
    """Make ``with TestClient(app)`` run on ``portal`` instead of a private loop."""

    @contextmanager
    def start_blocking_portal(*_args: Any, **_kwargs: Any) -> Iterator[BlockingPortal]:
        yield portal

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(anyio.from_thread, "start_blocking_portal", start_blocking_portal)
        patch.setattr(TestClient, "portal", portal)
        yield start_blocking_portal


@pytest.fixture(scope="session")
def _sessionary_lifespan(
    sessionary_app: FastAPI, sessionary_portal: BlockingPortal
) -> Iterator[None]:
    # The app's lifespan runs once per worker, on the worker's loop, like a server would.
    with _reusing(sessionary_portal):
        client = TestClient(sessionary_app)
        client.__enter__()
    yield
    with _reusing(sessionary_portal):
        client.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _sessionary_isolation(request: pytest.FixtureRequest) -> Iterator[Isolation | None]:
    """Every test runs in a transaction that is rolled back afterwards."""
    if request.node.get_closest_marker("no_db"):
        yield None
        return
    app: FastAPI = request.getfixturevalue("sessionary_app")
    database: TestDatabase = request.getfixturevalue("sessionary_database")
    portal: BlockingPortal = request.getfixturevalue("sessionary_portal")
    isolation = Isolation(database)
    # app.state keeps its values outside __dict__, so restore by hand (not MonkeyPatch).
    original_settings, original_database = app.state.settings, app.state.database
    app.state.database = IsolatedDatabase(original_settings, isolation)
    with _reusing(portal):
        try:
            yield isolation
        finally:
            app.state.settings, app.state.database = original_settings, original_database
            portal.call(isolation.close)
    if stray := isolation.loops():
        pytest.fail(f"the test left database connections open on {len(stray)} other event loop(s)")


def _isolated(app: FastAPI) -> IsolatedDatabase:
    database = app.state.database
    if not isinstance(database, IsolatedDatabase):
        raise pytest.UsageError("this fixture needs the database; remove @pytest.mark.no_db")
    return database


@pytest.fixture
def client(sessionary_app: FastAPI, _sessionary_lifespan: None) -> Iterator[TestClient]:
    """An anonymous client on https://testserver sending a same-origin ``Origin`` header."""
    with TestClient(sessionary_app, base_url=BASE_URL, headers={"origin": BASE_URL}) as test_client:
        yield test_client


@pytest.fixture
def settings(sessionary_app: FastAPI) -> SettingsOverride:
    """Change a setting for this test (``settings.session_idle_timeout = 60``); takes effect
    at once and is restored afterwards."""
    return SettingsOverride(sessionary_app)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """The app's clock and ``time.time()``, frozen at the test's start: ``now()``, ``set()``,
    ``advance(seconds=…, minutes=…, hours=…, days=…)``."""
    frozen = Clock()
    yield frozen
    frozen.stop()


@pytest.fixture
def db(sessionary_app: FastAPI, sessionary_portal: BlockingPortal) -> SyncDB:
    """The test's own view of the database (sees what the app wrote): ``execute``, ``scalar``,
    ``get``, ``count``, ``run(async_fn)``."""
    return SyncDB(_isolated(sessionary_app), sessionary_portal)


@pytest.fixture
def user_factory(sessionary_app: FastAPI, sessionary_portal: BlockingPortal) -> UserFactory:
    """Make users through the app's services: ``user_factory(username=…, roles=[…])``."""
    return UserFactory(_isolated(sessionary_app), sessionary_portal, sessionary_app.state.hasher)


@pytest.fixture
def user(user_factory: UserFactory) -> User:
    """A member with the default password."""
    created: User = user_factory()
    return created


@pytest.fixture
def admin_user(user_factory: UserFactory) -> User:
    """A user holding the built-in ``admin`` role."""
    created: User = user_factory(username="admin", roles=["admin"])
    return created


@pytest.fixture
def login_as(
    sessionary_app: FastAPI,
    sessionary_portal: BlockingPortal,
    user_factory: UserFactory,
    _sessionary_lifespan: None,
) -> Iterator[LoginAs]:
    """``login_as(user_or_role, via="session"|"login", fresh=True)``: a new client carrying a
    real session cookie; a role name makes a fresh user with exactly that role."""
    clients: list[TestClient] = []

    def login(
        who: User | str, *, via: Literal["session", "login"] = "session", fresh: bool = True
    ) -> TestClient:
        account: User = who if isinstance(who, User) else user_factory(roles=[who])
        test_client = TestClient(sessionary_app, base_url=BASE_URL, headers={"origin": BASE_URL})
        test_client.__enter__()
        clients.append(test_client)
        settings = sessionary_app.state.settings
        if via == "login":
            if not fresh:
                raise pytest.UsageError('fresh=False needs via="session"')
            response = test_client.post(
                "/auth/login", json={"username": account.username, "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 200, response.text
        else:
            token = sessionary_portal.call(
                lambda: open_test_session(_isolated(sessionary_app), settings, account, fresh=fresh)
            )
            test_client.cookies.set(settings.session_cookie_name, token)
        test_client.user = account  # type: ignore[attr-defined]
        return test_client

    yield login
    for test_client in clients:
        test_client.__exit__(None, None, None)


@pytest.fixture
def member_client(login_as: LoginAs) -> TestClient:
    """A client logged in as a fresh ``member``."""
    return login_as("member")


@pytest.fixture
def admin_client(login_as: LoginAs) -> TestClient:
    """A client logged in as a fresh ``admin``."""
    return login_as("admin")


@pytest.fixture
def assert_num_queries(sessionary_app: FastAPI) -> QueryCounter:
    """``with assert_num_queries(n):`` checks each request in the block sends ``n`` queries
    (``exact=False``: at most ``n``); SAVEPOINTs and factory SQL are not counted."""
    queries = _isolated(sessionary_app).isolation.database.queries

    @contextmanager
    def check(count: int, *, exact: bool = True) -> Iterator[list[list[str]]]:
        with queries.recording() as requests:
            yield requests
        wrong = [r for r in requests if (len(r) != count if exact else len(r) > count)]
        if wrong or not requests:
            expected = f"{'exactly' if exact else 'at most'} {count} queries per request"
            pytest.fail(f"expected {expected}:\n{describe(requests)}", pytrace=False)

    return check


@pytest.fixture
def assert_max_num_queries(assert_num_queries: QueryCounter) -> QueryCounter:
    """``with assert_max_num_queries(n):`` — at most ``n`` queries per request in the block."""

    def check(count: int, *, exact: bool = False) -> AbstractContextManager[list[list[str]]]:
        return assert_num_queries(count, exact=exact)

    return check
