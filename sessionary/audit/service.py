"""Recording audit events.

:func:`record_event` adds an event to the request's transaction: it commits
with the work it describes, or not at all. :func:`record_event_now` commits
in a short transaction of its own, for events about requests that fail (401,
429) and roll back. Never pass a password, token or key in ``detail``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit.models import AuditEvent
from sessionary.core.db import Database
from sessionary.core.pagination import PageRequest
from sessionary.identity.origin import Origin

log = structlog.get_logger(__name__)


class EventType(StrEnum):
    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_THROTTLED = "login.throttled"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_REVOKED = "session.revoked"
    SESSION_REVOKED_TOKEN_PRESENTED = "session.revoked_token_presented"  # noqa: S105
    PASSWORD_CHANGED = "password.changed"  # noqa: S105
    PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105 - a link was mailed
    PASSWORD_RESET = "password.reset"  # noqa: S105 - a link set a new password
    EMAIL_CHANGE_REQUESTED = "email.change_requested"
    EMAIL_VERIFIED = "email.verified"
    MAIL_FAILED = "mail.failed"
    REAUTH_SUCCEEDED = "reauth.succeeded"
    USER_REGISTERED = "user.registered"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_DELETED = "user.deleted"
    USER_ROLES_CHANGED = "user.roles_changed"
    ROLE_CREATED = "role.created"
    ROLE_UPDATED = "role.updated"
    ROLE_DELETED = "role.deleted"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"


def _event(
    type_: EventType,
    origin: Origin | None,
    *,
    actor_user_id: int | None,
    actor_api_key_id: int | None,
    target_type: str | None,
    target_id: object,
    detail: dict[str, Any] | None,
) -> AuditEvent:
    origin = origin or Origin()
    return AuditEvent(
        type=type_.value,
        actor_user_id=actor_user_id,
        actor_api_key_id=actor_api_key_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=origin.ip,
        user_agent=origin.stored_user_agent,
        created_at=clock.now(),
        detail=detail or {},
    )


async def record_event(
    db: AsyncSession,
    type_: EventType,
    origin: Origin | None = None,
    *,
    actor_user_id: int | None = None,
    actor_api_key_id: int | None = None,
    target_type: str | None = None,
    target_id: object = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an event to the caller's transaction."""
    db.add(
        _event(
            type_,
            origin,
            actor_user_id=actor_user_id,
            actor_api_key_id=actor_api_key_id,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )
    )
    await db.flush()


async def record_event_now(
    database: Database, type_: EventType, origin: Origin | None = None, **fields: Any
) -> None:
    """Commit an event in its own short transaction (it survives the request's rollback);
    ``fields`` as for :func:`record_event`.

    A database failure here is logged, not raised: the request already has its answer.
    """
    try:
        async with database.write() as db:
            await record_event(db, type_, origin, **fields)
            await db.commit()
    except DBAPIError as exc:
        log.warning("audit_event_not_recorded", type=type_.value, error=type(exc).__name__)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """``GET /audit-events`` filters: ``since`` is inclusive, ``until`` exclusive."""

    actor_user_id: int | None = None
    type: EventType | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_events(
    db: AsyncSession, filters: EventFilter, page: PageRequest
) -> list[AuditEvent]:
    """Matching events, newest first (ties by id), ``limit + 1`` of them."""
    statement = select(AuditEvent)
    if filters.actor_user_id is not None:
        statement = statement.where(AuditEvent.actor_user_id == filters.actor_user_id)
    if filters.type is not None:
        statement = statement.where(AuditEvent.type == filters.type.value)
    if filters.since is not None:
        statement = statement.where(AuditEvent.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEvent.created_at < filters.until)
    statement = statement.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    return list(await db.scalars(page.window(statement)))
