"""Rows made through the app's own services, with deterministic names per test.

Hashing is real argon2id, but each distinct password is hashed once per run
and cached: verification stays real and no security setting changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import update

from sessionary.core.security import PasswordHasher
from sessionary.roles import service as roles_service
from sessionary.roles.models import Role
from sessionary.roles.permissions import MEMBER
from sessionary.testing import sentinel
from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop
from sessionary.users import service as users_service
from sessionary.users.models import User

DEFAULT_PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - a test fixture value

T = TypeVar("T")
_hash_cache: dict[tuple[str, str], str] = {}


def cached_hash(hasher: PasswordHasher, password: str) -> str:
    """One real hash per (parameters, password) per run."""
    key = (repr(hasher.parameters), password)
    if key not in _hash_cache:
        _hash_cache[key] = hasher.hash_sync(password)
    return _hash_cache[key]


class Factory:
    """``f(**kw)`` from sync tests, ``await f.acreate(**kw)`` from async ones,
    ``f.create_batch(n, **kw)`` for several."""

    def __init__(self, database: TestProvider, loop: TestLoop) -> None:
        self._database = database
        self._loop = loop
        self._sequence = itertools.count(1)

    def _next(self) -> int:
        return next(self._sequence)

    # Each factory defines ``async def acreate(self, *, ...)`` making one row.
    acreate: Callable[..., Awaitable[Any]]

    def __call__(self, **kwargs: Any) -> Any:
        return self._loop.call(lambda: self.acreate(**kwargs))

    def create_batch(self, count: int, **kwargs: Any) -> list[Any]:
        return [self(**kwargs) for _ in range(count)]

    async def acreate_batch(self, count: int, **kwargs: Any) -> list[Any]:
        return [await self.acreate(**kwargs) for _ in range(count)]


class UserFactory(Factory):
    """Users: ``user_factory(username=…, password=…, roles=[…], is_active=…)``."""

    def __init__(self, database: TestProvider, loop: TestLoop, hasher: PasswordHasher) -> None:
        super().__init__(database, loop)
        self._hasher = hasher

    async def acreate(
        self,
        *,
        username: str | None = None,
        email: str | None = None,
        password: str = DEFAULT_PASSWORD,
        roles: Iterable[str] = (MEMBER,),
        is_active: bool = True,
    ) -> User:
        if watcher := sentinel.active():
            watcher.add(password, "password")
        number = self._next()
        username = username or f"user{number}"
        email = email or f"{username.casefold()}@example.com"
        queries = self._database.queries
        with queries.paused():
            async with self._database.session() as session:
                user = await users_service.create_user(
                    session,
                    self._hasher,
                    username=username,
                    email=email,
                    password=password,
                    roles=list(roles),
                    enforce_policy=False,
                    password_hash=cached_hash(self._hasher, password),
                )
                if not is_active:
                    await session.execute(
                        update(User).where(User.id == user.id).values(is_active=False)
                    )
                    user.is_active = False
                await session.commit()
        return user


class RoleFactory(Factory):
    """Custom roles: ``role_factory(name=…, permissions=[…])`` (names ``role1``, ``role2``…)."""

    async def acreate(self, *, name: str | None = None, permissions: Iterable[str] = ()) -> Role:
        name = name or f"role{self._next()}"
        with self._database.queries.paused():
            async with self._database.session() as session:
                role = await roles_service.create_role(session, name=name, permissions=permissions)
                await session.commit()
        return role
