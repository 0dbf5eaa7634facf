"""``inner``: pytest run in a subprocess against a test database of its own (pytester is
enabled by ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sessionary.testing.database import TestDatabase

from .harness import OUTER_ENV, InnerRun


@pytest.fixture
def inner(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, sessionary_database: TestDatabase
) -> Iterator[InnerRun]:
    """An inner pytest runner on the outer run's backend, cleaned up afterwards."""
    for name in OUTER_ENV:
        monkeypatch.delenv(name, raising=False)
    run = InnerRun(pytester, sessionary_database)
    try:
        yield run
    finally:
        run.cleanup()
