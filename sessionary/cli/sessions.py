"""``sessionary sessions``: housekeeping for login sessions."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionary.auth import sessions as auth_sessions
from sessionary.cli._runtime import load_settings, run, transaction
from sessionary.users import service as users_service

app = typer.Typer(help="Manage login sessions.", no_args_is_help=True)


@app.command()
def purge() -> None:
    """Delete expired sessions (revoked ones once past their absolute deadline)."""
    settings = load_settings()

    async def work() -> int:
        async with transaction(settings) as db:
            return await auth_sessions.purge(db, settings)

    typer.echo(f"purged {run(work)} session(s)")


@app.command()
def revoke(user: Annotated[str, typer.Option("--user", help="Username.")]) -> None:
    """Revoke every session of a user."""
    settings = load_settings()

    async def work() -> int:
        async with transaction(settings) as db:
            account = await users_service.get_by_username(db, user)
            return await auth_sessions.revoke_user_sessions(db, settings, account.id)

    typer.echo(f"revoked {run(work)} session(s) of {user}")
