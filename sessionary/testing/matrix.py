"""The authorization matrix: who may call what, one generated test per (row, principal).

::

    test_access = AuthzMatrix(
        principals=[ANON, "member", "admin", RolePrincipal("auditor", ["audit:read"])],
        rows=[
            ("GET", "/users/me", 401, 200, 200, 200),
            Row("POST", "/auth/logout", 204, 204, 204, 204),
        ],
        public=[("GET", "/health/live")],
    )

Placeholders in paths (``/users/{other_user}``) are filled per principal from
:data:`OBJECTS` — ``me``, ``other_user``, ``custom_role`` to begin with; a
feature or an app adds its own with :func:`matrix_object`. Route coverage (a
test failing for routes no matrix names) is in :mod:`sessionary.testing.coverage`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from sessionary.testing.handles import LoginAs

if TYPE_CHECKING:
    from sessionary.users.models import User

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class _Anonymous:
    def __repr__(self) -> str:
        return "ANON"


ANON = _Anonymous()


@dataclass(frozen=True)
class RolePrincipal:
    """A user holding only a custom role made for the test, with exactly ``permissions``:
    ``RolePrincipal("auditor", ["audit:read"])``."""

    name: str
    permissions: Sequence[str] = ()


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """A client authenticating with a new API key holding ``scopes`` (its owner's only role
    grants exactly those): ``ApiKeyPrincipal("users:read", "notes:read")``."""

    scopes: tuple[str, ...]

    def __init__(self, *scopes: str) -> None:
        object.__setattr__(self, "scopes", tuple(scopes))


# The names before 0.2 (they read like the models Role and ApiKey); kept for one release.
Role = RolePrincipal
ApiKey = ApiKeyPrincipal

# ANON, a built-in role's name ("member", "admin"), or one of the classes above.
MatrixPrincipal = _Anonymous | str | RolePrincipal | ApiKeyPrincipal


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


def describe(principal: MatrixPrincipal) -> str:
    if isinstance(principal, RolePrincipal):
        return f"role {principal.name}"
    if isinstance(principal, ApiKeyPrincipal):
        return f"api key ({' '.join(principal.scopes) or 'no scopes'})"
    return str(principal) if isinstance(principal, str) else "anonymous"


@dataclass
class MatrixContext:
    """What a :func:`matrix_object` builder receives, once per matrix cell.

    ``principal`` is the cell's principal (``ANON``, a role name, a ``RolePrincipal``
    or an ``ApiKeyPrincipal``); ``user`` the ``User`` its client is logged in as (an API
    key's owner; ``None`` for anonymous); ``fixture(name)`` any fixture of the test
    (``context.fixture("project_factory")``); ``request`` pytest's ``FixtureRequest``.
    """

    request: pytest.FixtureRequest
    principal: MatrixPrincipal
    user: User | None

    def fixture(self, name: str) -> Any:
        """The value of fixture ``name`` for this cell's test."""
        return self.request.getfixturevalue(name)


ObjectBuilder = Callable[[MatrixContext], Any]
OBJECTS: dict[str, ObjectBuilder] = {}


def matrix_object(name: str) -> Callable[[ObjectBuilder], ObjectBuilder]:
    """Register what ``{name}`` means in matrix paths: the decorated function receives a
    :class:`MatrixContext` and returns the value put in the path (usually an id)::

        @matrix_object("own_project")
        def own_project(context: MatrixContext) -> int:
            owner = context.user or context.fixture("user_factory")()
            return context.fixture("project_factory")(owner=owner).id

    Define it in a ``conftest.py`` or a test module; one builder per name.
    """

    def register(builder: ObjectBuilder) -> ObjectBuilder:
        known = OBJECTS.get(name)
        if known is not None and _where(known) != _where(builder):
            raise ValueError(f"matrix object {{{name}}} is already defined by {_where(known)}")
        OBJECTS[name] = builder
        return builder

    return register


def _where(builder: ObjectBuilder) -> str:
    return f"{builder.__module__}.{builder.__qualname__}"


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


def _client_for(request: pytest.FixtureRequest, principal: MatrixPrincipal) -> Any:
    if isinstance(principal, _Anonymous):
        return request.getfixturevalue("client")
    login_as: LoginAs = request.getfixturevalue("login_as")
    if isinstance(principal, str):
        return login_as(principal)
    if isinstance(principal, RolePrincipal):
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
        principals: Sequence[MatrixPrincipal],
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

    def cells(self) -> Iterable[tuple[Row, MatrixPrincipal, int]]:
        for row in self.rows:
            for principal, status in zip(self.principals, row.statuses, strict=True):
                yield row, principal, status

    def covered(self) -> set[tuple[str, str]]:
        return {(row.method, shape(row.path)) for row in self.rows} | {
            (method, shape(path)) for method, path in self.public
        }


def run_cell(
    request: pytest.FixtureRequest, row: Row, principal: MatrixPrincipal, status: int
) -> None:
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


def shape(path: str) -> str:
    """A path with every placeholder blanked, to compare matrix rows with app routes."""
    return _PLACEHOLDER.sub("{}", re.sub(r"\{[^}]*\}", "{}", path))


# -- collection -----------------------------------------------------------------------------------

MATRIX = pytest.StashKey[AuthzMatrix]()


def expand(collector: pytest.Module | pytest.Class, name: str, matrix: AuthzMatrix) -> list[Any]:
    """One ``pytest.Function`` per cell, named ``name[GET /users as member -> 403]``."""
    items = []
    for row, principal, status in matrix.cells():

        def cell(
            request: pytest.FixtureRequest,
            row: Row = row,
            principal: MatrixPrincipal = principal,
            status: int = status,
        ) -> None:
            run_cell(request, row, principal, status)

        label = f"{row.method} {row.path} as {describe(principal)} -> {status}"
        item = pytest.Function.from_parent(collector, name=f"{name}[{label}]", callobj=cell)
        item.stash[MATRIX] = matrix
        items.append(item)
    return items
