"""Logged-in clients: ``login_as`` and its async twin, and the member/admin shortcuts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Literal

import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from sessionary.runtime import runtime_of
from sessionary.testing import sentinel
from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.factories import DEFAULT_PASSWORD, UserFactory
from sessionary.testing.fixtures import isolated
from sessionary.testing.handles import AsyncLoginAs, LoginAs, open_test_session
from sessionary.testing.loops import TestLoop
from sessionary.users.models import User


async def _session_token(
    app: FastAPI, factory: UserFactory, who: User | str, *, fresh: bool
) -> tuple[User, str]:
    account: User = who if isinstance(who, User) else await factory.acreate(roles=[who])
    token = await open_test_session(isolated(app), runtime_of(app).settings, account, fresh=fresh)
    if watcher := sentinel.active():
        watcher.add(token, "session token")
    return account, token


def _check_via(via: str, fresh: bool) -> None:
    if via not in {"session", "login"}:
        raise pytest.UsageError(f'login_as(via={via!r}): use "session" or "login"')
    if via == "login" and not fresh:
        raise pytest.UsageError('login_as(fresh=False) needs via="session"')


@pytest.fixture
def login_as(
    sessionary_app: FastAPI,
    sessionary_portal: BlockingPortal,
    sessionary_loop: TestLoop,
    user_factory: UserFactory,
    _sessionary_lifespan: None,
) -> Iterator[LoginAs]:
    """``login_as(user_or_role, via="session"|"login", fresh=True)``: a new client carrying a
    real session cookie; a role name makes a fresh user with exactly that role."""
    clients: list[SessionaryTestClient] = []

    def login(
        who: User | str, *, via: Literal["session", "login"] = "session", fresh: bool = True
    ) -> SessionaryTestClient:
        _check_via(via, fresh)
        test_client = SessionaryTestClient(sessionary_app, portal=sessionary_portal)
        clients.append(test_client)
        if via == "login":
            account: User = who if isinstance(who, User) else user_factory(roles=[who])
            response = test_client.post(
                runtime_of(sessionary_app).prefix + "/auth/login",
                json={"username": account.username, "password": DEFAULT_PASSWORD},
            )
            assert response.status_code == 200, response.text
        else:
            account, token = sessionary_loop.call(
                lambda: _session_token(sessionary_app, user_factory, who, fresh=fresh)
            )
            test_client.cookies.set(runtime_of(sessionary_app).settings.session_cookie_name, token)
        test_client.user = account
        return test_client

    yield login
    for test_client in clients:
        test_client.close()


@pytest.fixture
async def async_login_as(
    sessionary_app: FastAPI, user_factory: UserFactory, _sessionary_async_lifespan: None
) -> AsyncIterator[AsyncLoginAs]:
    """The async twin of ``login_as``: ``client = await async_login_as("member")``."""
    clients: list[SessionaryAsyncClient] = []

    async def login(
        who: User | str, *, via: Literal["session", "login"] = "session", fresh: bool = True
    ) -> SessionaryAsyncClient:
        _check_via(via, fresh)
        test_client = SessionaryAsyncClient(sessionary_app)
        clients.append(test_client)
        if via == "login":
            account = who if isinstance(who, User) else await user_factory.acreate(roles=[who])
            response = await test_client.post(
                runtime_of(sessionary_app).prefix + "/auth/login",
                json={"username": account.username, "password": DEFAULT_PASSWORD},
            )
            assert response.status_code == 200, response.text
        else:
            account, token = await _session_token(sessionary_app, user_factory, who, fresh=fresh)
            test_client.cookies.set(runtime_of(sessionary_app).settings.session_cookie_name, token)
        test_client.user = account
        return test_client

    yield login
    for test_client in clients:
        await test_client.aclose()


@pytest.fixture
def member_client(login_as: LoginAs) -> SessionaryTestClient:
    """A client logged in as a fresh ``member``."""
    return login_as("member")


@pytest.fixture
def admin_client(login_as: LoginAs) -> SessionaryTestClient:
    """A client logged in as a fresh ``admin``."""
    return login_as("admin")


@pytest.fixture
async def async_member_client(async_login_as: AsyncLoginAs) -> SessionaryAsyncClient:
    """The async twin of ``member_client``."""
    return await async_login_as("member")


@pytest.fixture
async def async_admin_client(async_login_as: AsyncLoginAs) -> SessionaryAsyncClient:
    """The async twin of ``admin_client``."""
    return await async_login_as("admin")
