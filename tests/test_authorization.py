"""Who may call what: every route of the app is in this matrix or listed as public.

The toolkit expands the matrix into one test per (row, principal) and, on an
unnarrowed run, adds a test that fails for any route nobody accounted for.
"""

from sessionary.testing import ANON, DEFAULT_PASSWORD, AuthzMatrix, Role, Row

NEW_PASSWORD = "a-brand-new-passphrase"

test_access = AuthzMatrix(
    principals=[ANON, "member", "admin", Role("auditor", ["audit:read"])],
    rows=[
        ("GET", "/users/me", 401, 200, 200, 200),
        ("GET", "/protected_data/", 401, 200, 200, 200),
        Row("PATCH", "/users/me", 401, 200, 200, 200, json={"email": "changed@example.com"}),
        Row(
            "POST",
            "/users/me/password",
            401,
            204,
            204,
            204,
            json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        ),
        ("POST", "/auth/logout", 204, 204, 204, 204),
        ("POST", "/auth/logout-all", 401, 204, 204, 204),
        ("GET", "/auth/sessions", 401, 200, 200, 200),
        ("DELETE", "/auth/sessions/{own_session}", 401, 204, 204, 204),
        ("DELETE", "/auth/sessions/{other_session}", 401, 404, 404, 404),
        Row("POST", "/auth/reauth", 401, 204, 204, 204, json={"password": DEFAULT_PASSWORD}),
    ],
    public=[
        ("POST", "/auth/login"),
        ("POST", "/login/"),
        ("POST", "/auth/register"),
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
    ],
)
