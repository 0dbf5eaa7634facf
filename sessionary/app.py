"""Installing Sessionary into a FastAPI app, and the ready-made service built the same way.

:func:`install` wires everything Sessionary needs into the developer's own ``FastAPI()``:
its runtime (settings, database, hasher, throttle) on ``app.state.sessionary``, the
middleware, the error and 405 handlers, the router groups chosen (under a prefix), the
OpenAPI contract, relative trailing-slash redirects, and a lifespan that starts the database
around the app's own. :func:`create_app` is ``FastAPI()`` plus ``install`` with every group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Literal, get_args

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware

from sessionary import __version__
from sessionary.api_keys.credential import BearerKey
from sessionary.api_keys.router import router as api_keys_router
from sessionary.audit.router import router as audit_router
from sessionary.auth.recovery_router import router as recovery_router
from sessionary.auth.router import router as auth_router
from sessionary.config import Settings
from sessionary.core.csrf import LOGIN_PATHS, CSRFMiddleware, normalise_origin
from sessionary.core.headers import SecurityHeadersMiddleware
from sessionary.core.logging import configure_logging as set_up_logging
from sessionary.core.methods import register_method_handler
from sessionary.core.openapi import install as install_contract
from sessionary.core.redirects import install as install_relative_redirects
from sessionary.core.request_limits import RequestLimitsMiddleware
from sessionary.core.runtime import STATE_KEY
from sessionary.errors import register_error_handlers
from sessionary.health.router import router as health_router
from sessionary.identity.permissions import check_routes
from sessionary.notes.router import router as notes_router
from sessionary.roles.router import router as roles_router
from sessionary.runtime import Runtime
from sessionary.sessions.credential import CookieSession
from sessionary.users.admin_router import router as users_admin_router
from sessionary.users.router import router as users_router

RouterGroup = Literal["auth", "users", "admin", "roles", "audit", "api_keys", "health", "notes"]

# In matching order: the hot GET /users/me and /protected_data/ first, and /users/me before
# the admin group's /users/{user_id}.
_ROUTERS: dict[RouterGroup, tuple[APIRouter, ...]] = {
    "users": (users_router,),
    "auth": (auth_router, recovery_router),
    "admin": (users_admin_router,),
    "roles": (roles_router,),
    "audit": (audit_router,),
    "health": (health_router,),
    "api_keys": (api_keys_router,),
    "notes": (notes_router,),
}
ALL_ROUTERS: frozenset[RouterGroup] = frozenset(get_args(RouterGroup))
# ``notes`` is the example resource: the ready-made service serves it, an app opts in.
DEFAULT_ROUTERS: frozenset[RouterGroup] = ALL_ROUTERS - {"notes"}


def group_routes(groups: Iterable[RouterGroup]) -> frozenset[tuple[str, str]]:
    """``(method, path)`` of every route the router ``groups`` add, unprefixed."""
    return frozenset(
        (method, route.path)
        for group in groups
        for router in _ROUTERS[group]
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    )


def _check_prefix(prefix: str) -> str:
    if prefix and (not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix):
        raise ValueError(f"prefix {prefix!r}: use '' or a path like '/api' (no trailing slash)")
    return prefix


def _check_routers(routers: Iterable[str]) -> frozenset[RouterGroup]:
    if isinstance(routers, str):
        raise TypeError(f"routers={routers!r}: give a collection of group names, e.g. {{'auth'}}")
    chosen = frozenset(routers)
    if unknown := chosen - ALL_ROUTERS:
        raise ValueError(
            f"unknown router group(s) {', '.join(sorted(unknown))}; "
            f"choose among {', '.join(sorted(ALL_ROUTERS))}"
        )
    return frozenset(group for group in ALL_ROUTERS if group in chosen)


def _add_middleware(app: FastAPI, settings: Settings, checked_paths: frozenset[str]) -> None:
    # Each add_middleware wraps the ones before it: the last added runs first. From the
    # outside in: security headers (so every refusal below carries them), size limits, CORS
    # (so a browser front-end can read a CSRF refusal), CSRF.
    app.add_middleware(CSRFMiddleware, always_checked=checked_paths)
    if settings.cors_origins:
        # Built once, at install time: changing cors_origins later extends CSRF trust (read
        # per request) but not the CORS answers; install into a new app for that.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[
                origin
                for origin in map(normalise_origin, settings.cors_origins)
                if origin is not None
            ],
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Content-Type", "Authorization"],
        )
    app.add_middleware(RequestLimitsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)


def _chain_lifespan(app: FastAPI, runtime: Runtime) -> None:
    """Run the app's own lifespan (whatever state it yields) inside Sessionary's, so the
    database is started before the app's start-up code and stopped after its shutdown."""
    own = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:  # the state it yields, or None
        # A route guarded by a permission nobody declared fails here, not on its first request.
        check_routes(app.routes)
        # The pool lives on the lifespan's loop; requests outside it get their own connection.
        database = runtime.database
        await database.start()
        try:
            async with own(started) as state:
                yield state
        finally:
            await runtime.close()

    app.router.lifespan_context = lifespan


def install(
    app: FastAPI,
    settings: Settings | None = None,
    *,
    prefix: str = "",
    routers: Iterable[RouterGroup] = DEFAULT_ROUTERS,
    configure_logging: bool = True,
) -> Runtime:
    """Install Sessionary into ``app`` (once): its routers, middleware, handlers and lifespan.

    ``settings`` defaults to ``Settings()`` (the ``SESSIONARY_*`` environment). ``prefix``
    (``"/api"``) mounts every chosen router group under it; ``routers`` chooses the groups
    (``DEFAULT_ROUTERS``: all but the ``notes`` example). The app's own lifespan keeps
    running, inside Sessionary's. ``configure_logging=False`` leaves structlog and the
    ``sessionary`` logger to an app that sets up logging itself (structlog's configuration
    is process-wide). Call it before the app serves its first request.
    """
    if getattr(app.state, STATE_KEY, None) is not None:
        raise RuntimeError("Sessionary is already installed on this app (install() ran twice)")
    prefix, groups = _check_prefix(prefix), _check_routers(routers)
    settings = settings or Settings()
    if configure_logging:
        set_up_logging(settings)
    runtime = Runtime.build(
        settings,
        credentials=(BearerKey(), CookieSession()),
        prefix=prefix,
        routers=groups,
    )
    setattr(app.state, STATE_KEY, runtime)
    # Login CSRF: the login and sign-up routes are checked even without a cookie.
    checked = frozenset(prefix + path for path in LOGIN_PATHS) if "auth" in groups else frozenset()
    _add_middleware(app, settings, checked)
    register_error_handlers(app)
    register_method_handler(app)
    for group, group_routers in _ROUTERS.items():
        if group in groups:
            for router in group_routers:
                app.include_router(router, prefix=prefix)
    install_contract(app, login_path=f"{prefix}/auth/login" if "auth" in groups else None)
    if app.router.redirect_slashes:
        # An app that turned slash redirects off keeps them off, for Sessionary's routes too.
        install_relative_redirects(app)
    _chain_lifespan(app, runtime)
    return runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ready-made service: a new FastAPI app with every router group, notes included."""
    app = FastAPI(
        title="Sessionary",
        version=__version__,
        summary="Cookie-session authentication, users, roles and permissions.",
    )
    install(app, settings, routers=ALL_ROUTERS)
    return app
