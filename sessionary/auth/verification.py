"""Checking a password under the brute-force throttle: the one path every password check takes.

The attempt takes its brute-force slots first (so a throttled client is refused even with the
right password, and a burst in flight checks no more passwords than the limits allow), the
credentials are read and verified before the unit's write transaction is used, a right
password gives the slots back, and a failure keeps them and is audited in a transaction of its
own (the request's is rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from sessionary.audit import service as audit
from sessionary.audit.repeats import record_repeated_event
from sessionary.audit.service import EventType
from sessionary.auth import devices
from sessionary.auth.models import LoginDevice
from sessionary.auth.throttle import Refused
from sessionary.context import Context
from sessionary.core.hot_reads import HotQuery
from sessionary.core.security import hash_token, is_well_formed_token
from sessionary.errors import InvalidCredentials, SessionaryError
from sessionary.identity.origin import Origin
from sessionary.identity.principal import Principal
from sessionary.users.models import User
from sessionary.users.usernames import username_key


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is trying, from where: what throttling and the audit log need."""

    origin: Origin
    client_key: str  # the client's throttle bucket (IP, or IPv6 /64)
    device_token: str | None = None  # the session_device cookie, if any


@dataclass(frozen=True, slots=True)
class Account:
    """The account a verified password belongs to, and a rehash of it when one is due."""

    id: int
    username: str
    email: str
    email_verified: bool
    new_hash: str | None = None


_CREDENTIALS = HotQuery(
    select(
        User.id,
        User.username,
        User.email,
        User.email_verified_at,
        User.password_hash,
        User.is_active,
    ).where(User.username_key == bindparam("username_key")),
    "credentials",
)
_DEVICE = HotQuery(
    select(LoginDevice.id)
    .join(User, User.id == LoginDevice.user_id)
    .where(
        LoginDevice.token_hash == bindparam("token_hash"),
        User.username_key == bindparam("username_key"),
        LoginDevice.last_used_at > bindparam("unused_since"),  # expired: no bucket of its own
    ),
    "login_device",
)


async def device_id(ctx: Context, token: str | None, key: str) -> int | None:
    """The device bucket of a browser that logged in as this account before."""
    if not token or not is_well_formed_token(token):
        return None
    since = devices.unused_since(ctx.settings)
    params = {"token_hash": hash_token(token), "username_key": key, "unused_since": since}
    rows = await ctx.database.fetch(_DEVICE, params)
    return int(rows[0][0]) if rows else None


async def verify_throttled(
    ctx: Context,
    *,
    username: str,
    password: str,
    attempt: Attempt,
    device: int | None,
    failure: Callable[[], SessionaryError] = InvalidCredentials,
) -> Account:
    """Exactly one argon2 verification; unknown user, wrong password and inactive user fail
    alike, with ``failure()``."""
    key = username_key(username)
    rows = await ctx.database.fetch(_CREDENTIALS, {"username_key": key})
    row = rows[0] if rows else None
    # Events name the account when it exists and are committed on their own (the request
    # rolls back).
    about: dict[str, Any] = {
        "target_type": "user" if row else None,
        "target_id": row.id if row else None,
        "detail": {"username": username},
    }
    try:
        slots = await ctx.throttle.acquire(
            ctx.settings, account=key, client=attempt.client_key, device_id=device
        )
    except Refused as refused:
        # One row per window per full bucket, however many refusals (repeats.py).
        await record_repeated_event(
            ctx.database,
            ctx.throttle,
            ctx.settings,
            EventType.LOGIN_THROTTLED,
            attempt.origin,
            bucket=refused.bucket,
            **about,
        )
        raise
    # A dummy hash for unknown users: the same work whoever is asked about.
    matches, new_hash = await ctx.hasher.verify(password, row.password_hash if row else None)
    if row is None or not matches or not row.is_active:
        # The slots stay taken: this was a failure.
        await audit.record_event_now(ctx.database, EventType.LOGIN_FAILED, attempt.origin, **about)
        raise failure()
    await ctx.throttle.release(slots)
    return Account(row.id, row.username, row.email, row.email_verified_at is not None, new_hash)


async def verify_own_password(
    ctx: Context,
    principal: Principal,
    password: str,
    attempt: Attempt,
    *,
    failure: Callable[[], SessionaryError] = InvalidCredentials,
) -> None:
    """A signed-in user proves it is still them: throttled and audited like a login."""
    await verify_throttled(
        ctx,
        username=principal.username,
        password=password,
        attempt=attempt,
        device=await device_id(ctx, attempt.device_token, username_key(principal.username)),
        failure=failure,
    )
