"""What an Alembic ``env.py`` does, Sessionary's and an app's alike: :func:`run_migrations`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from sessionary.core.db import engine_for_url
from sessionary.core.models import UTCDateTime

# Any constant works; it only has to be the same for every instance.
_MIGRATION_LOCK_KEY = 0x5E55_1077


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import app types: UTCDateTime is DateTime(timezone=True) in SQL.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _metadata(extra: MetaData | Sequence[MetaData] | None) -> MetaData | list[MetaData]:
    # Sessionary's tables always take part: compared against a metadata without them,
    # autogenerate would write a migration dropping them.
    from sessionary.models import Base

    found = [Base.metadata]
    for item in [extra] if isinstance(extra, MetaData) else (extra or []):
        if all(item is not known for known in found):
            found.append(item)
    return found[0] if len(found) == 1 else found


def _url() -> str:
    # Set by sessionary.migrations.alembic_config; else an ini's URL; else the settings.
    url = context.config.attributes.get("sessionary_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if url:
        return str(url)
    from sessionary.config import Settings

    return Settings().database_url


def run_migrations(target_metadata: MetaData | Sequence[MetaData] | None = None) -> None:
    """Run the migrations Alembic asks for; call it from an ``env.py``.

    Async engines, everything in one transaction, a PostgreSQL advisory lock so that
    several instances may upgrade at once, batch mode on SQLite, and UTCDateTime
    rendered as ``sa.DateTime(timezone=True)``. Autogenerate compares against
    ``sessionary.models.Base.metadata`` (an app's models on that ``Base`` included once
    imported) plus ``target_metadata``, if the app keeps tables on a metadata of its own.
    """
    metadata = _metadata(target_metadata)
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(_url(), metadata))


async def _run_async(url: str, metadata: MetaData | list[MetaData]) -> None:
    engine = engine_for_url(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, metadata)
            await connection.commit()
    finally:
        await engine.dispose()


def _run(connection: Connection, metadata: MetaData | list[MetaData]) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"))
        context.run_migrations()
        if context.config.attributes.get("sync_catalogue"):
            # Declared permissions and roles, whichever module declared them (idempotent).
            from sessionary.roles.catalogue import sync_catalogue

            sync_catalogue(connection)
