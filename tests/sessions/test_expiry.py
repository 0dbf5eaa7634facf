"""The expiry rule's Python form and its SQL forms say the same thing, row by row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, insert, select

from sessionary.config import Settings
from sessionary.sessions import expiry
from sessionary.sessions.models import LoginSession
from sessionary.testing import SyncDB
from sessionary.users.models import User

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
IDLE = 3600
ABSOLUTE = 86400
MINUTE = timedelta(minutes=1)

# Each time either just inside or just past its limit, so every boundary is on the grid.
CREATED = {
    "fresh": NOW - timedelta(hours=1),
    "past absolute timeout": NOW - timedelta(seconds=ABSOLUTE) - MINUTE,
}
LAST_SEEN = {"active": NOW - MINUTE, "idle": NOW - timedelta(seconds=IDLE) - MINUTE}
DEADLINE = {"ahead": NOW + timedelta(days=1), "passed": NOW - MINUTE}
REVOKED = {"live": None, "revoked": NOW - timedelta(minutes=5)}
GRID = list(itertools.product(CREATED, LAST_SEEN, DEADLINE, REVOKED))


@pytest.fixture
def sessions(db: SyncDB, user: User) -> dict[int, tuple[str, str, str, str]]:
    """One session row per point of the grid, by id."""
    ids: dict[int, tuple[str, str, str, str]] = {}
    for number, point in enumerate(GRID):
        created, last_seen, deadline, revoked = point
        ids[
            db.scalar(
                insert(LoginSession)
                .values(
                    user_id=user.id,
                    token_hash=number.to_bytes(32, "big"),
                    created_at=CREATED[created],
                    last_seen_at=max(LAST_SEEN[last_seen], CREATED[created]),
                    absolute_expires_at=DEADLINE[deadline],
                    authenticated_at=CREATED[created],
                    revoked_at=REVOKED[revoked],
                )
                .returning(LoginSession.id)
            )
        ] = point
    return ids


def _selected(db: SyncDB, *where: ColumnElement[bool]) -> set[int]:
    return {row.id for row in db.execute(select(LoginSession.id).where(*where))}


class TestOneRuleInTwoForms:
    def test_live_in_sql_is_exactly_a_deadline_ahead_and_not_revoked(
        self, db: SyncDB, sessions: dict[int, tuple[str, str, str, str]]
    ) -> None:
        settings = Settings(session_idle_timeout=IDLE, session_absolute_timeout=ABSOLUTE)
        rows = {row.id: row for (row,) in db.execute(select(LoginSession))}

        in_python = {
            id_
            for id_ in sessions
            if rows[id_].revoked_at is None and expiry.expires_at(rows[id_], settings) > NOW
        }

        assert _selected(db, *expiry.live(settings, NOW)) == in_python
        # The one point of the grid nothing has ended.
        assert {sessions[id_] for id_ in in_python} == {("fresh", "active", "ahead", "live")}

    def test_purgeable_rows_are_dead_and_revoked_ones_wait_for_their_absolute_deadline(
        self, db: SyncDB, sessions: dict[int, tuple[str, str, str, str]]
    ) -> None:
        settings = Settings(session_idle_timeout=IDLE, session_absolute_timeout=ABSOLUTE)

        purgeable = _selected(db, expiry.purgeable(settings, NOW))

        assert not purgeable & _selected(db, *expiry.live(settings, NOW))
        for id_, (created, last_seen, deadline, revoked) in sessions.items():
            past_absolute = created == "past absolute timeout" or deadline == "passed"
            expected = past_absolute or (revoked == "live" and last_seen == "idle")
            assert (id_ in purgeable) is expected, sessions[id_]

    def test_a_lowered_absolute_timeout_shortens_sessions_already_open(self) -> None:
        created = NOW - timedelta(hours=2)
        fixed_at_login = created + timedelta(days=1)

        lowered = Settings(session_absolute_timeout=3600)

        assert expiry.absolute_deadline(lowered, created, fixed_at_login) == created + timedelta(
            hours=1
        )
        raised = Settings(session_absolute_timeout=7 * 86400)
        assert expiry.absolute_deadline(raised, created, fixed_at_login) == fixed_at_login
