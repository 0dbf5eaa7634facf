"""Logins and cookie sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.auth.models import LoginSession
from sessionary.auth.principal import PRINCIPAL_QUERY, Principal, principal_from_rows
from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.security import PasswordHasher, hash_token, is_well_formed_token, new_token
from sessionary.errors import InvalidCredentials
from sessionary.users.models import User
from sessionary.users.usernames import username_key

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


_CREDENTIALS = select(User.id, User.username, User.password_hash, User.is_active)


async def login(
    db: AsyncSession,
    database: Database,
    hasher: PasswordHasher,
    settings: Settings,
    *,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> IssuedSession:
    """Verify a password and open a new session.

    The credentials are read and verified before the write transaction opens
    (SQLite's write lock is never held across a 20 ms hash). Unknown user,
    wrong password and inactive user all cost exactly one verification and
    fail the same way.
    """
    rows = await database.fetch(_CREDENTIALS.where(User.username_key == username_key(username)), {})
    account = rows[0] if rows else None
    matches, new_hash = await hasher.verify(password, account.password_hash if account else None)
    if account is None or not matches or not account.is_active:
        raise InvalidCredentials
    if new_hash is not None:
        await db.execute(update(User).where(User.id == account.id).values(password_hash=new_hash))
    return await open_session(
        db, settings, user_id=account.id, username=account.username, ip=ip, user_agent=user_agent
    )


async def open_session(
    db: AsyncSession,
    settings: Settings,
    *,
    user_id: int,
    username: str,
    ip: str | None = None,
    user_agent: str | None = None,
    authenticated_at: datetime | None = None,
) -> IssuedSession:
    """Create a session row for a user whose identity is already established."""
    now = clock.now()
    token = new_token()
    record = LoginSession(
        user_id=user_id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        absolute_expires_at=now + timedelta(seconds=settings.session_absolute_timeout),
        authenticated_at=authenticated_at or now,
        ip=ip,
        user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
    )
    db.add(record)
    await db.flush()
    return IssuedSession(token, record.id, user_id, username, record.absolute_expires_at)


async def resolve(database: Database, settings: Settings, token: str | None) -> Principal | None:
    """The principal behind a session token, or None for anything unusable.

    One query on the hot path; a second, short write only when ``last_seen_at``
    is more than a minute old.
    """
    if not token or not is_well_formed_token(token):
        return None
    principal = principal_from_rows(
        await database.fetch(PRINCIPAL_QUERY, {"token_hash": hash_token(token)})
    )
    now = clock.now()
    if principal is None or not principal.is_usable(settings, now):
        return None
    if now - principal.last_seen_at >= LAST_SEEN_RESOLUTION:
        await _touch(database, principal.session_id, now)
    return principal


async def _touch(database: Database, session_id: int, now: datetime) -> None:
    """Record activity. Best effort: a busy database must not fail a read request."""
    try:
        async with database.session() as db:
            await db.execute(
                update(LoginSession).where(LoginSession.id == session_id).values(last_seen_at=now)
            )
            await db.commit()
    except DBAPIError as exc:
        log.warning("last_seen_not_recorded", session_id=session_id, error=type(exc).__name__)


async def revoke_token(db: AsyncSession, token: str | None) -> None:
    """Revoke the session behind ``token`` if there is one (logout is idempotent)."""
    if not token or not is_well_formed_token(token):
        return
    await db.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == hash_token(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


async def revoke_user_sessions(db: AsyncSession, user_id: int) -> int:
    """Revoke every live session of a user; returns how many."""
    result = await db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
