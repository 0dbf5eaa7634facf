"""Request-scoped access to the app's Sessionary runtime (``app.state.sessionary``).

Settings, the database provider and the hasher are read from the app per
request, never from module globals, so a test (or a second app in the same
process) can swap them. :func:`sessionary.install` put the runtime there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.openapi import answers
from sessionary.core.runtime import core_runtime
from sessionary.core.security import PasswordHasher


def get_settings(request: Request) -> Settings:
    return core_runtime(request.app).settings


DATABASE_DOWN = {503: "Database busy or unavailable; see Retry-After"}


@answers(DATABASE_DOWN)
def get_database(request: Request) -> Database:
    return core_runtime(request.app).database


def get_hasher(request: Request) -> PasswordHasher:
    return core_runtime(request.app).hasher


@answers(DATABASE_DOWN)
async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    ``scope="function"`` (below) makes FastAPI finish this generator before it
    sends the response, so a failing commit becomes a 409/503 instead of a 200
    for lost work. Services only ``flush()``.
    """
    async with get_database(request).write() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
DbSession = Annotated[AsyncSession, Depends(_transaction, scope="function")]
