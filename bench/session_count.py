"""SPEC §8 scenario 3: lookup cost does not grow with the number of stored sessions.

Two scratch databases, each migrated with the bench users and served by its own Sessionary
(both on the server core). The bench user logs in to each, then its sessions are topped up
in SQL, in one statement, to ``small`` (10) and ``large`` (1 000 000) stored sessions: live
rows with the login session's user and timestamps and distinct random-looking token hashes
(SQLite: a recursive CTE with ``randomblob(32)``; PostgreSQL: ``generate_series`` with
``sha256`` of a random string), then ``ANALYZE``.

Load: ``GET /users/me`` with the logged-in cookie, ``wrk -t1 -c1`` (concurrency 1), a
warm-up of each, then ``rounds`` interleaved samples (10, 1M, 10, 1M, …); the figure is the
median p50 of each, and the ratio p50(1M) ÷ p50(10) (SPEC §8: ≤ 1.10).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import sessionary_app
from databases import Database, sqlite_path
from harness import Load, Row, Sample, Wrk, asyncpg_dsn, cookie_header, say
from sqlalchemy.engine import make_url

SCENARIO = "stored sessions"
CONNECTIONS = 1

LOGIN_SESSION = """
SELECT user_id, created_at, last_seen_at, absolute_expires_at, authenticated_at
FROM sessions ORDER BY id DESC LIMIT 1
"""

SQLITE_FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, absolute_expires_at,
                      authenticated_at)
SELECT ?, randomblob(32), ?, ?, ?, ? FROM n
"""

POSTGRES_FILL = """
INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, absolute_expires_at,
                      authenticated_at)
SELECT $2, sha256(convert_to(random()::text || '/' || g, 'UTF8')), $3, $4, $5, $6
FROM generate_series(1, $1) AS g
"""


def _fill_sqlite(path: Path, extra: int) -> None:
    with closing(sqlite3.connect(path, timeout=30)) as connection, connection:
        login = connection.execute(LOGIN_SESSION).fetchone()
        connection.execute(SQLITE_FILL, (extra, *login))


async def _fill_postgres(dsn: str, extra: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        login = await connection.fetchrow(LOGIN_SESSION)
        await connection.execute(POSTGRES_FILL, extra, *login)
        await connection.execute("ANALYZE sessions")
    finally:
        await connection.close()


def fill(database: Database, database_url: str, total: int) -> None:
    """Top the one logged-in session up to ``total`` stored sessions of the same user."""
    extra = total - 1
    if extra <= 0:
        return
    if database.pg_server:
        asyncio.run(_fill_postgres(asyncpg_dsn(make_url(database_url)), extra))
    else:
        _fill_sqlite(sqlite_path(database_url), extra)


@dataclass(frozen=True)
class SessionCount:
    """The two rows of one database: p50 with few and with many stored sessions."""

    few: Row
    many: Row

    @property
    def ratio(self) -> float:
        return self.many.p50 / self.few.p50


def run(
    database: Database, workdir: Path, load: Load, small: int, large: int, rounds: int
) -> SessionCount:
    with ExitStack() as stack:
        targets: list[tuple[int, Wrk]] = []
        for label, total in (("sessions_few", small), ("sessions_many", large)):
            url = stack.enter_context(database.scratch(label))
            users = sessionary_app.prepare(url, workdir)
            name = f"sessionary-{database.slug}-{total}-sessions"
            base = stack.enter_context(sessionary_app.serve(name, url, workdir))
            cookie = sessionary_app.login(base, users.password)
            started = time.monotonic()
            fill(database, url, total)
            say(
                f"  {database.name}: {total:,} stored sessions in {time.monotonic() - started:.0f}s"
            )
            targets.append((total, Wrk(base + "/users/me", (cookie_header(cookie),))))
        for _, target in targets:
            target.run(load.warmup, CONNECTIONS)
        samples: dict[int, list[Sample]] = {total: [] for total, _ in targets}
        for _ in range(rounds):
            for total, target in targets:
                samples[total].append(target.run(load.duration, CONNECTIONS))
    few, many = (
        Row(SCENARIO, database.name, "Sessionary", f"{total:,} sessions", tuple(samples[total]), 1)
        for total, _ in targets
    )
    few.show()
    many.show()
    return SessionCount(few, many)
