"""Before any test runs: can this run use its test database(s)?

One look at session start, so that an unnamed database, an unreachable server
or someone else's database fails the run with one line instead of every test
with a traceback. It only reads: nothing is created until a test needs the
database.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from sessionary.testing.database import (
    MARKER,
    SQLITE_MARKER,
    TestDatabaseUnusable,
    admin_connection,
    foreign,
    sqlite_marker,
)

_EXISTING = text(
    "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
    "WHERE datname = ANY(:names)"
)


def check_usable(urls: list[str]) -> None:
    """Raise :class:`TestDatabaseUnusable` unless the server of ``urls`` (one server, names
    already checked by :func:`~sessionary.testing.urls.check_safe`) is reachable and each
    database is absent or made by the toolkit."""
    if make_url(urls[0]).get_backend_name() == "postgresql":
        asyncio.run(_check_postgres(urls))
    else:
        for url in urls:
            _check_sqlite(Path(make_url(url).database or ""))


def _check_sqlite(path: Path) -> None:
    if path.exists():
        if path.stat().st_size > 0 and sqlite_marker(path) != SQLITE_MARKER:
            raise foreign(repr(str(path)), "move it or choose another test database path")
        return
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    if not os.access(folder, os.W_OK):
        raise TestDatabaseUnusable(
            f"cannot create the test database {str(path)!r}: {folder} is not writable"
        )


async def _check_postgres(urls: list[str]) -> None:
    names = [make_url(url).database for url in urls]
    async with admin_connection(urls[0]) as connection:
        rows = (await connection.execute(_EXISTING, {"names": names})).all()
    for name, comment in rows:
        if comment != MARKER:
            raise foreign(repr(name), "drop it or choose another test database name")
