"""``sessionary users``: accounts from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from sessionary.cli._runtime import load_settings, make_hasher, read_password, run, transaction
from sessionary.roles.permissions import MEMBER
from sessionary.users import service as users_service

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
) -> None:
    """Create a user."""
    password = read_password(password_stdin)
    settings = load_settings()

    async def work() -> None:
        async with transaction(settings) as db:
            await users_service.create_user(
                db,
                make_hasher(settings),
                username=username,
                email=email,
                password=password,
                roles=role or [MEMBER],
            )

    run(work)
    typer.echo(f"created user {username}")


@app.command("set-password")
def set_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a user's password (revokes their sessions)."""
    password = read_password(password_stdin)
    settings = load_settings()

    async def work() -> None:
        async with transaction(settings) as db:
            user = await users_service.get_by_username(db, username)
            await users_service.set_password(db, settings, make_hasher(settings), user, password)

    run(work)
    typer.echo(f"password set for {username}; their sessions were revoked")


@app.command()
def deactivate(username: str) -> None:
    """Deactivate a user and revoke their sessions."""
    settings = load_settings()

    async def work() -> int:
        async with transaction(settings) as db:
            return await users_service.deactivate(
                db, settings, await users_service.get_by_username(db, username)
            )

    revoked = run(work)
    typer.echo(f"deactivated {username}; {revoked} session(s) revoked")
