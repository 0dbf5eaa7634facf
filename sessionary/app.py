"""The application factory: settings in, a wired FastAPI app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sessionary import __version__
from sessionary.auth.router import router as auth_router
from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.headers import SecurityHeadersMiddleware
from sessionary.core.logging import configure_logging
from sessionary.core.security import PasswordHasher
from sessionary.errors import register_error_handlers
from sessionary.health.router import router as health_router
from sessionary.users.router import router as users_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The pool lives on the lifespan's loop; requests outside it get their own connection.
    database: Database = app.state.database
    await database.start()
    try:
        yield
    finally:
        await database.stop()
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
    app.add_middleware(SecurityHeadersMiddleware)
    register_error_handlers(app)
    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(health_router)
    return app
