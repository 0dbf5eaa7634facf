"""The kernel's fixtures: the app, its database and loops, isolation, clients and helpers that
know no feature (the plugin loads this module, then each feature's helpers).

Sync tests run every request on the worker's portal loop; ``@pytest.mark.anyio``
tests on anyio's runner loop, held open for the session. Set-up helpers
(factories, ``db``, ``login_as``) run on whichever loop the test uses.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager

import anyio.from_thread
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.core.runtime import NotInstalled
from sessionary.runtime import runtime_of
from sessionary.testing import sentinel
from sessionary.testing.clients import (
    SessionaryAsyncClient,
    SessionaryTestClient,
    share_lifespan_state,
)
from sessionary.testing.clock import Clock
from sessionary.testing.database import TestDatabase
from sessionary.testing.factories import FactoryContext
from sessionary.testing.handmade_clients import handmade_clients_on
from sessionary.testing.isolation import CommittingDatabase, IsolatedDatabase, TestProvider
from sessionary.testing.loops import PortalLoop, RunnerLoop, TestLoop, is_async_test
from sessionary.testing.queries import QueryCounter, describe
from sessionary.testing.settings_override import SettingsOverride
from sessionary.testing.state import PROVIDER, RUN_STATE
from sessionary.testing.sync_db import SyncDB


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
async def _sessionary_runner_loop(
    sessionary_database: TestDatabase,
) -> AsyncIterator[asyncio.AbstractEventLoop]:
    # A session-scoped async fixture keeps anyio's test runner, and so its one event loop, for
    # every async test of the worker (anyio's documented "async fixtures with higher scopes";
    # asyncio_backend.py makes ``anyio_backend`` session-scoped to match).
    yield asyncio.get_running_loop()
    await sessionary_database.dispose_engine()


@pytest.fixture
def sessionary_loop(request: pytest.FixtureRequest) -> TestLoop:
    """Runs set-up coroutines on this test's loop (portal for sync tests, anyio's for async)."""
    if is_async_test(request.node):
        return RunnerLoop(request.getfixturevalue("_sessionary_runner_loop"))
    return PortalLoop(request.getfixturevalue("sessionary_portal"))


@pytest.fixture(scope="session")
def _sessionary_lifespan(
    sessionary_app: FastAPI, sessionary_portal: BlockingPortal
) -> Iterator[None]:
    # The app's lifespan runs once per worker on the portal loop, as a server would run it.
    lifespan = sessionary_app.router.lifespan_context(sessionary_app)
    with sessionary_portal.wrap_async_context_manager(lifespan) as state:
        share_lifespan_state(sessionary_app, state or {})
        yield
        share_lifespan_state(sessionary_app, None)


@pytest.fixture(scope="session")
async def _sessionary_async_lifespan(
    sessionary_app: FastAPI, _sessionary_runner_loop: asyncio.AbstractEventLoop
) -> AsyncIterator[None]:
    # The same for async tests, on anyio's loop (httpx's ASGITransport runs no lifespan).
    async with sessionary_app.router.lifespan_context(sessionary_app) as state:
        share_lifespan_state(sessionary_app, state or {})
        yield
        share_lifespan_state(sessionary_app, None)


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
        with handmade_clients_on(portal):
            yield provider
    finally:
        runtime.settings, runtime.database = original_settings, original_database
        sentinel.activate(None)
        logging.getLogger().removeHandler(logs)
        closed = loop.call(provider.close)
        del request.node.stash[PROVIDER]
    for number, text in enumerate(logs.texts, start=1):
        watcher.scan(text, f"log record #{number}")
    for text, where in watcher.stored:
        watcher.scan(text, where)
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
        # A request that sent nothing leaves no trace: an empty block only passes for 0.
        if wrong or (not requests and count > 0):
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
