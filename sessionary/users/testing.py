"""Users in tests: ``user_factory``, ``user``, ``admin_user``, and the ``{me}`` /
``{other_user}`` matrix objects.

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own
(:class:`~sessionary.testing.Factory`, a fixture, :func:`~sessionary.testing.matrix_object`)
and loaded by the plugin from its list of helpers. Hashing is real argon2id, but each distinct
password is hashed once per run and cached: verification stays real and no security setting
changes.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from sessionary.core.security import PasswordHasher
from sessionary.roles.permissions import MEMBER
from sessionary.runtime import runtime_of
from sessionary.testing.factories import Factory, FactoryContext
from sessionary.testing.matrix import MatrixContext, matrix_object
from sessionary.testing.sentinel import track_secret
from sessionary.users import service as users_service
from sessionary.users.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - a test fixture value

_hash_cache: dict[tuple[str, str], str] = {}


def cached_hash(hasher: PasswordHasher, password: str) -> str:
    """One real hash per (parameters, password) per run."""
    key = (repr(hasher.parameters), password)
    if key not in _hash_cache:
        _hash_cache[key] = hasher.hash_sync(password)
    return _hash_cache[key]


class UserFactory(Factory[User]):
    """Users: ``user_factory(username=…, password=…, roles=[…], is_active=…,
    email_verified=…)`` (verified unless told otherwise)."""

    def __init__(self, context: FactoryContext, hasher: PasswordHasher) -> None:
        super().__init__(context)
        self._hasher = hasher

    async def acreate(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        roles: Iterable[str] = (MEMBER,),
        is_active: bool = True,
        email_verified: bool = True,
    ) -> User:
        track_secret(password, "password")
        username = username or f"user{self.next_number()}"
        email = email or f"{username.casefold()}@example.com"
        async with self.transaction() as session:
            user = await users_service.create_user(
                session,
                self._hasher,
                username=username,
                email=email,
                password=password,
                roles=list(roles),
                enforce_policy=False,
                password_hash=cached_hash(self._hasher, password),
                email_verified=email_verified,
            )
            if not is_active:
                await session.execute(
                    update(User).where(User.id == user.id).values(is_active=False)
                )
                user.is_active = False
        return user


@pytest.fixture
def user_factory(sessionary_app: FastAPI, factory_context: FactoryContext) -> UserFactory:
    """Make users through the app's services: ``user_factory(username=…, roles=[…])``,
    ``await user_factory.acreate(...)``, ``create_batch(n)``."""
    return UserFactory(factory_context, runtime_of(sessionary_app).hasher)


@pytest.fixture
def user(user_factory: UserFactory) -> User:
    """A member with the default password."""
    return user_factory()


@pytest.fixture
def admin_user(user_factory: UserFactory) -> User:
    """A user holding the built-in ``admin`` role."""
    return user_factory(username="admin", roles=["admin"])


@matrix_object("me")
def _me(context: MatrixContext) -> int:
    user: User = context.user or context.fixture("user_factory")()
    return user.id


@matrix_object("other_user")
def _other_user(context: MatrixContext) -> int:
    other: User = context.fixture("user_factory")()
    return other.id
