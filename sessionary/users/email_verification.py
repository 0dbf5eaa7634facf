"""Email verification: proof that an account's address reaches its user.

A verification link goes out on registration, on an address change and on request
(``POST /auth/verify-email/resend``, answered alike for every address like a password
reset). A user's own change of address (``PATCH /users/me``) takes effect only when the
link mailed to the new address is opened; the old address is then told. Opening a link
(``POST /auth/verify-email``) stamps ``users.email_verified_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.context import Context
from sessionary.errors import Conflict, NotFound
from sessionary.identity.origin import Origin
from sessionary.mail.links import send_link
from sessionary.mail.notices import Notice, send_notice
from sessionary.users import service as users_service
from sessionary.users import tokens
from sessionary.users.models import User
from sessionary.users.tokens import InvalidToken, Purpose
from sessionary.users.usernames import email_key, normalize_email


@dataclass(frozen=True, slots=True)
class EmailChange:
    """What ``PATCH /users/me`` did: ``pending`` is the address waiting for its link (None
    when only the spelling changed, which applies at once)."""

    user: User
    pending: str | None


async def send_verification(ctx: Context, user: User, address: str, *, change: bool) -> None:
    """Mail a verification link for ``address`` (the account's own, or the one it is
    changing to); the user's earlier links stop working."""
    ttl = ctx.settings.email_verification_ttl
    token = await tokens.issue(
        ctx.db, user.id, Purpose.VERIFY_EMAIL, timedelta(seconds=ttl), email=address
    )
    send_link(
        ctx,
        "verify_email",
        to=address,
        path=ctx.settings.email_verification_path,
        token=token,
        username=user.username,
        valid_hours=ttl // 3600 or 1,
        change=change,
    )


async def request_email_change(
    ctx: Context, user_id: int, email: str, origin: Origin
) -> EmailChange:
    """A user's own new address: mailed a link, applied when it is opened (409 when another
    account has it now)."""
    db = ctx.db
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    shown = normalize_email(email)
    key = email_key(shown)
    if key == user.email_key:
        if shown != user.email:  # a new spelling: nothing to prove
            await users_service.set_email(db, user, shown)
            await _record(db, EventType.USER_UPDATED, origin, user, fields=["email"])
        return EmailChange(user, None)
    if await db.scalar(select(User.id).where(User.email_key == key)) is not None:
        raise Conflict("Email already in use")
    await send_verification(ctx, user, shown, change=True)
    await _record(db, EventType.EMAIL_CHANGE_REQUESTED, origin, user)
    return EmailChange(user, shown)


async def verify_email(ctx: Context, token: str, origin: Origin) -> User:
    """Use a verification token: the address is proven, and applied if it was a change
    (the old address is told)."""
    db = ctx.db
    redeemed = await tokens.redeem(db, token, Purpose.VERIFY_EMAIL)
    user = None if redeemed is None else await db.get(User, redeemed.user_id)
    if user is None or redeemed is None or redeemed.email is None or not user.is_active:
        raise InvalidToken()
    old = user.email
    if await users_service.set_email(db, user, redeemed.email, verified=True):
        await _record(db, EventType.USER_UPDATED, origin, user, fields=["email"])
        send_notice(ctx, Notice.EMAIL_CHANGED, to=old, username=user.username, new_email=user.email)
    elif user.email_verified_at is None:
        user.email_verified_at = clock.now()
        await db.flush()
    await _record(db, EventType.EMAIL_VERIFIED, origin, user)
    return user


async def _record(
    db: AsyncSession,
    type_: EventType,
    origin: Origin,
    user: User,
    **detail: Any,
) -> None:
    """An event the user caused about their own account."""
    await audit.record_event(
        db,
        type_,
        origin,
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        detail={"username": user.username, **detail},
    )


async def resend_to(ctx: Context, key: str) -> None:
    """After the response: a new link, if ``key`` is the unverified address of an active
    account."""
    user = await ctx.db.scalar(
        select(User).where(
            User.email_key == key, User.is_active.is_(True), User.email_verified_at.is_(None)
        )
    )
    if user is not None:
        await send_verification(ctx, user, user.email, change=False)
