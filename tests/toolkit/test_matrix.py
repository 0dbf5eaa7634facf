"""AuthzMatrix: expansion into readable tests, placeholders, and route coverage."""

import pytest

pytestmark = pytest.mark.no_db

MATRIX = """
from sessionary.testing import ANON, AuthzMatrix, Role, Row

test_access = AuthzMatrix(
    principals=[ANON, "member", Role("auditor", ["audit:read"])],
    rows=[
        ("GET", "/users/me", 401, 200, 200),
        ("GET", "/protected_data/", 401, 200, 200),
        Row("POST", "/auth/logout", 204, 204, 204, headers={"x-extra": "1"}),
        Row("POST", "/auth/login", 422, 422, 422, json={"username": "nobody"}),
    ],
    public=[("POST", "/login/"), ("GET", "/health/live"), ("GET", "/health/ready")],
)
"""


class TestExpansion:
    def test_one_readable_test_per_row_and_principal(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(test_matrix=MATRIX)

        result = pytester.runpytest_subprocess(
            *inner_args, "-v", "-p", "no:cacheprovider", "-o", "sessionary_authz_coverage=false"
        )

        result.assert_outcomes(passed=12)
        result.stdout.fnmatch_lines(
            [
                "*test_access?GET /users/me as anonymous -> 401? PASSED*",
                "*test_access?GET /users/me as role auditor -> 200? PASSED*",
            ]
        )

    def test_a_wrong_status_names_route_principal_and_body(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            test_matrix="""
            from sessionary.testing import ANON, AuthzMatrix

            test_access = AuthzMatrix(
                principals=[ANON, "member"], rows=[("GET", "/users/me", 200, 200)]
            )
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args, "-p", "no:cacheprovider", "-o", "sessionary_authz_coverage=false"
        )

        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            ["*GET /users/me as anonymous: expected 200, got 401*Not authenticated*"]
        )

    def test_placeholders_are_filled_per_principal(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            leaky="""
            from sessionary.app import create_app
            app = create_app()

            @app.get("/echo/{value}")
            async def echo(value: str) -> dict[str, str]:
                return {"value": value}
            """,
            test_matrix="""
            from sessionary.testing import ANON, AuthzMatrix, matrix_object

            @matrix_object("forty_two")
            def forty_two(context):
                return 42 if context.user is None else context.user.id * 0 + 42

            test_access = AuthzMatrix(
                principals=[ANON, "member"],
                rows=[
                    ("GET", "/echo/{forty_two}", 200, 200),
                    ("GET", "/echo/{me}", 200, 200),
                    ("GET", "/echo/{other_user}", 200, 200),
                    ("GET", "/echo/{custom_role}", 200, 200),
                ],
            )

            def test_unknown_placeholder_is_a_usage_error():
                pass
            """,
        )

        result = pytester.runpytest_subprocess(
            *inner_args,
            "--sessionary-app=leaky:app",
            "-p",
            "no:cacheprovider",
            "-o",
            "sessionary_authz_coverage=false",
        )

        result.assert_outcomes(passed=9)

    def test_rows_must_give_one_status_per_principal(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            test_matrix="""
            from sessionary.testing import ANON, AuthzMatrix
            test_access = AuthzMatrix(principals=[ANON, "member"], rows=[("GET", "/users/me", 401)])
            """
        )

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.stdout.fnmatch_lines(["*GET /users/me: 1 statuses for 2 principals*"])
        assert result.ret != 0


class TestRouteCoverage:
    UNCOVERED = """
    from sessionary.testing import ANON, AuthzMatrix
    test_access = AuthzMatrix(principals=[ANON], rows=[("GET", "/users/me", 401)])
    """

    def test_lists_every_route_no_matrix_names(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(test_matrix=self.UNCOVERED)

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*routes are in no authorization matrix and not listed as public*",
                "*GET /protected_data/*",  # in the app's route order
                "*POST /auth/login*",
            ]
        )
        result.stdout.no_fnmatch_line("*    GET /users/me*")
        result.stdout.no_fnmatch_line("*    GET /docs*")

    @pytest.mark.parametrize(
        "narrowing",
        [["-k", "users"], ["test_matrix.py::test_access"], ["-o", "sessionary_authz_coverage=0"]],
    )
    def test_narrowed_runs_and_the_ini_switch_leave_it_out(
        self, pytester: pytest.Pytester, inner_args: list[str], narrowing: list[str]
    ) -> None:
        pytester.makepyfile(test_matrix=self.UNCOVERED)

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider", *narrowing)

        result.assert_outcomes(passed=1)

    def test_a_run_without_matrices_has_no_coverage_test(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.assert_outcomes(passed=1)
