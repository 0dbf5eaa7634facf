"""API keys in tests: ``api_key_factory``, ``api_key_client``, ``async_api_key_client``, and the
authorization matrix's ``ApiKeyPrincipal(*scopes)`` principals and ``{own_api_key}`` /
``{other_api_key}`` objects.

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own
(:class:`~sessionary.testing.Factory`, fixtures, :func:`~sessionary.testing.matrix_object`,
:func:`~sessionary.testing.matrix_principal`) and loaded by the plugin from its list of helpers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from sessionary.api_keys import service as api_keys_service
from sessionary.api_keys.models import ApiKey
from sessionary.roles.testing import RoleFactory
from sessionary.testing.clients import SessionaryAsyncClient, SessionaryTestClient
from sessionary.testing.factories import Factory, FactoryContext
from sessionary.testing.matrix import MatrixContext, matrix_object, matrix_principal
from sessionary.testing.sentinel import track_secret
from sessionary.users.models import User
from sessionary.users.testing import UserFactory


@dataclass(frozen=True)
class IssuedApiKey:
    """A key made by the factory: its ``row``, the plain ``key`` and its ``owner``."""

    row: ApiKey
    key: str
    owner: User

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def authorization(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <key>"}``, for one request."""
        return {"Authorization": f"Bearer {self.key}"}


class ApiKeyFactory(Factory[IssuedApiKey]):
    """API keys: ``api_key_factory(owner=…, scopes=[…], expires_at=None, name=…)``; without an
    owner, a fresh user whose custom role grants exactly ``scopes``."""

    def __init__(
        self, context: FactoryContext, user_factory: UserFactory, role_factory: RoleFactory
    ) -> None:
        super().__init__(context)
        self._users = user_factory
        self._roles = role_factory

    async def owner_for(self, scopes: Iterable[str]) -> User:
        """A fresh user whose only role grants exactly ``scopes``."""
        role = await self._roles.acreate(permissions=scopes)
        user: User = await self._users.acreate(roles=[role.name])
        return user

    async def acreate(
        self,
        *,
        owner: User | None = None,
        scopes: Iterable[str] = (),
        expires_at: datetime | None = None,
        name: str | None = None,
    ) -> IssuedApiKey:
        scopes = list(scopes)
        owner = owner or await self.owner_for(scopes)
        name = name or f"key{self.next_number()}"
        async with self.transaction() as session:
            issued = await api_keys_service.create_key(
                session, owner_id=owner.id, name=name, scopes=scopes, expires_at=expires_at
            )
        track_secret(issued.key, "API key")
        return IssuedApiKey(issued.row, issued.key, owner)


class ApiKeyTestClient(SessionaryTestClient):
    """A client sending ``Authorization: Bearer <key>`` (``user`` is the key's owner)."""

    __test__ = False
    api_key: IssuedApiKey

    def cross_site(self, origin: str = "https://attacker.example") -> SessionaryTestClient:
        other = super().cross_site(origin)
        other.headers["authorization"] = self.headers["authorization"]
        return other


class AsyncApiKeyClient(SessionaryAsyncClient):
    """The async twin of :class:`ApiKeyTestClient`."""

    api_key: IssuedApiKey


class ApiKeyClientMaker(Protocol):
    def __call__(
        self,
        scopes: Sequence[str] = (),
        *,
        owner: User | None = None,
        expires_at: datetime | None = None,
    ) -> ApiKeyTestClient: ...


class AsyncApiKeyClientMaker(Protocol):
    async def __call__(
        self,
        scopes: Sequence[str] = (),
        *,
        owner: User | None = None,
        expires_at: datetime | None = None,
    ) -> AsyncApiKeyClient: ...


@pytest.fixture
def api_key_factory(
    factory_context: FactoryContext, user_factory: UserFactory, role_factory: RoleFactory
) -> ApiKeyFactory:
    """Make API keys: ``api_key_factory(owner=…, scopes=[…], expires_at=…)``; ``.key``."""
    return ApiKeyFactory(factory_context, user_factory, role_factory)


@pytest.fixture
def api_key_client(
    sessionary_app: FastAPI,
    sessionary_portal: BlockingPortal,
    api_key_factory: ApiKeyFactory,
    _sessionary_lifespan: None,
) -> Iterator[ApiKeyClientMaker]:
    """``api_key_client(scopes, owner=None, expires_at=None)``: a client authenticating with a
    new key (default owner: a fresh user whose role grants exactly ``scopes``)."""
    clients: list[ApiKeyTestClient] = []

    def make(
        scopes: Sequence[str] = (),
        *,
        owner: User | None = None,
        expires_at: datetime | None = None,
    ) -> ApiKeyTestClient:
        issued: IssuedApiKey = api_key_factory(owner=owner, scopes=scopes, expires_at=expires_at)
        test_client = ApiKeyTestClient(sessionary_app, portal=sessionary_portal)
        clients.append(test_client)
        test_client.headers["authorization"] = f"Bearer {issued.key}"
        test_client.user = issued.owner
        test_client.api_key = issued
        return test_client

    yield make
    for test_client in clients:
        test_client.close()


@pytest.fixture
async def async_api_key_client(
    sessionary_app: FastAPI, api_key_factory: ApiKeyFactory, _sessionary_async_lifespan: None
) -> AsyncIterator[AsyncApiKeyClientMaker]:
    """The async twin of ``api_key_client``: ``client = await async_api_key_client([...])``."""
    clients: list[AsyncApiKeyClient] = []

    async def make(
        scopes: Sequence[str] = (),
        *,
        owner: User | None = None,
        expires_at: datetime | None = None,
    ) -> AsyncApiKeyClient:
        issued = await api_key_factory.acreate(owner=owner, scopes=scopes, expires_at=expires_at)
        test_client = AsyncApiKeyClient(sessionary_app)
        clients.append(test_client)
        test_client.headers["authorization"] = f"Bearer {issued.key}"
        test_client.user = issued.owner
        test_client.api_key = issued
        return test_client

    yield make
    for test_client in clients:
        await test_client.aclose()


# -- the authorization matrix --------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """A client authenticating with a new API key holding ``scopes`` (its owner's only role
    grants exactly those): ``ApiKeyPrincipal("users:read", "notes:read")``."""

    scopes: tuple[str, ...]

    def __init__(self, *scopes: str) -> None:
        object.__setattr__(self, "scopes", tuple(scopes))

    def __str__(self) -> str:
        return f"api key ({' '.join(self.scopes) or 'no scopes'})"


@matrix_principal(ApiKeyPrincipal)
def _api_key_principal_client(context: MatrixContext) -> Any:
    assert isinstance(context.principal, ApiKeyPrincipal)
    return context.fixture("api_key_client")(list(context.principal.scopes))


@matrix_object("own_api_key")
def _own_api_key(context: MatrixContext) -> Any:
    if context.user is None:  # anonymous: any id will do, the answer is 401
        return 1
    return context.fixture("api_key_factory")(owner=context.user).id


@matrix_object("other_api_key")
def _other_api_key(context: MatrixContext) -> Any:
    return context.fixture("api_key_factory")().id
