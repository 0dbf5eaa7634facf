"""The principal: a user acting through one credential (a cookie session or an API key)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sessionary.errors import PermissionDenied

SESSION_REQUIRED = "A cookie session is required"


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """The cookie session a principal acts through (when it works: see
    :mod:`sessionary.sessions.expiry`)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    absolute_expires_at: datetime
    authenticated_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user acting through one cookie session or one API key.

    ``session`` is None for an API key (``api_key_id`` set). The session attributes
    (``session_id``, ``authenticated_at``…) raise :class:`PermissionDenied` on a key
    principal, so session-only operations refuse keys instead of acting on nothing.
    """

    user_id: int
    username: str
    email: str
    is_active: bool
    created_at: datetime
    roles: frozenset[str]
    permissions: frozenset[str]
    session: SessionFacts | None = None
    api_key_id: int | None = None
    # Whether the user proved ``email`` reaches them (a verification or reset link).
    email_verified: bool = False

    def _session(self) -> SessionFacts:
        if self.session is None:
            raise PermissionDenied(SESSION_REQUIRED)
        return self.session

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def session_id(self) -> int:
        return self._session().id

    @property
    def session_created_at(self) -> datetime:
        return self._session().created_at

    @property
    def last_seen_at(self) -> datetime:
        return self._session().last_seen_at

    @property
    def absolute_expires_at(self) -> datetime:
        return self._session().absolute_expires_at

    @property
    def authenticated_at(self) -> datetime:
        return self._session().authenticated_at

    @property
    def revoked_at(self) -> datetime | None:
        return self._session().revoked_at


def roles_and_permissions(rows: Iterable[Any]) -> tuple[frozenset[str], frozenset[str]]:
    """A credential query's rows (one per role and permission, outer-joined) folded into the
    user's role names and permission names."""
    roles: set[str] = set()
    permissions: set[str] = set()
    for row in rows:
        if row.role_name is not None:
            roles.add(row.role_name)
        if row.permission is not None:
            permissions.add(row.permission)
    return frozenset(roles), frozenset(permissions)
