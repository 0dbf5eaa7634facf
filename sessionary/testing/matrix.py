"""The authorization matrix: who may call what, one generated test per (row, principal).

::

    test_access = AuthzMatrix(
        principals=[ANON, "member", "admin", Role("auditor", ["audit:read"])],
        rows=[
            ("GET", "/users/me", 401, 200, 200, 200),
            Row("POST", "/auth/logout", 204, 204, 204, 204),
        ],
        public=[("GET", "/health/live")],
    )

Placeholders in paths (``/users/{other_user}``) are filled per principal from
:data:`OBJECTS` — ``me``, ``other_user``, ``custom_role`` to begin with; a
feature adds its own with :func:`matrix_object`. Route coverage: a run that
collects a matrix and is not narrowed (``-k``, node ids, ``--lf``) gets one more
test, failing with every app route that no matrix row and no ``public`` entry
names (FastAPI's docs routes count as public).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select

from sessionary.testing.handles import LoginAs

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
DOCS_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


class _Anonymous:
    def __repr__(self) -> str:
        return "ANON"


ANON = _Anonymous()


@dataclass(frozen=True)
class Role:
    """A custom role made for the test: ``Role("auditor", ["audit:read"])``."""

    name: str
    permissions: Sequence[str] = ()


@dataclass(frozen=True)
class ApiKey:
    """A principal authenticating with an API key holding ``scopes``."""

    scopes: tuple[str, ...]

    def __init__(self, *scopes: str) -> None:
        object.__setattr__(self, "scopes", tuple(scopes))


Principal = _Anonymous | str | Role | ApiKey


@dataclass(frozen=True)
class Row:
    """One route and the status each principal must get, in ``principals`` order."""

    method: str
    path: str
    statuses: tuple[int, ...]
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def __init__(
        self,
        method: str,
        path: str,
        *statuses: int,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        object.__setattr__(self, "method", method.upper())
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "statuses", statuses)
        object.__setattr__(self, "json", json)
        object.__setattr__(self, "headers", dict(headers or {}))


def describe(principal: Principal) -> str:
    if isinstance(principal, Role):
        return f"role {principal.name}"
    if isinstance(principal, ApiKey):
        return f"api key ({' '.join(principal.scopes) or 'no scopes'})"
    return str(principal) if isinstance(principal, str) else "anonymous"


@dataclass
class MatrixContext:
    """What an object builder may use: the test's fixtures and the principal's user."""

    request: pytest.FixtureRequest
    principal: Principal
    user: Any  # the principal's User row (None for anonymous)

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)


ObjectBuilder = Callable[[MatrixContext], Any]
OBJECTS: dict[str, ObjectBuilder] = {}


def matrix_object(name: str) -> Callable[[ObjectBuilder], ObjectBuilder]:
    """Register what ``{name}`` means in matrix paths (a feature's own objects)."""

    def register(builder: ObjectBuilder) -> ObjectBuilder:
        OBJECTS[name] = builder
        return builder

    return register


@matrix_object("me")
def _me(context: MatrixContext) -> Any:
    user = context.user or context.fixture("user_factory")()
    return user.id


@matrix_object("other_user")
def _other_user(context: MatrixContext) -> Any:
    return context.fixture("user_factory")().id


@matrix_object("custom_role")
def _custom_role(context: MatrixContext) -> Any:
    return context.fixture("role_factory")(permissions=["notes:read"]).name


def _latest_session_of(context: MatrixContext, user_id: int) -> Any:
    from sessionary.sessions.models import LoginSession

    return context.fixture("db").scalar(
        select(func.max(LoginSession.id)).where(LoginSession.user_id == user_id)
    )


@matrix_object("own_session")
def _own_session(context: MatrixContext) -> Any:
    if context.user is None:  # anonymous: any id will do, the answer is 401
        return 1
    return _latest_session_of(context, context.user.id)


@matrix_object("other_session")
def _other_session(context: MatrixContext) -> Any:
    other = context.fixture("user_factory")()
    context.fixture("login_as")(other)
    return _latest_session_of(context, other.id)


ClientBuilder = Callable[[MatrixContext], Any]
# How each kind of principal gets its client; a feature may register more (API keys).
CLIENTS: dict[type, ClientBuilder] = {}


def _client_for(request: pytest.FixtureRequest, principal: Principal) -> Any:
    if isinstance(principal, _Anonymous):
        return request.getfixturevalue("client")
    login_as: LoginAs = request.getfixturevalue("login_as")
    if isinstance(principal, str):
        return login_as(principal)
    if isinstance(principal, Role):
        role = request.getfixturevalue("role_factory")(
            name=principal.name, permissions=principal.permissions
        )
        return login_as(role.name)
    builder = CLIENTS.get(type(principal))
    if builder is None:
        raise pytest.UsageError(f"no client for {describe(principal)} principals in this project")
    return builder(MatrixContext(request, principal, None))


class AuthzMatrix:
    """Assign to a module-level ``test_…`` name; pytest expands it into one test per cell."""

    def __init__(
        self,
        *,
        principals: Sequence[Principal],
        rows: Iterable[Row | tuple[Any, ...]],
        public: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.principals = list(principals)
        self.rows = [row if isinstance(row, Row) else Row(*row) for row in rows]
        self.public = [(method.upper(), path) for method, path in public]
        for row in self.rows:
            if len(row.statuses) != len(self.principals):
                raise ValueError(
                    f"{row.method} {row.path}: {len(row.statuses)} statuses for "
                    f"{len(self.principals)} principals"
                )

    def cells(self) -> Iterable[tuple[Row, Principal, int]]:
        for row in self.rows:
            for principal, status in zip(self.principals, row.statuses, strict=True):
                yield row, principal, status

    def covered(self) -> set[tuple[str, str]]:
        return {(row.method, _shape(row.path)) for row in self.rows} | {
            (method, _shape(path)) for method, path in self.public
        }


def run_cell(request: pytest.FixtureRequest, row: Row, principal: Principal, status: int) -> None:
    client = _client_for(request, principal)
    context = MatrixContext(request, principal, getattr(client, "user", None))
    values = {name: OBJECTS[name](context) for name in _placeholders(row.path)}
    path = row.path.format(**values)
    response = client.request(row.method, path, json=row.json, headers=row.headers or None)
    assert response.status_code == status, (
        f"{row.method} {path} as {describe(principal)}: expected {status}, "
        f"got {response.status_code}: {response.text[:300]}"
    )


def _placeholders(path: str) -> list[str]:
    names = _PLACEHOLDER.findall(path)
    if unknown := [name for name in names if name not in OBJECTS]:
        raise pytest.UsageError(
            f"unknown matrix object(s) {unknown} in {path!r}; known: {sorted(OBJECTS)}"
        )
    return names


def _shape(path: str) -> str:
    return _PLACEHOLDER.sub("{}", re.sub(r"\{[^}]*\}", "{}", path))


def uncovered_routes(app: FastAPI, covered: set[tuple[str, str]]) -> list[str]:
    """App routes that no matrix row and no public entry names."""
    missing: list[str] = []
    # FastAPI >= 0.160 nests included routers; iter_route_contexts flattens them.
    for route in iter_route_contexts(app.routes):
        path = route.path
        if not isinstance(route.original_route, APIRoute) or path is None or path in DOCS_ROUTES:
            continue
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, _shape(path)) not in covered:
                missing.append(f"{method} {path}")
    return missing


# -- collection -----------------------------------------------------------------------------------

MATRIX = pytest.StashKey[AuthzMatrix]()


def expand(collector: pytest.Module | pytest.Class, name: str, matrix: AuthzMatrix) -> list[Any]:
    """One ``pytest.Function`` per cell, named ``name[GET /users as member -> 403]``."""
    items = []
    for row, principal, status in matrix.cells():

        def cell(
            request: pytest.FixtureRequest,
            row: Row = row,
            principal: Principal = principal,
            status: int = status,
        ) -> None:
            run_cell(request, row, principal, status)

        label = f"{row.method} {row.path} as {describe(principal)} -> {status}"
        item = pytest.Function.from_parent(collector, name=f"{name}[{label}]", callobj=cell)
        item.stash[MATRIX] = matrix
        items.append(item)
    return items


class _Uncovered(Exception):
    pass


class RouteCoverage(pytest.Item):
    """Fails with every app route that no matrix and no ``public`` list names."""

    def __init__(self, *, covered: set[tuple[str, str]], app_spec: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.covered = covered
        self.app_spec = app_spec

    def runtest(self) -> None:
        from sessionary.testing.fixtures import load_app

        if missing := uncovered_routes(load_app(self.app_spec), self.covered):
            raise _Uncovered(missing)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _Uncovered):
            routes = "\n    ".join(excinfo.value.args[0])
            return (
                "these routes are in no authorization matrix and not listed as public "
                f"(say who may call them):\n    {routes}"
            )
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, "authorization matrix route coverage"


def _narrowed(config: pytest.Config) -> bool:
    return bool(
        config.option.keyword
        or config.option.markexpr
        or getattr(config.option, "lf", False)
        or getattr(config.option, "deselect", None)
        or any("::" in str(arg) for arg in config.args)
    )


def add_route_coverage(config: pytest.Config, items: list[pytest.Item], app_spec: str) -> None:
    matrix_items = [item for item in items if MATRIX in item.stash]
    if not matrix_items or not config.getini("sessionary_authz_coverage") or _narrowed(config):
        return
    matrices = {id(item.stash[MATRIX]): item.stash[MATRIX] for item in matrix_items}
    covered = set().union(*(matrix.covered() for matrix in matrices.values()))
    parent = matrix_items[0].parent
    assert parent is not None
    items.append(
        RouteCoverage.from_parent(
            parent, name="authz_route_coverage", covered=covered, app_spec=app_spec
        )
    )
