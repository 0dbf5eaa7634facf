"""One unit of work: a request's (or a command's) transaction and the app's runtime.

A service verb takes a :class:`Context` instead of the transaction, the settings, the
database provider, the hasher and the throttle one by one; a function that needs only the
transaction takes the ``AsyncSession`` (``db``) alone. Routes get one from
:data:`ContextDep`; the CLI builds one around its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.core.dependencies import DbSession
from sessionary.runtime import Runtime, runtime_of

if TYPE_CHECKING:
    from sessionary.auth.throttle import LoginThrottle
    from sessionary.config import Settings
    from sessionary.core.db import Database
    from sessionary.core.security import PasswordHasher
    from sessionary.mail.service import Mail


@dataclass(frozen=True, slots=True)
class Context:
    """``db`` is the unit's transaction: services flush, the route (or command) commits.
    ``database`` is for the few reads and writes that must not wait for that commit (a
    failed login's audit row survives the request's rollback)."""

    db: AsyncSession
    runtime: Runtime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def database(self) -> Database:
        return self.runtime.database

    @property
    def hasher(self) -> PasswordHasher:
        return self.runtime.hasher

    @property
    def throttle(self) -> LoginThrottle:
        return self.runtime.throttle

    @property
    def mail(self) -> Mail:
        """Compose from templates; ``ctx.mail.schedule(ctx.db, message)`` sends after the
        commit (sessionary.mail)."""
        return self.runtime.mail


def request_context(request: Request, db: DbSession) -> Context:
    return Context(db, runtime_of(request.app))


ContextDep = Annotated[Context, Depends(request_context)]
