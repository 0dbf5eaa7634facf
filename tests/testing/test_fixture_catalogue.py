"""Every public fixture of the toolkit, exercised in an inner run (pytester), sync and async."""

import pytest

pytestmark = pytest.mark.no_db

SUITE = """
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sessionary.sessions.models import LoginSession
from sessionary.roles.models import RolePermission
from sessionary.testing import DEFAULT_PASSWORD
from sessionary.users.models import User


def test_user_and_admin_user(user, admin_user, db):
    assert user.username == "user1"
    assert admin_user.username == "admin"
    assert db.count(User) == 2


def test_member_and_admin_clients(member_client, admin_client):
    assert member_client.get("/users/me").json()["roles"] == ["member"]
    assert admin_client.get("/users/me").json()["roles"] == ["admin"]


def test_role_factory_and_create_batch(role_factory, user_factory, login_as, db):
    role = role_factory(permissions=["audit:read", "users:read"])
    assert role.name == "role1"
    assert db.count(RolePermission, RolePermission.role_name == "role1") == 2
    users = user_factory.create_batch(3, roles=[role.name])
    assert [u.username for u in users] == ["user1", "user2", "user3"]
    me = login_as(users[0]).get("/users/me").json()
    assert me["permissions"] == ["audit:read", "users:read"]


def test_login_as_fresh_false_is_past_the_reauth_window(login_as, db, settings):
    client = login_as("member", fresh=False)
    row = db.execute(select(LoginSession.created_at, LoginSession.authenticated_at))[0]
    assert row.created_at - row.authenticated_at > timedelta(seconds=settings.reauth_window)
    assert client.get("/users/me").status_code == 200


def test_login_as_via_login_uses_the_route(login_as, db):
    client = login_as("member", via="login")
    assert client.get("/users/me").status_code == 200
    assert db.count(LoginSession) == 1


def test_cross_site_client_sends_a_foreign_origin_with_the_same_cookies(member_client):
    other = member_client.cross_site()
    assert other.headers["origin"] == "https://attacker.example"
    assert member_client.headers["origin"] == "https://testserver"
    assert other.get("/users/me").status_code == 200


def test_assert_max_num_queries(member_client, assert_max_num_queries):
    with assert_max_num_queries(2):
        member_client.get("/users/me")


@pytest.mark.anyio
async def test_async_client_and_async_db(async_client, async_db, user_factory):
    user = await user_factory.acreate(username="zoe")
    response = await async_client.post(
        "/auth/login", json={"username": "zoe", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert (await async_client.get("/users/me")).json()["user_id"] == user.id
    assert await async_db.scalar(select(func.count()).select_from(LoginSession)) == 1


@pytest.mark.anyio
async def test_async_login_as_both_ways(async_login_as):
    by_session = await async_login_as("admin")
    by_login = await async_login_as("member", via="login")
    assert (await by_session.get("/users/me")).json()["roles"] == ["admin"]
    assert (await by_login.get("/users/me")).json()["roles"] == ["member"]
    assert (await by_login.cross_site().get("/users/me")).status_code == 200


@pytest.mark.anyio
async def test_async_member_and_admin_clients(async_member_client, async_admin_client):
    assert (await async_member_client.get("/users/me")).json()["roles"] == ["member"]
    assert (await async_admin_client.get("/users/me")).json()["roles"] == ["admin"]


@pytest.mark.anyio
async def test_role_factory_and_batches_async(role_factory, user_factory):
    role = await role_factory.acreate(name="auditor", permissions=["audit:read"])
    users = await user_factory.acreate_batch(2, roles=[role.name])
    assert [u.username for u in users] == ["user1", "user2"]


@pytest.mark.anyio
async def test_sync_helpers_in_an_async_body_say_what_to_use(user_factory):
    with pytest.raises(pytest.UsageError, match="acreate"):
        user_factory()


@pytest.mark.anyio
async def test_a_sync_client_in_an_async_test_is_refused(client):
    with pytest.raises(RuntimeError, match="use `async_client`"):
        client.get("/users/me", headers={"cookie": "session_cookie=" + "A" * 43})


@pytest.mark.anyio
async def test_async_tests_share_one_event_loop_a():
    import asyncio
    pytest.shared_loop = asyncio.get_running_loop()


@pytest.mark.anyio
async def test_async_tests_share_one_event_loop_b():
    import asyncio
    assert asyncio.get_running_loop() is pytest.shared_loop


def test_every_table_is_clean_again(db):
    assert db.count(User) == 0
    assert db.count(LoginSession) == 0
"""


class TestFixtureCatalogue:
    @pytest.mark.parametrize("isolation", ["savepoint", "delete"])
    def test_every_fixture_works_in_both_isolation_modes(
        self, pytester: pytest.Pytester, inner_args: list[str], isolation: str
    ) -> None:
        pytester.makepyfile(test_catalogue=SUITE)

        result = pytester.runpytest_subprocess(
            *inner_args,
            f"--db-isolation={isolation}",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
        )

        result.assert_outcomes(passed=16)
