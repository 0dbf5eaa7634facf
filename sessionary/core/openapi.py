"""The OpenAPI document is the contract: both security schemes, and every status a route answers.

A route's error statuses are not kept by hand per route. They follow from what the route is:

* what it depends on: a dependency marked with :func:`answers` (the principal: 401; a
  permission, session or re-authentication guard: 403; ``If-Match``: 412; a login attempt:
  429 and 503; the database: 503) documents those statuses on every route that uses it,
  however deep in the dependency tree;
* its shape: a path parameter can name nothing (404), a body can be malformed (400) or
  invalid (422, FastAPI's list: the only 422 shape, ``errors.InvalidInput`` included), an
  unsafe method is refused cross-site (403, CSRF), and any request can carry an oversized
  body (413) or header (431), refused by middleware before routing.

A route's own ``responses=`` entry keeps its wording; everything else is filled in here, once,
when the document is built. ``tests/core/test_openapi.py`` checks it against real answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from sessionary.core.runtime import core_runtime

ANSWERS = "__sessionary_answers__"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BEARER_SCHEME = "ApiKey"
COOKIE_SCHEME = "session_cookie"

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# Every 422 has FastAPI's list shape, errors.InvalidInput's included.
_VALIDATION_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_WITH_RETRY_AFTER = frozenset({429, 503})

# What any route may answer because of its shape rather than its dependencies.
_EVERY_ROUTE = {
    413: "Request body too large",
    431: "Request header too large",
}
_UNSAFE = {403: "Cross-site request refused (CSRF: Origin or Referer not trusted)"}
_WITH_PATH = {404: "No such resource (or not one the caller may see)"}
_WITH_BODY = {400: "The body could not be parsed (not UTF-8 JSON)"}

Call = TypeVar("Call", bound=Callable[..., Any])


class RouteLike(Protocol):
    """An ``APIRoute`` as mounted in the app (with any router prefix applied)."""

    @property
    def dependant(self) -> Dependant: ...
    @property
    def methods(self) -> set[str] | None: ...
    @property
    def path_format(self) -> str | None: ...


def api_routes(app: FastAPI) -> Iterator[RouteLike]:
    """The app's documented API routes, however deeply their routers were included."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def answers(statuses: Mapping[int, str]) -> Callable[[Call], Call]:
    """Mark a dependency (function or class) with the error statuses it can answer, so that
    every route using it documents them."""

    def mark(call: Call) -> Call:
        setattr(call, ANSWERS, dict(statuses))
        return call

    return mark


def _tree(dependant: Dependant) -> list[Dependant]:
    """``dependant`` and every dependency below it."""
    return [dependant, *(node for sub in dependant.dependencies for node in _tree(sub))]


def _joined(sources: list[Mapping[int, str]]) -> dict[int, str]:
    found: dict[int, list[str]] = {}
    for statuses in sources:
        for status, description in statuses.items():
            if description not in found.setdefault(status, []):
                found[status].append(description)
    return {status: "; or ".join(descriptions) for status, descriptions in sorted(found.items())}


def dependency_statuses(route: RouteLike) -> dict[int, str]:
    """The statuses ``route``'s dependencies declare with :func:`answers`."""
    return _joined([getattr(node.call, ANSWERS, {}) for node in _tree(route.dependant)])


def route_statuses(route: RouteLike) -> dict[int, str]:
    """Every error status ``route`` can answer, with a description."""
    tree = _tree(route.dependant)
    sources: list[Mapping[int, str]] = [dependency_statuses(route), _EVERY_ROUTE]
    if (route.methods or set()) & UNSAFE_METHODS:
        sources.append(_UNSAFE)
    if any(node.path_params for node in tree):
        sources.append(_WITH_PATH)
    if any(node.body_params for node in tree):
        sources.append(_WITH_BODY)
    return _joined(sources)


def _document(
    operation: dict[str, Any], statuses: Mapping[int, str], dependencies: Mapping[int, str]
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, description in statuses.items():
        response = responses.setdefault(str(status), {"description": description})
        # A route's own words for a status come first; what its dependencies answer joins
        # them (the generic answers of every route, path or body only fill a silence).
        extra = dependencies.get(status)
        if extra and extra not in response.get("description", ""):
            response["description"] = f"{response.get('description', '')}; or {extra}"
    for code, response in responses.items():
        status = int(code)
        if status < 400:
            continue
        content = response.get("content", {}).get("application/json", {})
        if not content.get("schema"):
            # A route that sends another body for a status declares it (a "model"); one that
            # describes its own 422 gets FastAPI's list, the only 422 shape.
            response["content"] = _VALIDATION_CONTENT if status == 422 else _ERROR_CONTENT
        if status in _WITH_RETRY_AFTER:
            response.setdefault("headers", {}).update(_RETRY_AFTER)


def _cookie_name(app: FastAPI) -> str:
    return core_runtime(app).settings.session_cookie_name


def complete(schema: dict[str, Any], app: FastAPI, login_path: str | None = "/auth/login") -> None:
    """Add the cookie scheme beside the bearer one and every route's error statuses."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    set_by = f"set by POST {login_path}" if login_path else "set by the login route"
    components.setdefault("securitySchemes", {})[COOKIE_SCHEME] = {
        "type": "apiKey",
        "in": "cookie",
        "name": _cookie_name(app),
        "description": f"The session cookie {set_by}. An unsafe method sent "
        "with it must come from a trusted Origin (CSRF).",
    }
    paths: dict[str, Any] = schema.get("paths", {})
    for route in api_routes(app):
        statuses, dependencies = route_statuses(route), dependency_statuses(route)
        for method in route.methods or ():
            operation = paths.get(route.path_format or "", {}).get(method.lower())
            if operation is None:
                continue
            _document(operation, statuses, dependencies)
            security: list[dict[str, list[str]]] = operation.get("security", [])
            if {BEARER_SCHEME: []} in security and {COOKIE_SCHEME: []} not in security:
                # Alternatives: either credential authenticates the request.
                security.append({COOKIE_SCHEME: []})


def install(app: FastAPI, *, login_path: str | None = "/auth/login") -> None:
    """Make ``app.openapi()`` (and /openapi.json) serve the completed document.

    ``login_path`` is where the session cookie is set (None: not in this app)."""
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        # FastAPI rebuilds the document when routes change; complete each new one once.
        if not completed or completed[0] is not schema:
            complete(schema, app, login_path)
            completed[:] = [schema]
        # Settings are read per request, the cookie's name included.
        schema["components"]["securitySchemes"][COOKIE_SCHEME]["name"] = _cookie_name(app)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
