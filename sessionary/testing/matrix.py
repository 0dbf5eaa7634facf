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

The machinery only: what a placeholder in a path means (``/users/{other_user}``) and how a
kind of principal gets its client are registered by Sessionary's feature helpers and by an
app alike, with :func:`matrix_object` and :func:`matrix_principal`. Only ``ANON`` is built in
(the ``client`` fixture). Route coverage (a test failing for routes no matrix names) is in
:mod:`sessionary.testing.coverage`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # for the type of MatrixContext.user only
    from sessionary.users.models import User

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class _Anonymous:
    def __repr__(self) -> str:
        return "ANON"


ANON = _Anonymous()


# ANON, a role's name, or an instance of a kind registered with :func:`matrix_principal`
# (``RolePrincipal``, ``ApiKeyPrincipal``, an app's own).
MatrixPrincipal = object


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
    """How a test id names the principal: ``anonymous``, the role's name, or ``str()`` of it."""
    return "anonymous" if isinstance(principal, _Anonymous) else str(principal)


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


ClientBuilder = Callable[[MatrixContext], Any]
_CLIENTS: dict[type, ClientBuilder] = {}


def matrix_principal(kind: type) -> Callable[[ClientBuilder], ClientBuilder]:
    """Register how a matrix cell whose principal is a ``kind`` gets its client: the
    decorated function receives a :class:`MatrixContext` (``user`` is still ``None``) and
    returns a client whose ``user`` is who it acts as::

        @dataclass(frozen=True)
        class Robot:
            name: str

        @matrix_principal(Robot)
        def robot_client(context: MatrixContext) -> SessionaryTestClient:
            return context.fixture("login_as")("robot")

    Sessionary registers role names (``str``), ``RolePrincipal`` and ``ApiKeyPrincipal``
    this way; one builder per kind.
    """

    def register(builder: ClientBuilder) -> ClientBuilder:
        known = _CLIENTS.get(kind)
        if known is not None and _where(known) != _where(builder):
            raise ValueError(
                f"matrix principal {kind.__name__} is already defined by {_where(known)}"
            )
        _CLIENTS[kind] = builder
        return builder

    return register


def _client_for(request: pytest.FixtureRequest, principal: MatrixPrincipal) -> Any:
    if isinstance(principal, _Anonymous):
        return request.getfixturevalue("client")
    for kind in type(principal).__mro__:
        if (builder := _CLIENTS.get(kind)) is not None:
            return builder(MatrixContext(request, principal, None))
    raise pytest.UsageError(f"no client for {describe(principal)} principals in this project")


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
