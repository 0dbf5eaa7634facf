"""``sessionary users``: accounts from the command line.

Each command is an :class:`~sessionary.users.actors.Operator` calling the same verbs as the
API (:mod:`sessionary.users.admin`): the same rules, the same audit events.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sessionary.auth import password_reset
from sessionary.cli._runtime import CLI_ORIGIN, load_settings, read_password, run_as_operator
from sessionary.context import Context
from sessionary.errors import BadRequest
from sessionary.users import admin
from sessionary.users import service as users_service
from sessionary.users.actors import Operator

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@app.command()
def create(
    username: str,
    email: Annotated[str, typer.Option(help="Email address.")],
    role: Annotated[
        list[str] | None, typer.Option(help="Role (repeatable; default member).")
    ] = None,
    password_stdin: PasswordStdin = False,
    verified: Annotated[
        bool,
        typer.Option(
            "--verified", help="Vouch for the email address (else a verification link is mailed)."
        ),
    ] = False,
) -> None:
    """Create a user."""
    password = read_password(password_stdin)
    settings = load_settings()
    fields = {
        "username": username,
        "email": email,
        "password": password,
        "roles": role,
        "email_verified": verified,
    }

    async def work(ctx: Context, operator: Operator) -> None:
        await admin.create_user_as(ctx, operator, CLI_ORIGIN, fields=fields)

    run_as_operator(settings, work)
    typer.echo(f"created user {username}")


@app.command("set-password")
def set_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a user's password (revokes their sessions and remembered devices)."""
    password = read_password(password_stdin)
    settings = load_settings()

    async def work(ctx: Context, operator: Operator) -> None:
        user = await users_service.get_by_username(ctx.db, username)
        await admin.set_password_as(ctx, operator, CLI_ORIGIN, user.id, password)

    run_as_operator(settings, work)
    typer.echo(f"password set for {username}; their sessions were revoked")


@app.command("send-reset")
def send_reset(username: str) -> None:
    """Mail a user a password reset link (their earlier links stop working)."""
    settings = load_settings()

    async def work(ctx: Context, operator: Operator) -> str:
        user = await users_service.get_by_username(ctx.db, username)
        if not user.is_active:
            raise BadRequest(f"{username} is inactive: activate them first")
        await password_reset.mail_reset_link(ctx, user, CLI_ORIGIN, operator=operator)
        return user.email

    address = run_as_operator(settings, work)
    typer.echo(
        f"mailed a password reset link to {address} (valid {settings.password_reset_ttl // 60} min)"
    )


def _set_active(username: str, *, is_active: bool) -> admin.ActivityChange:
    settings = load_settings()

    async def work(ctx: Context, operator: Operator) -> admin.ActivityChange:
        user = await users_service.get_by_username(ctx.db, username)
        return await admin.set_active(ctx, operator, CLI_ORIGIN, user.id, is_active=is_active)

    return run_as_operator(settings, work)


@app.command()
def deactivate(username: str) -> None:
    """Deactivate a user and revoke their sessions (never the last active admin)."""
    change = _set_active(username, is_active=False)
    if not change.changed:
        typer.echo(f"{username} is already inactive")
        return
    typer.echo(f"deactivated {username}; {change.sessions_revoked} session(s) revoked")


@app.command()
def activate(username: str) -> None:
    """Let a deactivated user log in again."""
    change = _set_active(username, is_active=True)
    typer.echo(f"activated {username}" if change.changed else f"{username} is already active")
