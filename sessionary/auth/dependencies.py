"""The principal behind a request and the permission guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from sessionary.auth import service as auth_service
from sessionary.auth.principal import Principal
from sessionary.core.dependencies import get_database, get_settings
from sessionary.errors import NotAuthenticated, PermissionDenied
from sessionary.roles.permissions import Permission

# Our tokens are 43 characters; a cookie past this is refused before any lookup.
SESSION_COOKIE_MAX = 512


def session_token(request: Request) -> str | None:
    """The session cookie's value, or None when it is missing or over-long."""
    token = request.cookies.get(get_settings(request).session_cookie_name)
    if token is None or len(token) > SESSION_COOKIE_MAX:
        return None
    return token


async def get_principal(request: Request) -> Principal:
    """The authenticated principal; 401 for a missing, unknown, expired or revoked session."""
    principal = await auth_service.resolve(
        get_database(request), get_settings(request), session_token(request)
    )
    if principal is None:
        raise NotAuthenticated
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through principals holding ``permission`` (else 403)."""

    async def guard(principal: CurrentPrincipal) -> Principal:
        if permission not in principal.permissions:
            raise PermissionDenied
        return principal

    guard.__name__ = f"require_{permission.value.replace(':', '_')}"
    return guard
