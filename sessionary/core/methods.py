"""``405 Method Not Allowed`` with an ``Allow`` header naming every method of the path.

A path served by several routes (``GET /notes`` and ``POST /notes`` are two) used to answer an
unlisted method with the ``Allow`` of the first route that matched the path alone: ``GET``,
though ``POST`` works too. This handler lists them all, as RFC 9110 asks.
"""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match


def allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this request's path."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return sorted(methods)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    exc = cast(HTTPException, exc)
    if exc.status_code == 405 and (methods := allowed_methods(request)):
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)


def register_method_handler(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _handle_http_exception)
