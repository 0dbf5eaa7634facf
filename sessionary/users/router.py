"""The current user's own profile and password."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from sessionary.auth import service as auth_service
from sessionary.auth.dependencies import LoginAttempt
from sessionary.context import ContextDep
from sessionary.core.dependencies import DbSession
from sessionary.identity.dependencies import CurrentPrincipal, FreshPrincipal, SessionPrincipal
from sessionary.identity.origin import RequestOrigin
from sessionary.sessions.cookies import set_session_cookie
from sessionary.users import service as users_service
from sessionary.users.schemas import PasswordChange, ProtectedData, UserMe, UserMeUpdate

router = APIRouter(tags=["users"])


def _me(principal: CurrentPrincipal, email: str | None = None) -> UserMe:
    return UserMe(
        user_id=principal.user_id,
        username=principal.username,
        email=email or principal.email,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        is_active=principal.is_active,
        created_at=principal.created_at,
    )


@router.get(
    "/users/me",
    response_model=UserMe,
)
async def read_me(principal: CurrentPrincipal) -> UserMe:
    """The current user with roles and effective permissions."""
    return _me(principal)


@router.patch(
    "/users/me",
    response_model=UserMe,
    responses={409: {"description": "Email already in use"}},
)
async def update_me(
    body: UserMeUpdate, principal: FreshPrincipal, db: DbSession, origin: RequestOrigin
) -> UserMe:
    """Change my email (needs a password entered within the re-authentication window)."""
    user = await users_service.update_email(db, principal.user_id, body.email, origin)
    return _me(principal, email=user.email)


@router.post(
    "/users/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        400: {"description": "Current password is incorrect"},
        422: {"description": "The new password breaks the policy (the detail says why)"},
        429: {"description": "Too many failed attempts"},
    },
)
async def change_password(
    body: PasswordChange, principal: SessionPrincipal, ctx: ContextDep, attempt: LoginAttempt
) -> Response:
    """Change my password: my other sessions end, this one continues with a new token."""
    token, deadline = await auth_service.change_password(
        ctx,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        attempt=attempt,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    set_session_cookie(response, ctx.settings, token, deadline)
    return response


@router.get(
    "/protected_data/",
    response_model=ProtectedData,
)
async def protected_data(principal: CurrentPrincipal) -> ProtectedData:
    """The original example's protected route: who am I."""
    return ProtectedData(
        user_id=principal.user_id, username=principal.username, email=principal.email
    )
