"""Requests that mail a link to an address (a password reset, a new verification link),
answered alike whoever the address belongs to.

The route checks the address's syntax (422), takes the throttle's slots for the address and
the client (429), and answers 202. Looking the address up and mailing happen after the
response is sent, in a transaction of their own (:func:`run_after_response`). So the answer,
and all the work done before it, are the same for an active account's address, an inactive
one's and no one's: neither the status, the body nor the time to answer tells them apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from fastapi import BackgroundTasks
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from sessionary.auth.verification import Attempt
from sessionary.context import Context
from sessionary.runtime import Runtime
from sessionary.users.usernames import email_key, normalize_email


class MailRequestAccepted(BaseModel):
    """The one answer to a request that may mail a link."""

    message: str = "If the address belongs to an account, a mail is on its way."


async def accept(
    ctx: Context,
    email: str,
    attempt: Attempt,
    later: BackgroundTasks,
    *,
    purpose: str,
    then: Callable[[Context, str], Awaitable[None]],
) -> MailRequestAccepted:
    """Check the address's syntax (else 422), take a slot of the address's and the client's
    mail buckets (else 429), and queue ``then(unit, address_key)`` for after the response."""
    key = email_key(normalize_email(email))
    await ctx.throttle.acquire_mail_request(
        ctx.settings, purpose=purpose, address=key, client=attempt.client_key
    )
    later.add_task(run_after_response, ctx.runtime, lambda unit: then(unit, key), what=purpose)
    return MailRequestAccepted()


async def run_after_response(
    runtime: Runtime, work: Callable[[Context], Awaitable[None]], *, what: str
) -> None:
    """``work`` in a transaction of its own, committed at the end. The client already has
    its answer, so a database failure is logged (``mail_request.failed``), not raised."""
    try:
        async with runtime.database.write() as db:
            await work(Context(db, runtime))
            await db.commit()
    except SQLAlchemyError as exc:
        # Looked up per call, like the mail logger: rare, and a cached logger would escape a
        # reconfiguration (and structlog.testing.capture_logs).
        structlog.get_logger(__name__).error(
            "mail_request.failed", purpose=what, error=type(exc).__name__
        )
