"""Audit events: SQLite's REPLACE refused too, so no statement overwrites a recorded event.

``REPLACE INTO`` / ``INSERT OR REPLACE`` with an existing id deletes that row and inserts the
new one, and SQLite fires no DELETE trigger for that deletion (unless ``recursive_triggers`` is
on), so 0004's trigger let it through. A BEFORE INSERT trigger sees the id already taken and
refuses. PostgreSQL has no REPLACE; its ``INSERT … ON CONFLICT DO UPDATE`` fires the UPDATE
trigger (0002), which refuses it already.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _is_sqlite():
        op.execute(
            "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
            "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only (REPLACE refused)'); END"
        )


def downgrade() -> None:
    if _is_sqlite():
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")
