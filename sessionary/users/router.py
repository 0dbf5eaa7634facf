"""The current user's own views."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sessionary.auth.dependencies import CurrentPrincipal
from sessionary.users.schemas import ProtectedData, UserMe

router = APIRouter(tags=["users"])

_UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {401: {"description": "No valid session"}}


@router.get("/users/me", response_model=UserMe, responses=_UNAUTHENTICATED)
async def read_me(principal: CurrentPrincipal) -> UserMe:
    """The current user with roles and effective permissions."""
    return UserMe(
        user_id=principal.user_id,
        username=principal.username,
        email=principal.email,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        is_active=principal.is_active,
        created_at=principal.created_at,
    )


@router.get("/protected_data/", response_model=ProtectedData, responses=_UNAUTHENTICATED)
async def protected_data(principal: CurrentPrincipal) -> ProtectedData:
    """The original example's protected route: who am I."""
    return ProtectedData(
        user_id=principal.user_id, username=principal.username, email=principal.email
    )
