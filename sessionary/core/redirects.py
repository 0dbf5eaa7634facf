"""The trailing-slash redirect, with a relative ``Location``.

``/login`` answers ``307 Location: /login/`` (and ``/protected_data`` likewise), as the seed
example's clients expect. Starlette's own redirect built an absolute URL from the ``Host``
header, so whoever controls that header (a proxy that passes it through, a poisoned cache)
chose where clients were sent. This one writes only the path and query, and never a
protocol-relative ``//host`` path.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import RedirectResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send


def _other_spelling(path: str) -> str:
    return path.rstrip("/") if path.endswith("/") else path + "/"


def install(app: FastAPI) -> None:
    """Replace the router's redirect with one that never names a host."""
    router = app.router
    not_found: ASGIApp = router.default
    router.redirect_slashes = False

    async def redirect_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path not in {"", "/"} and not path.startswith("//"):
            other = {**scope, "path": _other_spelling(path)}
            if any(route.matches(other)[0] is not Match.NONE for route in router.routes):
                location = other["path"]
                if query := scope.get("query_string", b""):
                    location += "?" + query.decode("latin-1")
                await RedirectResponse(location, status_code=307)(scope, receive, send)
                return
        await not_found(scope, receive, send)

    router.default = redirect_or_not_found
