"""The ``session_device`` cookie (the session cookie itself: :mod:`sessionary.sessions.cookies`)."""

from __future__ import annotations

from fastapi import Response

from sessionary.config import Settings

DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days


def set_device_cookie(response: Response, settings: Settings, name: str, token: str) -> None:
    """The ``session_device`` cookie: this browser has logged in as the account before."""
    response.set_cookie(
        name,
        token,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
