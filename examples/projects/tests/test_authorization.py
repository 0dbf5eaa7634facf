"""Who may call the app's routes: one test per (route, principal), and a route nobody
accounted for fails the run (Sessionary's own routes are covered by its shipped matrix)."""

from sessionary.testing import ANON, ApiKeyPrincipal, AuthzMatrix, RolePrincipal, Row

PROJECT = {"name": "Apollo"}

test_access = AuthzMatrix(
    principals=[
        ANON,
        "member",
        "contributor",
        "project_manager",
        "admin",
        RolePrincipal("auditor", ["projects:read", "projects:read_all"]),
        ApiKeyPrincipal("projects:read"),
    ],
    rows=[
        ("GET", "/projects", 401, 403, 200, 200, 200, 200, 200),
        Row("POST", "/projects", 401, 403, 201, 201, 201, 403, 403, json=PROJECT),
        ("GET", "/projects/{own_project}", 401, 403, 200, 200, 200, 200, 200),
        ("GET", "/projects/{other_project}", 401, 403, 404, 200, 200, 200, 404),
        ("DELETE", "/projects/{own_project}", 401, 403, 204, 204, 204, 403, 403),
        ("DELETE", "/projects/{other_project}", 401, 403, 404, 204, 204, 403, 403),
    ],
)
