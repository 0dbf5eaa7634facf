"""The app's only source of "now".

Everything that decides by time (session expiry, the ``last_seen_at``
throttle, audit times) asks :func:`now`, never the database's ``now()``:
PostgreSQL's clock stands still inside a transaction and no test can move it.
The test toolkit's ``clock`` fixture moves this (through time-machine, which
also moves ``time.time()`` for third-party code, never ``monotonic``).
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
