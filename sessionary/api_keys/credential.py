"""The API key as a credential: ``Authorization: Bearer sk_…`` to a principal in one query.

:data:`API_KEY_PRINCIPAL_QUERY` is built once at import as a hot query and runs through
:meth:`Database.fetch`. It returns one row per (role, permission) of the key's owner, found
by the unique ``api_keys.key_hash``. A key acts with its scopes intersected with its
owner's *current* permissions, so taking a permission from the owner takes it from their
keys at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import Request
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError

from sessionary import clock
from sessionary.api_keys.models import ApiKey
from sessionary.core.activity import write_stamp
from sessionary.core.db import Database
from sessionary.core.dependencies import get_database
from sessionary.core.hot_reads import HotQuery
from sessionary.core.security import hash_token
from sessionary.identity.principal import Principal, roles_and_permissions
from sessionary.roles.models import RolePermission, UserRole
from sessionary.users.models import User

log = structlog.get_logger(__name__)

_KEY_SHAPE = re.compile(r"^sk_[A-Za-z0-9_-]{43}$")
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

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
        User.email_verified_at,
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


def is_well_formed_key(value: str) -> bool:
    return bool(_KEY_SHAPE.fullmatch(value))


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
    roles, held = roles_and_permissions(rows)
    principal = Principal(
        user_id=first.owner_id,
        username=first.username,
        email=first.email,
        is_active=first.is_active,
        created_at=first.user_created_at,
        email_verified=first.email_verified_at is not None,
        roles=roles,
        permissions=held & frozenset(first.scopes or ()),
        api_key_id=first.id,
    )
    return KeyPrincipal(principal, first.expires_at, first.last_used_at, first.revoked_at)


async def resolve(database: Database, key: str) -> Principal | None:
    """The principal behind a presented key, or None for anything unusable.

    One query on the hot path; a second, short write only when ``last_used_at`` is
    more than a minute old.
    """
    if not is_well_formed_key(key):
        return None
    found = key_principal_from_rows(
        await database.fetch(API_KEY_PRINCIPAL_QUERY, {"key_hash": hash_token(key)})
    )
    now = clock.now()
    if found is None or not found.is_usable(now):
        return None
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        await _touch(database, found.principal, now)
    return found.principal


async def _touch(database: Database, principal: Principal, now: datetime) -> None:
    """Record use. Best effort: a busy database must not fail a read request."""
    try:
        await write_stamp(
            database,
            ("api_key", principal.api_key_id),
            update(ApiKey).where(ApiKey.id == principal.api_key_id).values(last_used_at=now),
            now,
            LAST_USED_RESOLUTION,
        )
    except DBAPIError as exc:
        log.warning(
            "last_used_not_recorded", api_key_id=principal.api_key_id, error=type(exc).__name__
        )


class BearerKey:
    """The credential resolver for ``Authorization`` headers: it claims every request that
    sends one (any scheme but a well-formed ``Bearer`` key is then 401, and the cookie is
    never read, so CSRF rules need not apply)."""

    def claims(self, request: Request) -> bool:
        return "authorization" in request.headers

    async def resolve(self, request: Request) -> Principal | None:
        scheme, key = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer" or not key:
            return None
        return await resolve(get_database(request), key)
