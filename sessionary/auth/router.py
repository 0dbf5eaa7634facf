"""Login and logout."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from sessionary.auth import service as auth_service
from sessionary.auth.cookies import clear_session_cookie, set_session_cookie
from sessionary.auth.dependencies import session_token
from sessionary.auth.schemas import LoginRequest, LoginResponse
from sessionary.core.dependencies import DatabaseDep, DbSession, HasherDep, SettingsDep
from sessionary.core.http import client_ip

router = APIRouter(tags=["auth"])

_INVALID: dict[int | str, dict[str, Any]] = {
    401: {"description": "Invalid credentials (same answer for every cause)"}
}


@router.post("/auth/login", response_model=LoginResponse, responses=_INVALID)
@router.post("/login/", response_model=LoginResponse, responses=_INVALID, summary="Login (alias)")
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: DbSession,
    database: DatabaseDep,
    hasher: HasherDep,
    settings: SettingsDep,
) -> LoginResponse:
    """Check a username and password; on success set the session cookie."""
    issued = await auth_service.login(
        db,
        database,
        hasher,
        settings,
        username=body.username,
        password=body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    set_session_cookie(response, settings, issued.token, issued.absolute_expires_at)
    return LoginResponse(
        user_id=issued.user_id, username=issued.username, expires_at=issued.absolute_expires_at
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, db: DbSession, settings: SettingsDep) -> Response:
    """Revoke the current session and clear the cookie; 204 even without a live session."""
    await auth_service.revoke_token(db, session_token(request))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response
