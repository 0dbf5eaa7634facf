"""Alembic migrations, shipped inside the package so the CLI and the test plugin can
migrate an installed copy; the functions here drive them programmatically.

Sessionary's revisions are the Alembic branch ``sessionary``. An app keeps its own
script directory (``sessionary db init``) whose ``env.py`` calls :func:`run_migrations`;
its history is a second branch whose revisions ``depends_on`` the Sessionary revision
they were written against, so a Sessionary release adding revisions never gives the
app's branch two heads. Pass that directory as ``migrations=`` (the CLI's
``--migrations`` / ``SESSIONARY_MIGRATIONS``, the plugin's ``sessionary_migrations``);
upgrades go to ``heads``, every branch's head.
"""

from __future__ import annotations

import asyncio
from argparse import Namespace
from pathlib import Path

from alembic import command
from alembic.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

from sessionary.core.db import engine_for_url
from sessionary.migrations.environment import run_migrations
from sessionary.migrations.scaffold import init
from sessionary.migrations.source import (
    BRANCH,
    MigrationsError,
    alembic_config,
    locate,
    script_directory,
)

__all__ = [
    "BRANCH",
    "MigrationsError",
    "alembic_config",
    "check",
    "current",
    "downgrade",
    "init",
    "locate",
    "revision",
    "run_migrations",
    "upgrade",
]

Spec = str | Path | None


def upgrade(url: str, revision: str = "heads", *, migrations: Spec = None) -> None:
    """Migrate up to ``revision`` (default: every branch's head). At the heads, also write
    the declared permissions and roles into the catalogue (:mod:`sessionary.roles.catalogue`)."""
    config = alembic_config(url, migrations=migrations)
    config.attributes["sync_catalogue"] = revision in ("head", "heads")
    command.upgrade(config, revision)


def downgrade(url: str, revision: str, *, migrations: Spec = None) -> None:
    """Migrate down to ``revision`` (``-1``, ``base``, ``app@base`` for one branch …)."""
    command.downgrade(alembic_config(url, migrations=migrations), revision)


def current(url: str, *, migrations: Spec = None) -> str:
    """The database's revision on each branch, one a line (``0004 (head)``; with an app,
    ``0004 (sessionary) (head)`` and the app's); empty for an unmigrated database."""
    config = alembic_config(url, migrations=migrations)
    script = script_directory(config)
    stored = asyncio.run(_stored_heads(url))
    # Sessionary's branch first, then the app's.
    applied = sorted(
        script.get_all_current(stored),
        key=lambda rev: (BRANCH not in rev.branch_labels, rev.revision),
    )
    several = len(script.get_heads()) > 1
    return "\n".join(_describe(rev, with_branch=several) for rev in applied)


def _describe(rev: Script, *, with_branch: bool) -> str:
    # Alembic would call a revision that another branch depends on an "effective head".
    names = ", ".join(sorted(rev.branch_labels)) if with_branch else ""
    labels = f" ({names})" if names else ""
    return f"{rev.revision}{labels}{' (head)' if rev.is_head else ''}"


async def _stored_heads(url: str) -> tuple[str, ...]:
    engine = engine_for_url(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_heads()
            )
    finally:
        await engine.dispose()


def revision(
    url: str,
    message: str,
    *,
    migrations: str | Path,
    autogenerate: bool = False,
    branch_label: str = "app",
) -> Path:
    """Write a new revision on the app's branch and return its file. The app's first
    revision starts the branch ``branch_label``; each one ``depends_on`` Sessionary's
    head unless an earlier one already does."""
    location = locate(migrations)
    if location.suffix != ".ini":
        (location / "versions").mkdir(exist_ok=True)
    config = alembic_config(url, migrations=migrations)
    config.cmd_opts = Namespace(quiet=True)  # no "Generating …" line: the caller reports
    versions: Path | None = config.attributes.get("sessionary_app_versions")
    if versions is None:
        raise MigrationsError(f"{str(location)!r} lists no version location of the app's own")
    script = script_directory(config)
    own = [head for head in _heads(script) if Path(head.path).parent == versions]
    if len(own) > 1:
        names = ", ".join(head.revision for head in own)
        raise MigrationsError(f"the app's migrations have {len(own)} heads ({names}); merge them")
    sessionary_head = script.get_revision(f"{BRANCH}@head").revision
    parent = own[0].revision if own else "base"
    covered = {rev.revision for rev in script.get_all_current((parent,))} if own else set()
    written = command.revision(
        config,
        message,
        autogenerate=autogenerate,
        head=parent,
        branch_label=None if own else branch_label,
        version_path=versions,
        depends_on=None if sessionary_head in covered else sessionary_head,
    )
    if not isinstance(written, Script):  # a list only for autogenerate over several heads
        raise MigrationsError("alembic wrote no single revision")
    return Path(written.path)


def check(url: str, *, migrations: Spec = None) -> None:
    """Raise Alembic's ``AutogenerateDiffsDetected`` when the models (Sessionary's and the
    app's, as its ``env.py`` imports them) and the migrations differ."""
    config = alembic_config(url, migrations=migrations)
    config.cmd_opts = Namespace(quiet=True)
    command.check(config)


def _heads(script: ScriptDirectory) -> list[Script]:
    return [script.get_revision(head) for head in script.get_heads()]
