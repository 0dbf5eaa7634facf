"""Sessionary: cookie-session authentication, users, roles and permissions for FastAPI.

What an app built on Sessionary imports — install it, guard its own routes, declare its own
tables, raise its errors::

    from fastapi import FastAPI
    from sessionary import CurrentPrincipal, install

    app = FastAPI()
    install(app, prefix="/api")

    @app.get("/hello")
    async def hello(principal: CurrentPrincipal) -> dict[str, str]:
        return {"hello": principal.username}

The names are imported on first use (``__getattr__``): ``import sessionary`` stays cheap for
the CLI, the migrations and ``sessionary.config``, which import no web stack. See
``docs/library.md``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Each public name and the module that defines it (a test checks both).
_EXPORTS: dict[str, str] = {
    "ALL_ROUTERS": "sessionary.app",
    "DEFAULT_ROUTERS": "sessionary.app",
    "Base": "sessionary.core.models",
    "BadRequest": "sessionary.errors",
    "Conflict": "sessionary.errors",
    "Context": "sessionary.context",
    "ContextDep": "sessionary.context",
    "CurrentPrincipal": "sessionary.identity.dependencies",
    "DbSession": "sessionary.core.dependencies",
    "FreshPrincipal": "sessionary.identity.dependencies",
    "InvalidInput": "sessionary.errors",
    "NotAuthenticated": "sessionary.errors",
    "NotFound": "sessionary.errors",
    "PermissionDenied": "sessionary.errors",
    "PreconditionFailed": "sessionary.errors",
    "PermissionSet": "sessionary.identity.permissions",
    "UndeclaredPermission": "sessionary.identity.permissions",
    "Principal": "sessionary.identity.principal",
    "RouterGroup": "sessionary.app",
    "Runtime": "sessionary.runtime",
    "ServiceUnavailable": "sessionary.errors",
    "SessionaryError": "sessionary.errors",
    "Settings": "sessionary.config",
    "Throttled": "sessionary.errors",
    "UTCDateTime": "sessionary.core.models",
    "create_app": "sessionary.app",
    "declare_role": "sessionary.identity.permissions",
    "run_migrations": "sessionary.migrations.environment",
    "install": "sessionary.app",
    "now": "sessionary.clock",
    "require": "sessionary.identity.dependencies",
    "require_fresh": "sessionary.identity.dependencies",
}

# Not ``typing.TYPE_CHECKING``: importing typing would double the cost of ``import sessionary``.
TYPE_CHECKING = False
if TYPE_CHECKING:  # the same names, for type checkers
    from typing import Any

    from sessionary.app import ALL_ROUTERS, DEFAULT_ROUTERS, RouterGroup, create_app, install
    from sessionary.clock import now
    from sessionary.config import Settings
    from sessionary.context import Context, ContextDep
    from sessionary.core.dependencies import DbSession
    from sessionary.core.models import Base, UTCDateTime
    from sessionary.errors import (
        BadRequest,
        Conflict,
        InvalidInput,
        NotAuthenticated,
        NotFound,
        PermissionDenied,
        PreconditionFailed,
        ServiceUnavailable,
        SessionaryError,
        Throttled,
    )
    from sessionary.identity.dependencies import (
        CurrentPrincipal,
        FreshPrincipal,
        require,
        require_fresh,
    )
    from sessionary.identity.permissions import (
        PermissionSet,
        UndeclaredPermission,
        declare_role,
    )
    from sessionary.identity.principal import Principal
    from sessionary.migrations.environment import run_migrations
    from sessionary.runtime import Runtime

__all__ = [
    "ALL_ROUTERS",
    "DEFAULT_ROUTERS",
    "BadRequest",
    "Base",
    "Conflict",
    "Context",
    "ContextDep",
    "CurrentPrincipal",
    "DbSession",
    "FreshPrincipal",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "PermissionSet",
    "PreconditionFailed",
    "Principal",
    "RouterGroup",
    "Runtime",
    "ServiceUnavailable",
    "SessionaryError",
    "Settings",
    "Throttled",
    "UTCDateTime",
    "UndeclaredPermission",
    "create_app",
    "declare_role",
    "install",
    "now",
    "require",
    "require_fresh",
    "run_migrations",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        # Also how ``from sessionary import clock`` falls through to the submodule.
        raise AttributeError(f"module 'sessionary' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
