"""Accounts: creation, passwords, activation, and their administration.

Administration rules (SPEC §3): setting roles needs ``roles:assign`` and a freshly
re-authenticated cookie session; nobody grants a permission they lack, nor changes,
deactivates or deletes a user who holds one (403); the last active admin is never demoted,
deactivated or deleted (409).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType, Origin
from sessionary.auth.principal import Principal
from sessionary.config import Settings
from sessionary.core.pagination import PageRequest
from sessionary.core.security import PasswordHasher
from sessionary.errors import Conflict, NotFound, PermissionDenied
from sessionary.roles import service as roles_service
from sessionary.roles.models import RolePermission, UserRole
from sessionary.roles.permissions import ADMIN, MEMBER, Permission
from sessionary.users.models import User
from sessionary.users.service import (
    UnknownRole,
    create_user,
    deactivate,
    role_names,
    set_email,
    unknown_roles,
)

UserWithRoles = tuple[User, list[str]]


async def _roles_by_user(db: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    rows = await db.execute(
        select(UserRole.user_id, UserRole.role_name)
        .where(UserRole.user_id.in_(user_ids))
        .order_by(UserRole.role_name)
    )
    for user_id, name in rows:
        found[user_id].append(name)
    return found


async def list_page(db: AsyncSession, page: PageRequest) -> list[UserWithRoles]:
    """Users by id, ``limit + 1`` of them, with their role names."""
    users = list(
        await db.scalars(select(User).order_by(User.id).offset(page.offset).limit(page.limit + 1))
    )
    roles = await _roles_by_user(db, [user.id for user in users])
    return [(user, roles[user.id]) for user in users]


async def get_user(db: AsyncSession, user_id: int) -> UserWithRoles:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user, await role_names(db, user_id)


def _check_may_assign(actor: Principal, settings: Settings) -> None:
    """``roles:assign`` and a password entered within the window (never through an API key)."""
    if Permission.ROLES_ASSIGN not in actor.permissions:
        raise PermissionDenied
    window = timedelta(seconds=settings.reauth_window)
    if actor.is_api_key or clock.now() - actor.authenticated_at > window:
        raise PermissionDenied("Reauthentication required")


async def _checked_roles(db: AsyncSession, actor: Principal, names: Iterable[str]) -> list[str]:
    wanted = sorted(set(names))
    if missing := await unknown_roles(db, wanted):
        raise UnknownRole(f"Unknown role: {', '.join(missing)}")
    roles_service.check_grantable(actor, await roles_service.permissions_of_roles(db, wanted))
    return wanted


async def _default_roles(db: AsyncSession, actor: Principal) -> list[str]:
    """``member`` when it holds nothing the creator lacks, else no role at all.

    The creator knows the new account's password, so a default role they could not grant
    would hand them its permissions (a ``users:write`` holder without API-key rights would
    gain them). Setting no role still needs only ``users:write``, as SPEC §3 says; the 201
    body shows ``roles: []`` and someone who may grant ``member`` assigns it later.
    """
    if await roles_service.permissions_of_roles(db, [MEMBER]) - actor.permissions:
        return []
    return [MEMBER]


async def _check_outranks(db: AsyncSession, actor: Principal, user_id: int) -> None:
    """Only someone holding every permission a user holds may change, deactivate or delete
    them (else a user manager could lock out or take over an admin)."""
    held = await db.scalars(
        select(RolePermission.permission)
        .join(UserRole, UserRole.role_name == RolePermission.role_name)
        .where(UserRole.user_id == user_id)
    )
    if set(held) - actor.permissions:
        raise PermissionDenied("The user holds permissions you do not")


async def _check_not_last_admin(db: AsyncSession, user: User, roles: list[str]) -> None:
    if not user.is_active or ADMIN not in roles:
        return
    active_admins = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_name == ADMIN, User.is_active.is_(True))
    )
    # Lock every active admin (in id order: no deadlocks) so two concurrent demotions
    # serialise on PostgreSQL; then count in a new statement, whose READ COMMITTED snapshot
    # sees what the other transaction committed. SQLite writes one transaction at a time.
    await db.execute(active_admins.order_by(User.id).with_for_update(of=User))
    others = await db.scalar(
        select(func.count()).select_from(active_admins.where(User.id != user.id).subquery())
    )
    if not others:
        raise Conflict("The last active admin cannot be demoted, deactivated or deleted")


async def _record(
    db: AsyncSession,
    type_: EventType,
    actor: Principal,
    origin: Origin,
    user: User,
    detail: dict[str, Any],
) -> None:
    await audit.record_event(
        db,
        type_,
        origin,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        target_type="user",
        target_id=user.id,
        detail={"username": user.username, **detail},
    )


async def create_user_as(
    db: AsyncSession,
    hasher: PasswordHasher,
    settings: Settings,
    actor: Principal,
    origin: Origin,
    *,
    fields: dict[str, Any],
) -> UserWithRoles:
    """``POST /users``: the given roles (which need the right to assign them), else the
    default role when the creator could grant it (:func:`_default_roles`)."""
    if fields.get("roles") is not None:
        _check_may_assign(actor, settings)
        roles = await _checked_roles(db, actor, fields["roles"])
    else:
        roles = await _default_roles(db, actor)
    user = await create_user(
        db,
        hasher,
        username=fields["username"],
        email=fields["email"],
        password=fields["password"],
        roles=roles,
    )
    await _record(db, EventType.USER_CREATED, actor, origin, user, {"roles": roles})
    return user, roles


async def update_user_as(
    db: AsyncSession,
    settings: Settings,
    actor: Principal,
    origin: Origin,
    user_id: int,
    changes: dict[str, Any],
) -> UserWithRoles:
    """``PATCH /users/{id}``: ``email``, ``is_active`` and ``roles``, each only when given."""
    if changes.get("roles") is not None:
        _check_may_assign(actor, settings)
    user, roles = await get_user(db, user_id)
    await _check_outranks(db, actor, user_id)
    new_roles = roles
    if changes.get("roles") is not None:
        new_roles = await _checked_roles(db, actor, changes["roles"])
    demoted = ADMIN in roles and ADMIN not in new_roles
    if demoted or changes.get("is_active") is False:
        await _check_not_last_admin(db, user, roles)
    if changes.get("email") is not None and changes["email"] != user.email:
        await set_email(db, user, changes["email"])
        await _record(db, EventType.USER_UPDATED, actor, origin, user, {"fields": ["email"]})
    if new_roles != roles:
        await _replace_roles(db, user.id, roles, new_roles)
        detail = {"before": roles, "after": new_roles}
        await _record(db, EventType.USER_ROLES_CHANGED, actor, origin, user, detail)
    if changes.get("is_active") is not None and changes["is_active"] != user.is_active:
        await _set_active(db, settings, actor, origin, user, is_active=changes["is_active"])
    return user, new_roles


async def _replace_roles(
    db: AsyncSession, user_id: int, before: list[str], after: list[str]
) -> None:
    gone = set(before) - set(after)
    await db.execute(
        delete(UserRole).where(UserRole.user_id == user_id, UserRole.role_name.in_(gone))
    )
    db.add_all(UserRole(user_id=user_id, role_name=name) for name in set(after) - set(before))
    await db.flush()


async def _set_active(
    db: AsyncSession,
    settings: Settings,
    actor: Principal,
    origin: Origin,
    user: User,
    *,
    is_active: bool,
) -> None:
    if is_active:
        user.is_active, user.updated_at = True, clock.now()
        await db.flush()
        await _record(db, EventType.USER_UPDATED, actor, origin, user, {"fields": ["is_active"]})
        return
    revoked = await deactivate(db, settings, user)
    # deactivate() writes with a Core UPDATE; keep the loaded row in step for the response.
    user.is_active = False
    detail = {"sessions_revoked": revoked}
    await _record(db, EventType.USER_DEACTIVATED, actor, origin, user, detail)


async def delete_user(db: AsyncSession, actor: Principal, origin: Origin, user_id: int) -> None:
    """``DELETE /users/{id}``: sessions, keys, role assignments and notes go with it (the
    foreign keys cascade); the audit log, which has no foreign keys, keeps its rows."""
    user, roles = await get_user(db, user_id)
    await _check_outranks(db, actor, user_id)
    await _check_not_last_admin(db, user, roles)
    await _record(db, EventType.USER_DELETED, actor, origin, user, {"roles": roles})
    await db.execute(delete(User).where(User.id == user_id))
    db.expunge(user)
