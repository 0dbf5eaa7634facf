"""AuthzMatrix: expansion into readable tests, placeholders, and route coverage."""

import warnings

import pytest

import sessionary.testing
from sessionary.app import ALL_ROUTERS
from sessionary.testing import ApiKeyPrincipal, RolePrincipal, sessionary_matrix
from sessionary.testing.coverage import is_full_run

pytestmark = pytest.mark.no_db

MATRIX = """
from sessionary.testing import ANON, AuthzMatrix, RolePrincipal, Row

test_access = AuthzMatrix(
    principals=[ANON, "member", RolePrincipal("auditor", ["audit:read"])],
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


# An app of one's own on Sessionary: one route the matrix names, one it forgets.
PROJECTS_APP = """
from sessionary.app import create_app
from sessionary.auth.dependencies import CurrentPrincipal

app = create_app()


@app.get("/projects")
async def list_projects(principal: CurrentPrincipal) -> list[str]:
    return []


@app.post("/projects")
async def create_project(principal: CurrentPrincipal) -> dict[str, str]:
    return {}
"""
PROJECTS_MATRIX = """
from sessionary.testing import ANON, AuthzMatrix

test_access = AuthzMatrix(principals=[ANON], rows=[("GET", "/projects", 401)])
"""


def _project(pytester: pytest.Pytester) -> None:
    """The app at the rootdir, its tests in ``tests/`` (the ini's testpaths)."""
    pytester.makepyfile(projects_app=PROJECTS_APP)
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    tests = pytester.mkdir("tests")
    (tests / "test_access.py").write_text(PROJECTS_MATRIX)
    (tests / "test_plain.py").write_text("def test_plain():\n    pass\n")


class TestRouteCoverage:
    @pytest.fixture
    def project(self, pytester: pytest.Pytester, inner_args: list[str]) -> list[str]:
        """The options for an inner run of :func:`_project`."""
        _project(pytester)
        return [*inner_args, "--sessionary-app=projects_app:app", "-p", "no:cacheprovider"]

    def test_a_full_run_lists_the_apps_own_routes_no_matrix_names(
        self, pytester: pytest.Pytester, project: list[str]
    ) -> None:
        result = pytester.runpytest_subprocess(*project)

        result.assert_outcomes(passed=2, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*routes are in no authorization matrix and not listed as public*",
                "    POST /projects",
            ]
        )
        # Sessionary's own routes are the shipped matrix's business, not the app's.
        result.stdout.no_fnmatch_line("*    GET /projects*")
        result.stdout.no_fnmatch_line("*    GET /users/me*")
        result.stdout.no_fnmatch_line("*    GET /docs*")

    @pytest.mark.parametrize(
        "narrowing",
        [["tests/test_access.py"], ["-o", "sessionary_authz_coverage=0"]],
        ids=["one file", "ini off"],
    )
    def test_a_selection_or_the_ini_switch_leaves_it_out(
        self, pytester: pytest.Pytester, project: list[str], narrowing: list[str]
    ) -> None:
        result = pytester.runpytest_subprocess(*project, *narrowing)

        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        result.stdout.no_fnmatch_line("*route coverage*")

    def test_a_run_without_matrices_has_no_coverage_test(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.assert_outcomes(passed=1)


class TestWhatAFullRunIs:
    @pytest.mark.parametrize(
        ("args", "full"),
        [
            ([], True),
            (["tests"], True),
            (["."], True),
            (["tests/test_access.py"], False),
            (["tests/test_access.py", "tests/test_plain.py"], False),
            (["tests/test_access.py::test_access"], False),
            (["-k", "projects or plain"], False),
            (["-m", "not slow"], False),
            (["--deselect", "tests/test_plain.py::test_plain"], False),
            (["--ignore", "tests/test_plain.py"], False),
        ],
    )
    def test_only_a_run_of_every_test_path_without_selection(
        self, pytester: pytest.Pytester, args: list[str], full: bool
    ) -> None:
        _project(pytester)

        config = pytester.parseconfig(*args)

        assert is_full_run(config) is full

    @pytest.mark.parametrize(("args", "full"), [([], True), (["."], True), (["test_a.py"], False)])
    def test_without_testpaths_the_rootdir_is_the_whole(
        self, pytester: pytest.Pytester, args: list[str], full: bool
    ) -> None:
        pytester.makeini("[pytest]\n")
        pytester.makepyfile(test_a="", test_b="")

        assert is_full_run(pytester.parseconfig(*args)) is full

    def test_from_a_subdirectory_without_arguments_is_a_selection(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _project(pytester)
        (pytester.path / "tests" / "notes").mkdir()
        monkeypatch.chdir(pytester.path / "tests" / "notes")

        assert not is_full_run(pytester.parseconfig())


class TestShippedMatrix:
    def test_a_prefix_moves_every_row_and_public_route(self) -> None:
        plain, mounted = sessionary_matrix(), sessionary_matrix(prefix="/auth-api/")

        assert [row.path for row in mounted.rows] == [f"/auth-api{r.path}" for r in plain.rows]
        assert ("POST", "/auth-api/auth/login") in mounted.public
        assert len(mounted.rows) == len(plain.rows) > 20

    def test_by_default_it_covers_what_install_serves_by_default(self) -> None:
        paths = {row.path for row in sessionary_matrix().rows}

        assert not any(path.startswith("/notes") for path in paths)
        assert {"/users/me", "/auth/sessions", "/roles", "/api-keys"} <= paths

    def test_it_keeps_only_the_routes_of_the_chosen_groups(self) -> None:
        matrix = sessionary_matrix(prefix="/api", routers={"auth", "health"})

        assert {row.path.split("/")[2] for row in matrix.rows} == {"auth"}
        assert set(matrix.public) == {
            ("POST", "/api/auth/login"),
            ("POST", "/api/login/"),
            ("POST", "/api/auth/register"),
            ("POST", "/api/auth/password-reset"),
            ("POST", "/api/auth/password-reset/confirm"),
            ("POST", "/api/auth/verify-email"),
            ("POST", "/api/auth/verify-email/resend"),
            ("GET", "/api/health/live"),
            ("GET", "/api/health/ready"),
        }
        assert not sessionary_matrix(routers={"users"}).public

    def test_every_group_together_is_every_row(self) -> None:
        every = sessionary_matrix(routers=ALL_ROUTERS)
        groups = [sessionary_matrix(routers={group}) for group in sorted(ALL_ROUTERS)]

        assert len(every.rows) == sum(len(matrix.rows) for matrix in groups)


class TestRenamedPrincipals:
    @pytest.mark.parametrize(("old", "new"), [("Role", RolePrincipal), ("ApiKey", ApiKeyPrincipal)])
    def test_the_old_names_still_work_and_say_what_they_are_now(self, old: str, new: type) -> None:
        with pytest.warns(DeprecationWarning, match=f"sessionary.testing.{old} is now"):
            assert getattr(sessionary.testing, old) is new

    def test_the_new_names_do_not_warn(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            from sessionary.testing import ApiKeyPrincipal, RolePrincipal  # noqa: F401
