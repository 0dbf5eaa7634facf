"""The pytest plugin (entry point ``pytest11: sessionary``): options, markers, fixtures.

It decides the test database before any test module imports the app and
points ``SESSIONARY_DATABASE_URL`` at it, so even an app built at import time
(``sessionary.main``) never sees the operator's database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from sessionary.core.db import InvalidDatabaseURL
from sessionary.migrations.source import MigrationsError, is_resource, locate
from sessionary.testing import coverage, matrix
from sessionary.testing.database import TestDatabaseUnusable
from sessionary.testing.matrix import AuthzMatrix
from sessionary.testing.preflight import check_usable
from sessionary.testing.state import PROVIDER, RUN_STATE, RunState
from sessionary.testing.urls import (
    UnsafeTestDatabase,
    check_safe,
    operator_database_url,
    worker_url,
)

# Each feature's test helpers live beside it and are written the way an app writes its own:
# factories on ``Factory``, fixtures, ``@matrix_object`` and ``@matrix_principal``. This list
# is the one place that loads them (an app names its own in its conftest's ``pytest_plugins``).
FEATURE_HELPERS = (
    "sessionary.users.testing",
    "sessionary.roles.testing",
    "sessionary.sessions.testing",
    "sessionary.auth.testing",
    "sessionary.api_keys.testing",
    "sessionary.notes.testing",
    "sessionary.audit.testing",
)
# pytest registers these as plugins when it registers this one.
pytest_plugins = ["sessionary.testing.fixtures", "sessionary.testing.mailbox", *FEATURE_HELPERS]

_ENV = "SESSIONARY_DATABASE_URL"
_REDIS_ENV = ("SESSIONARY_REDIS_URL", "SESSIONARY_REDIS_KEY_PREFIX")
_saved_env = pytest.StashKey[dict[str, str | None]]()
_temp_dir = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sessionary", "sessionary.testing")
    group.addoption(
        "--db-url",
        default=None,
        help="Test database URL (else SESSIONARY_TEST_DATABASE_URL, else SQLite in a "
        "temporary directory). Its name must contain 'test'; one database per xdist worker.",
    )
    group.addoption("--reuse-db", action="store_true", help="Keep the test database between runs.")
    group.addoption(
        "--create-db", action="store_true", help="Re-create the test database even with --reuse-db."
    )
    group.addoption(
        "--db-isolation",
        choices=("savepoint", "delete"),
        default="savepoint",
        help="savepoint (default): roll every test back; delete: real commits, tables emptied "
        "after each test.",
    )
    group.addoption(
        "--db-postmortem",
        action="store_true",
        help="Attach the rows a failed test wrote to its report, before they are rolled back.",
    )
    parser.addini(
        "sessionary_authz_coverage",
        type="bool",
        default=True,
        help="Add a failing test listing routes that no authorization matrix covers.",
    )
    group.addoption(
        "--sessionary-app",
        default="sessionary.main:app",
        help="module:attribute of the FastAPI app under test.",
    )
    group.addoption(
        "--sessionary-migrations",
        default=None,
        metavar="DIR|PKG:DIR|INI",
        help="The app's Alembic migrations, run with Sessionary's own on the test database "
        "(overrides the sessionary_migrations ini option).",
    )
    parser.addini(
        "sessionary_migrations",
        default=None,
        help="The app's Alembic migrations (a directory relative to this file, package:dir, "
        "or an alembic.ini), run with Sessionary's own on the test database.",
    )


def _migrations(config: pytest.Config) -> str | None:
    """The option (relative to where pytest runs), else the ini value (relative to the
    ini file); checked now, so that a wrong name is one usage error, not one per test."""
    spec = config.getoption("sessionary_migrations")
    base = config.invocation_params.dir
    if not spec:
        spec = config.getini("sessionary_migrations")
        base = config.inipath.parent if config.inipath else config.rootpath
    if not spec:
        return None
    spec = str(spec)
    if not is_resource(spec):
        spec = str(base / Path(spec).expanduser())
    try:
        locate(spec)
    except MigrationsError as exc:
        raise pytest.UsageError(f"sessionary.testing: {exc}") from None
    return spec


def _base_url(config: pytest.Config) -> str:
    explicit = config.getoption("db_url") or os.environ.get("SESSIONARY_TEST_DATABASE_URL")
    if explicit:
        return str(explicit)
    if config.getoption("reuse_db") and config.cache is not None:
        # A database to reuse outlives the run: it lives in pytest's cache.
        folder: Path = config.cache.mkdir("sessionary")
    else:
        # pytest's tmp_path_factory is a fixture, too late for the URL set below: a directory
        # of our own, removed at the end of the run.
        folder = config.stash[_temp_dir] = Path(tempfile.mkdtemp(prefix="sessionary-test-"))
    return f"sqlite+aiosqlite:///{folder / 'sessionary_test.db'}"


@pytest.hookimpl(trylast=True)  # after pytest's own (config.cache exists)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "no_db: this test does not use the database (no isolation set-up)"
    )
    config.addinivalue_line(
        "markers",
        "sessionary_db(transaction=False): transaction=True gives real commits, visible across "
        "connections, with the tables emptied afterwards",
    )
    config.pluginmanager.import_plugin("sessionary.testing.asyncio_backend")
    operator_url = operator_database_url()  # before we change anything
    worker = getattr(config, "workerinput", {}).get("workerid")
    url = worker_url(_base_url(config), worker)
    try:
        check_safe(url, operator_url)
        if worker is None and _runs_tests(config):
            # The controller looks once for every worker, before any starts.
            check_usable([worker_url(url, name) for name in _xdist_workers(config)])
    except (UnsafeTestDatabase, InvalidDatabaseURL, TestDatabaseUnusable) as exc:
        raise pytest.UsageError(f"sessionary.testing: {exc}") from None
    config.stash[RUN_STATE] = RunState(
        database_url=url,
        app_spec=config.getoption("sessionary_app"),
        reuse=config.getoption("reuse_db"),
        create=config.getoption("create_db"),
        isolation=config.getoption("db_isolation"),
        postmortem=config.getoption("db_postmortem"),
        migrations=_migrations(config),
    )
    config.stash[_saved_env] = {name: os.environ.get(name) for name in (_ENV, *_REDIS_ENV)}
    os.environ[_ENV] = url
    if redis_url := os.environ.get("SESSIONARY_TEST_REDIS_URL"):
        # Workers and runs share one Redis: each gets keys of its own, never a FLUSHDB.
        os.environ["SESSIONARY_REDIS_URL"] = redis_url
        os.environ["SESSIONARY_REDIS_KEY_PREFIX"] = (
            f"sessionary-test:{worker or 'main'}:{uuid.uuid4().hex[:8]}:"
        )
    else:
        # Never the operator's Redis: without a test Redis, counts stay in memory.
        os.environ.pop("SESSIONARY_REDIS_URL", None)


def _runs_tests(config: pytest.Config) -> bool:
    """False for --help, --markers, --fixtures, --collect-only: they need no database."""
    listing = ("help", "markers", "showfixtures", "show_fixtures_per_test", "collectonly")
    return not any(getattr(config.option, name, False) for name in listing)


def _xdist_workers(config: pytest.Config) -> list[str | None]:
    """The workers this run will start (``gw0``…), or ``[None]`` without xdist."""
    count = len(getattr(config.option, "tx", None) or ())
    if getattr(config.option, "dist", "no") == "no" or not count:
        return [None]
    return [f"gw{number}" for number in range(count)]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _temp_dir in config.stash:
        shutil.rmtree(config.stash[_temp_dir], ignore_errors=True)
    if _saved_env not in config.stash:
        return
    for name, saved in config.stash[_saved_env].items():
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if RUN_STATE not in config.stash:
        return None
    from sqlalchemy.engine import make_url

    state = config.stash[RUN_STATE]
    url = make_url(state.database_url)
    lines = [
        f"sessionary app under test: {state.app_spec}",
        f"sessionary test database: {url.render_as_string(hide_password=True)}",
    ]
    if state.migrations:
        lines.append(f"sessionary app migrations: {state.migrations}")
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and (unusable := _unusable_database(call.excinfo)):
        # Found only now (the server went away, a race): one line, and stop the run.
        report.longrepr = f"sessionary.testing: {unusable}"
        item.session.shouldstop = f"sessionary.testing: {unusable}"
    elif (
        call.when == "call"
        and report.failed
        and item.config.stash[RUN_STATE].postmortem
        and PROVIDER in item.stash
    ):
        provider, loop = item.stash[PROVIDER]
        report.sections.append(("sessionary postmortem", loop.call(provider.written_rows)))
    return report


def _unusable_database(
    excinfo: pytest.ExceptionInfo[BaseException] | None,
) -> TestDatabaseUnusable | None:
    error = excinfo.value if excinfo is not None else None
    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # the app may have wrapped it
        if isinstance(error, TestDatabaseUnusable):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> list[Any] | None:
    if isinstance(obj, AuthzMatrix) and collector.funcnamefilter(name):
        return matrix.expand(collector, name, obj)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if RUN_STATE in config.stash:
        coverage.add_route_coverage(config, items, config.stash[RUN_STATE].app_spec)
