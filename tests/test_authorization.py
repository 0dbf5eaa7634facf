"""Who may call what: every route of the app is in this matrix or listed as public.

The toolkit expands the matrix into one test per (row, principal) and, on an
unnarrowed run, adds a test that fails for any route nobody accounted for.
"""

from sessionary.testing import ANON, AuthzMatrix, Role, Row

test_access = AuthzMatrix(
    principals=[ANON, "member", "admin", Role("auditor", ["audit:read"])],
    rows=[
        ("GET", "/users/me", 401, 200, 200, 200),
        ("GET", "/protected_data/", 401, 200, 200, 200),
        Row("POST", "/auth/logout", 204, 204, 204, 204),
    ],
    public=[
        ("POST", "/auth/login"),
        ("POST", "/login/"),
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
    ],
)
