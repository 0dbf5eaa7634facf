"""The fixtures of sessionary.testing (the plugin module registers them).

Sync tests run every request on the worker's portal loop; ``@pytest.mark.anyio``
tests on anyio's runner loop, held open for the session. Set-up helpers
(factories, ``db``, ``login_as``) run on whichever loop the test uses.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import anyio.from_thread
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.core.runtime import NotInstalled
from sessionary.runtime import runtime_of
from sessionary.testing import sentinel
from sessionary.testing.audit import AuditLog
from sessionary.testing.clients import (
    SessionaryAsyncClient,
    SessionaryTestClient,
    share_lifespan_state,
)
from sessionary.testing.clock import Clock
from sessionary.testing.database import TestDatabase
from sessionary.testing.factories import FactoryContext, RoleFactory, UserFactory
from sessionary.testing.handles import (
    SettingsOverride,
    SyncDB,
)
from sessionary.testing.isolation import CommittingDatabase, IsolatedDatabase, TestProvider
from sessionary.testing.loops import PortalLoop, RunnerLoop, TestLoop, is_async_test
from sessionary.testing.queries import QueryCounter, describe
from sessionary.testing.state import PROVIDER, RUN_STATE
from sessionary.testing.throttling import reset_throttle
from sessionary.users.models import User


def load_app(spec: str) -> FastAPI:
    """Import ``module:attribute`` and check it is a FastAPI app."""
    module_name, _, attribute = spec.partition(":")
    app = getattr(importlib.import_module(module_name), attribute or "app")
    if not isinstance(app, FastAPI):
        raise pytest.UsageError(f"--sessionary-app {spec!r} is not a FastAPI app")
    try:
        runtime_of(app)
    except NotInstalled:
        raise pytest.UsageError(
            f"--sessionary-app {spec!r}: Sessionary is not installed on it "
            "(call sessionary.install(app))"
        ) from None
    return app


# -- the worker's app, database and loops ----------------------------------------------------


@pytest.fixture(scope="session")
def sessionary_app(pytestconfig: pytest.Config) -> FastAPI:
    """The app under test (``--sessionary-app``, default ``sessionary.main:app``)."""
    return load_app(pytestconfig.stash[RUN_STATE].app_spec)


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
    # --create-db starts afresh; with --reuse-db the new database is still kept.
    database = TestDatabase(
        state.database_url,
        reuse=state.reuse and not state.create,
        keep=state.reuse,
        migrations=state.migrations,
    )
    yield database
    sessionary_portal.call(database.dispose_engine)
    database.drop()


@pytest.fixture(scope="session")
def _sessionary_runner(sessionary_database: TestDatabase) -> Iterator[Any]:
    # Holding a lease on anyio's runner keeps one event loop for every async test.
    from anyio.pytest_plugin import get_runner

    with get_runner("asyncio", {}) as runner:
        yield runner
        RunnerLoop(runner).call(sessionary_database.dispose_engine)


@pytest.fixture
def sessionary_loop(request: pytest.FixtureRequest) -> TestLoop:
    """Runs set-up coroutines on this test's loop (portal for sync tests, anyio's for async)."""
    if is_async_test(request.node):
        return RunnerLoop(request.getfixturevalue("_sessionary_runner"))
    return PortalLoop(request.getfixturevalue("sessionary_portal"))


@contextmanager
def _pinned_to(portal: BlockingPortal) -> Iterator[None]:
    """Run every TestClient on ``portal``: a hand-made ``TestClient(app)`` without ``with``
    (class attribute ``portal``) and one used in a ``with`` block (its portal factory)."""

    @contextmanager
    def start_blocking_portal(*_args: Any, **_kwargs: Any) -> Iterator[BlockingPortal]:
        yield portal

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(anyio.from_thread, "start_blocking_portal", start_blocking_portal)
        patch.setattr(TestClient, "portal", portal)
        yield


@pytest.fixture(scope="session")
def _sessionary_lifespan(
    sessionary_app: FastAPI, sessionary_portal: BlockingPortal
) -> Iterator[None]:
    # The app's lifespan runs once per worker on the portal loop, as a server would run it.
    with _pinned_to(sessionary_portal):
        manager = TestClient(sessionary_app)
        manager.__enter__()
    share_lifespan_state(sessionary_app, manager.app_state)
    yield
    share_lifespan_state(sessionary_app, None)
    with _pinned_to(sessionary_portal):
        manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def _sessionary_async_lifespan(sessionary_app: FastAPI, _sessionary_runner: Any) -> Iterator[None]:
    # The same for async tests, on anyio's loop (httpx's ASGITransport runs no lifespan).
    async def lifespan() -> AsyncIterator[None]:
        async with sessionary_app.router.lifespan_context(sessionary_app) as state:
            share_lifespan_state(sessionary_app, state or {})
            yield
            share_lifespan_state(sessionary_app, None)

    steps = _sessionary_runner.run_asyncgen_fixture(lifespan, {})
    next(steps)
    yield
    for _ in steps:
        pass


def _wants_commits(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("sessionary_db")
    return (
        request.config.stash[RUN_STATE].isolation == "delete"
        or "transactional_db" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.fixture(autouse=True)
def _sessionary_isolation(request: pytest.FixtureRequest) -> Iterator[TestProvider | None]:
    """Every test starts from the migrated database and leaves nothing behind."""
    if request.node.get_closest_marker("no_db"):
        yield None
        return
    app: FastAPI = request.getfixturevalue("sessionary_app")
    database: TestDatabase = request.getfixturevalue("sessionary_database")
    portal: BlockingPortal = request.getfixturevalue("sessionary_portal")
    loop: TestLoop = request.getfixturevalue("sessionary_loop")
    mode = CommittingDatabase if _wants_commits(request) else IsolatedDatabase
    watcher, logs = sentinel.SecretSentinel(), sentinel.LogCapture()
    sentinel.activate(watcher)
    logging.getLogger().addHandler(logs)
    runtime = runtime_of(app)
    original_settings, original_database = runtime.settings, runtime.database
    provider = runtime.database = mode(original_settings, database, loop.event_loop())
    request.node.stash[PROVIDER] = (provider, loop)
    try:
        with _pinned_to(portal):
            yield provider
    finally:
        runtime.settings, runtime.database = original_settings, original_database
        sentinel.activate(None)
        logging.getLogger().removeHandler(logs)
        closed = loop.call(provider.close)
        del request.node.stash[PROVIDER]
        reset_throttle(app, loop)
    for number, text in enumerate(logs.texts, start=1):
        watcher.scan(text, f"log record #{number}")
    for number, text in enumerate(closed.audit_texts, start=1):
        watcher.scan(text, f"audit event #{number}")
    if watcher.leaks:
        pytest.fail("secret leak: " + "; ".join(dict.fromkeys(watcher.leaks)), pytrace=False)
    if closed.counts is not None and (leaked := database.row_count_drift(closed.counts)):
        pytest.fail(f"rows leaked past this test's clean-up: {leaked}", pytrace=False)


def isolated(app: FastAPI) -> TestProvider:
    """The running test's database provider (a usage error under ``no_db``)."""
    database = runtime_of(app).database
    if not isinstance(database, TestProvider):
        raise pytest.UsageError("this fixture needs the database; remove @pytest.mark.no_db")
    return database


@pytest.fixture
def audit_log(sessionary_app: FastAPI, sessionary_loop: TestLoop) -> AuditLog:
    """What the app recorded in the audit log during this test: ``events(type=…)``,
    ``assert_recorded(type, actor=…, target=…)`` (async: ``aevents``, ``aassert_recorded``)."""
    return AuditLog(isolated(sessionary_app), sessionary_loop)


@pytest.fixture
def transactional_db() -> None:
    """Real commits, visible across connections; the tables are emptied afterwards
    (same as ``@pytest.mark.sessionary_db(transaction=True)``)."""


# -- clients -------------------------------------------------------------------------------------


@pytest.fixture
def client(
    sessionary_app: FastAPI, sessionary_portal: BlockingPortal, _sessionary_lifespan: None
) -> Iterator[SessionaryTestClient]:
    """An anonymous client on https://testserver sending a same-origin ``Origin`` header;
    ``client.cross_site()`` gives one whose requests come from another site."""
    test_client = SessionaryTestClient(sessionary_app, portal=sessionary_portal)
    yield test_client
    test_client.close()


@pytest.fixture
async def async_client(
    sessionary_app: FastAPI, _sessionary_async_lifespan: None
) -> AsyncIterator[SessionaryAsyncClient]:
    """The async twin of ``client`` (an ``httpx2.AsyncClient``), with ``cross_site()`` too."""
    async with SessionaryAsyncClient(sessionary_app) as test_client:
        yield test_client


# -- data and state ------------------------------------------------------------------------------


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
def db(sessionary_app: FastAPI, sessionary_loop: TestLoop) -> SyncDB:
    """The test's own view of the database (sees what the app wrote): ``execute``, ``scalar``,
    ``get``, ``count``, ``run(async_fn)``."""
    return SyncDB(isolated(sessionary_app), sessionary_loop)


@pytest.fixture
async def async_db(sessionary_app: FastAPI) -> AsyncIterator[AsyncSession]:
    """The async twin of ``db``: an ``AsyncSession`` on the test's connection (its commits
    stay inside the test's transaction)."""
    async with isolated(sessionary_app).write() as session:
        yield session


@pytest.fixture
def factory_context(sessionary_app: FastAPI, sessionary_loop: TestLoop) -> FactoryContext:
    """What a ``Factory`` of your own needs: ``ProjectFactory(factory_context)`` in a fixture
    of yours (the test's connection and event loop)."""
    return FactoryContext(isolated(sessionary_app), sessionary_loop)


@pytest.fixture
def user_factory(sessionary_app: FastAPI, factory_context: FactoryContext) -> UserFactory:
    """Make users through the app's services: ``user_factory(username=…, roles=[…])``,
    ``await user_factory.acreate(...)``, ``create_batch(n)``."""
    return UserFactory(factory_context, runtime_of(sessionary_app).hasher)


@pytest.fixture
def role_factory(factory_context: FactoryContext) -> RoleFactory:
    """Make custom roles: ``role_factory(name=…, permissions=[…])``, ``await …acreate()``."""
    return RoleFactory(factory_context)


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


# -- query counts ---------------------------------------------------------------------------------


@pytest.fixture
def assert_num_queries(sessionary_app: FastAPI) -> QueryCounter:
    """``with assert_num_queries(n):`` checks each request in the block sends ``n`` queries
    (``exact=False``: at most ``n``); SAVEPOINTs and factory SQL are not counted."""
    queries = isolated(sessionary_app).queries

    @contextmanager
    def check(count: int, *, exact: bool = True) -> Iterator[dict[object, list[str]]]:
        with queries.recording() as requests:
            yield requests
        sent = requests.values()
        wrong = [r for r in sent if (len(r) != count if exact else len(r) > count)]
        if wrong or not requests:
            expected = f"{'exactly' if exact else 'at most'} {count} queries per request"
            pytest.fail(f"expected {expected}:\n{describe(requests)}", pytrace=False)

    return check


@pytest.fixture
def assert_max_num_queries(assert_num_queries: QueryCounter) -> QueryCounter:
    """``with assert_max_num_queries(n):`` — at most ``n`` queries per request in the block."""

    def check(
        count: int, *, exact: bool = False
    ) -> AbstractContextManager[dict[object, list[str]]]:
        return assert_num_queries(count, exact=exact)

    return check
