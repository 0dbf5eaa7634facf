"""Roles: list, create, change and delete named permission sets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from sessionary.core.dependencies import DbSession
from sessionary.core.inputs import Text
from sessionary.core.pagination import PageParams, page_of
from sessionary.identity.dependencies import require
from sessionary.identity.origin import RequestOrigin
from sessionary.identity.principal import Principal
from sessionary.roles import service as roles_service
from sessionary.roles.models import Role
from sessionary.roles.permissions import Permission
from sessionary.roles.schemas import RoleCreate, RolePage, RoleRead, RoleUpdate

router = APIRouter(tags=["roles"])

RolesReader = Annotated[Principal, Depends(require(Permission.ROLES_READ))]
RolesWriter = Annotated[Principal, Depends(require(Permission.ROLES_WRITE))]

_GRANTING: dict[int | str, dict[str, Any]] = {
    403: {"description": "Granting a permission the caller lacks"}
}
_ONE_ROLE: dict[int | str, dict[str, Any]] = {404: {"description": "No such role"}}


def _read(role: Role, permissions: list[str]) -> RoleRead:
    return RoleRead(name=role.name, permissions=permissions, builtin=role.is_builtin)


@router.get(
    "/roles",
    response_model=RolePage,
)
async def list_roles(_: RolesReader, db: DbSession, page: PageParams) -> RolePage:
    """Every role with its permissions, ordered by name (a role's key)."""
    rows = await roles_service.list_page(db, page)
    return page_of([_read(role, permissions) for role, permissions in rows], page)


@router.post(
    "/roles",
    status_code=status.HTTP_201_CREATED,
    response_model=RoleRead,
    responses={
        **_GRANTING,
        409: {"description": "A role with this name exists"},
        422: {"description": "Invalid name or unknown permission"},
    },
)
async def create_role(
    body: RoleCreate, principal: RolesWriter, db: DbSession, origin: RequestOrigin
) -> RoleRead:
    """Create a custom role from permissions the caller holds."""
    role, permissions = await roles_service.add_role(
        db, principal, origin, name=body.name, permissions=body.permissions
    )
    return _read(role, permissions)


@router.patch(
    "/roles/{name}",
    response_model=RoleRead,
    responses={
        **_ONE_ROLE,
        **_GRANTING,
        409: {"description": "The admin role is immutable"},
        422: {"description": "Unknown permission"},
    },
)
async def update_role(
    name: Text, body: RoleUpdate, principal: RolesWriter, db: DbSession, origin: RequestOrigin
) -> RoleRead:
    """Replace a role's permissions (not admin's); its holders see the change at once."""
    role, permissions = await roles_service.change_role(
        db, principal, origin, name, body.permissions
    )
    return _read(role, permissions)


@router.delete(
    "/roles/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_ONE_ROLE, 409: {"description": "Built-in roles cannot be deleted"}},
)
async def delete_role(
    name: Text, principal: RolesWriter, db: DbSession, origin: RequestOrigin
) -> Response:
    """Delete a custom role and every assignment of it."""
    await roles_service.remove_role(db, principal, origin, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
