"""Security headers on every response (a pure ASGI middleware: no per-request task).

``Cache-Control: no-store`` goes on every response to a request that carried credentials:
an ``Authorization`` header, or the session cookie however it was spelled (any case of the
name, spaces around it, several ``Cookie`` headers, a value that is not a token), so a
response that read a session is never cached even when the session was refused.
``Strict-Transport-Security`` is sent only when ``SESSIONARY_HSTS`` is set.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sessionary.config import Settings
from sessionary.core.runtime import core_runtime

# The /docs and /redoc pages load their assets from jsDelivr and run one inline script.
DOCS_CSP = (
    "default-src 'self'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; "
    "worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def _carries_credentials(scope: Scope, settings: Settings) -> bool:
        # The cookie name is read per request: settings may change at run time (tests).
        cookie_name = settings.session_cookie_name.lower()
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"authorization":
                return True
            if name == b"cookie" and any(
                key.lower() == cookie_name for key in cookie_parser(value.decode("latin-1"))
            ):
                return True
        return False

    @staticmethod
    def _hsts(settings: Settings) -> str | None:
        if settings.hsts is None:
            return None
        value = f"max-age={settings.hsts}"
        return value + "; includeSubDomains" if settings.hsts_include_subdomains else value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = core_runtime(scope["app"]).settings
        credentialed = self._carries_credentials(scope, settings)
        hsts = self._hsts(settings)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if hsts is not None:
                    headers["Strict-Transport-Security"] = hsts
                # Anything about an authenticated user, or setting a cookie, is never cached.
                if credentialed or "set-cookie" in headers:
                    headers["Cache-Control"] = "no-store"
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", DOCS_CSP)
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
