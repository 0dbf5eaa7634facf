"""CSRF protection by origin checking (docs/security.md "Requests from browsers"), as a pure ASGI
middleware.

Checked: a ``POST``/``PUT``/``PATCH``/``DELETE`` that carries the session cookie, and always the
login and sign-up routes (login CSRF: a forged login signs the victim into the attacker's
account, so it needs no cookie to do harm). A request with an ``Authorization`` header is
authenticated by that header alone, which a cross-site page cannot set: it is exempt.

A checked request passes when its ``Origin`` is trusted; without ``Origin``, when its
``Referer``'s origin is; with neither, unless ``Sec-Fetch-Site`` says ``cross-site`` or
``same-site``. No header at all is a non-browser client, which passes. Trusted: the request's
own scheme and ``Host``, ``SESSIONARY_TRUSTED_ORIGINS`` and ``SESSIONARY_CORS_ORIGINS``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sessionary.config import Settings
from sessionary.core.client import resolve_client
from sessionary.core.runtime import core_runtime

log = structlog.get_logger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The login and sign-up routes, as mounted without a prefix; ``install`` prefixes them.
# Compared without a trailing slash, so /login and /login/ are both covered.
LOGIN_PATHS = frozenset({"/auth/login", "/login", "/auth/register"})
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})
DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED = "Cross-site request refused"


def normalise_origin(value: str, *, strict: bool = True) -> str | None:
    """``scheme://host[:port]``, lower-cased, without a default port; None when malformed.

    ``strict`` (an ``Origin`` header, a configured origin) refuses anything beyond the origin;
    otherwise (a ``Referer``) the path, query and fragment are dropped.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if not scheme or not host or parts.username is not None or parts.password is not None:
        return None
    if strict and (parts.path not in {"", "/"} or parts.query or parts.fragment):
        return None
    if ":" in host:
        host = f"[{host}]"
    suffix = "" if port is None or port == DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{host}{suffix}"


def _configured_origins(settings: Settings) -> frozenset[str]:
    origins = (
        normalise_origin(item) for item in [*settings.trusted_origins, *settings.cors_origins]
    )
    return frozenset(origin for origin in origins if origin is not None)


def _own_origin(scope: Scope, headers: Headers, settings: Settings) -> str | None:
    scheme = resolve_client(scope, settings).scheme
    host = headers.get("host")
    if host is None:
        server = scope.get("server")
        if not server:
            return None
        name, port = server
        host = f"[{name}]:{port}" if ":" in str(name) else f"{name}:{port}"
    return normalise_origin(f"{scheme}://{host}")


class CSRFMiddleware:
    """``always_checked``: paths (without a trailing slash) checked even without a cookie."""

    def __init__(self, app: ASGIApp, always_checked: frozenset[str] = LOGIN_PATHS) -> None:
        self.app = app
        self.always_checked = always_checked
        # Derived from the settings object in use; rebuilt when a test swaps it.
        self._configured: tuple[Settings, frozenset[str]] | None = None

    def _trusted(self, scope: Scope, headers: Headers, settings: Settings) -> frozenset[str]:
        cached = self._configured
        if cached is None or cached[0] is not settings:
            cached = self._configured = (settings, _configured_origins(settings))
        own = _own_origin(scope, headers, settings)
        return cached[1] if own is None else cached[1] | {own}

    def _needs_check(self, scope: Scope, headers: Headers, settings: Settings) -> bool:
        if scope["method"] not in UNSAFE_METHODS or "authorization" in headers:
            return False
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        if path.rstrip("/") in self.always_checked:
            return True
        name = settings.session_cookie_name
        return any(name in cookie_parser(value) for value in headers.getlist("cookie"))

    def _is_trusted(self, scope: Scope, headers: Headers, settings: Settings) -> bool:
        if origins := headers.getlist("origin"):
            trusted = self._trusted(scope, headers, settings)
            # "null" (sandboxed frames, some redirects) is malformed here, so never trusted.
            return all(normalise_origin(origin) in trusted for origin in origins)
        if referers := headers.getlist("referer"):
            trusted = self._trusted(scope, headers, settings)
            return all(normalise_origin(url, strict=False) in trusted for url in referers)
        return headers.get("sec-fetch-site", "").strip().lower() not in CROSS_SITE_FETCHES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = core_runtime(scope["app"]).settings
        headers = Headers(scope=scope)
        if not self._needs_check(scope, headers, settings) or self._is_trusted(
            scope, headers, settings
        ):
            await self.app(scope, receive, send)
            return
        log.info(
            "csrf_refused",
            method=scope["method"],
            path=scope["path"],
            origin=headers.get("origin"),
            referer_present="referer" in headers,
            fetch_site=headers.get("sec-fetch-site"),
        )
        response = JSONResponse({"detail": REFUSED}, status_code=403)
        await response(scope, receive, send)
