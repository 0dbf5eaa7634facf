"""The ``sessionary`` command (Typer). Commands call services, never routers."""

from __future__ import annotations

import typer

from sessionary.cli import db, demo, mail, serve, sessions, users

app = typer.Typer(
    name="sessionary",
    help="Sessionary: cookie-session authentication, users, roles and permissions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(sessions.app, name="sessions")
app.add_typer(mail.app, name="mail")


def main() -> None:
    app()
