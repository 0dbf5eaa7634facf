"""My API keys: create (needs a freshly re-authenticated cookie session), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from sessionary.api_keys import service as api_keys_service
from sessionary.api_keys.models import ApiKey
from sessionary.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyRead
from sessionary.context import ContextDep
from sessionary.core.dependencies import DbSession
from sessionary.core.inputs import ResourceId
from sessionary.core.pagination import PageParams, page_of
from sessionary.identity.dependencies import FreshPrincipal, require
from sessionary.identity.origin import RequestOrigin
from sessionary.identity.principal import Principal
from sessionary.roles.permissions import Permission

router = APIRouter(tags=["api keys"])

KeyWriter = Annotated[Principal, Depends(require(Permission.API_KEYS_WRITE))]


def _read(row: ApiKey) -> ApiKeyRead:
    return ApiKeyRead.model_validate(row, from_attributes=True)


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    dependencies=[Depends(require(Permission.API_KEYS_WRITE))],
    responses={403: {"description": "A scope the caller does not hold"}},
)
async def create_api_key(
    body: ApiKeyCreate, principal: FreshPrincipal, ctx: ContextDep, origin: RequestOrigin
) -> ApiKeyCreated:
    """Create a key acting with ``scopes`` (the secret ``key`` is shown this once; the owner
    gets a notice by mail)."""
    issued = await api_keys_service.issue_api_key(
        ctx, principal, origin, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    row = issued.row
    return ApiKeyCreated(
        id=row.id,
        key=issued.key,
        prefix=row.prefix,
        name=row.name,
        scopes=row.scopes,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


@router.get(
    "/api-keys",
    response_model=ApiKeyPage,
)
async def list_api_keys(principal: KeyWriter, db: DbSession, page: PageParams) -> ApiKeyPage:
    """My keys that are not revoked, by id (never the secret)."""
    rows = await api_keys_service.list_keys(db, principal, page)
    return page_of([_read(row) for row in rows], page)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "No such key of mine"}},
)
async def revoke_api_key(
    key_id: ResourceId, principal: KeyWriter, db: DbSession, origin: RequestOrigin
) -> Response:
    """Revoke one of my keys; it stops working at once."""
    await api_keys_service.revoke_api_key(db, principal, key_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
