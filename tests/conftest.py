"""Shared by the whole suite: pytester runs the plugin in inner pytest sessions."""

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

# Imported before any test: pytester restores sys.modules after each test, and a
# compiled driver imported a second time into the same process can crash it.
import aiosqlite  # noqa: F401
import asyncpg  # noqa: F401
import pytest
import structlog
from sqlalchemy.engine import make_url

from sessionary.testing.database import TestDatabase

# tests.people: the users, admins and user manager of the administration tests.
pytest_plugins = ["pytester", "tests.people"]


@pytest.fixture
def inner_args(
    sessionary_database: TestDatabase, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Options giving an inner run its own database on the outer run's backend."""
    monkeypatch.delenv("SESSIONARY_DATABASE_URL", raising=False)
    monkeypatch.delenv("SESSIONARY_TEST_DATABASE_URL", raising=False)
    if sessionary_database.backend == "sqlite":
        return [f"--db-url=sqlite+aiosqlite:///{pytester.path / 'inner_test.db'}"]
    outer = make_url(sessionary_database.url)
    inner = outer.set(database=f"{outer.database}_inner_{uuid.uuid4().hex[:8]}")
    return [f"--db-url={inner.render_as_string(hide_password=False)}"]


@pytest.fixture
def no_sessionary_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SESSIONARY_ variable and no ``.env`` in the working directory."""
    for name in list(os.environ):
        if name.startswith("SESSIONARY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The ``sessionary`` logger and structlog's configuration put back after the test (for
    code that calls ``configure_logging``)."""
    logger = logging.getLogger("sessionary")
    handlers, level, config = list(logger.handlers), logger.level, structlog.get_config()
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    structlog.configure(**config)
