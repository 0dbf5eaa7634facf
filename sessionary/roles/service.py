"""Roles: named sets of permissions from the catalogue."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.errors import BadRequest, Conflict
from sessionary.roles.models import PermissionRecord, Role, RolePermission

ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class UnknownPermission(BadRequest):
    pass


async def unknown_permissions(db: AsyncSession, names: Iterable[str]) -> list[str]:
    wanted = set(names)
    if not wanted:
        return []
    known = set(
        await db.scalars(select(PermissionRecord.name).where(PermissionRecord.name.in_(wanted)))
    )
    return sorted(wanted - known)


async def create_role(db: AsyncSession, *, name: str, permissions: Iterable[str]) -> Role:
    """A custom role. Raises BadRequest (name), UnknownPermission or Conflict."""
    if not ROLE_NAME.fullmatch(name):
        raise BadRequest("Role name must match ^[a-z][a-z0-9_-]{0,63}$")
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
