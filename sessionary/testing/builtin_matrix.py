"""Who may call Sessionary's own routes: the authorization matrix shipped with the package.

Route coverage counts Sessionary's routes as covered by this matrix, so an app
built on Sessionary accounts only for its own. Sessionary's test suite collects
it (``tests/test_authorization.py``); an app may too, to check that its set-up
keeps Sessionary's rules::

    from sessionary.testing import sessionary_matrix

    # What the app passed to install(): prefix="/api", routers={"auth", "users", ...}
    test_sessionary_access = sessionary_matrix()

Principals: anonymous, the built-in roles, a custom role, and an API key whose
scopes (users:read, notes:read) its owner holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sessionary.api_keys.testing import ApiKeyPrincipal
from sessionary.app import DEFAULT_ROUTERS, RouterGroup, group_routes
from sessionary.roles.testing import RolePrincipal
from sessionary.testing.matrix import ANON, AuthzMatrix, Row
from sessionary.users.testing import DEFAULT_PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase"  # noqa: S105 - a test value
NOTE = {"title": "t", "body": ""}

PRINCIPALS = (
    ANON,
    "member",
    "admin",
    RolePrincipal("auditor", ["audit:read"]),
    ApiKeyPrincipal("users:read", "notes:read"),
)

ROWS: tuple[Row | tuple[Any, ...], ...] = (
    # -- me ----------------------------------------------------------------------------
    ("GET", "/users/me", 401, 200, 200, 200, 200),
    ("GET", "/protected_data/", 401, 200, 200, 200, 200),
    Row("PATCH", "/users/me", 401, 200, 200, 200, 403, json={"email": "new@example.com"}),
    Row(
        "POST",
        "/users/me/password",
        *(401, 204, 204, 204, 403),
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    ),
    # -- my sessions ---------------------------------------------------------------------
    ("POST", "/auth/logout", 204, 204, 204, 204, 204),
    ("POST", "/auth/logout-all", 401, 204, 204, 204, 403),
    ("GET", "/auth/sessions", 401, 200, 200, 200, 403),
    ("DELETE", "/auth/sessions/{own_session}", 401, 204, 204, 204, 403),
    ("DELETE", "/auth/sessions/{other_session}", 401, 404, 404, 404, 403),
    Row("POST", "/auth/reauth", 401, 204, 204, 204, 403, json={"password": DEFAULT_PASSWORD}),
    # -- administration ------------------------------------------------------------------
    ("GET", "/users", 401, 403, 200, 403, 200),
    ("GET", "/users/{other_user}", 401, 403, 200, 403, 200),
    Row(
        "POST",
        "/users",
        *(401, 403, 201, 403, 403),
        json={"username": "newbie", "email": "newbie@example.com", "password": NEW_PASSWORD},
    ),
    Row(
        "PATCH",
        "/users/{other_user}",
        *(401, 403, 200, 403, 403),
        json={"email": "moved@example.com"},
    ),
    ("DELETE", "/users/{other_user}", 401, 403, 204, 403, 403),
    ("GET", "/roles", 401, 403, 200, 403, 403),
    Row("POST", "/roles", 401, 403, 201, 403, 403, json={"name": "newrole", "permissions": []}),
    Row(
        "PATCH",
        "/roles/{custom_role}",
        *(401, 403, 200, 403, 403),
        json={"permissions": ["notes:read"]},
    ),
    ("DELETE", "/roles/{custom_role}", 401, 403, 204, 403, 403),
    ("GET", "/audit-events", 401, 403, 200, 200, 403),
    # -- notes: another user's note is 404 unless the principal may see everyone's ----------
    ("GET", "/notes", 401, 200, 200, 403, 200),
    Row("POST", "/notes", 401, 201, 201, 403, 403, json=NOTE),
    ("GET", "/notes/{own_note}", 401, 200, 200, 403, 200),
    ("GET", "/notes/{other_note}", 401, 404, 200, 403, 404),
    Row("PATCH", "/notes/{own_note}", 401, 200, 200, 403, 403, json={"title": "new"}),
    Row("PATCH", "/notes/{other_note}", 401, 404, 200, 403, 403, json={"title": "new"}),
    ("DELETE", "/notes/{own_note}", 401, 204, 204, 403, 403),
    ("DELETE", "/notes/{other_note}", 401, 404, 204, 403, 403),
    # -- API keys ------------------------------------------------------------------------
    ("GET", "/api-keys", 401, 200, 200, 403, 403),
    Row(
        "POST",
        "/api-keys",
        *(401, 201, 201, 403, 403),
        json={"name": "ci", "scopes": ["notes:read"]},
    ),
    ("DELETE", "/api-keys/{own_api_key}", 401, 204, 204, 403, 403),
    ("DELETE", "/api-keys/{other_api_key}", 401, 404, 404, 403, 403),
)

PUBLIC = (
    ("POST", "/auth/login"),
    ("POST", "/login/"),
    ("POST", "/auth/register"),
    ("POST", "/auth/password-reset"),
    ("POST", "/auth/password-reset/confirm"),
    ("POST", "/auth/verify-email"),
    ("POST", "/auth/verify-email/resend"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
)


def _template(path: str) -> str:
    # "/notes/{own_note}" (a matrix object) and "/notes/{note_id}" (the route) are one route.
    return re.sub(r"\{[^}]*\}", "{}", path)


def sessionary_matrix(
    *, prefix: str = "", routers: Iterable[RouterGroup] = DEFAULT_ROUTERS
) -> AuthzMatrix:
    """Sessionary's own routes and who may call them, as an :class:`AuthzMatrix` to assign
    to a ``test_…`` name. Pass what the app passed to ``install``: ``prefix`` where it
    mounted Sessionary's routers, ``routers`` the groups it chose (the same default)."""
    prefix = prefix.rstrip("/")
    served = {(method, _template(path)) for method, path in group_routes(routers)}
    rows = [row if isinstance(row, Row) else Row(*row) for row in ROWS]
    return AuthzMatrix(
        principals=PRINCIPALS,
        rows=[
            Row(row.method, prefix + row.path, *row.statuses, json=row.json, headers=row.headers)
            for row in rows
            if (row.method, _template(row.path)) in served
        ],
        public=[(method, prefix + path) for method, path in PUBLIC if (method, path) in served],
    )
