"""The principal behind a request, the permission guard and the re-authentication guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param

from sessionary import clock
from sessionary.api_keys import service as api_keys_service
from sessionary.audit.dependencies import request_origin
from sessionary.auth import sessions
from sessionary.auth.principal import SESSION_REQUIRED, Principal
from sessionary.auth.service import Attempt
from sessionary.auth.throttle import LoginThrottle
from sessionary.core.client import client_bucket
from sessionary.core.dependencies import DATABASE_DOWN, get_database, get_settings
from sessionary.core.http import client_ip
from sessionary.core.openapi import answers
from sessionary.errors import NotAuthenticated, PermissionDenied
from sessionary.roles.permissions import Permission

# Our tokens are 43 characters; a cookie past this is refused before any lookup.
SESSION_COOKIE_MAX = 512
DEVICE_COOKIE = "session_device"


def session_token(request: Request) -> str | None:
    """The session cookie's value, or None when it is missing or over-long.

    A request with an ``Authorization`` header is authenticated by that header
    alone: its cookie is never read (so CSRF rules need not apply to it).
    """
    if "authorization" in request.headers:
        return None
    token = request.cookies.get(get_settings(request).session_cookie_name)
    if token is None or len(token) > SESSION_COOKIE_MAX:
        return None
    return token


@answers({401: "Not authenticated: no valid session cookie or API key", **DATABASE_DOWN})
class PrincipalScheme(SecurityBase):
    """The dependency that answers "who is calling", declared in OpenAPI as the API-key bearer
    scheme (so /docs can "Authorize"). One dependency, not a principal depending on a
    separate ``HTTPBearer``: every layer costs FastAPI work on every authenticated request."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="An API key: `Bearer sk_…`")
        self.scheme_name = "ApiKey"

    async def __call__(self, request: Request) -> Principal:
        """The authenticated principal: an API key when an ``Authorization`` header is sent
        (any scheme but a well-formed ``Bearer`` key is 401), else the session cookie; 401
        for a missing, unknown, expired or revoked credential."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, key = get_authorization_scheme_param(authorization)
            principal = (
                await api_keys_service.resolve(get_database(request), key)
                if scheme.lower() == "bearer" and key
                else None
            )
        else:
            principal = await sessions.resolve(
                get_database(request),
                get_settings(request),
                session_token(request),
                lambda: request_origin(request),
                getattr(request.app.state, "throttle", None),
            )
        if principal is None:
            raise NotAuthenticated
        return principal


get_principal = PrincipalScheme()


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through principals holding ``permission`` (else 403)."""

    async def guard(principal: CurrentPrincipal) -> Principal:
        if permission not in principal.permissions:
            raise PermissionDenied
        return principal

    guard.__name__ = f"require_{permission.value.replace(':', '_')}"
    return answers({403: f"Missing the {permission.value} permission"})(guard)


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


def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.throttle
    return throttle


@answers(
    {
        429: "Too many failed attempts; see Retry-After",
        503: "Throttle storage unavailable; see Retry-After",
    }
)
def login_attempt(request: Request) -> Attempt:
    cookie = request.cookies.get(DEVICE_COOKIE)
    return Attempt(
        origin=request_origin(request),
        client_key=client_bucket(client_ip(request)),
        device_token=cookie if cookie and len(cookie) <= SESSION_COOKIE_MAX else None,
    )


ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
LoginAttempt = Annotated[Attempt, Depends(login_attempt)]
