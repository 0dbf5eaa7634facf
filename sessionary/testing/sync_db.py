"""The object behind the ``db`` fixture: the test's own view of the database, from sync code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop

T = TypeVar("T")


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
