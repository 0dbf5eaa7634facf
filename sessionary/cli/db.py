"""``sessionary db``: schema migrations."""

from __future__ import annotations

import typer
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from sessionary import migrations
from sessionary.cli._runtime import _describe, fail, load_settings
from sessionary.core.db import InvalidDatabaseURL, check_database_url

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


def _url() -> str:
    url = load_settings().database_url
    try:
        check_database_url(url)
    except InvalidDatabaseURL as exc:
        fail(str(exc))
    return url


def _alembic(action: str, *args: str) -> str | None:
    url = _url()
    try:
        if action == "upgrade":
            migrations.upgrade(url, *args)
        elif action == "downgrade":
            migrations.downgrade(url, *args)
        else:
            return migrations.current(url)
    except CommandError as exc:
        fail(str(exc).splitlines()[0])
    except (OSError, SQLAlchemyError) as exc:
        fail(_describe(exc))
    return None


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database up to REVISION (default: head)."""
    _alembic("upgrade", revision)
    typer.echo(f"database at {migrations.current(_url()) or 'base'}")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. -1 or base."),
) -> None:
    """Migrate the database down to REVISION."""
    _alembic("downgrade", revision)
    typer.echo(f"database at {migrations.current(_url()) or 'base'}")


@app.command()
def current() -> None:
    """Print the database's current revision."""
    typer.echo(_alembic("current") or "base (not migrated)")
