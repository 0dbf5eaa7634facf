"""Cookie sessions: open, resolve, list, rotate and revoke (no passwords here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType, Origin
from sessionary.auth.models import LoginSession
from sessionary.auth.principal import PRINCIPAL_QUERY, Principal, deadline, principal_from_rows
from sessionary.auth.repeats import record_repeated_event
from sessionary.auth.throttle import LoginThrottle
from sessionary.config import Settings
from sessionary.core.activity import write_stamp
from sessionary.core.db import Database
from sessionary.core.pagination import PageRequest
from sessionary.core.security import hash_token, is_well_formed_token, new_token
from sessionary.errors import NotFound

log = structlog.get_logger(__name__)

# last_seen_at is written at most this often per session, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    session_id: int
    user_id: int
    username: str
    absolute_expires_at: datetime


async def open_session(
    db: AsyncSession,
    settings: Settings,
    *,
    user_id: int,
    username: str,
    origin: Origin | None = None,
    authenticated_at: datetime | None = None,
) -> IssuedSession:
    """Create a session row for a user whose identity is already established.

    Beyond ``max_sessions_per_user`` live sessions the oldest are revoked.
    """
    now = clock.now()
    await _enforce_cap(db, settings, user_id, now, origin)
    token = new_token()
    origin = origin or Origin()
    record = LoginSession(
        user_id=user_id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        absolute_expires_at=now + timedelta(seconds=settings.session_absolute_timeout),
        authenticated_at=authenticated_at or now,
        ip=origin.ip,
        user_agent=origin.user_agent[:USER_AGENT_MAX] if origin.user_agent else None,
    )
    db.add(record)
    await db.flush()
    return IssuedSession(token, record.id, user_id, username, record.absolute_expires_at)


def _live(settings: Settings, now: datetime) -> list[ColumnElement[bool]]:
    """SQL conditions for a session that still works at ``now``."""
    return [
        LoginSession.revoked_at.is_(None),
        LoginSession.absolute_expires_at > now,
        LoginSession.created_at > now - timedelta(seconds=settings.session_absolute_timeout),
        LoginSession.last_seen_at > now - timedelta(seconds=settings.session_idle_timeout),
    ]


async def _enforce_cap(
    db: AsyncSession, settings: Settings, user_id: int, now: datetime, origin: Origin | None
) -> None:
    live = (
        select(LoginSession.id)
        .where(LoginSession.user_id == user_id, *_live(settings, now))
        .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
    )
    # Keep the newest cap - 1, so the one about to open makes cap.
    evicted = list(await db.scalars(live.offset(settings.max_sessions_per_user - 1)))
    if not evicted:
        return
    await db.execute(
        update(LoginSession).where(LoginSession.id.in_(evicted)).values(revoked_at=now)
    )
    for session_id in evicted:
        await audit.record_event(
            db,
            EventType.SESSION_REVOKED,
            origin,
            actor_user_id=user_id,
            target_type="session",
            target_id=session_id,
            detail={"reason": "session cap"},
        )


async def resolve(
    database: Database,
    settings: Settings,
    token: str | None,
    origin_of: Callable[[], Origin] | None = None,
    throttle: LoginThrottle | None = None,
) -> Principal | None:
    """The principal behind a session token, or None for anything unusable.

    One query on the hot path; a second, short write only when ``last_seen_at``
    is more than a minute old, or when a revoked token comes back (the theft signal:
    recorded once per window per session and client when ``throttle`` can count the
    repeats, see :mod:`sessionary.auth.repeats`). ``origin_of`` is called only then:
    working out the client's address is not free.
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
        await _record_replay(database, settings, principal, origin_of, throttle)
        return None
    if not principal.is_usable(settings, now):
        return None
    if now - principal.last_seen_at >= LAST_SEEN_RESOLUTION:
        await _touch(database, principal.session_id, now)
    return principal


async def _record_replay(
    database: Database,
    settings: Settings,
    principal: Principal,
    origin_of: Callable[[], Origin] | None,
    throttle: LoginThrottle | None,
) -> None:
    origin = origin_of() if origin_of else None
    about: dict[str, Any] = {
        "actor_user_id": principal.user_id,
        "target_type": "session",
        "target_id": principal.session_id,
    }
    event = EventType.SESSION_REVOKED_TOKEN_PRESENTED
    if throttle is None:
        await audit.record_event_now(database, event, origin, **about)
        return
    client = quote((origin.ip if origin else None) or "unknown", safe="")
    bucket = f"{principal.session_id}/{client}"
    await record_repeated_event(database, throttle, settings, event, origin, bucket=bucket, **about)


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


def expires_at(session: LoginSession, settings: Settings) -> datetime:
    return deadline(
        settings,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        absolute_expires_at=session.absolute_expires_at,
    )


async def list_sessions(
    db: AsyncSession, settings: Settings, user_id: int, page: PageRequest
) -> list[LoginSession]:
    """A user's live sessions, newest first (``page.limit + 1`` rows at most)."""
    return list(
        await db.scalars(
            select(LoginSession)
            .where(LoginSession.user_id == user_id, *_live(settings, clock.now()))
            .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
            .limit(page.limit + 1)
            .offset(page.offset)
        )
    )


async def revoke_session(
    db: AsyncSession, settings: Settings, principal: Principal, session_id: int, origin: Origin
) -> None:
    """Revoke one of the principal's own live sessions; 404 for anything else."""
    result = await db.execute(
        update(LoginSession)
        .where(
            LoginSession.id == session_id,
            LoginSession.user_id == principal.user_id,
            *_live(settings, clock.now()),
        )
        .values(revoked_at=clock.now())
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("Session not found")
    await audit.record_event(
        db,
        EventType.SESSION_REVOKED,
        origin,
        actor_user_id=principal.user_id,
        target_type="session",
        target_id=session_id,
    )


async def revoke_token(db: AsyncSession, token: str | None, origin: Origin) -> None:
    """Log out: revoke the session behind ``token`` if it is live (idempotent)."""
    if not token or not is_well_formed_token(token):
        return
    session = await db.scalar(
        select(LoginSession).where(
            LoginSession.token_hash == hash_token(token), LoginSession.revoked_at.is_(None)
        )
    )
    if session is None:
        return
    session.revoked_at = clock.now()
    await audit.record_event(
        db,
        EventType.LOGOUT,
        origin,
        actor_user_id=session.user_id,
        target_type="session",
        target_id=session.id,
    )


async def revoke_user_sessions(
    db: AsyncSession, settings: Settings, user_id: int, *, except_session_id: int | None = None
) -> int:
    """Revoke every live session of a user (but one); returns how many.

    Expired sessions are left alone: a revoked mark would turn a stale browser tab
    into a false theft signal.
    """
    conditions = [LoginSession.user_id == user_id, *_live(settings, clock.now())]
    if except_session_id is not None:
        conditions.append(LoginSession.id != except_session_id)
    result = await db.execute(
        update(LoginSession).where(*conditions).values(revoked_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def rotate(db: AsyncSession, session_id: int, *, authenticated_at: datetime) -> str:
    """A new token for the same session row and absolute deadline; the old token dies."""
    token = new_token()
    await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id)
        .values(token_hash=hash_token(token), authenticated_at=authenticated_at)
    )
    return token


async def mark_reauthenticated(db: AsyncSession, session_id: int) -> None:
    await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id)
        .values(authenticated_at=clock.now())
    )


async def purge(db: AsyncSession, settings: Settings) -> int:
    """Delete sessions past their absolute deadline (revoked ones are kept until then, for
    the theft signal) and unrevoked ones that idled out; returns how many."""
    now = clock.now()
    result = await db.execute(
        delete(LoginSession).where(
            or_(
                LoginSession.absolute_expires_at <= now,
                LoginSession.created_at
                <= now - timedelta(seconds=settings.session_absolute_timeout),
                (LoginSession.revoked_at.is_(None))
                & (
                    LoginSession.last_seen_at
                    <= now - timedelta(seconds=settings.session_idle_timeout)
                ),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
