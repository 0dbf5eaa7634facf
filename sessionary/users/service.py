"""Accounts: creation, passwords, activation — the building blocks, unaudited.

The verbs an actor performs (``/users``, ``sessionary users``), which check the rules and
record audit events, are in :mod:`sessionary.users.admin` and :mod:`sessionary.users.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.auth import devices
from sessionary.config import Settings
from sessionary.core.password_policy import policy_violation
from sessionary.core.security import PasswordHasher
from sessionary.errors import Conflict, InvalidInput, NotFound
from sessionary.roles.models import Role, UserRole
from sessionary.roles.permissions import MEMBER
from sessionary.sessions import service as sessions_service
from sessionary.users import tokens
from sessionary.users.models import User
from sessionary.users.usernames import email_key, normalize_email, normalize_username, username_key


class WeakPassword(InvalidInput):
    """The password policy said no (422, with the reason)."""

    field = "password"


class UnknownRole(InvalidInput):
    """A role name that does not exist, in an admin request body (422)."""

    field = "roles"


def check_password_policy(password: str, *, username: str | None, field: str | None = None) -> None:
    if reason := policy_violation(password, username=username):
        raise WeakPassword(reason, field=field)


async def unknown_roles(db: AsyncSession, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    if not wanted:
        return []
    found = set((await db.scalars(select(Role.name).where(Role.name.in_(wanted)))).all())
    return sorted(wanted - found)


async def create_user(
    db: AsyncSession,
    hasher: PasswordHasher,
    *,
    username: str,
    email: str,
    password: str,
    roles: Iterable[str] = (MEMBER,),
    enforce_policy: bool = True,
    password_hash: str | None = None,
    email_verified: bool = False,
) -> User:
    """Create an account with the given roles. Raises BadRequest, NotFound (role) or Conflict.
    ``email_verified`` marks the address proven (an administrator's or operator's word)."""
    shown = normalize_username(username)
    email = normalize_email(email)
    if enforce_policy:
        check_password_policy(password, username=shown)
    role_names = sorted(set(roles))
    if missing := await unknown_roles(db, role_names):
        raise NotFound(f"Unknown role: {', '.join(missing)}")
    key = username_key(shown)
    if await db.scalar(select(func.count()).where(User.username_key == key)):
        raise Conflict("Username already taken")
    if await db.scalar(select(func.count()).where(User.email_key == email_key(email))):
        raise Conflict("Email already in use")
    now = clock.now()
    user = User(
        username=shown,
        username_key=key,
        email=email,
        email_key=email_key(email),
        password_hash=password_hash or await hasher.hash(password),
        is_active=True,
        email_verified_at=now if email_verified else None,
        created_at=now,
        updated_at=now,
    )
    db.add(user)
    try:
        await db.flush()  # a concurrent twin still loses on the unique constraint
    except IntegrityError:
        raise Conflict("Username or email already in use") from None
    db.add_all(UserRole(user_id=user.id, role_name=name) for name in role_names)
    await db.flush()
    return user


async def get_by_username(db: AsyncSession, username: str) -> User:
    user = await db.scalar(select(User).where(User.username_key == username_key(username)))
    if user is None:
        raise NotFound("User not found")
    return user


async def role_names(db: AsyncSession, user_id: int) -> list[str]:
    return list(
        (
            await db.scalars(
                select(UserRole.role_name)
                .where(UserRole.user_id == user_id)
                .order_by(UserRole.role_name)
            )
        ).all()
    )


async def store_password(
    db: AsyncSession, hasher: PasswordHasher, user_id: int, password: str
) -> None:
    """Write a new password hash. Every mailed token of the user stops working: a reset link
    or a pending address change sent before it must not outlive the password it knew."""
    await db.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=await hasher.hash(password), updated_at=clock.now())
    )
    await tokens.forget(db, user_id)


async def set_password(
    db: AsyncSession, settings: Settings, hasher: PasswordHasher, user: User, password: str
) -> int:
    """Set a new password (policy enforced), revoke every session of the user and forget
    their login devices; returns how many sessions were revoked."""
    check_password_policy(password, username=user.username)
    await store_password(db, hasher, user.id, password)
    await devices.forget_devices(db, user.id)
    return await sessions_service.revoke_user_sessions(db, settings, user.id)


async def deactivate(db: AsyncSession, settings: Settings, user: User) -> int:
    """Deactivate an account, forget its login devices and mailed tokens and revoke its
    sessions; returns how many sessions were revoked."""
    await db.execute(
        update(User).where(User.id == user.id).values(is_active=False, updated_at=clock.now())
    )
    await devices.forget_devices(db, user.id)
    await tokens.forget(db, user.id)
    return await sessions_service.revoke_user_sessions(db, settings, user.id)


DEMO_USERS = ({"username": "user123", "password": "secretpassword", "email": "user@example.com"},)


@dataclass(frozen=True, slots=True)
class DemoResult:
    created: list[str]
    present: list[str]
    policy_bypassed: dict[str, str]


async def load_demo_users(db: AsyncSession, hasher: PasswordHasher) -> DemoResult:
    """The original example's user (a member), unless present. Demo data may bypass the
    password policy; the result says where it actually did."""
    created: list[str] = []
    present: list[str] = []
    bypassed: dict[str, str] = {}
    for demo in DEMO_USERS:
        key = username_key(demo["username"])
        if await db.scalar(select(func.count()).where(User.username_key == key)):
            present.append(demo["username"])
            continue
        if reason := policy_violation(demo["password"], username=demo["username"]):
            bypassed[demo["username"]] = reason
        await create_user(
            db,
            hasher,
            username=demo["username"],
            email=demo["email"],
            password=demo["password"],
            roles=[MEMBER],
            enforce_policy=False,
            email_verified=True,  # demo data: no mail to prove it
        )
        created.append(demo["username"])
    return DemoResult(created, present, bypassed)


async def set_email(db: AsyncSession, user: User, email: str, *, verified: bool = False) -> bool:
    """Change an account's email (409 when another account has it); True when it is a new
    address, not only a new spelling of the same one.

    A new address counts as verified only when ``verified`` says so, and every link mailed
    before stops working: a reset link sent to the old address must not outlive it.
    """
    shown = normalize_email(email)
    key = email_key(shown)
    moved = key != user.email_key
    if moved and await db.scalar(
        select(func.count()).where(User.email_key == key, User.id != user.id)
    ):
        raise Conflict("Email already in use")
    user.email, user.email_key, user.updated_at = shown, key, clock.now()
    if moved:
        user.email_verified_at = clock.now() if verified else None
        await tokens.forget(db, user.id)
    try:
        await db.flush()
    except IntegrityError:
        raise Conflict("Email already in use") from None
    return moved
