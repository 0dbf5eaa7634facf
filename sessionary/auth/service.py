"""Password checks: login, re-authentication, password change, registration.

Every path that checks a password goes through :func:`_verify_throttled`: the
attempt takes its brute-force slots first (so a throttled client is refused even
with the right password, and a burst in flight checks no more passwords than the
limits allow), the credentials are read and verified before any write
transaction opens, a right password gives the slots back, and a failure keeps
them and is audited in a transaction of its own (the request's is rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.repeats import record_repeated_event
from sessionary.audit.service import EventType
from sessionary.auth import devices
from sessionary.auth.models import LoginDevice
from sessionary.auth.throttle import LoginThrottle, Refused
from sessionary.config import Settings
from sessionary.core.db import Database
from sessionary.core.hot_reads import HotQuery
from sessionary.core.security import PasswordHasher, hash_token, is_well_formed_token, new_token
from sessionary.errors import BadRequest, InvalidCredentials, SessionaryError
from sessionary.identity.origin import Origin
from sessionary.identity.principal import Principal
from sessionary.sessions import expiry
from sessionary.sessions import service as sessions
from sessionary.sessions.service import IssuedSession
from sessionary.users import service as users_service
from sessionary.users.models import User
from sessionary.users.usernames import username_key


@dataclass(frozen=True, slots=True)
class Attempt:
    """Who is trying, from where: what throttling and the audit log need."""

    origin: Origin
    client_key: str  # the client's throttle bucket (IP, or IPv6 /64)
    device_token: str | None = None  # the session_device cookie, if any


@dataclass(frozen=True, slots=True)
class LoggedIn:
    session: IssuedSession
    device_token: str | None  # a new session_device cookie to set, if one was issued


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    username: str
    password_hash: str
    is_active: bool


_CREDENTIALS = HotQuery(
    select(User.id, User.username, User.password_hash, User.is_active).where(
        User.username_key == bindparam("username_key")
    ),
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


async def _account(database: Database, key: str) -> _Account | None:
    rows = await database.fetch(_CREDENTIALS, {"username_key": key})
    if not rows:
        return None
    row = rows[0]
    return _Account(row.id, row.username, row.password_hash, row.is_active)


async def _device_id(
    database: Database, settings: Settings, token: str | None, key: str
) -> int | None:
    """The device bucket of a browser that logged in as this account before."""
    if not token or not is_well_formed_token(token):
        return None
    since = devices.unused_since(settings)
    params = {"token_hash": hash_token(token), "username_key": key, "unused_since": since}
    rows = await database.fetch(_DEVICE, params)
    return int(rows[0][0]) if rows else None


async def _verify_throttled(
    database: Database,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    settings: Settings,
    *,
    key: str,
    username: str,
    password: str,
    attempt: Attempt,
    device_id: int | None,
    failure: Callable[[], SessionaryError] = InvalidCredentials,
) -> tuple[_Account, str | None]:
    """Exactly one argon2 verification; returns the account and an upgraded hash if due."""
    account = await _account(database, key)
    # Events name the account when it exists and are committed on their own (the request
    # rolls back).
    about: dict[str, Any] = {
        "target_type": "user" if account else None,
        "target_id": account.id if account else None,
        "detail": {"username": username},
    }
    try:
        slots = await throttle.acquire(
            settings, account=key, client=attempt.client_key, device_id=device_id
        )
    except Refused as refused:
        # One row per window per full bucket, however many refusals (repeats.py).
        await record_repeated_event(
            database,
            throttle,
            settings,
            EventType.LOGIN_THROTTLED,
            attempt.origin,
            bucket=refused.bucket,
            **about,
        )
        raise
    # A dummy hash for unknown users: the same work whoever is asked about.
    matches, new_hash = await hasher.verify(password, account.password_hash if account else None)
    if account is None or not matches or not account.is_active:
        # The slots stay taken: this was a failure.
        await audit.record_event_now(database, EventType.LOGIN_FAILED, attempt.origin, **about)
        raise failure()
    await throttle.release(slots)
    return account, new_hash


async def login(
    db: AsyncSession,
    database: Database,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    settings: Settings,
    *,
    username: str,
    password: str,
    attempt: Attempt,
) -> LoggedIn:
    """Verify a password and open a new session (unknown user, wrong password and inactive
    user fail alike)."""
    key = username_key(username)
    device_id = await _device_id(database, settings, attempt.device_token, key)
    account, new_hash = await _verify_throttled(
        database,
        hasher,
        throttle,
        settings,
        key=key,
        username=username,
        password=password,
        attempt=attempt,
        device_id=device_id,
    )
    if new_hash is not None:
        await db.execute(update(User).where(User.id == account.id).values(password_hash=new_hash))
    issued = await sessions.open_session(
        db, settings, user_id=account.id, username=account.username, origin=attempt.origin
    )
    device_token = await _remember_device(db, account.id, device_id)
    await audit.record_event(
        db,
        EventType.LOGIN_SUCCEEDED,
        attempt.origin,
        actor_user_id=account.id,
        target_type="session",
        target_id=issued.session_id,
    )
    return LoggedIn(issued, device_token)


async def _remember_device(db: AsyncSession, user_id: int, device_id: int | None) -> str | None:
    now = clock.now()
    if device_id is not None:
        await db.execute(
            update(LoginDevice).where(LoginDevice.id == device_id).values(last_used_at=now)
        )
        return None
    token = new_token()
    db.add(
        LoginDevice(user_id=user_id, token_hash=hash_token(token), created_at=now, last_used_at=now)
    )
    await db.flush()
    return token


async def _verify_own_password(
    database: Database,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    settings: Settings,
    principal: Principal,
    password: str,
    attempt: Attempt,
    *,
    failure: Callable[[], SessionaryError] = InvalidCredentials,
) -> None:
    """A signed-in user proves it is still them: throttled and audited like a login."""
    key = username_key(principal.username)
    await _verify_throttled(
        database,
        hasher,
        throttle,
        settings,
        key=key,
        username=principal.username,
        password=password,
        attempt=attempt,
        device_id=await _device_id(database, settings, attempt.device_token, key),
        failure=failure,
    )


async def reauthenticate(
    db: AsyncSession,
    database: Database,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    settings: Settings,
    principal: Principal,
    *,
    password: str,
    attempt: Attempt,
) -> None:
    """Mark the current session freshly authenticated (a wrong password counts as a failure)."""
    await _verify_own_password(database, hasher, throttle, settings, principal, password, attempt)
    await sessions.mark_reauthenticated(db, principal.session_id)
    await audit.record_event(
        db,
        EventType.REAUTH_SUCCEEDED,
        attempt.origin,
        actor_user_id=principal.user_id,
        target_type="session",
        target_id=principal.session_id,
    )


async def change_password(
    db: AsyncSession,
    database: Database,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    settings: Settings,
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
    await _verify_own_password(
        database,
        hasher,
        throttle,
        settings,
        principal,
        current_password,
        attempt,
        failure=lambda: BadRequest("Current password is incorrect"),
    )
    await users_service.store_password(db, hasher, principal.user_id, new_password)
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
    return token, expiry.absolute_deadline(
        settings, principal.session_created_at, principal.absolute_expires_at
    )


async def register(
    db: AsyncSession,
    hasher: PasswordHasher,
    throttle: LoginThrottle,
    settings: Settings,
    *,
    username: str,
    email: str,
    password: str,
    attempt: Attempt,
) -> User:
    """Self sign-up as a member (the route answers 404 while the operator has it off).

    Every attempt takes a slot of the client's sign-up bucket first: a 409 confirms that a
    username or email is taken, so answers are rationed like password checks.
    """
    await throttle.acquire_registration(settings, client=attempt.client_key)
    user = await users_service.create_user(
        db, hasher, username=username, email=email, password=password
    )
    await audit.record_event(
        db,
        EventType.USER_REGISTERED,
        attempt.origin,
        actor_user_id=user.id,
        target_type="user",
        target_id=user.id,
        detail={"username": user.username},
    )
    return user
