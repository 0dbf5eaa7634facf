"""Cookie sessions: open, list, rotate, revoke and purge (presenting one:
:mod:`sessionary.sessions.credential`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.config import Settings
from sessionary.core.pagination import PageRequest
from sessionary.core.security import hash_token, is_well_formed_token, new_token
from sessionary.errors import NotFound
from sessionary.identity.origin import Origin
from sessionary.identity.principal import Principal
from sessionary.sessions import expiry
from sessionary.sessions.models import LoginSession


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
        user_agent=origin.stored_user_agent,
    )
    db.add(record)
    await db.flush()
    return IssuedSession(token, record.id, user_id, username, record.absolute_expires_at)


async def _enforce_cap(
    db: AsyncSession, settings: Settings, user_id: int, now: datetime, origin: Origin | None
) -> None:
    live = (
        select(LoginSession.id)
        .where(LoginSession.user_id == user_id, *expiry.live(settings, now))
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


async def list_sessions(
    db: AsyncSession, settings: Settings, user_id: int, page: PageRequest
) -> list[LoginSession]:
    """A user's live sessions, newest first (``page.limit + 1`` rows at most)."""
    statement = (
        select(LoginSession)
        .where(LoginSession.user_id == user_id, *expiry.live(settings, clock.now()))
        .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
    )
    return list(await db.scalars(page.window(statement)))


async def revoke_session(
    db: AsyncSession, settings: Settings, principal: Principal, session_id: int, origin: Origin
) -> None:
    """Revoke one of the principal's own live sessions; 404 for anything else."""
    result = await db.execute(
        update(LoginSession)
        .where(
            LoginSession.id == session_id,
            LoginSession.user_id == principal.user_id,
            *expiry.live(settings, clock.now()),
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
    conditions = [LoginSession.user_id == user_id, *expiry.live(settings, clock.now())]
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
    result = await db.execute(delete(LoginSession).where(expiry.purgeable(settings, clock.now())))
    return int(getattr(result, "rowcount", 0) or 0)
