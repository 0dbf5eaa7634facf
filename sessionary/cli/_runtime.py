"""What every command shares: settings, a unit of work, one-line errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from sessionary.config import Settings
from sessionary.context import Context
from sessionary.core.db import InvalidDatabaseURL
from sessionary.core.logging import configure_logging
from sessionary.errors import SessionaryError
from sessionary.identity.origin import Origin
from sessionary.mail.templates import MailTemplatesNotFound
from sessionary.runtime import Runtime
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
        # A rule across settings (the smtp backend needs its URL) names them in its message.
        fail(
            f"invalid setting SESSIONARY_{field.upper()}: {first['msg']}"
            if field
            else f"invalid settings: {first['msg']}"
        )


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
    except (InvalidDatabaseURL, MailTemplatesNotFound) as exc:
        fail(str(exc))
    except (OSError, SQLAlchemyError) as exc:
        fail(_describe(exc))


@asynccontextmanager
async def unit_of_work(settings: Settings) -> AsyncIterator[Context]:
    """One command's work in one transaction: committed when the block succeeds, nothing
    half-made otherwise. Its runtime hashes on one thread (a command hashes once at most)."""
    # Log lines (a console backend's mail among them) go to stderr: stdout is the answer.
    configure_logging(settings)
    runtime = Runtime.build(settings, hash_threads=1)
    try:
        async with runtime.database.write() as session:
            yield Context(session, runtime)
            await session.commit()
    finally:
        await runtime.close()


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


def run_as_operator(settings: Settings, work: Callable[[Context, Operator], Awaitable[T]]) -> T:
    """``work(ctx, operator)`` in one committed unit of work, the OS user as the actor that
    the service verbs check and audit; errors become one line and exit 1."""
    operator = Operator.current()

    async def call() -> T:
        async with unit_of_work(settings) as ctx:
            return await work(ctx, operator)

    return run(call)
