"""The ``clock`` fixture's object: frozen at the test's start, moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine


class Clock:
    """Moves ``sessionary.clock.now()`` and ``time.time()`` together (never ``monotonic``,
    so the event loop keeps its own time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._traveller = time_machine.travel(self._now, tick=False)
        self._coordinates = self._traveller.start()

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("clock.set() needs a timezone-aware datetime")
        self._now = moment.astimezone(UTC)
        self._coordinates.move_to(self._now)
        return self._now

    def advance(
        self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> datetime:
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        return self.set(self._now + delta)

    def stop(self) -> None:
        self._traveller.stop()
