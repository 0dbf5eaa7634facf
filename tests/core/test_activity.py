"""Activity stamps: written once per resolution per process, retried after a failed write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from sessionary.core import activity
from sessionary.core.activity import ActivityStamps, write_stamp
from sessionary.core.db import Database

pytestmark = pytest.mark.no_db

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_one_claim_per_key_per_resolution() -> None:
    stamps = ActivityStamps()

    assert stamps.claim(("session", 1), T0, MINUTE)
    assert not stamps.claim(("session", 1), T0 + timedelta(seconds=59), MINUTE)
    assert stamps.claim(("session", 2), T0, MINUTE)  # another row: its own claim
    assert stamps.claim(("session", 1), T0 + MINUTE, MINUTE)


def test_a_released_claim_can_be_taken_again_at_once() -> None:
    stamps = ActivityStamps()
    stamps.claim("key", T0, MINUTE)

    stamps.release("key")  # the write failed

    assert stamps.claim("key", T0, MINUTE)


def test_a_clock_moved_back_does_not_block_the_stamp() -> None:
    stamps = ActivityStamps()
    stamps.claim("key", T0, MINUTE)

    assert stamps.claim("key", T0 - timedelta(hours=1), MINUTE)


def test_claims_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity, "CLAIMS_MAX", 3)
    stamps = ActivityStamps()
    for number in range(3):
        stamps.claim(number, T0, MINUTE)

    # Full: the expired claims go, the fresh one stays and keeps blocking its key.
    assert stamps.claim("fresh", T0 + MINUTE, MINUTE)
    assert stamps.claim(0, T0 + MINUTE, MINUTE)
    assert not stamps.claim("fresh", T0 + MINUTE, MINUTE)


class FailingDatabase:
    """What write_stamp uses of a Database, with a write that fails."""

    def __init__(self) -> None:
        self.activity = ActivityStamps()
        self.attempts = 0

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Any]:
        self.attempts += 1
        raise OperationalError("UPDATE …", None, Exception("database is locked"))
        yield


@pytest.mark.anyio
async def test_a_failed_write_releases_its_claim_so_the_next_request_retries() -> None:
    database = FailingDatabase()
    statement = text("UPDATE sessions SET last_seen_at = now()")

    for _ in range(2):
        with pytest.raises(OperationalError):
            await write_stamp(cast(Database, database), "key", statement, T0, MINUTE)

    assert database.attempts == 2
