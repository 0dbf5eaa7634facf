"""The principal behind a request, the permission guard and the re-authentication guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from sessionary import clock
from sessionary.core.dependencies import DATABASE_DOWN, get_settings
from sessionary.core.openapi import answers
from sessionary.core.runtime import installed
from sessionary.errors import NotAuthenticated, PermissionDenied
from sessionary.identity.credentials import CredentialResolver, authenticate
from sessionary.identity.permissions import GUARDS
from sessionary.identity.principal import SESSION_REQUIRED, Principal


@answers({401: "Not authenticated: no valid session cookie or API key", **DATABASE_DOWN})
class PrincipalScheme(SecurityBase):
    """The dependency that answers "who is calling", declared in OpenAPI as the API-key bearer
    scheme (so /docs can "Authorize"). One dependency, not a principal depending on a
    separate ``HTTPBearer``: every layer costs FastAPI work on every authenticated request."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="An API key: `Bearer sk_…`")
        self.scheme_name = "ApiKey"

    async def __call__(self, request: Request) -> Principal:
        """The authenticated principal, by the app's credential resolvers (an API key when an
        ``Authorization`` header is sent, else the session cookie); 401 for a missing,
        unknown, expired or revoked credential."""
        resolvers: Sequence[CredentialResolver] = installed(request.app).credentials
        principal = await authenticate(resolvers, request)
        if principal is None:
            raise NotAuthenticated
        return principal


get_principal = PrincipalScheme()


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through principals holding ``permission`` (else 403).

    ``permission`` is a member of a :class:`~sessionary.identity.permissions.PermissionSet`
    or its string; the app's startup fails if nobody declared it.
    """
    name = str(permission)

    async def guard(principal: CurrentPrincipal) -> Principal:
        if name not in principal.permissions:
            raise PermissionDenied
        return principal

    guard.__name__ = f"require_{name.replace(':', '_')}"
    setattr(guard, GUARDS, name)
    return answers({403: f"Missing the {name} permission"})(guard)


@answers({403: "Reauthentication required: a cookie session that entered its password lately"})
async def require_fresh(request: Request, principal: CurrentPrincipal) -> Principal:
    """A cookie session that entered a password within the re-authentication window.

    An API key never qualifies: it cannot enter a password.
    """
    if principal.is_api_key:
        raise PermissionDenied("Reauthentication required")
    window = timedelta(seconds=get_settings(request).reauth_window)
    if clock.now() - principal.authenticated_at > window:
        raise PermissionDenied("Reauthentication required")
    return principal


FreshPrincipal = Annotated[Principal, Depends(require_fresh)]


@answers({403: "A cookie session is required (an API key is refused)"})
async def require_session(principal: CurrentPrincipal) -> Principal:
    """A principal acting through a cookie session (an API key is 403): for routes about the
    current session itself (re-authentication, password change, the session list)."""
    if principal.is_api_key:
        raise PermissionDenied(SESSION_REQUIRED)
    return principal


SessionPrincipal = Annotated[Principal, Depends(require_session)]
