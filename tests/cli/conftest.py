"""CLI tests commit for real: each one gets a scratch database, never the shared test one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sessionary.testing.database import TestDatabase

from .scratch import ScratchDatabase, scratch_database


def _own_database(
    request: pytest.FixtureRequest,
    test_database: TestDatabase,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    template: ScratchDatabase | None = None,
) -> Iterator[ScratchDatabase]:
    if request.node.get_closest_marker("no_db") is None:
        raise pytest.UsageError("CLI tests commit for real: mark them @pytest.mark.no_db")
    with scratch_database(test_database.url, directory, template=template) as database:
        assert database.url != test_database.url
        monkeypatch.setenv("SESSIONARY_DATABASE_URL", database.url)
        yield database


@pytest.fixture
def empty_database(
    request: pytest.FixtureRequest,
    sessionary_database: TestDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ScratchDatabase]:
    """An unmigrated database of this test's own; ``SESSIONARY_DATABASE_URL`` points at it."""
    yield from _own_database(request, sessionary_database, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def migrated_template(
    sessionary_database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScratchDatabase]:
    """A database migrated once per run (and per xdist worker), copied by the tests."""
    with scratch_database(sessionary_database.url, tmp_path_factory.mktemp("cli")) as template:
        template.migrate()
        yield template


@pytest.fixture
def migrated_database(
    request: pytest.FixtureRequest,
    sessionary_database: TestDatabase,
    migrated_template: ScratchDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ScratchDatabase]:
    """A migrated database of this test's own; ``SESSIONARY_DATABASE_URL`` points at it."""
    yield from _own_database(
        request, sessionary_database, tmp_path, monkeypatch, template=migrated_template
    )


@pytest.fixture
def runner() -> CliRunner:
    """Invokes ``sessionary.cli.app`` in process; stdout and stderr kept apart."""
    return CliRunner()
