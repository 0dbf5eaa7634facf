"""How core finds what Sessionary keeps for an app: one object on ``app.state.sessionary``.

:func:`sessionary.install` puts a :class:`sessionary.runtime.Runtime` there. Core sees it
through :class:`CoreRuntime`, the part it needs (settings, database, hasher), so it imports
nothing above it; every dependency and middleware reads it per request, never a module
global, so a test (or a second app in the same process) can swap one of its parts.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.applications import Starlette

from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.security import PasswordHasher

STATE_KEY = "sessionary"


class NotInstalled(RuntimeError):
    """The app has no Sessionary runtime: ``sessionary.install(app)`` was not called."""


class CoreRuntime(Protocol):
    """The runtime as core uses it (each part swappable by the test toolkit)."""

    settings: Settings
    database: Database
    hasher: PasswordHasher


def installed(app: Starlette) -> Any:
    """Whatever ``install`` put on ``app``; :class:`NotInstalled` (a clear message, not an
    ``AttributeError`` about ``State``) when Sessionary was never installed on it."""
    try:
        return getattr(app.state, STATE_KEY)
    except AttributeError:
        raise NotInstalled(
            "Sessionary is not installed on this app: call sessionary.install(app), "
            "or build the app with sessionary.create_app()"
        ) from None


def core_runtime(app: Starlette) -> CoreRuntime:
    """``app``'s runtime, as core sees it."""
    runtime: CoreRuntime = installed(app)
    return runtime
