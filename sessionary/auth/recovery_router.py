"""Getting back in and proving an address: password reset and email verification.

The two routes that mail a link answer 202 with one body whoever the address belongs to,
and do the lookup after the response (:mod:`sessionary.auth.mail_requests`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Response, status

from sessionary.auth import mail_requests, password_reset
from sessionary.auth.dependencies import LoginAttempt
from sessionary.auth.mail_requests import MailRequestAccepted
from sessionary.auth.schemas import EmailRequest, EmailVerification, PasswordResetConfirm
from sessionary.context import ContextDep
from sessionary.identity.origin import RequestOrigin
from sessionary.users import email_verification

router = APIRouter(tags=["auth"])

_BAD_TOKEN: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid or expired token (the same answer for unknown, used and expired)"}
}
_MAIL_REQUEST: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many requests for this address or from this client; see Retry-After"}
}


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MailRequestAccepted,
    responses=_MAIL_REQUEST,
)
async def request_password_reset(
    body: EmailRequest, ctx: ContextDep, attempt: LoginAttempt, later: BackgroundTasks
) -> MailRequestAccepted:
    """Mail a password reset link to the address, if it is an active account's (the answer
    is the same either way)."""
    return await mail_requests.accept(
        ctx,
        body.email,
        attempt,
        later,
        purpose="reset",
        then=lambda unit, key: password_reset.mail_reset_link_to(unit, key, attempt.origin),
    )


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **_BAD_TOKEN,
        422: {"description": "The new password breaks the policy (the token still works)"},
    },
)
async def confirm_password_reset(
    body: PasswordResetConfirm, ctx: ContextDep, origin: RequestOrigin
) -> Response:
    """Set a new password with a mailed token: every session of the account ends."""
    await password_reset.reset_password(ctx, body.token, body.new_password, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_BAD_TOKEN, 409: {"description": "The new address is another account's now"}},
)
async def verify_email(body: EmailVerification, ctx: ContextDep, origin: RequestOrigin) -> Response:
    """Prove an address with a mailed token (a new address takes effect now)."""
    await email_verification.verify_email(ctx, body.token, origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MailRequestAccepted,
    responses=_MAIL_REQUEST,
)
async def resend_verification(
    body: EmailRequest, ctx: ContextDep, attempt: LoginAttempt, later: BackgroundTasks
) -> MailRequestAccepted:
    """Mail a new verification link to the address, if it is an active account's that is not
    verified yet (the answer is the same either way)."""
    return await mail_requests.accept(
        ctx, body.email, attempt, later, purpose="verify", then=email_verification.resend_to
    )
