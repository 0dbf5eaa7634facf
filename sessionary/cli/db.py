"""``sessionary db``: schema migrations, Sessionary's own or an app's combined history."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from sessionary import migrations
from sessionary.cli._runtime import _describe, fail, load_settings
from sessionary.core.db import InvalidDatabaseURL, check_database_url

T = TypeVar("T")

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.callback()
def _options(
    ctx: typer.Context,
    migrations_: str | None = typer.Option(
        None,
        "--migrations",
        metavar="DIR|PKG:DIR|INI",
        help="The app's Alembic migrations (else SESSIONARY_MIGRATIONS), run together with "
        "Sessionary's own; without them, Sessionary's alone.",
    ),
) -> None:
    ctx.obj = migrations_


def _target(ctx: typer.Context) -> tuple[str, str | None]:
    """The database URL and the app's migrations, if any (the option wins over the setting)."""
    settings = load_settings()
    try:
        check_database_url(settings.database_url)
    except InvalidDatabaseURL as exc:
        fail(str(exc))
    spec = ctx.obj or settings.migrations
    if spec and str(Path.cwd()) not in sys.path:
        # The app's env.py imports its models, as `alembic` does with prepend_sys_path = .
        sys.path.insert(0, str(Path.cwd()))
    return settings.database_url, spec


def _run(work: Callable[[], T], spec: str | None = None) -> T:
    """Alembic's and the database's errors as one line and exit 1."""
    try:
        return work()
    except migrations.MigrationsError as exc:
        fail(str(exc))
    except (CommandError, RevisionError) as exc:
        reason = str(exc).splitlines()[0]
        if reason == "Target database is not up to date.":
            reason += " Run `sessionary db upgrade` first."
        elif reason.startswith("Can't locate revision") and spec is None:
            # Most likely an app's revision, read without the app's migrations.
            reason += "; are they the app's? Pass --migrations or set SESSIONARY_MIGRATIONS"
        fail(reason)
    except ImportError as exc:
        fail(f"the migrations' env.py failed to import: {exc}")
    except (OSError, SQLAlchemyError) as exc:
        fail(_describe(exc))


def _state(url: str, spec: str | None) -> str:
    return ", ".join(_run(lambda: migrations.current(url, migrations=spec), spec).splitlines())


@app.command()
def upgrade(
    ctx: typer.Context,
    revision: str = typer.Argument("heads", help="Target revision (default: every head)."),
) -> None:
    """Migrate the database up to REVISION (default: heads)."""
    url, spec = _target(ctx)
    _run(lambda: migrations.upgrade(url, revision, migrations=spec), spec)
    typer.echo(f"database at {_state(url, spec) or 'base'}")


@app.command()
def downgrade(
    ctx: typer.Context,
    revision: str = typer.Argument(..., help="Target revision, e.g. -1, base or app@base."),
) -> None:
    """Migrate the database down to REVISION."""
    url, spec = _target(ctx)
    _run(lambda: migrations.downgrade(url, revision, migrations=spec), spec)
    typer.echo(f"database at {_state(url, spec) or 'base'}")


@app.command()
def current(ctx: typer.Context) -> None:
    """Print the database's current revision (one line per branch)."""
    url, spec = _target(ctx)
    state = _run(lambda: migrations.current(url, migrations=spec), spec)
    typer.echo(state or "base (not migrated)")


@app.command()
def revision(
    ctx: typer.Context,
    message: str = typer.Option(..., "-m", "--message", help="What the revision does."),
    autogenerate: bool = typer.Option(
        False, "--autogenerate", help="Write the operations that bring the database to the models."
    ),
    branch_label: str = typer.Option(
        "app", "--branch-label", help="The app branch's name (its first revision only)."
    ),
) -> None:
    """Write a new revision of the app's migrations (they need --migrations or the setting)."""
    url, spec = _target(ctx)
    if spec is None:
        fail("no app migrations: pass --migrations DIR or set SESSIONARY_MIGRATIONS")
    path = _run(
        lambda: migrations.revision(
            url, message, migrations=spec, autogenerate=autogenerate, branch_label=branch_label
        )
    )
    typer.echo(f"created {_shown(path)}")


@app.command()
def check(ctx: typer.Context) -> None:
    """Fail when the models and the migrations differ (a revision is missing)."""
    url, spec = _target(ctx)
    _run(lambda: migrations.check(url, migrations=spec), spec)
    typer.echo("models and migrations match")


@app.command()
def init(
    directory: Path = typer.Argument(Path("migrations"), help="Where to create it."),
    models: str | None = typer.Option(
        None, "--models", metavar="MODULE", help="The module declaring the app's tables."
    ),
) -> None:
    """Create an app's migrations directory (env.py, script.py.mako, versions/)."""
    _run(lambda: migrations.init(directory, models=models))
    typer.echo(
        f"created {_shown(directory)}; set SESSIONARY_MIGRATIONS={_shown(directory)} "
        "(or pass --migrations), then `sessionary db revision --autogenerate -m ...`"
    )


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
