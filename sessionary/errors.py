"""Typed errors, mapped to HTTP in one place (:func:`register_error_handlers`).

SessionaryError
 ├── BadRequest                400
 ├── InvalidCredentials        401  (same body for every login failure)
 ├── NotAuthenticated          401
 ├── PermissionDenied          403
 ├── NotFound                  404
 ├── Conflict                  409
 ├── PreconditionFailed        412
 ├── InvalidInput              422  (a rule only a service checks, or a value the database
 │                                   refused; in FastAPI's validation-list shape)
 ├── Throttled                 429  (+ Retry-After)
 └── ServiceUnavailable        503  (+ Retry-After)

Services raise these and never import ``HTTPException``. Database errors
that reach the edge are mapped here too (:func:`database_error`): integrity → 409; a value
the database refused — the client's own (a driver ``DataError``, PostgreSQL's SQLSTATE class
22, a parameter the driver could not encode) — 422; a locked SQLite file, a lost connection
or an exhausted pool → 503 with ``Retry-After``, as "try again later" is true only then. The
request schemas (``core/inputs.py``) stop such values first; this is the net under them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
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


class InvalidInput(SessionaryError):
    """Input the schema let through but a rule only a service can check refuses (a password
    policy, an unknown role), or a value the database refused. Answered in FastAPI's 422 list
    shape, so every 422 reads alike: ``loc`` names the body field when one is known."""

    status_code = 422
    default_detail = "A value is out of range or not valid"
    field: ClassVar[str | None] = None

    def __init__(self, detail: str | None = None, *, field: str | None = None):
        super().__init__(detail)
        field = field or self.field
        self.loc = ["body", field] if field else ["body"]


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
    # The driver's message alone: str(exc) of a DBAPIError also shows the statement's
    # parameters, which are the client's words.
    message = str(getattr(exc, "orig", None) or exc).lower()
    return "database is locked" in message or "database is busy" in message


def _sqlstate(exc: DBAPIError) -> str:
    # PostgreSQL's error code, as asyncpg (and SQLAlchemy's adapter of it) carries it.
    return str(getattr(exc.orig, "sqlstate", None) or "")


def is_client_data_error(exc: DBAPIError) -> bool:
    """The database or its driver refused a value the client sent (not a server trouble)."""
    if isinstance(exc, DataError) or _sqlstate(exc).startswith("22"):  # class 22: data exception
        return True
    # asyncpg refuses a parameter its type cannot encode (an int past int4, say) with its own
    # DataError, a ValueError that SQLAlchemy's adapter wraps as an InterfaceError.
    orig = exc.orig
    return isinstance(orig, ValueError) or isinstance(getattr(orig, "__cause__", None), ValueError)


def database_error(exc: DBAPIError | PoolTimeoutError) -> SessionaryError:
    """Translate a database failure into what the client should hear."""
    if isinstance(exc, IntegrityError) or (
        isinstance(exc, DBAPIError) and _sqlstate(exc).startswith("23")
    ):
        return Conflict("Conflict with existing data")
    if isinstance(exc, PoolTimeoutError) or is_database_locked(exc):
        return ServiceUnavailable("Database busy, retry shortly")
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return ServiceUnavailable("Database unavailable")
    if is_client_data_error(exc):
        return InvalidInput()
    if isinstance(exc, InterfaceError):
        return ServiceUnavailable("Database unavailable")
    # Not the client's doing either (an unmigrated table, a refused trigger): stays a 503.
    return ServiceUnavailable("Database error")


def _error_response(error: SessionaryError) -> JSONResponse:
    detail: Any = error.detail
    if isinstance(error, InvalidInput):
        detail = [{"type": "value_error", "loc": error.loc, "msg": error.detail}]
    return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)


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
