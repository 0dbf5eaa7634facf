"""The session cookie: HttpOnly, SameSite=Lax, Path=/, Secure unless turned off for plain-HTTP
development. These attributes also satisfy the ``__Host-`` prefix, should an operator use it."""

from __future__ import annotations

import math
from datetime import datetime

from fastapi import Response

from sessionary import clock
from sessionary.config import Settings


def set_session_cookie(
    response: Response, settings: Settings, token: str, expires_at: datetime
) -> None:
    """``Max-Age`` is the session's remaining absolute lifetime (the whole of it at login)."""
    remaining = math.ceil((expires_at - clock.now()).total_seconds())
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=max(0, remaining),
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        settings.session_cookie_name,
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
