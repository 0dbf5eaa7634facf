"""The factory base: rows made on the test's connection, with deterministic names per test.

:class:`Factory` is generic over the model it makes, for Sessionary's factories
(each beside its feature: ``sessionary/users/testing.py``…) and an app's own alike::

    class ProjectFactory(Factory[Project]):
        async def acreate(self, *, owner: User, name: str | None = None) -> Project:
            async with self.transaction() as session:
                project = Project(owner_id=owner.id, name=name or f"project{self.next_number()}")
                session.add(project)
            return project

    @pytest.fixture
    def project_factory(factory_context: FactoryContext) -> ProjectFactory:
        return ProjectFactory(factory_context)
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop

T = TypeVar("T")


class FactoryContext:
    """What a factory needs from the running test: its database connection and its event
    loop. The ``factory_context`` fixture gives one; pass it to a factory's constructor."""

    def __init__(self, database: TestProvider, loop: TestLoop) -> None:
        self._database = database
        self._loop = loop


class Factory(Generic[T]):
    """Makes ``T`` rows: ``f(**kw)`` from sync tests, ``await f.acreate(**kw)`` from async
    ones, ``f.create_batch(n, **kw)`` / ``await f.acreate_batch(n, **kw)`` for several.

    A subclass defines ``async def acreate(self, *, ...) -> T`` making one row, inside
    ``async with self.transaction() as session:`` (the test's connection: rolled back
    with the test), and may number default values with :meth:`next_number`.
    """

    # ``Factory(database, loop)`` (before FactoryContext) still works.
    def __init__(
        self, context: FactoryContext | TestProvider, loop: TestLoop | None = None
    ) -> None:
        if not isinstance(context, FactoryContext):
            assert loop is not None, "Factory(database, loop) needs the loop"
            context = FactoryContext(context, loop)
        self._database = context._database
        self._loop = context._loop
        self._sequence = itertools.count(1)

    def next_number(self) -> int:
        """1, 2, 3… per factory and per test: for default names (``user1``, ``note2``)."""
        return next(self._sequence)

    _next = next_number  # the name before next_number

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """An ``AsyncSession`` on the test's connection, committed when the block ends
        (into the test's own transaction). ``assert_num_queries`` does not count its SQL."""
        with self._database.queries.paused():
            async with self._database.write() as session:
                yield session
                await session.commit()

    acreate: Callable[..., Awaitable[T]]

    def __call__(self, **kwargs: Any) -> T:
        """Make one row from a sync test (``acreate`` run on the test's loop)."""
        return self._loop.call(lambda: self.acreate(**kwargs))

    def create_batch(self, count: int, **kwargs: Any) -> list[T]:
        return [self(**kwargs) for _ in range(count)]

    async def acreate_batch(self, count: int, **kwargs: Any) -> list[T]:
        return [await self.acreate(**kwargs) for _ in range(count)]
