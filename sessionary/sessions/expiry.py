"""When a session stops working: the one rule, in its Python and its SQL form side by side.

A session works until the earliest of
- its absolute deadline, fixed at login (``absolute_expires_at``);
- created + the *current* absolute timeout, should an operator have lowered it since
  (raising it extends nothing);
- last seen + the idle timeout;
and not at all once revoked. :func:`deadline` is the Python form (a principal in hand),
:func:`live` the SQL form (filtering rows); :func:`purgeable` is what may be deleted.
Change one, change the others: ``tests/sessions/test_expiry.py`` holds them together.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_

from sessionary.config import Settings
from sessionary.identity.principal import Principal, SessionFacts
from sessionary.sessions.models import LoginSession


def deadline(
    settings: Settings,
    *,
    created_at: datetime,
    last_seen_at: datetime,
    absolute_expires_at: datetime,
) -> datetime:
    """When a session with these times stops working."""
    idle = last_seen_at + timedelta(seconds=settings.session_idle_timeout)
    return min(absolute_deadline(settings, created_at, absolute_expires_at), idle)


def absolute_deadline(
    settings: Settings, created_at: datetime, absolute_expires_at: datetime
) -> datetime:
    """The deadline no activity moves (a rotated token keeps it)."""
    lowered = created_at + timedelta(seconds=settings.session_absolute_timeout)
    return min(absolute_expires_at, lowered)


def expires_at(session: SessionFacts | LoginSession, settings: Settings) -> datetime:
    return deadline(
        settings,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        absolute_expires_at=session.absolute_expires_at,
    )


def is_usable(principal: Principal, settings: Settings, now: datetime) -> bool:
    """A cookie principal whose session still works at ``now`` and whose user is active."""
    session = principal.session
    return (
        session is not None
        and session.revoked_at is None
        and principal.is_active
        and now < expires_at(session, settings)
    )


def live(settings: Settings, now: datetime) -> list[ColumnElement[bool]]:
    """SQL conditions for a session row that still works at ``now``."""
    return [
        LoginSession.revoked_at.is_(None),
        LoginSession.absolute_expires_at > now,
        LoginSession.created_at > now - timedelta(seconds=settings.session_absolute_timeout),
        LoginSession.last_seen_at > now - timedelta(seconds=settings.session_idle_timeout),
    ]


def purgeable(settings: Settings, now: datetime) -> ColumnElement[bool]:
    """Rows no longer needed at ``now``: past either absolute deadline (a revoked row is kept
    until then, for the theft signal), or unrevoked and idled out."""
    return or_(
        LoginSession.absolute_expires_at <= now,
        LoginSession.created_at <= now - timedelta(seconds=settings.session_absolute_timeout),
        LoginSession.revoked_at.is_(None)
        & (LoginSession.last_seen_at <= now - timedelta(seconds=settings.session_idle_timeout)),
    )
