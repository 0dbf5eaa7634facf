"""Helpers for running the plugin in an inner pytest session (pytester)."""

import uuid

import pytest
from sqlalchemy.engine import make_url

from sessionary.testing.database import TestDatabase


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
