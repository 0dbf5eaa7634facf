"""Objects behind the ``db`` and ``settings`` fixtures, and the session maker for ``login_as``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Literal, Protocol, TypeVar, cast

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from sessionary import clock
from sessionary.config import Settings
from sessionary.runtime import runtime_of
from sessionary.sessions import service as sessions_service
from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop
from sessionary.users.models import User

T = TypeVar("T")


class AsyncLoginAs(Protocol):
    """``await async_login_as(user_or_role, *, via=..., fresh=...)`` -> a logged-in AsyncClient."""

    async def __call__(
        self, who: User | str, *, via: Literal["session", "login"] = ..., fresh: bool = ...
    ) -> SessionaryAsyncClient: ...


class LoginAs(Protocol):
    """``login_as(user_or_role, *, via="session", fresh=True)`` -> a logged-in TestClient."""

    def __call__(
        self, who: User | str, *, via: Literal["session", "login"] = ..., fresh: bool = ...
    ) -> SessionaryTestClient: ...


class SyncDB:
    """Run statements on the test's connection from a sync test."""

    def __init__(self, database: TestProvider, loop: TestLoop) -> None:
        self._database = database
        self._loop = loop

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``db.run(async_fn)``: call ``async_fn(session)`` and commit (into the test's
        transaction)."""

        async def call() -> T:
            with self._database.queries.paused():
                async with self._database.write() as session:
                    result = await work(session)
                    await session.commit()
                    return result

        return self._loop.call(call)

    def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        """The rows of a statement that returns rows, else its row count."""

        async def call(session: AsyncSession) -> Any:
            result = await session.execute(statement, params or {})
            # ORM results always return rows; Core DML results say whether they do.
            if getattr(result, "returns_rows", True):
                return list(result.all())
            return cast(CursorResult[Any], result).rowcount

        return self.run(call)

    def scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        return self.run(lambda session: session.scalar(statement, params or {}))

    def get(self, model: type[T], ident: Any) -> T | None:
        return self.run(lambda session: session.get(model, ident))

    def count(self, model: Any, *where: Any) -> int:
        """Rows of a model or table, optionally filtered: ``db.count(User, User.is_active)``."""
        statement = select(func.count()).select_from(model).where(*where)
        return int(self.scalar(statement))


class SettingsOverride:
    """``settings.name = value`` replaces the app's settings with a validated copy."""

    def __init__(self, app: FastAPI) -> None:
        object.__setattr__(self, "_app", app)

    def __getattr__(self, name: str) -> Any:
        return getattr(runtime_of(self._app).settings, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(**{name: value})

    def set(self, **changes: Any) -> Settings:
        current: Settings = runtime_of(self._app).settings
        unknown = set(changes) - set(type(current).model_fields)
        if unknown:
            raise AttributeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        updated = type(current).model_validate({**current.model_dump(), **changes})
        runtime_of(self._app).settings = updated
        return updated


async def open_test_session(
    database: TestProvider, settings: Settings, user: User, *, fresh: bool
) -> str:
    """A real session row for ``user``; ``fresh=False`` puts it past the re-auth window."""
    authenticated_at = clock.now()
    if not fresh:
        authenticated_at -= timedelta(seconds=settings.reauth_window + 1)
    with database.queries.paused():
        async with database.write() as session:
            issued = await sessions_service.open_session(
                session,
                settings,
                user_id=user.id,
                username=user.username,
                authenticated_at=authenticated_at,
            )
            await session.commit()
    return issued.token
