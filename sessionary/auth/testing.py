"""Logging in, in tests: ``login_as`` and its async twin, the member/admin clients, role names
as matrix principals, and the login throttle (``throttle``, reset after every test).

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own
(fixtures, :func:`~sessionary.testing.matrix_principal`) and loaded by the plugin from its list
of helpers. Throttle counts live outside the database (process memory, or Redis), so the
rollback that cleans every test does not touch them: they are forgotten after each test. With
Redis only the keys under the app's ``redis_key_prefix`` go — one prefix per xdist worker —
never the whole database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal, Protocol

import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from sessionary.auth.throttle import ThrottleCounts
from sessionary.core.runtime import STATE_KEY
from sessionary.runtime import Runtime, runtime_of
from sessionary.sessions.testing import open_test_session
from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.fixtures import isolated
from sessionary.testing.loops import TestLoop
from sessionary.testing.matrix import MatrixContext, matrix_principal
from sessionary.testing.sentinel import track_secret
from sessionary.users.models import User
from sessionary.users.testing import DEFAULT_PASSWORD, UserFactory
from sessionary.users.usernames import username_key


class LoginAs(Protocol):
    """``login_as(user_or_role, *, via="session", fresh=True)`` -> a logged-in TestClient."""

    def __call__(
        self, who: User | str, *, via: Literal["session", "login"] = ..., fresh: bool = ...
    ) -> SessionaryTestClient: ...


class AsyncLoginAs(Protocol):
    """``await async_login_as(user_or_role, *, via=..., fresh=...)`` -> a logged-in AsyncClient."""

    async def __call__(
        self, who: User | str, *, via: Literal["session", "login"] = ..., fresh: bool = ...
    ) -> SessionaryAsyncClient: ...


async def _session_token(
    app: FastAPI, factory: UserFactory, who: User | str, *, fresh: bool
) -> tuple[User, str]:
    account: User = who if isinstance(who, User) else await factory.acreate(roles=[who])
    token = await open_test_session(isolated(app), runtime_of(app).settings, account, fresh=fresh)
    track_secret(token, "session token")
    return account, token


def _check_via(via: str, fresh: bool) -> None:
    if via not in {"session", "login"}:
        raise pytest.UsageError(f'login_as(via={via!r}): use "session" or "login"')
    if via == "login" and not fresh:
        raise pytest.UsageError('login_as(fresh=False) needs via="session"')


def _login_request(app: FastAPI, account: User) -> dict[str, Any]:
    return {
        "url": runtime_of(app).prefix + "/auth/login",
        "json": {"username": account.username, "password": DEFAULT_PASSWORD},
    }


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
            response = test_client.post(**_login_request(sessionary_app, account))
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
            response = await test_client.post(**_login_request(sessionary_app, account))
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


@matrix_principal(str)
def _role_name_client(context: MatrixContext) -> Any:
    """A role's name in ``principals``: a fresh user holding that role."""
    return context.fixture("login_as")(context.principal)


# -- the login throttle ---------------------------------------------------------------------------


def reset_throttle(app: FastAPI, loop: TestLoop) -> None:
    """Forget every count of ``app``'s login throttle; from sync code (fixture teardown)."""
    runtime: Runtime | None = getattr(app.state, STATE_KEY, None)
    # In memory no loop is needed; Redis clients belong to a loop, so use the test's.
    if runtime is not None and not runtime.throttle.reset_memory():
        loop.call(runtime.throttle.reset)


class ThrottleHandle:
    """The app's login throttle, read with the app's current settings."""

    __test__ = False

    def __init__(self, app: FastAPI, loop: TestLoop) -> None:
        self._app = app
        self._loop = loop

    def counts(
        self, username: str, *, client: str = "unknown", device_id: int | None = None
    ) -> ThrottleCounts:
        """Failures counted against a login as ``username`` from ``client`` (its bucket: an IP,
        an IPv6 /64, or ``"unknown"`` as for a TestClient), or from the device ``device_id``."""
        return self._loop.call(lambda: self.acounts(username, client=client, device_id=device_id))

    async def acounts(
        self, username: str, *, client: str = "unknown", device_id: int | None = None
    ) -> ThrottleCounts:
        """The async twin of :meth:`counts`."""
        runtime = runtime_of(self._app)
        return await runtime.throttle.counts(
            runtime.settings, account=username_key(username), client=client, device_id=device_id
        )

    def reset(self) -> None:
        """Forget every count now (the plugin also does after every test)."""
        reset_throttle(self._app, self._loop)

    async def areset(self) -> None:
        """The async twin of :meth:`reset`."""
        await runtime_of(self._app).throttle.reset()


@pytest.fixture
def throttle(sessionary_app: FastAPI, sessionary_loop: TestLoop) -> ThrottleHandle:
    """The login throttle's failure counts: ``throttle.counts("alice")``, ``throttle.reset()``."""
    return ThrottleHandle(sessionary_app, sessionary_loop)


@pytest.fixture(autouse=True)
def _sessionary_throttle_reset(request: pytest.FixtureRequest) -> Iterator[None]:
    # Every test starts with no failures counted (not for no_db tests: they log nobody in).
    if request.node.get_closest_marker("no_db"):
        yield
        return
    app: FastAPI = request.getfixturevalue("sessionary_app")
    loop: TestLoop = request.getfixturevalue("sessionary_loop")
    yield
    reset_throttle(app, loop)
