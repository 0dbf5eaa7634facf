"""Typed errors, mapped to HTTP in one place (:func:`register_error_handlers`).

SessionaryError
 ├── BadRequest                400
 ├── InvalidCredentials        401  (same body for every login failure)
 ├── NotAuthenticated          401
 ├── PermissionDenied          403
 ├── NotFound                  404
 ├── Conflict                  409
 ├── PreconditionFailed        412
 ├── Throttled                 429  (+ Retry-After)
 └── ServiceUnavailable        503  (+ Retry-After)

Services raise these and never import ``HTTPException``. Database errors
that reach the edge are mapped here too: integrity → 409, a locked SQLite
file or a lost connection → 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = structlog.get_logger(__name__)


class SessionaryError(Exception):
    status_code: ClassVar[int] = 400
    default_detail: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None):
        self.detail = detail or self.default_detail
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class BadRequest(SessionaryError):
    status_code = 400


class InvalidCredentials(SessionaryError):
    status_code = 401
    default_detail = "Invalid credentials"


class NotAuthenticated(SessionaryError):
    status_code = 401
    default_detail = "Not authenticated"


class PermissionDenied(SessionaryError):
    status_code = 403
    default_detail = "Permission denied"


class NotFound(SessionaryError):
    status_code = 404
    default_detail = "Not found"


class Conflict(SessionaryError):
    status_code = 409
    default_detail = "Conflict"


class PreconditionFailed(SessionaryError):
    status_code = 412
    default_detail = "Precondition failed"


class Throttled(SessionaryError):
    status_code = 429
    default_detail = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None):
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(SessionaryError):
    status_code = 503
    default_detail = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def is_database_locked(exc: BaseException) -> bool:
    return "database is locked" in str(exc).lower() or "database is busy" in str(exc).lower()


def database_error(exc: DBAPIError | PoolTimeoutError) -> SessionaryError:
    """Translate a database failure into what the client should hear."""
    if isinstance(exc, IntegrityError):
        return Conflict("Conflict with existing data")
    if isinstance(exc, PoolTimeoutError) or is_database_locked(exc):
        return ServiceUnavailable("Database busy, retry shortly")
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return ServiceUnavailable("Database unavailable")
    return ServiceUnavailable("Database error")


def _error_response(error: SessionaryError) -> JSONResponse:
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )


def _without_input(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's 422 list, minus ``input`` (it would echo a password) and ``url``."""
    cleaned: list[dict[str, Any]] = []
    for error in errors:
        item = {key: value for key, value in dict(error).items() if key not in {"input", "url"}}
        ctx = item.get("ctx")
        if isinstance(ctx, dict):
            item["ctx"] = {key: str(value) for key, value in ctx.items()}
        cleaned.append(item)
    return cleaned


async def _handle_sessionary_error(_: Request, exc: Exception) -> JSONResponse:
    return _error_response(cast(SessionaryError, exc))


async def _handle_validation_error(_: Request, exc: Exception) -> JSONResponse:
    errors = cast(RequestValidationError, exc).errors()
    return JSONResponse({"detail": _without_input(errors)}, status_code=422)


async def _handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    error = database_error(cast(DBAPIError | PoolTimeoutError, exc))
    log.warning(
        "database_error",
        path=request.url.path,
        error=type(exc).__name__,
        status=error.status_code,
    )
    return _error_response(error)


async def _handle_os_error(request: Request, exc: Exception) -> JSONResponse:
    # asyncpg raises plain OSError (connection refused) before SQLAlchemy wraps anything.
    log.warning("database_unreachable", path=request.url.path, error=type(exc).__name__)
    return _error_response(ServiceUnavailable("Database unavailable"))


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SessionaryError, _handle_sessionary_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(DBAPIError, _handle_database_error)
    app.add_exception_handler(PoolTimeoutError, _handle_database_error)
    app.add_exception_handler(OSError, _handle_os_error)
