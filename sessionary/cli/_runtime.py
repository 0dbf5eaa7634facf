"""What every command shares: settings, the database provider, one-line errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.config import Settings
from sessionary.core.db import Database, InvalidDatabaseURL
from sessionary.core.security import PasswordHasher
from sessionary.errors import SessionaryError
from sessionary.identity.origin import Origin
from sessionary.users.actors import Operator

T = TypeVar("T")
# Where a command-line event comes from: no address, no browser (its actor says "cli").
CLI_ORIGIN = Origin()


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        fail(f"invalid setting SESSIONARY_{field.upper()}: {first['msg']}")


def _describe(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return "the database is not migrated; run `sessionary db upgrade` first"
    if isinstance(exc, OSError | ConnectionError):
        return f"cannot reach the database: {text}"
    if isinstance(exc, DBAPIError):
        return f"database error: {text}"
    return text


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run async work; user mistakes and unreachable databases become one line and exit 1."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except SessionaryError as exc:
        fail(exc.detail)
    except InvalidDatabaseURL as exc:
        fail(str(exc))
    except (OSError, SQLAlchemyError) as exc:
        fail(_describe(exc))


def make_hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        memory_cost=settings.password_memory_cost,
        time_cost=settings.password_time_cost,
        parallelism=settings.password_parallelism,
        threads=1,
    )


@asynccontextmanager
async def transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block succeeds, nothing half-made otherwise."""
    database = Database(settings)
    try:
        async with database.write() as session:
            yield session
            await session.commit()
    finally:
        await database.stop()


def read_password(password_stdin: bool, *, confirm: bool = True) -> str:
    """From stdin with --password-stdin, else from a terminal prompt; usage error otherwise."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise typer.BadParameter(
            "no terminal to prompt on; pass --password-stdin", param_hint="--password-stdin"
        )
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return value


def run_as_operator(
    settings: Settings, work: Callable[[AsyncSession, Operator], Awaitable[T]]
) -> T:
    """``work(db, operator)`` in one committed transaction, the OS user as the actor that
    the service verbs check and audit; errors become one line and exit 1."""
    operator = Operator.current()

    async def call() -> T:
        async with transaction(settings) as db:
            return await work(db, operator)

    return run(call)
