"""What the plugin decided at configure time, kept in ``config.stash``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class RunState:
    database_url: str
    app_spec: str
    reuse: bool
    create: bool
    isolation: str  # "savepoint" | "delete"
    postmortem: bool
    migrations: str | None = None  # the app's Alembic migrations, run with Sessionary's


RUN_STATE = pytest.StashKey[RunState]()
# The running test's database provider and the loop it lives on (for --db-postmortem).
PROVIDER = pytest.StashKey[tuple[Any, Any]]()
