"""Password reset: a single-use link mailed to the account's address, and the new password
it sets.

Asking for one (``POST /auth/password-reset``) is answered the same for every address
(:mod:`sessionary.auth.mail_requests`); only an active account's address gets the mail.
The token is 256 bits stored as its hash (:mod:`sessionary.users.tokens`), valid for
``SESSIONARY_PASSWORD_RESET_TTL`` seconds, and stops working when a newer one is mailed,
when it is used, when the password changes another way and when the account is
deactivated. Using it sets the password (policy enforced), ends every session, forgets every
remembered device and tells the user by mail.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.auth import devices
from sessionary.context import Context
from sessionary.identity.origin import Origin
from sessionary.mail.links import send_link
from sessionary.mail.notices import Notice, send_notice
from sessionary.sessions import service as sessions
from sessionary.users import service as users_service
from sessionary.users import tokens
from sessionary.users.actors import Operator, audit_via
from sessionary.users.models import User
from sessionary.users.tokens import InvalidToken, Purpose


async def active_user_by_email(ctx: Context, key: str) -> User | None:
    return await ctx.db.scalar(select(User).where(User.email_key == key, User.is_active.is_(True)))


async def mail_reset_link(
    ctx: Context, user: User, origin: Origin | None, *, operator: Operator | None = None
) -> None:
    """Mail ``user`` a new reset link (their earlier ones stop working) and record it: asked
    for anonymously through the route, or by an ``operator`` (``sessionary users
    send-reset``)."""
    ttl = ctx.settings.password_reset_ttl
    token = await tokens.issue(
        ctx.db, user.id, Purpose.PASSWORD_RESET, timedelta(seconds=ttl), email=user.email
    )
    send_link(
        ctx,
        "password_reset",
        to=user.email,
        path=ctx.settings.password_reset_path,
        token=token,
        username=user.username,
        valid_minutes=ttl // 60,
    )
    await audit.record_event(
        ctx.db,
        EventType.PASSWORD_RESET_REQUESTED,
        origin,
        target_type="user",
        target_id=user.id,
        detail={"username": user.username, **(audit_via(operator) if operator else {})},
    )


async def mail_reset_link_to(ctx: Context, key: str, origin: Origin) -> None:
    """After the response: the mail, if ``key`` is the address of an active account."""
    user = await active_user_by_email(ctx, key)
    if user is not None:
        await mail_reset_link(ctx, user, origin)


async def reset_password(ctx: Context, token: str, new_password: str, origin: Origin) -> None:
    """Use a reset token: a new password, no sessions, no remembered devices, a notice.

    A password the policy refuses (422) rolls the unit back, so the token still works.
    """
    db = ctx.db
    redeemed = await tokens.redeem(db, token, Purpose.PASSWORD_RESET)
    user = None if redeemed is None else await db.get(User, redeemed.user_id)
    if user is None or not user.is_active:
        raise InvalidToken()
    users_service.check_password_policy(new_password, username=user.username, field="new_password")
    await users_service.store_password(db, ctx.hasher, user.id, new_password)
    forgotten = await devices.forget_devices(db, user.id)
    revoked = await sessions.revoke_user_sessions(db, ctx.settings, user.id)
    if user.email_verified_at is None:
        # The link was opened from the mail: the address reaches the user.
        user.email_verified_at = clock.now()
        await db.flush()
    await audit.record_event(
        db,
        EventType.PASSWORD_RESET,
        origin,
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        detail={
            "username": user.username,
            "sessions_revoked": revoked,
            "devices_forgotten": forgotten,
        },
    )
    send_notice(
        ctx,
        Notice.PASSWORD_CHANGED,
        to=user.email,
        username=user.username,
        how="with a password reset link",
    )
