"""Async tests as a test author writes them: one event loop per worker, the sync fixtures' rows
visible, concurrent requests, a clean slate after."""

import asyncio

import httpx2
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.sessions.models import LoginSession
from sessionary.testing import DEFAULT_PASSWORD, QueryCounter, UserFactory
from sessionary.users.models import User


@pytest.mark.anyio
async def test_async_login_and_me(
    async_client: httpx2.AsyncClient, user_factory: UserFactory, async_db: AsyncSession
) -> None:
    alice = await user_factory.acreate(username="alice")
    response = await async_client.post(
        "/auth/login", json={"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    me = await async_client.get("/users/me")
    assert me.json()["user_id"] == alice.id
    assert await async_db.scalar(select(func.count()).select_from(LoginSession)) == 1


@pytest.mark.anyio
async def test_clean_after(async_db: AsyncSession) -> None:
    assert await async_db.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.anyio
async def test_sync_fixture_data_is_visible(
    user: User, async_member_client: httpx2.AsyncClient, assert_num_queries: QueryCounter
) -> None:
    with assert_num_queries(1):
        assert (await async_member_client.get("/users/me")).status_code == 200
        assert (await async_member_client.get("/protected_data/")).status_code == 200


@pytest.mark.anyio
async def test_concurrent_logins(
    async_client: httpx2.AsyncClient, user_factory: UserFactory
) -> None:
    users = await user_factory.acreate_batch(5)
    responses = await asyncio.gather(
        *(
            async_client.post(
                "/auth/login", json={"username": u.username, "password": DEFAULT_PASSWORD}
            )
            for u in users
        )
    )
    assert [r.status_code for r in responses] == [200] * 5


@pytest.mark.anyio
async def test_clean_after_concurrent(async_db: AsyncSession) -> None:
    assert await async_db.scalar(select(func.count()).select_from(LoginSession)) == 0
