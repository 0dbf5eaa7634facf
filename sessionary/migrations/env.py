"""Alembic environment: async engines, one transaction, an advisory lock on PostgreSQL
so several instances may run ``db upgrade`` at once."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sessionary.core.db import engine_for_url
from sessionary.core.models import UTCDateTime
from sessionary.models import Base

# Any constant works; it only has to be the same for every instance.
_MIGRATION_LOCK_KEY = 0x5E55_1077


def _render_item(type_: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import app types: UTCDateTime is DateTime(timezone=True) in SQL.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"))
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = engine_for_url(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def _url() -> str:
    url = context.config.attributes.get("sessionary_url")
    if url:
        return str(url)
    from sessionary.config import Settings

    return Settings().database_url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async(_url()))
