"""What the plugin checks and cleans after each test: the secret-leak sentinel, --db-postmortem,
the row-count leak detector, and delete mode (real commits)."""

import pytest

pytestmark = pytest.mark.no_db

LEAKY_APP = """
from fastapi import Request
from sessionary import DbSession
from sessionary.app import create_app
from sessionary.audit import service as audit_service

app = create_app()


@app.post("/echo")
async def echo(request: Request) -> dict[str, object]:
    return {"you_sent": await request.json()}


@app.get("/shout")
async def shout(request: Request) -> dict[str, str]:
    import logging
    logging.getLogger("sessionary.leaky").warning("cookie %s", request.cookies)
    return {}


@app.post("/remember", status_code=204)
async def remember(request: Request, db: DbSession) -> None:
    await audit_service.record_event(
        db, audit_service.EventType.LOGIN_FAILED, detail=await request.json()
    )
"""


class TestSecretLeakSentinel:
    def test_password_echoed_in_a_response_fails_the_test(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(leaky=LEAKY_APP)
        pytester.makepyfile(
            test_leak="""
            def test_echo(client):
                response = client.post("/echo", json={"password": "hunter2-but-longer"})
                assert response.status_code == 200
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=leaky:app", "-p", "no:cacheprovider"
        )

        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            ["*secret leak: a password appeared in the response to POST /echo*"]
        )
        result.stdout.no_fnmatch_line("*hunter2-but-longer*")

    def test_session_token_in_a_log_record_fails_the_test(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(leaky=LEAKY_APP)
        pytester.makepyfile(
            test_leak="""
            def test_logs(login_as):
                assert login_as("member").get("/shout").status_code == 200
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=leaky:app", "-p", "no:cacheprovider"
        )

        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(["*secret leak: a session token appeared in log record*"])

    @pytest.mark.parametrize("isolation", ["savepoint", "delete"])
    def test_a_password_stored_in_an_audit_event_fails_the_test(
        self, pytester: pytest.Pytester, inner_args: list[str], isolation: str
    ) -> None:
        pytester.makepyfile(leaky=LEAKY_APP)
        pytester.makepyfile(
            test_leak="""
            def test_remember(member_client, user_factory):
                user_factory(password="a-quiet-password")
                response = member_client.post("/remember", json={"kept": "a-quiet-password"})
                assert response.status_code == 204
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args,
            "--sessionary-app=leaky:app",
            f"--db-isolation={isolation}",
            "-p",
            "no:cacheprovider",
        )

        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            ["*secret leak: a password appeared in an audit event (login.failed)*"]
        )

    def test_an_apps_own_helpers_feed_it_through_the_public_calls(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(leaky=LEAKY_APP)
        pytester.makeconftest(
            """
            import pytest

            from sessionary.testing import scan_for_secrets, track_secret


            @pytest.fixture
            def widget_secret():
                track_secret("widget-secret-0123", "widget secret")
                scan_for_secrets("stored: widget-secret-0123", "the widget table")
                return "widget-secret-0123"
            """
        )
        pytester.makepyfile(
            test_leak="""
            def test_widget(client, widget_secret):
                assert client.post("/echo", json={"w": widget_secret}).status_code == 200
            """
        )

        result = pytester.runpytest_subprocess(
            *inner_args, "--sessionary-app=leaky:app", "-p", "no:cacheprovider"
        )

        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*secret leak: a widget secret appeared in the response to POST /echo; "
                "a widget secret appeared in the widget table*"
            ]
        )

    def test_login_response_may_set_its_own_token(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            test_ok="""
            from sessionary.testing import DEFAULT_PASSWORD

            def test_login(client, user):
                response = client.post(
                    "/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
                )
                assert response.status_code == 200
                assert client.get("/users/me").status_code == 200
            """
        )

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.assert_outcomes(passed=1)


class TestPostmortem:
    def test_failed_test_report_shows_the_rows_it_wrote(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            test_fail="""
            def test_fails(user_factory):
                user_factory(username="ghost")
                assert False, "boom"
            """
        )

        with_option = pytester.runpytest_subprocess(
            *inner_args, "--db-postmortem", "-p", "no:cacheprovider"
        )
        without = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        with_option.assert_outcomes(failed=1)
        with_option.stdout.fnmatch_lines(
            ["*sessionary postmortem*", "users: 1 row(s)", "*'ghost'*"]
        )
        without.stdout.no_fnmatch_line("*sessionary postmortem*")


class TestRowCountLeakDetector:
    def test_names_the_first_test_after_which_rows_drift(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            test_drift="""
            import asyncio
            from sqlalchemy import text
            from sessionary.core.db import engine_for_url

            def test_a_clean(user_factory):
                user_factory()

            def test_b_commits_behind_the_toolkits_back(user_factory, sessionary_database):
                async def write():
                    engine = engine_for_url(sessionary_database.url)
                    async with engine.begin() as conn:
                        await conn.execute(text(
                            "INSERT INTO permissions (name, description) VALUES ('x:y', 'leak')"
                        ))
                    await engine.dispose()
                asyncio.run(write())

            def test_c_clean(user_factory):
                user_factory()
            """
        )

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.assert_outcomes(passed=3, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at teardown of test_b_commits_behind_the_toolkits_back*",
                "*rows leaked past this test's clean-up: permissions 12 -> 13*",
            ]
        )


class TestDeleteMode:
    SUITE = """
        import pytest
        from sessionary.testing import DEFAULT_PASSWORD
        from sqlalchemy import select, func
        from sessionary.sessions.models import LoginSession
        from sessionary.roles.models import Role
        from sessionary.users.models import User

        def test_1_writes(client, user, db):
            response = client.post(
                "/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 200
            assert db.count(LoginSession) == 1

        def test_2_sees_a_clean_slate_with_seed_rows(db):
            assert db.count(User) == 0
            assert db.count(LoginSession) == 0
            assert db.count(Role) == 2

        @pytest.mark.anyio
        async def test_3_async_writes(async_client, user_factory):
            user = await user_factory.acreate()
            response = await async_client.post(
                "/auth/login", json={"username": user.username, "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 200

        def test_4_clean_again(db):
            assert db.count(User) == 0
    """

    def test_whole_suite_passes_with_real_commits(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(test_suite=self.SUITE)

        result = pytester.runpytest_subprocess(
            *inner_args, "--db-isolation=delete", "-p", "no:cacheprovider"
        )

        result.assert_outcomes(passed=4)

    def test_commits_are_visible_to_another_connection(
        self, pytester: pytest.Pytester, inner_args: list[str]
    ) -> None:
        pytester.makepyfile(
            test_visible="""
            import asyncio
            import pytest
            from sqlalchemy import text
            from sessionary.core.db import engine_for_url

            def count_users(url):
                async def count():
                    engine = engine_for_url(url)
                    async with engine.connect() as conn:
                        n = await conn.scalar(text("SELECT count(*) FROM users"))
                    await engine.dispose()
                    return n
                return asyncio.run(count())

            @pytest.mark.sessionary_db(transaction=True)
            def test_marker(user, sessionary_database):
                assert count_users(sessionary_database.url) == 1

            def test_fixture(transactional_db, user, sessionary_database):
                assert count_users(sessionary_database.url) == 1

            def test_default_is_invisible(user, sessionary_database):
                assert count_users(sessionary_database.url) == 0
            """
        )

        result = pytester.runpytest_subprocess(*inner_args, "-p", "no:cacheprovider")

        result.assert_outcomes(passed=3)
