"""Who is making a request: the one-query lookup behind every authenticated call.

:data:`PRINCIPAL_QUERY` is built once at import and runs through
:meth:`Database.fetch` — the seam the test toolkit redirects to the test's
connection. It returns one row per (role, permission) of the session's user,
found by the unique index on ``sessions.token_hash``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row

from sessionary.auth.models import LoginSession
from sessionary.config import Settings
from sessionary.roles.models import RolePermission, UserRole
from sessionary.users.models import User

PRINCIPAL_QUERY = (
    select(
        LoginSession.id,
        LoginSession.user_id,
        LoginSession.created_at,
        LoginSession.last_seen_at,
        LoginSession.absolute_expires_at,
        LoginSession.authenticated_at,
        LoginSession.revoked_at,
        User.username,
        User.email,
        User.is_active,
        User.created_at.label("user_created_at"),
        UserRole.role_name,
        RolePermission.permission,
    )
    .join(User, User.id == LoginSession.user_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .outerjoin(RolePermission, RolePermission.role_name == UserRole.role_name)
    .where(LoginSession.token_hash == bindparam("token_hash"))
)


def deadline(
    settings: Settings,
    *,
    created_at: datetime,
    last_seen_at: datetime,
    absolute_expires_at: datetime,
) -> datetime:
    """When a session stops working: the earliest of its absolute deadline and last seen +
    idle timeout. The absolute deadline is the one fixed at login, or created + the current
    timeout if an operator has since lowered it (raising it extends nothing)."""
    absolute = created_at + timedelta(seconds=settings.session_absolute_timeout)
    idle = last_seen_at + timedelta(seconds=settings.session_idle_timeout)
    return min(absolute_expires_at, absolute, idle)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user acting through one cookie session."""

    user_id: int
    username: str
    email: str
    is_active: bool
    created_at: datetime
    roles: frozenset[str]
    permissions: frozenset[str]
    session_id: int
    session_created_at: datetime
    last_seen_at: datetime
    absolute_expires_at: datetime
    authenticated_at: datetime
    revoked_at: datetime | None

    def expires_at(self, settings: Settings) -> datetime:
        return deadline(
            settings,
            created_at=self.session_created_at,
            last_seen_at=self.last_seen_at,
            absolute_expires_at=self.absolute_expires_at,
        )

    def is_usable(self, settings: Settings, now: datetime) -> bool:
        return self.revoked_at is None and self.is_active and now < self.expires_at(settings)


def principal_from_rows(rows: Sequence[Row[Any]]) -> Principal | None:
    if not rows:
        return None
    first = rows[0]
    return Principal(
        user_id=first.user_id,
        username=first.username,
        email=first.email,
        is_active=first.is_active,
        created_at=first.user_created_at,
        roles=frozenset(row.role_name for row in rows if row.role_name is not None),
        permissions=frozenset(row.permission for row in rows if row.permission is not None),
        session_id=first.id,
        session_created_at=first.created_at,
        last_seen_at=first.last_seen_at,
        absolute_expires_at=first.absolute_expires_at,
        authenticated_at=first.authenticated_at,
        revoked_at=first.revoked_at,
    )
