"""The rules of user administration, checked the same for every actor (docs/security.md
"Authorization").

Setting roles needs ``roles:assign`` and a freshly re-authenticated cookie session; nobody
grants a permission they lack, nor changes, deactivates or deletes a user who holds one
(403); the last active admin is never demoted, deactivated or deleted (409). An
:class:`~sessionary.users.actors.Operator` holds every permission; the last-admin rule
binds them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.config import Settings
from sessionary.errors import Conflict, PermissionDenied
from sessionary.roles import service as roles_service
from sessionary.roles.models import RolePermission, UserRole
from sessionary.roles.permissions import ADMIN, MEMBER, Permission
from sessionary.users.actors import Actor, Operator
from sessionary.users.models import User
from sessionary.users.service import UnknownRole, unknown_roles


def check_may_assign(actor: Actor, settings: Settings) -> None:
    """``roles:assign`` and a password entered within the window (never through an API key)."""
    if isinstance(actor, Operator):
        return
    if Permission.ROLES_ASSIGN not in actor.permissions:
        raise PermissionDenied
    window = timedelta(seconds=settings.reauth_window)
    if actor.is_api_key or clock.now() - actor.authenticated_at > window:
        raise PermissionDenied("Reauthentication required")


async def checked_roles(db: AsyncSession, actor: Actor, names: Iterable[str]) -> list[str]:
    """Existing roles (422 otherwise) that grant nothing the actor lacks (403 otherwise)."""
    wanted = sorted(set(names))
    if missing := await unknown_roles(db, wanted):
        raise UnknownRole(f"Unknown role: {', '.join(missing)}")
    if not isinstance(actor, Operator):
        roles_service.check_grantable(actor, await roles_service.permissions_of_roles(db, wanted))
    return wanted


async def default_roles(db: AsyncSession, actor: Actor) -> list[str]:
    """``member`` when it holds nothing the creator lacks, else no role at all.

    The creator knows the new account's password, so a default role they could not grant
    would hand them its permissions (a ``users:write`` holder without API-key rights would
    gain them). Setting no role still needs only ``users:write`` (documented); the 201
    body shows ``roles: []`` and someone who may grant ``member`` assigns it later.
    """
    if isinstance(actor, Operator):
        return [MEMBER]
    if await roles_service.permissions_of_roles(db, [MEMBER]) - actor.permissions:
        return []
    return [MEMBER]


async def check_outranks(db: AsyncSession, actor: Actor, user_id: int) -> None:
    """Only someone holding every permission a user holds may change, deactivate or delete
    them (else a user manager could lock out or take over an admin)."""
    if isinstance(actor, Operator):
        return
    held = await db.scalars(
        select(RolePermission.permission)
        .join(UserRole, UserRole.role_name == RolePermission.role_name)
        .where(UserRole.user_id == user_id)
    )
    if set(held) - actor.permissions:
        raise PermissionDenied("The user holds permissions you do not")


async def check_not_last_admin(db: AsyncSession, user: User, roles: list[str]) -> None:
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
