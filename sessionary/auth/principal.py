"""Who is making a request: the one-query lookup behind every authenticated call.

:data:`PRINCIPAL_QUERY` (cookie sessions) and :data:`API_KEY_PRINCIPAL_QUERY`
(``Authorization: Bearer``) are built once at import as hot queries and run through
:meth:`Database.fetch` — straight on the driver in production, on the test's connection
under the test toolkit. Each returns one row per (role, permission) of the user behind the
credential, found by a unique index (``sessions.token_hash``,
``api_keys.key_hash``).

A :class:`Principal` is a user acting through a session or through an API key;
a key acts with its scopes intersected with its owner's current permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from sessionary.api_keys.models import ApiKey
from sessionary.auth.models import LoginSession
from sessionary.config import Settings
from sessionary.core.hot_reads import HotQuery
from sessionary.errors import PermissionDenied
from sessionary.roles.models import RolePermission, UserRole
from sessionary.users.models import User

PRINCIPAL_QUERY = HotQuery(
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
    .where(LoginSession.token_hash == bindparam("token_hash")),
    "principal",
)

API_KEY_PRINCIPAL_QUERY = HotQuery(
    select(
        ApiKey.id,
        ApiKey.owner_id,
        ApiKey.scopes,
        ApiKey.expires_at,
        ApiKey.last_used_at,
        ApiKey.revoked_at,
        User.username,
        User.email,
        User.is_active,
        User.created_at.label("user_created_at"),
        UserRole.role_name,
        RolePermission.permission,
    )
    .join(User, User.id == ApiKey.owner_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .outerjoin(RolePermission, RolePermission.role_name == UserRole.role_name)
    .where(ApiKey.key_hash == bindparam("key_hash")),
    "api_key_principal",
)

SESSION_REQUIRED = "A cookie session is required"


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
class SessionFacts:
    """The cookie session a principal acts through."""

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

    def expires_at(self, settings: Settings) -> datetime:
        return deadline(
            settings,
            created_at=self.session_created_at,
            last_seen_at=self.last_seen_at,
            absolute_expires_at=self.absolute_expires_at,
        )

    def is_usable(self, settings: Settings, now: datetime) -> bool:
        return self.revoked_at is None and self.is_active and now < self.expires_at(settings)


def _roles_and_permissions(rows: Sequence[Any]) -> tuple[frozenset[str], frozenset[str]]:
    return (
        frozenset(row.role_name for row in rows if row.role_name is not None),
        frozenset(row.permission for row in rows if row.permission is not None),
    )


def principal_from_rows(rows: Sequence[Any]) -> Principal | None:
    if not rows:
        return None
    first = rows[0]
    roles, permissions = _roles_and_permissions(rows)
    return Principal(
        user_id=first.user_id,
        username=first.username,
        email=first.email,
        is_active=first.is_active,
        created_at=first.user_created_at,
        roles=roles,
        permissions=permissions,
        session=SessionFacts(
            id=first.id,
            created_at=first.created_at,
            last_seen_at=first.last_seen_at,
            absolute_expires_at=first.absolute_expires_at,
            authenticated_at=first.authenticated_at,
            revoked_at=first.revoked_at,
        ),
    )


@dataclass(frozen=True, slots=True)
class KeyPrincipal:
    """A key's principal plus what decides whether the key still works."""

    principal: Principal
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def is_usable(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.principal.is_active
            and (self.expires_at is None or now < self.expires_at)
        )


def key_principal_from_rows(rows: Sequence[Any]) -> KeyPrincipal | None:
    """The key's principal: its scopes intersected with the owner's current permissions."""
    if not rows:
        return None
    first = rows[0]
    roles, held = _roles_and_permissions(rows)
    principal = Principal(
        user_id=first.owner_id,
        username=first.username,
        email=first.email,
        is_active=first.is_active,
        created_at=first.user_created_at,
        roles=roles,
        permissions=held & frozenset(first.scopes or ()),
        api_key_id=first.id,
    )
    return KeyPrincipal(principal, first.expires_at, first.last_used_at, first.revoked_at)
