"""Request size limits, as a pure ASGI middleware.

- A header (name + value) over ``settings.max_header_bytes`` is 431.
- A body over ``settings.max_body_bytes`` is 413. A declared ``Content-Length`` is judged before
  a byte is read. A body of unknown length (chunked, HTTP/2 without ``Content-Length``) is read
  ahead up to the limit and handed to the app only once it is known to fit, so the endpoint
  never runs for an oversized body and never sees a truncated one.
- A body that outgrows its own ``Content-Length`` (servers prevent this; we do not rely on it)
  makes the app's read fail with a 413 ``HTTPException``, which FastAPI passes through as is.

Settings are read per request from the app's runtime (``app.state.sessionary``).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionary.core.runtime import core_runtime

HEADER_TOO_LARGE = "Request header too large"
BODY_TOO_LARGE = "Request body too large"


def _declared_length(scope: Scope) -> int | None:
    """The ``Content-Length`` when every such header holds the same number, else None."""
    values = {
        value.strip() for name, value in scope["headers"] if name.lower() == b"content-length"
    }
    if len(values) != 1:
        return None
    (value,) = values
    return int(value) if value.isdigit() else None


def _oversized_header(scope: Scope, limit: int) -> bool:
    return any(len(name) + len(value) > limit for name, value in scope["headers"])


def _refusal(status_code: int, detail: str) -> JSONResponse:
    # An unread body leaves the connection unusable for a next request: say so.
    headers = {"Connection": "close"} if status_code == 413 else None
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


def _counting(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(status_code=413, detail=BODY_TOO_LARGE)
        return message

    return counted


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        # Then the server's own receive, which reports the disconnect.
        return pending.pop(0) if pending else await receive()

    return replay


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = core_runtime(scope["app"]).settings
        if _oversized_header(scope, settings.max_header_bytes):
            await _refusal(431, HEADER_TOO_LARGE)(scope, receive, send)
            return
        limit = settings.max_body_bytes
        declared = _declared_length(scope)
        if declared is not None:
            if declared > limit:
                await _refusal(413, BODY_TOO_LARGE)(scope, receive, send)
            else:
                await self.app(scope, _counting(receive, limit), send)
            return
        await self._read_ahead(scope, receive, send, limit)

    async def _read_ahead(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body arrived: nobody to answer
            size += len(message.get("body", b""))
            if size > limit:
                await _refusal(413, BODY_TOO_LARGE)(scope, receive, send)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replaying(messages, receive), send)
