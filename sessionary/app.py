"""The application factory: settings in, a wired FastAPI app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from sessionary import __version__
from sessionary.api_keys.credential import BearerKey
from sessionary.api_keys.router import router as api_keys_router
from sessionary.audit.router import router as audit_router
from sessionary.auth.router import router as auth_router
from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.core.csrf import CSRFMiddleware, normalise_origin
from sessionary.core.db import Database
from sessionary.core.headers import SecurityHeadersMiddleware
from sessionary.core.logging import configure_logging
from sessionary.core.methods import register_method_handler
from sessionary.core.openapi import install as install_contract
from sessionary.core.redirects import install as install_relative_redirects
from sessionary.core.request_limits import RequestLimitsMiddleware
from sessionary.core.security import PasswordHasher
from sessionary.errors import register_error_handlers
from sessionary.health.router import router as health_router
from sessionary.identity.permissions import check_routes
from sessionary.notes.router import router as notes_router
from sessionary.roles.router import router as roles_router
from sessionary.sessions.credential import CookieSession
from sessionary.users.admin_router import router as users_admin_router
from sessionary.users.router import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The pool lives on the lifespan's loop; requests outside it get their own connection.
    # A route guarded by a permission nobody declared fails here, not on its first request.
    check_routes(app.routes)
    database: Database = app.state.database
    await database.start()
    try:
        yield
    finally:
        await database.stop()
        await app.state.throttle.close()
        app.state.hasher.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)
    app = FastAPI(
        title="Sessionary",
        version=__version__,
        summary="Cookie-session authentication, users, roles and permissions.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = Database(settings)
    app.state.hasher = PasswordHasher(
        memory_cost=settings.password_memory_cost,
        time_cost=settings.password_time_cost,
        parallelism=settings.password_parallelism,
        threads=settings.password_hash_threads,
    )
    app.state.throttle = LoginThrottle(settings)
    # Asked in order; the first that claims a request decides (identity.credentials).
    app.state.credentials = (BearerKey(), CookieSession())
    # Each add_middleware wraps the ones before it: the last added runs first. From the
    # outside in: security headers (so every refusal below carries them), size limits, CORS
    # (so a browser front-end can read a CSRF refusal), CSRF.
    app.add_middleware(CSRFMiddleware)
    if settings.cors_origins:
        # Built once, at creation time: changing cors_origins later extends CSRF trust (read
        # per request) but not the CORS answers; create a new app for that.
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
    register_error_handlers(app)
    register_method_handler(app)
    # Routes are matched in order: the hot GET /users/me and /protected_data/ first, and
    # /users/me before the admin router's /users/{user_id}.
    app.include_router(users_router)
    app.include_router(auth_router)
    app.include_router(users_admin_router)
    app.include_router(roles_router)
    app.include_router(audit_router)
    app.include_router(health_router)
    app.include_router(api_keys_router)
    app.include_router(notes_router)
    install_contract(app)
    install_relative_redirects(app)
    return app
