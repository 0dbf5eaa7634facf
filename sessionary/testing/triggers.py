"""Tables' own triggers switched off for the toolkit's clean-up, inside its transaction.

The audit log refuses DELETE by trigger, yet ``--db-isolation=delete`` and
``transactional_db`` must empty it after each test. The clean-up turns the triggers of the
tables it empties off and back on *in its own transaction*, with DDL that only the tables'
owner may run. That is deliberate: a session setting checked by the trigger (``SET LOCAL
sessionary.…``) can be set by any role, so it would hand the application's non-owner role the
very bypass the trigger exists to deny; DDL gives the test database's owner nothing it did not
have. A rollback (or a crash) leaves the triggers as they were.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

# Triggers of ours (not the ones PostgreSQL makes for foreign keys) that fire normally ('O').
_PG_TRIGGERS = text(
    "SELECT c.relname, t.tgname FROM pg_trigger t"
    " JOIN pg_class c ON c.oid = t.tgrelid"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE NOT t.tgisinternal AND t.tgenabled = 'O'"
    " AND n.nspname = current_schema() AND c.relname IN :tables"
).bindparams(bindparam("tables", expanding=True))
_SQLITE_TRIGGERS = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :tables"
).bindparams(bindparam("tables", expanding=True))


@asynccontextmanager
async def triggers_off(connection: AsyncConnection, tables: Iterable[str]) -> AsyncIterator[None]:
    """Within the caller's open transaction: the tables' triggers off for the block."""
    names = list(tables)
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "postgresql":
        found = (await connection.execute(_PG_TRIGGERS, {"tables": names})).all()
        switches = [f"ALTER TABLE {quote(table)} %s TRIGGER {quote(name)}" for table, name in found]
        for switch in switches:
            await connection.execute(text(switch % "DISABLE"))
        yield
        for switch in switches:
            await connection.execute(text(switch % "ENABLE"))
        return
    # SQLite cannot disable a trigger: drop it and create it again from its own stored SQL
    # (SQLite's DDL is transactional, so the two happen together or not at all).
    saved = (await connection.execute(_SQLITE_TRIGGERS, {"tables": names})).all()
    for name, _ in saved:
        await connection.execute(text(f"DROP TRIGGER {quote(name)}"))
    yield
    for _, sql in saved:
        await connection.execute(text(sql))
