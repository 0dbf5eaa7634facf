"""Single-use tokens mailed to a user: a password reset, or proof that an address is theirs.

A token is 256 random bits; only its SHA-256 is stored. Issuing one for a purpose removes the
user's earlier ones for that purpose (the newest mail is the only one that works); using one
deletes it in the same statement that reads it, so two requests racing with the same token
cannot both succeed; a password change and a deactivation remove them all
(:func:`forget`), as does deleting the user (the foreign key cascades).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.core.security import hash_token, is_well_formed_token, new_token
from sessionary.errors import BadRequest
from sessionary.users.models import AccountToken


class InvalidToken(BadRequest):
    """Unknown, used, expired or for an account that can no longer use it: one answer."""

    default_detail = "Invalid or expired token"


class Purpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a secret
    VERIFY_EMAIL = "verify_email"


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What a used token proved: who, and for email verification, which address."""

    user_id: int
    email: str | None


async def issue(
    db: AsyncSession, user_id: int, purpose: Purpose, ttl: timedelta, *, email: str | None = None
) -> str:
    """A new token for ``purpose``, valid for ``ttl``; the user's earlier ones stop working."""
    await forget(db, user_id, purpose)
    token, now = new_token(), clock.now()
    db.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose.value,
            token_hash=hash_token(token),
            email=email,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await db.flush()
    return token


async def redeem(db: AsyncSession, token: str, purpose: Purpose) -> Redeemed | None:
    """Use ``token`` up: who it was issued to, or None when it is unknown, already used,
    expired or for another purpose (the caller answers all four alike)."""
    if not is_well_formed_token(token):
        return None
    row = (
        await db.execute(
            delete(AccountToken)
            .where(
                AccountToken.token_hash == hash_token(token),
                AccountToken.purpose == purpose.value,
            )
            .returning(AccountToken.user_id, AccountToken.email, AccountToken.expires_at)
        )
    ).one_or_none()
    if row is None or row.expires_at <= clock.now():
        return None
    return Redeemed(row.user_id, row.email)


async def forget(db: AsyncSession, user_id: int, *purposes: Purpose) -> None:
    """Remove the user's tokens for ``purposes`` (all of them when none is named)."""
    statement = delete(AccountToken).where(AccountToken.user_id == user_id)
    if purposes:
        statement = statement.where(AccountToken.purpose.in_([p.value for p in purposes]))
    await db.execute(statement)


async def purge(db: AsyncSession) -> int:
    """Delete expired tokens (``sessionary sessions purge`` housekeeping)."""
    result = await db.execute(delete(AccountToken).where(AccountToken.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)
