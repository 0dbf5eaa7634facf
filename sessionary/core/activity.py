"""Best-effort activity stamps (a session's ``last_seen_at``, a key's ``last_used_at``), written
at most once per resolution per row by this process.

A stamp is rewritten when a read finds it older than the resolution. Concurrent requests of
one session all find it old until the first write commits: without coalescing, each would
start a write transaction of its own — a queue on SQLite's write lock, row-lock waits on
PostgreSQL — once a minute for every busy session.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.sql import Executable

if TYPE_CHECKING:
    from sessionary.core.db import Database

# Claims kept at most; past this, expired ones are dropped (all of them if none expired).
CLAIMS_MAX = 10_000


class ActivityStamps:
    def __init__(self) -> None:
        self._claimed: dict[Hashable, datetime] = {}

    def claim(self, key: Hashable, now: datetime, resolution: timedelta) -> bool:
        """Whether the caller should write ``key``'s stamp now: no request of this process
        claimed it within ``resolution`` (a clock moved back counts as expired)."""
        last = self._claimed.get(key)
        if last is not None and timedelta(0) <= now - last < resolution:
            return False
        if len(self._claimed) >= CLAIMS_MAX:
            cutoff = now - resolution
            live = {k: at for k, at in self._claimed.items() if cutoff < at <= now}
            self._claimed = live if len(live) < CLAIMS_MAX else {}
        self._claimed[key] = now
        return True

    def release(self, key: Hashable) -> None:
        """The write failed: let the next request try again."""
        self._claimed.pop(key, None)


async def write_stamp(
    database: Database, key: Hashable, statement: Executable, now: datetime, resolution: timedelta
) -> None:
    """Run the stamp's UPDATE in a transaction of its own, unless a request of this process
    claimed ``key`` within ``resolution``. A failure releases the claim and propagates."""
    if not database.activity.claim(key, now, resolution):
        return
    try:
        async with database.write() as db:
            await db.execute(statement)
            await db.commit()
    except BaseException:
        database.activity.release(key)
        raise
