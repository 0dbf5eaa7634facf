"""API keys: issue, list and revoke (presenting one: :mod:`sessionary.api_keys.credential`).

A key is ``sk_`` + 256 random bits (URL-safe); only its SHA-256 is stored, with a short
display prefix. A key acts with its scopes intersected with its owner's *current*
permissions, so taking a permission from the owner takes it from their keys at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.api_keys.models import ApiKey
from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.context import Context
from sessionary.core.pagination import PageRequest
from sessionary.core.security import hash_token, new_token
from sessionary.errors import NotFound, PermissionDenied
from sessionary.identity.origin import Origin
from sessionary.identity.principal import Principal
from sessionary.mail.notices import Notice, send_notice

KEY_PREFIX = "sk_"
# The prefix plus 8 characters of the secret: enough to tell keys apart in a listing,
# leaving 35 characters (210 bits) unknown.
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKey
    key: str


async def create_key(
    db: AsyncSession,
    *,
    owner_id: int,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> IssuedKey:
    """Store a new key for ``owner_id`` (no checks, no audit: :func:`issue_api_key` does those)."""
    key = KEY_PREFIX + new_token()
    row = ApiKey(
        owner_id=owner_id,
        name=name,
        prefix=key[:DISPLAY_PREFIX_LENGTH],
        key_hash=hash_token(key),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        created_at=clock.now(),
    )
    db.add(row)
    await db.flush()
    return IssuedKey(row, key)


async def issue_api_key(
    ctx: Context,
    principal: Principal,
    origin: Origin,
    *,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None,
) -> IssuedKey:
    """A key for the principal's user; its scopes must be permissions they hold (else 403).
    The owner is told by mail (:class:`~sessionary.mail.notices.Notice`): a stolen session
    minting a key of its own must not go unnoticed."""
    db = ctx.db
    wanted = set(scopes)
    if wanted - principal.permissions:
        raise PermissionDenied("Cannot grant a scope you do not hold")
    issued = await create_key(
        db, owner_id=principal.user_id, name=name, scopes=wanted, expires_at=expires_at
    )
    await audit.record_event(
        db,
        EventType.API_KEY_CREATED,
        origin,
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
        target_type="api_key",
        target_id=issued.row.id,
        detail={"name": name, "scopes": issued.row.scopes},
    )
    send_notice(
        ctx,
        Notice.API_KEY_CREATED,
        to=principal.email,
        username=principal.username,
        key_name=name,
        scopes=issued.row.scopes,
        ip=origin.ip,
    )
    return issued


async def list_keys(db: AsyncSession, principal: Principal, page: PageRequest) -> list[ApiKey]:
    """The principal's unrevoked keys, by id (``page.limit + 1`` rows at most)."""
    statement = (
        select(ApiKey)
        .where(ApiKey.owner_id == principal.user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id)
    )
    return list(await db.scalars(page.window(statement)))


async def revoke_api_key(
    db: AsyncSession, principal: Principal, key_id: int, origin: Origin
) -> None:
    """Revoke one of the principal's own keys; 404 for anyone else's or an unknown one."""
    result = await db.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            ApiKey.owner_id == principal.user_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("API key not found")
    await audit.record_event(
        db,
        EventType.API_KEY_REVOKED,
        origin,
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
        target_type="api_key",
        target_id=key_id,
    )
