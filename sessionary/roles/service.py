"""Roles: named sets of permissions from the catalogue.

The escalation rule lives here: a principal may only add or take away permissions it holds
itself. ``admin`` is immutable and built-in roles cannot be deleted (409: the request is
allowed, the role's state forbids it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.core.pagination import PageRequest
from sessionary.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sessionary.identity.origin import Origin
from sessionary.identity.principal import Principal
from sessionary.roles.models import PermissionRecord, Role, RolePermission, UserRole
from sessionary.roles.permissions import ADMIN

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class UnknownPermission(InvalidInput):
    """A permission outside the catalogue (422)."""

    field = "permissions"


async def unknown_permissions(db: AsyncSession, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    if not wanted:
        return []
    known = set(
        await db.scalars(select(PermissionRecord.name).where(PermissionRecord.name.in_(wanted)))
    )
    return sorted(wanted - known)


def check_grantable(actor: Principal, permissions: Iterable[str]) -> None:
    """Nobody grants (or takes away) a permission they do not hold."""
    if lacking := sorted(set(permissions) - actor.permissions):
        raise PermissionDenied(f"Cannot grant permissions you do not hold: {', '.join(lacking)}")


async def create_role(db: AsyncSession, *, name: str, permissions: Iterable[str]) -> Role:
    """A custom role. Raises InvalidInput (name), UnknownPermission or Conflict."""
    if not ROLE_NAME.fullmatch(name):
        raise InvalidInput("Role name must match ^[a-z][a-z0-9_-]{0,63}$", field="name")
    granted = sorted(set(permissions))
    if missing := await unknown_permissions(db, granted):
        raise UnknownPermission(f"Unknown permission: {', '.join(missing)}")
    if await db.scalar(select(func.count()).where(Role.name == name)):
        raise Conflict("Role already exists")
    role = Role(name=name, is_builtin=False)
    db.add(role)
    await db.flush()
    db.add_all(RolePermission(role_name=name, permission=permission) for permission in granted)
    await db.flush()
    return role


async def permissions_of(db: AsyncSession, name: str) -> list[str]:
    return list(
        await db.scalars(
            select(RolePermission.permission)
            .where(RolePermission.role_name == name)
            .order_by(RolePermission.permission)
        )
    )


async def permissions_of_roles(db: AsyncSession, names: Iterable[str]) -> set[str]:
    wanted = set(names)
    if not wanted:
        return set()
    return set(
        await db.scalars(
            select(RolePermission.permission).where(RolePermission.role_name.in_(wanted))
        )
    )


async def _permission_map(db: AsyncSession, names: Sequence[str]) -> dict[str, list[str]]:
    granted: dict[str, list[str]] = {name: [] for name in names}
    rows = await db.execute(
        select(RolePermission.role_name, RolePermission.permission)
        .where(RolePermission.role_name.in_(names))
        .order_by(RolePermission.permission)
    )
    for role_name, permission in rows:
        granted[role_name].append(permission)
    return granted


async def list_page(db: AsyncSession, page: PageRequest) -> list[tuple[Role, list[str]]]:
    """Roles ordered by name (their key: roles have no id), ``limit + 1`` of them."""
    roles = list(await db.scalars(page.window(select(Role).order_by(Role.name))))
    granted = await _permission_map(db, [role.name for role in roles])
    return [(role, granted[role.name]) for role in roles]


async def get_role(db: AsyncSession, name: str) -> Role:
    role = await db.get(Role, name)
    if role is None:
        raise NotFound("Role not found")
    return role


async def add_role(
    db: AsyncSession, actor: Principal, origin: Origin, *, name: str, permissions: Sequence[str]
) -> tuple[Role, list[str]]:
    """``POST /roles``: 422 unknown permission, 403 one the actor lacks, 409 name taken."""
    if missing := await unknown_permissions(db, permissions):
        raise UnknownPermission(f"Unknown permission: {', '.join(missing)}")
    check_grantable(actor, permissions)
    role = await create_role(db, name=name, permissions=permissions)
    granted = sorted(set(permissions))
    await _record(db, EventType.ROLE_CREATED, actor, origin, name, {"permissions": granted})
    return role, granted


async def change_role(
    db: AsyncSession, actor: Principal, origin: Origin, name: str, permissions: Sequence[str]
) -> tuple[Role, list[str]]:
    """``PATCH /roles/{name}``: replace its permissions (``admin`` is immutable: 409)."""
    role = await get_role(db, name)
    if role.name == ADMIN:
        raise Conflict("The admin role is immutable")
    if missing := await unknown_permissions(db, permissions):
        raise UnknownPermission(f"Unknown permission: {', '.join(missing)}")
    before = set(await permissions_of(db, name))
    after = set(permissions)
    check_grantable(actor, before ^ after)
    await db.execute(
        delete(RolePermission).where(
            RolePermission.role_name == name, RolePermission.permission.in_(before - after)
        )
    )
    db.add_all(RolePermission(role_name=name, permission=p) for p in sorted(after - before))
    await db.flush()
    detail = {"added": sorted(after - before), "removed": sorted(before - after)}
    await _record(db, EventType.ROLE_UPDATED, actor, origin, name, detail)
    return role, sorted(after)


async def remove_role(db: AsyncSession, actor: Principal, origin: Origin, name: str) -> None:
    """``DELETE /roles/{name}``: built-in roles stay (409); assignments go with the role."""
    role = await get_role(db, name)
    if role.is_builtin:
        raise Conflict("Built-in roles cannot be deleted")
    granted = await permissions_of(db, name)
    # Deleting a role takes its permissions away from its holders: the same rule as granting.
    check_grantable(actor, granted)
    holders = await db.scalar(select(func.count()).where(UserRole.role_name == name))
    # The foreign keys cascade to user_roles and role_permissions on both engines.
    await db.execute(delete(Role).where(Role.name == name))
    detail = {"permissions": granted, "assignments_removed": int(holders or 0)}
    await _record(db, EventType.ROLE_DELETED, actor, origin, name, detail)


async def _record(
    db: AsyncSession,
    type_: EventType,
    actor: Principal,
    origin: Origin,
    name: str,
    detail: Mapping[str, object],
) -> None:
    await audit.record_event(
        db,
        type_,
        origin,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        target_type="role",
        target_id=name,
        detail={"name": name, **detail},
    )
