"""Login, re-authentication, password change and registration, each one verb on a
:class:`~sessionary.context.Context`.

Every password they check goes through :mod:`sessionary.auth.verification` (throttled,
verified before the transaction is used, failures audited on their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.auth import devices
from sessionary.auth.models import LoginDevice
from sessionary.auth.verification import (
    Account,
    Attempt,
    device_id,
    verify_own_password,
    verify_throttled,
)
from sessionary.context import Context
from sessionary.core.security import hash_token, new_token
from sessionary.errors import BadRequest, PermissionDenied
from sessionary.identity.principal import Principal
from sessionary.mail.notices import Notice, notice_enabled, send_notice
from sessionary.sessions import expiry
from sessionary.sessions import service as sessions
from sessionary.sessions.service import IssuedSession
from sessionary.users import service as users_service
from sessionary.users.email_verification import send_verification
from sessionary.users.models import User
from sessionary.users.usernames import username_key

__all__ = [
    "Attempt",
    "EmailNotVerified",
    "LoggedIn",
    "change_password",
    "login",
    "reauthenticate",
    "register",
]


class EmailNotVerified(PermissionDenied):
    """The password was right, but ``SESSIONARY_REQUIRE_VERIFIED_EMAIL`` wants the address
    proven first (403)."""

    default_detail = "Email address not verified"


@dataclass(frozen=True, slots=True)
class LoggedIn:
    session: IssuedSession
    device_token: str | None  # a new session_device cookie to set, if one was issued


async def login(ctx: Context, *, username: str, password: str, attempt: Attempt) -> LoggedIn:
    """Verify a password and open a new session (unknown user, wrong password and inactive
    user fail alike)."""
    device = await device_id(ctx, attempt.device_token, username_key(username))
    account = await verify_throttled(
        ctx, username=username, password=password, attempt=attempt, device=device
    )
    if ctx.settings.require_verified_email and not account.email_verified:
        # Only a right password gets this far: the answer tells nothing to a guesser.
        await audit.record_event_now(
            ctx.database,
            EventType.LOGIN_FAILED,
            attempt.origin,
            target_type="user",
            target_id=account.id,
            detail={"username": username, "reason": "email_not_verified"},
        )
        raise EmailNotVerified()
    db = ctx.db
    if account.new_hash is not None:
        await db.execute(
            update(User).where(User.id == account.id).values(password_hash=account.new_hash)
        )
    issued = await sessions.open_session(
        db, ctx.settings, user_id=account.id, username=account.username, origin=attempt.origin
    )
    device_token = await _remember_device(ctx, account, device, attempt)
    await audit.record_event(
        db,
        EventType.LOGIN_SUCCEEDED,
        attempt.origin,
        actor_user_id=account.id,
        target_type="session",
        target_id=issued.session_id,
    )
    return LoggedIn(issued, device_token)


async def _remember_device(
    ctx: Context, account: Account, device: int | None, attempt: Attempt
) -> str | None:
    """Touch the browser's device row, or remember a new browser (its token for the cookie).

    A new browser on an account already used from another one is told to the user
    (``new_device``); the first browser after sign-up, a reset or a password change is not.
    """
    db, now = ctx.db, clock.now()
    if device is not None:
        await db.execute(
            update(LoginDevice).where(LoginDevice.id == device).values(last_used_at=now)
        )
        return None
    if notice_enabled(ctx.settings, Notice.NEW_DEVICE) and await devices.has_devices(
        db, account.id
    ):
        send_notice(
            ctx,
            Notice.NEW_DEVICE,
            to=account.email,
            username=account.username,
            ip=attempt.origin.ip,
            user_agent=attempt.origin.stored_user_agent,
        )
    token = new_token()
    db.add(
        LoginDevice(
            user_id=account.id, token_hash=hash_token(token), created_at=now, last_used_at=now
        )
    )
    await db.flush()
    return token


async def reauthenticate(
    ctx: Context, principal: Principal, *, password: str, attempt: Attempt
) -> None:
    """Mark the current session freshly authenticated (a wrong password counts as a failure)."""
    await verify_own_password(ctx, principal, password, attempt)
    await sessions.mark_reauthenticated(ctx.db, principal.session_id)
    await audit.record_event(
        ctx.db,
        EventType.REAUTH_SUCCEEDED,
        attempt.origin,
        actor_user_id=principal.user_id,
        target_type="session",
        target_id=principal.session_id,
    )


async def change_password(
    ctx: Context,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    attempt: Attempt,
) -> tuple[str, datetime]:
    """Set a new password, revoke every other session and rotate this one.

    Returns the current session's new token and its (unchanged) absolute deadline.
    """
    users_service.check_password_policy(
        new_password, username=principal.username, field="new_password"
    )
    await verify_own_password(
        ctx,
        principal,
        current_password,
        attempt,
        failure=lambda: BadRequest("Current password is incorrect"),
    )
    db, settings = ctx.db, ctx.settings
    await users_service.store_password(db, ctx.hasher, principal.user_id, new_password)
    await devices.forget_devices(db, principal.user_id)
    await sessions.revoke_user_sessions(
        db, settings, principal.user_id, except_session_id=principal.session_id
    )
    token = await sessions.rotate(db, principal.session_id, authenticated_at=clock.now())
    await audit.record_event(
        db,
        EventType.PASSWORD_CHANGED,
        attempt.origin,
        actor_user_id=principal.user_id,
        target_type="user",
        target_id=principal.user_id,
    )
    send_notice(
        ctx,
        Notice.PASSWORD_CHANGED,
        to=principal.email,
        username=principal.username,
        how="from your account settings",
    )
    return token, expiry.absolute_deadline(
        settings, principal.session_created_at, principal.absolute_expires_at
    )


async def register(
    ctx: Context, *, username: str, email: str, password: str, attempt: Attempt
) -> User:
    """Self sign-up as a member (the route answers 404 while the operator has it off).

    Every attempt takes a slot of the client's sign-up bucket first: a 409 confirms that a
    username or email is taken, so answers are rationed like password checks.
    """
    await ctx.throttle.acquire_registration(ctx.settings, client=attempt.client_key)
    user = await users_service.create_user(
        ctx.db, ctx.hasher, username=username, email=email, password=password
    )
    await audit.record_event(
        ctx.db,
        EventType.USER_REGISTERED,
        attempt.origin,
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        detail={"username": user.username},
    )
    await send_verification(ctx, user, user.email, change=False)
    return user
