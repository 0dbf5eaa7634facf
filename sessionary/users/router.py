"""The current user's own profile and password."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from sessionary.auth import service as auth_service
from sessionary.auth.dependencies import LoginAttempt
from sessionary.context import ContextDep
from sessionary.identity.dependencies import CurrentPrincipal, FreshPrincipal, SessionPrincipal
from sessionary.identity.origin import RequestOrigin
from sessionary.sessions.cookies import set_session_cookie
from sessionary.users import email_verification
from sessionary.users.schemas import (
    PasswordChange,
    ProtectedData,
    UserMe,
    UserMeUpdate,
    UserMeUpdated,
)

router = APIRouter(tags=["users"])


def _me(principal: CurrentPrincipal) -> UserMe:
    return UserMe(
        user_id=principal.user_id,
        username=principal.username,
        email=principal.email,
        email_verified=principal.email_verified,
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
    response_model=UserMeUpdated,
    responses={409: {"description": "Email already in use"}},
)
async def update_me(
    body: UserMeUpdate, principal: FreshPrincipal, ctx: ContextDep, origin: RequestOrigin
) -> UserMeUpdated:
    """Change my email (needs a password entered within the re-authentication window).

    A new address takes effect when the link mailed to it is opened (``pending_email``
    until then); a new spelling of the same address (its case) at once."""
    change = await email_verification.request_email_change(
        ctx, principal.user_id, body.email, origin
    )
    return UserMeUpdated(
        **_me(principal).model_dump(exclude={"email", "email_verified"}),
        email=change.user.email,
        email_verified=change.user.email_verified_at is not None,
        pending_email=change.pending,
    )


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
