"""What Sessionary keeps for one app (``app.state.sessionary``), put there by ``install``.

One object instead of several ``app.state`` attributes: the start of the request-scoped
context. It lives here, beside ``app.py``, because it holds objects of features (the login
throttle); ``core`` reads it through :class:`sessionary.core.runtime.CoreRuntime`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette

from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.runtime import installed
from sessionary.core.security import PasswordHasher
from sessionary.identity.credentials import CredentialResolver


@dataclass(eq=False)
class Runtime:
    """Sessionary's objects for one app. Mutable on purpose: the test toolkit swaps the
    settings and the database for one test and puts them back."""

    settings: Settings
    database: Database
    hasher: PasswordHasher
    throttle: LoginThrottle
    # Asked in order; the first that claims a request decides (identity.credentials).
    credentials: tuple[CredentialResolver, ...] = ()
    # Where Sessionary's routes are mounted ("" or "/api"), and which router groups.
    prefix: str = ""
    routers: frozenset[str] = field(default_factory=frozenset)


def runtime_of(app: Starlette) -> Runtime:
    """``app``'s runtime (:class:`~sessionary.core.runtime.NotInstalled` without one)."""
    runtime: Runtime = installed(app)
    return runtime
