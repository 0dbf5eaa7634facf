"""Audit events an attacker can repeat at will, recorded once per window per bucket.

A login refused past the throttle and a replayed revoked token cost the attacker one
request each: one audit row each would let anyone grow the append-only table without
bound. So the first occurrence per bucket in each ``login_failure_window`` is recorded
at once, with ``detail["count"]``: itself plus the occurrences folded (counted, not
written) since that bucket's previous row. Counts live with the throttle's (memory or
Redis); when that storage is down every occurrence is recorded.
"""

from __future__ import annotations

from typing import Any

from sessionary.audit import service as audit
from sessionary.audit.service import EventType, Origin
from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.core.db import Database


async def record_repeated_event(
    database: Database,
    throttle: LoginThrottle,
    settings: Settings,
    type_: EventType,
    origin: Origin | None,
    *,
    bucket: str,
    detail: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Commit ``type_`` at once if it opens a window for ``bucket``, else only count it."""
    count = await throttle.repeat(settings, f"{type_.value}/{bucket}")
    if count is not None:
        detail = {**(detail or {}), "count": count}
        await audit.record_event_now(database, type_, origin, detail=detail, **fields)
