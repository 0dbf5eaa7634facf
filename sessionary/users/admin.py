"""Administrative verbs on accounts, by an actor: a principal through the API (``/users``)
or an operator at the command line (``sessionary users …``, ``sessionary sessions revoke``).

Each verb checks the rules (:mod:`sessionary.users.rules`) and records its own audit event,
so both doors act alike; who acted is told by :mod:`sessionary.users.actors`. A verb takes
the unit's :class:`~sessionary.context.Context`; the reads below it, the transaction alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.context import Context
from sessionary.core.pagination import PageRequest
from sessionary.errors import NotFound
from sessionary.identity.origin import Origin
from sessionary.mail.notices import Notice, send_notice
from sessionary.roles.models import UserRole
from sessionary.roles.permissions import ADMIN
from sessionary.sessions import service as sessions_service
from sessionary.users import rules
from sessionary.users import service as users_service
from sessionary.users.actors import Actor, Operator, audit_actor, audit_via
from sessionary.users.email_verification import send_verification
from sessionary.users.models import User

UserWithRoles = tuple[User, list[str]]


@dataclass(frozen=True, slots=True)
class ActivityChange:
    """What :func:`set_active` did: ``changed`` is False when the user already was so."""

    changed: bool
    sessions_revoked: int = 0


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
    users = list(await db.scalars(page.window(select(User).order_by(User.id))))
    roles = await _roles_by_user(db, [user.id for user in users])
    return [(user, roles[user.id]) for user in users]


async def get_user(db: AsyncSession, user_id: int) -> UserWithRoles:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user, await users_service.role_names(db, user_id)


async def _record(
    db: AsyncSession,
    type_: EventType,
    actor: Actor,
    origin: Origin,
    user: User,
    detail: dict[str, Any],
) -> None:
    await audit.record_event(
        db,
        type_,
        origin,
        **audit_actor(actor),
        target_type="user",
        target_id=user.id,
        detail={"username": user.username, **detail, **audit_via(actor)},
    )


async def create_user_as(
    ctx: Context, actor: Actor, origin: Origin, *, fields: dict[str, Any]
) -> UserWithRoles:
    """``POST /users``: the given roles (which need the right to assign them), else the
    default role when the creator could grant it (:func:`rules.default_roles`)."""
    db = ctx.db
    if fields.get("roles") is not None:
        rules.check_may_assign(actor, ctx.settings)
        roles = await rules.checked_roles(db, actor, fields["roles"])
    else:
        roles = await rules.default_roles(db, actor)
    user = await users_service.create_user(
        db,
        ctx.hasher,
        username=fields["username"],
        email=fields["email"],
        password=fields["password"],
        roles=roles,
        email_verified=bool(fields.get("email_verified")),
    )
    await _record(db, EventType.USER_CREATED, actor, origin, user, {"roles": roles})
    if user.email_verified_at is None:
        await send_verification(ctx, user, user.email, change=False)
    return user, roles


async def update_user_as(
    ctx: Context, actor: Actor, origin: Origin, user_id: int, changes: dict[str, Any]
) -> UserWithRoles:
    """``PATCH /users/{id}``: ``email``, ``is_active`` and ``roles``, each only when given."""
    db = ctx.db
    if changes.get("roles") is not None:
        rules.check_may_assign(actor, ctx.settings)
    user, roles = await get_user(db, user_id)
    await rules.check_outranks(db, actor, user_id)
    new_roles = roles
    if changes.get("roles") is not None:
        new_roles = await rules.checked_roles(db, actor, changes["roles"])
    demoted = ADMIN in roles and ADMIN not in new_roles
    if demoted or changes.get("is_active") is False:
        await rules.check_not_last_admin(db, user, roles)
    await _update_email(ctx, actor, origin, user, changes)
    if new_roles != roles:
        await _replace_roles(db, user.id, roles, new_roles)
        detail = {"before": roles, "after": new_roles}
        await _record(db, EventType.USER_ROLES_CHANGED, actor, origin, user, detail)
    if changes.get("is_active") is not None and changes["is_active"] != user.is_active:
        await _switch_active(ctx, actor, origin, user, is_active=changes["is_active"])
    return user, new_roles


async def _update_email(
    ctx: Context, actor: Actor, origin: Origin, user: User, changes: dict[str, Any]
) -> None:
    """An administrator's new address applies at once: the old one is told, the new one is
    mailed a verification link unless ``email_verified`` vouches for it."""
    vouched = changes.get("email_verified")
    fields: list[str] = []
    old = user.email
    if changes.get("email") is not None and changes["email"] != user.email:
        fields.append("email")
        if await users_service.set_email(ctx.db, user, changes["email"], verified=vouched is True):
            send_notice(
                ctx, Notice.EMAIL_CHANGED, to=old, username=user.username, new_email=user.email
            )
            if vouched is not True:
                await send_verification(ctx, user, user.email, change=False)
            vouched = None  # set_email decided
    if vouched is not None and vouched != (user.email_verified_at is not None):
        fields.append("email_verified")
        user.email_verified_at = clock.now() if vouched else None
        await ctx.db.flush()
    if fields:
        await _record(ctx.db, EventType.USER_UPDATED, actor, origin, user, {"fields": fields})


async def _replace_roles(
    db: AsyncSession, user_id: int, before: list[str], after: list[str]
) -> None:
    gone = set(before) - set(after)
    await db.execute(
        delete(UserRole).where(UserRole.user_id == user_id, UserRole.role_name.in_(gone))
    )
    db.add_all(UserRole(user_id=user_id, role_name=name) for name in set(after) - set(before))
    await db.flush()


async def set_active(
    ctx: Context, actor: Actor, origin: Origin, user_id: int, *, is_active: bool
) -> ActivityChange:
    """Activate or deactivate a user (``sessionary users activate|deactivate``); nothing
    happens, and nothing is recorded, when they already are so."""
    db = ctx.db
    user, roles = await get_user(db, user_id)
    await rules.check_outranks(db, actor, user_id)
    if user.is_active == is_active:
        return ActivityChange(changed=False)
    if not is_active:
        await rules.check_not_last_admin(db, user, roles)
    revoked = await _switch_active(ctx, actor, origin, user, is_active=is_active)
    return ActivityChange(changed=True, sessions_revoked=revoked)


async def _switch_active(
    ctx: Context, actor: Actor, origin: Origin, user: User, *, is_active: bool
) -> int:
    """Flip ``is_active`` (rules already checked); returns the sessions a deactivation ended."""
    db = ctx.db
    if is_active:
        user.is_active, user.updated_at = True, clock.now()
        await db.flush()
        await _record(db, EventType.USER_UPDATED, actor, origin, user, {"fields": ["is_active"]})
        return 0
    revoked = await users_service.deactivate(db, ctx.settings, user)
    # deactivate() writes with a Core UPDATE; keep the loaded row in step for the response.
    user.is_active = False
    detail = {"sessions_revoked": revoked}
    await _record(db, EventType.USER_DEACTIVATED, actor, origin, user, detail)
    return revoked


async def set_password_as(
    ctx: Context, actor: Actor, origin: Origin, user_id: int, password: str
) -> int:
    """Set someone's password (policy enforced), ending their sessions and remembered
    devices; recorded as ``password.changed``. Returns the sessions revoked."""
    db = ctx.db
    user, _ = await get_user(db, user_id)
    await rules.check_outranks(db, actor, user_id)
    revoked = await users_service.set_password(db, ctx.settings, ctx.hasher, user, password)
    detail = {"sessions_revoked": revoked}
    await _record(db, EventType.PASSWORD_CHANGED, actor, origin, user, detail)
    how = "by an operator" if isinstance(actor, Operator) else "by an administrator"
    send_notice(ctx, Notice.PASSWORD_CHANGED, to=user.email, username=user.username, how=how)
    return revoked


async def revoke_sessions_as(ctx: Context, actor: Actor, origin: Origin, user_id: int) -> int:
    """End every live session of a user, recorded as ``logout_all`` (what the user's own
    ``POST /auth/logout-all`` records). Returns how many."""
    db = ctx.db
    user, _ = await get_user(db, user_id)
    await rules.check_outranks(db, actor, user_id)
    revoked = await sessions_service.revoke_user_sessions(db, ctx.settings, user.id)
    detail = {"sessions_revoked": revoked}
    await _record(db, EventType.LOGOUT_ALL, actor, origin, user, detail)
    return revoked


async def delete_user(ctx: Context, actor: Actor, origin: Origin, user_id: int) -> None:
    """``DELETE /users/{id}``: sessions, keys, role assignments and notes go with it (the
    foreign keys cascade); the audit log, which has no foreign keys, keeps its rows."""
    db = ctx.db
    user, roles = await get_user(db, user_id)
    await rules.check_outranks(db, actor, user_id)
    await rules.check_not_last_admin(db, user, roles)
    await _record(db, EventType.USER_DELETED, actor, origin, user, {"roles": roles})
    await db.execute(delete(User).where(User.id == user_id))
    db.expunge(user)
