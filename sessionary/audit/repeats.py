"""Audit events an attacker can repeat at will, recorded once per window per bucket.

A login refused past the throttle and a replayed revoked token cost the attacker one
request each: one audit row each would let anyone grow the append-only table without
bound. So the first occurrence per bucket in each ``login_failure_window`` is recorded
at once, with ``detail["count"]``: itself plus the occurrences folded (counted, not
written) since that bucket's previous row. Counts live with the throttle's (memory or
Redis); when that storage is down every occurrence is recorded.
"""

from __future__ import annotations

from typing import Any, Protocol

from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.identity.origin import Origin


class RepeatCounter(Protocol):
    """Counts occurrences per key and window (the login throttle's storage is one)."""

    async def repeat(self, settings: Settings, bucket: str) -> int | None:
        """The count a new row stands for (this occurrence plus those folded since the
        last row) when it opens a window for ``bucket``; None when it is folded."""
        ...


async def record_repeated_event(
    database: Database,
    counter: RepeatCounter,
    settings: Settings,
    type_: EventType,
    origin: Origin | None,
    *,
    bucket: str,
    detail: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Commit ``type_`` at once if it opens a window for ``bucket``, else only count it."""
    count = await counter.repeat(settings, f"{type_.value}/{bucket}")
    if count is not None:
        detail = {**(detail or {}), "count": count}
        await audit.record_event_now(database, type_, origin, detail=detail, **fields)
