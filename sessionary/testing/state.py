"""What the plugin decided at configure time, kept in ``config.stash``."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class RunState:
    database_url: str
    app_spec: str
    reuse: bool
    create: bool


RUN_STATE = pytest.StashKey[RunState]()
