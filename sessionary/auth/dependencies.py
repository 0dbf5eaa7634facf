"""What the password routes need per request: the throttle and the attempt's origin.

The principal dependencies moved to :mod:`sessionary.identity.dependencies`; their names
stay importable from here for one release (``docs/testing.md`` showed this path).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sessionary.auth.throttle import LoginThrottle
from sessionary.auth.verification import Attempt
from sessionary.core.client import client_bucket
from sessionary.core.http import client_ip
from sessionary.core.openapi import answers
from sessionary.identity.dependencies import (
    CurrentPrincipal,
    FreshPrincipal,
    SessionPrincipal,
    get_principal,
    require,
    require_fresh,
    require_session,
)
from sessionary.identity.origin import request_origin
from sessionary.runtime import runtime_of
from sessionary.sessions.credential import SESSION_COOKIE_MAX

__all__ = [
    "DEVICE_COOKIE",
    "CurrentPrincipal",
    "FreshPrincipal",
    "LoginAttempt",
    "SessionPrincipal",
    "ThrottleDep",
    "get_principal",
    "get_throttle",
    "login_attempt",
    "require",
    "require_fresh",
    "require_session",
]

DEVICE_COOKIE = "session_device"


def get_throttle(request: Request) -> LoginThrottle:
    return runtime_of(request.app).throttle


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
