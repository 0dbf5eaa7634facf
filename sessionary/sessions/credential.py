"""The session cookie as a credential: a token to a principal in one query.

:data:`PRINCIPAL_QUERY` is built once at import as a hot query and runs through
:meth:`Database.fetch` — straight on the driver in production, on the test's connection
under the test toolkit. It returns one row per (role, permission) of the user behind the
session, found by the unique ``sessions.token_hash``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import Request
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.repeats import RepeatCounter, record_repeated_event
from sessionary.audit.service import EventType
from sessionary.config import Settings
from sessionary.core.activity import write_stamp
from sessionary.core.db import Database
from sessionary.core.dependencies import get_database, get_settings
from sessionary.core.hot_reads import HotQuery
from sessionary.core.runtime import installed
from sessionary.core.security import hash_token, is_well_formed_token
from sessionary.identity.origin import Origin, request_origin
from sessionary.identity.principal import Principal, SessionFacts, roles_and_permissions
from sessionary.roles.models import RolePermission, UserRole
from sessionary.sessions import expiry
from sessionary.sessions.models import LoginSession
from sessionary.users.models import User

log = structlog.get_logger(__name__)

# last_seen_at is written at most this often per session, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Our tokens are 43 characters; a cookie past this is refused before any lookup.
SESSION_COOKIE_MAX = 512

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
        User.email_verified_at,
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


def principal_from_rows(rows: Sequence[Any]) -> Principal | None:
    if not rows:
        return None
    first = rows[0]
    roles, permissions = roles_and_permissions(rows)
    return Principal(
        user_id=first.user_id,
        username=first.username,
        email=first.email,
        is_active=first.is_active,
        created_at=first.user_created_at,
        email_verified=first.email_verified_at is not None,
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


async def resolve(
    database: Database,
    settings: Settings,
    token: str | None,
    origin_of: Callable[[], Origin] | None = None,
    repeats: RepeatCounter | None = None,
) -> Principal | None:
    """The principal behind a session token, or None for anything unusable.

    One query on the hot path; a second, short write only when ``last_seen_at``
    is more than a minute old, or when a revoked token comes back (the theft signal:
    recorded once per window per session and client when ``repeats`` can count them,
    see :mod:`sessionary.audit.repeats`). ``origin_of`` is called only then: working
    out the client's address is not free.
    """
    if not token or not is_well_formed_token(token):
        return None
    principal = principal_from_rows(
        await database.fetch(PRINCIPAL_QUERY, {"token_hash": hash_token(token)})
    )
    if principal is None:
        return None
    now = clock.now()
    if principal.revoked_at is not None:
        # Someone still holds a token the user (or an admin) revoked: it may be stolen.
        await _record_replay(database, settings, principal, origin_of, repeats)
        return None
    if not expiry.is_usable(principal, settings, now):
        return None
    if now - principal.last_seen_at >= LAST_SEEN_RESOLUTION:
        await _touch(database, principal.session_id, now)
    return principal


async def _record_replay(
    database: Database,
    settings: Settings,
    principal: Principal,
    origin_of: Callable[[], Origin] | None,
    repeats: RepeatCounter | None,
) -> None:
    origin = origin_of() if origin_of else None
    about: dict[str, Any] = {
        "actor_user_id": principal.user_id,
        "target_type": "session",
        "target_id": principal.session_id,
    }
    event = EventType.SESSION_REVOKED_TOKEN_PRESENTED
    if repeats is None:
        await audit.record_event_now(database, event, origin, **about)
        return
    client = quote((origin.ip if origin else None) or "unknown", safe="")
    bucket = f"{principal.session_id}/{client}"
    await record_repeated_event(database, repeats, settings, event, origin, bucket=bucket, **about)


async def _touch(database: Database, session_id: int, now: datetime) -> None:
    """Record activity. Best effort: a busy database must not fail a read request."""
    try:
        await write_stamp(
            database,
            ("session", session_id),
            update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now),
            now,
            LAST_SEEN_RESOLUTION,
        )
    except DBAPIError as exc:
        log.warning("last_seen_not_recorded", session_id=session_id, error=type(exc).__name__)


def session_token(request: Request) -> str | None:
    """The session cookie's value, or None when it is missing or over-long.

    A request with an ``Authorization`` header is authenticated by that header
    alone: its cookie is never read (so CSRF rules need not apply to it).
    """
    if "authorization" in request.headers:
        return None
    token = request.cookies.get(get_settings(request).session_cookie_name)
    if token is None or len(token) > SESSION_COOKIE_MAX:
        return None
    return token


def _repeats(request: Request) -> RepeatCounter:
    # The app's login throttle counts repeats too (sessions never import auth).
    counter: RepeatCounter = installed(request.app).throttle
    return counter


class CookieSession:
    """The credential resolver for the session cookie: it claims every request (it is the
    last resolver asked), and finds a principal when the cookie names a working session."""

    def claims(self, request: Request) -> bool:  # noqa: ARG002 - the protocol's signature
        return True

    async def resolve(self, request: Request) -> Principal | None:
        return await resolve(
            get_database(request),
            get_settings(request),
            session_token(request),
            lambda: request_origin(request),
            _repeats(request),
        )
