"""Login, logout, my sessions, re-authentication and self-registration (password reset and
email verification: ``recovery_router.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status

from sessionary.audit import service as audit
from sessionary.audit.service import EventType
from sessionary.auth import service as auth_service
from sessionary.auth.cookies import set_device_cookie
from sessionary.auth.dependencies import DEVICE_COOKIE, LoginAttempt
from sessionary.auth.schemas import (
    LoginRequest,
    LoginResponse,
    ReauthRequest,
    RegisterRequest,
    SessionRead,
)
from sessionary.context import ContextDep
from sessionary.core.dependencies import DbSession, SettingsDep
from sessionary.core.inputs import ResourceId
from sessionary.core.openapi import answers
from sessionary.core.pagination import Page, PageParams, page_of
from sessionary.errors import NotFound
from sessionary.identity.dependencies import SessionPrincipal
from sessionary.identity.origin import RequestOrigin
from sessionary.sessions import expiry
from sessionary.sessions import service as sessions
from sessionary.sessions.cookies import clear_session_cookie, set_session_cookie
from sessionary.sessions.credential import session_token
from sessionary.users.schemas import UserRead, user_read

router = APIRouter(tags=["auth"])

_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Invalid credentials (the same answer for every cause)"},
    403: {
        "description": "Cross-site request refused; or, with SESSIONARY_REQUIRE_VERIFIED_EMAIL, "
        "the right password of an account whose address is not verified"
    },
    429: {"description": "Too many failed attempts; see Retry-After"},
    503: {"description": "Throttle storage unavailable; see Retry-After"},
}


@router.post("/auth/login", response_model=LoginResponse, responses=_LOGIN_ERRORS)
@router.post(
    "/login/", response_model=LoginResponse, responses=_LOGIN_ERRORS, summary="Login (alias)"
)
async def login(
    body: LoginRequest, response: Response, ctx: ContextDep, attempt: LoginAttempt
) -> LoginResponse:
    """Check a username and password; on success set the session cookie."""
    result = await auth_service.login(
        ctx, username=body.username, password=body.password, attempt=attempt
    )
    issued = result.session
    set_session_cookie(response, ctx.settings, issued.token, issued.absolute_expires_at)
    if result.device_token:
        set_device_cookie(response, ctx.settings, DEVICE_COOKIE, result.device_token)
    return LoginResponse(
        user_id=issued.user_id, username=issued.username, expires_at=issued.absolute_expires_at
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    request: Request, db: DbSession, settings: SettingsDep, origin: RequestOrigin
) -> Response:
    """Revoke the current session and clear the cookie; 204 even without a live session."""
    await sessions.revoke_token(db, session_token(request), origin)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.post(
    "/auth/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def logout_all(
    principal: SessionPrincipal, db: DbSession, settings: SettingsDep, origin: RequestOrigin
) -> Response:
    """Revoke every session of the current user, this one included."""
    await sessions.revoke_user_sessions(db, settings, principal.user_id)
    await audit.record_event(
        db,
        EventType.LOGOUT_ALL,
        origin,
        actor_user_id=principal.user_id,
        target_type="user",
        target_id=principal.user_id,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.get(
    "/auth/sessions",
    response_model=Page[SessionRead],
)
async def list_my_sessions(
    principal: SessionPrincipal, db: DbSession, settings: SettingsDep, page: PageParams
) -> Page[SessionRead]:
    """My live sessions, newest first."""
    rows = await sessions.list_sessions(db, settings, principal.user_id, page)
    items = [
        SessionRead(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=expiry.expires_at(row, settings),
            ip=row.ip,
            user_agent=row.user_agent,
            current=row.id == principal.session_id,
        )
        for row in rows
    ]
    return page_of(items, page)


@router.delete(
    "/auth/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "Not one of my live sessions"}},
)
async def revoke_my_session(
    session_id: ResourceId,
    principal: SessionPrincipal,
    db: DbSession,
    settings: SettingsDep,
    origin: RequestOrigin,
) -> Response:
    """Revoke one of my sessions."""
    await sessions.revoke_session(db, settings, principal, session_id, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/reauth",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={429: _LOGIN_ERRORS[429], 503: _LOGIN_ERRORS[503]},
)
async def reauthenticate(
    body: ReauthRequest, principal: SessionPrincipal, ctx: ContextDep, attempt: LoginAttempt
) -> Response:
    """Enter the password again: the session counts as freshly authenticated."""
    await auth_service.reauthenticate(ctx, principal, password=body.password, attempt=attempt)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@answers({404: "Registration is turned off"})
def registration_enabled(settings: SettingsDep) -> None:
    """Registration is always routed but answers 404 while turned off (before the body
    is even validated, so nothing shows the route exists)."""
    if not settings.allow_registration:
        raise NotFound("Not Found")


@router.post(
    "/auth/register",
    dependencies=[Depends(registration_enabled)],
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses={
        404: {"description": "Registration is turned off"},
        409: {"description": "Taken"},
        429: {"description": "Too many sign-ups from this client; see Retry-After"},
        503: _LOGIN_ERRORS[503],
    },
)
async def register(body: RegisterRequest, ctx: ContextDep, attempt: LoginAttempt) -> UserRead:
    """Sign up as a member (only when SESSIONARY_ALLOW_REGISTRATION=true)."""
    user = await auth_service.register(
        ctx,
        username=body.username,
        email=body.email,
        password=body.password,
        attempt=attempt,
    )
    return user_read(user, roles=["member"])
