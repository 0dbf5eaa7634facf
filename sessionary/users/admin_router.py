"""User administration: list, read, create, change and delete any account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from starlette.convertors import StringConvertor, register_url_convertor

from sessionary.context import ContextDep
from sessionary.core.dependencies import DbSession
from sessionary.core.inputs import ResourceId
from sessionary.core.pagination import PageParams, page_of
from sessionary.identity.dependencies import require
from sessionary.identity.origin import RequestOrigin
from sessionary.identity.principal import Principal
from sessionary.roles.permissions import Permission
from sessionary.users import admin as users_admin
from sessionary.users.schemas import UserCreate, UserPage, UserRead, UserUpdate, user_read

router = APIRouter(tags=["users"])


class _AnyButMe(StringConvertor):
    """A ``{user_id}`` segment other than ``me``: ``/users/me`` belongs to the self-service
    routes, so ``DELETE /users/me`` is a 405 naming their methods, not a 422 about an id. Any
    other segment still reaches the route, whose ``ResourceId`` says 404 or 422."""

    regex = "(?!me$)[^/]+"


register_url_convertor("user_id", _AnyButMe())

UsersReader = Annotated[Principal, Depends(require(Permission.USERS_READ))]
UsersWriter = Annotated[Principal, Depends(require(Permission.USERS_WRITE))]
UsersDeleter = Annotated[Principal, Depends(require(Permission.USERS_DELETE))]

_ONE_USER: dict[int | str, dict[str, Any]] = {404: {"description": "No such user"}}
_GRANTING = (
    "Granting a permission the caller lacks, or setting roles without a fresh "
    "re-authentication (Reauthentication required)"
)
_ASSIGNING: dict[int | str, dict[str, Any]] = {
    403: {"description": _GRANTING},
    409: {"description": "Username or email taken, or the last active admin"},
    422: {"description": "Unknown role, or the password breaks the policy"},
}
_OUTRANKED = "The user outranks the caller"


@router.get(
    "/users",
    response_model=UserPage,
)
async def list_users(_: UsersReader, db: DbSession, page: PageParams) -> UserPage:
    """Every user with their roles, by id."""
    rows = await users_admin.list_page(db, page)
    return page_of([user_read(user, roles) for user, roles in rows], page)


@router.get("/users/{user_id:user_id}", response_model=UserRead, responses=_ONE_USER)
async def read_user(user_id: ResourceId, _: UsersReader, db: DbSession) -> UserRead:
    """One user with their roles."""
    return user_read(*await users_admin.get_user(db, user_id))


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=_ASSIGNING,
)
async def create_user(
    body: UserCreate, principal: UsersWriter, ctx: ContextDep, origin: RequestOrigin
) -> UserRead:
    """Create a user with the given roles (roles:assign + fresh re-auth); without roles, a
    member if the caller holds every permission member grants, else a user with no role."""
    user, roles = await users_admin.create_user_as(ctx, principal, origin, fields=body.model_dump())
    return user_read(user, roles)


@router.patch(
    "/users/{user_id:user_id}",
    response_model=UserRead,
    responses={**_ONE_USER, **_ASSIGNING, 403: {"description": f"{_GRANTING}; or {_OUTRANKED}"}},
)
async def update_user(
    user_id: ResourceId,
    body: UserUpdate,
    principal: UsersWriter,
    ctx: ContextDep,
    origin: RequestOrigin,
) -> UserRead:
    """Change a user's email, activity or roles; deactivation ends all their sessions."""
    user, roles = await users_admin.update_user_as(
        ctx, principal, origin, user_id, body.model_dump(exclude_unset=True)
    )
    return user_read(user, roles)


@router.delete(
    "/users/{user_id:user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_ONE_USER,
        403: {"description": _OUTRANKED},
        409: {"description": "The last active admin"},
    },
)
async def delete_user(
    user_id: ResourceId, principal: UsersDeleter, ctx: ContextDep, origin: RequestOrigin
) -> Response:
    """Delete a user with their sessions, API keys, role assignments and notes."""
    await users_admin.delete_user(ctx, principal, origin, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
