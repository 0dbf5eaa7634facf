"""``sessionary sessions``: housekeeping for login sessions."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionary.auth import devices
from sessionary.cli._runtime import CLI_ORIGIN, load_settings, run, run_as_operator, unit_of_work
from sessionary.context import Context
from sessionary.sessions import service as sessions_service
from sessionary.users import admin as users_admin
from sessionary.users import service as users_service
from sessionary.users import tokens
from sessionary.users.actors import Operator

app = typer.Typer(help="Manage login sessions.", no_args_is_help=True)


@app.command()
def purge() -> None:
    """Delete expired sessions (revoked ones once past their absolute deadline), expired
    mailed tokens, and login devices unused for SESSIONARY_LOGIN_DEVICE_TTL."""
    settings = load_settings()

    async def work() -> tuple[int, int, int]:
        async with unit_of_work(settings) as ctx:
            purged = await sessions_service.purge(ctx.db, settings)
            expired = await tokens.purge(ctx.db)
            return purged, expired, await devices.purge_devices(ctx.db, settings)

    sessions_purged, tokens_purged, devices_purged = run(work)
    typer.echo(f"purged {sessions_purged} session(s)")
    typer.echo(f"purged {tokens_purged} expired mailed token(s)")
    typer.echo(f"purged {devices_purged} login device(s)")


@app.command()
def revoke(user: Annotated[str, typer.Option("--user", help="Username.")]) -> None:
    """Revoke every session of a user."""
    settings = load_settings()

    async def work(ctx: Context, operator: Operator) -> int:
        account = await users_service.get_by_username(ctx.db, user)
        return await users_admin.revoke_sessions_as(ctx, operator, CLI_ORIGIN, account.id)

    typer.echo(f"revoked {run_as_operator(settings, work)} session(s) of {user}")
