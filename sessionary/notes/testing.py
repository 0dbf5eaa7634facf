"""Notes in tests: ``note_factory`` and the ``{own_note}`` / ``{other_note}`` matrix objects.

A feature helper of ``sessionary.testing``, written with the calls an app uses for its own
(:class:`~sessionary.testing.Factory`, a fixture, :func:`~sessionary.testing.matrix_object`)
and loaded by the plugin from its list of helpers — the shape to copy for an app's resource.
"""

from __future__ import annotations

from typing import Any

import pytest

from sessionary.notes import service as notes_service
from sessionary.notes.models import Note
from sessionary.testing.factories import Factory, FactoryContext
from sessionary.testing.matrix import MatrixContext, matrix_object
from sessionary.users.models import User
from sessionary.users.testing import UserFactory


class NoteFactory(Factory[Note]):
    """Notes: ``note_factory(owner=user, title=…, body=…)`` (titles ``note1``, ``note2``…;
    the owner defaults to a fresh member)."""

    def __init__(self, context: FactoryContext, users: UserFactory) -> None:
        super().__init__(context)
        self._users = users

    async def acreate(
        self, *, owner: User | None = None, title: str | None = None, body: str = ""
    ) -> Note:
        title = title or f"note{self.next_number()}"
        owner = owner or await self._users.acreate()
        async with self.transaction() as session:
            return await notes_service.create(session, owner_id=owner.id, title=title, body=body)


@pytest.fixture
def note_factory(factory_context: FactoryContext, user_factory: UserFactory) -> NoteFactory:
    """Make notes through the app's service: ``note_factory(owner=user, title=…, body=…)``."""
    return NoteFactory(factory_context, user_factory)


@matrix_object("own_note")
def _own_note(context: MatrixContext) -> Any:
    # Anonymous: any note's id will do, the answer is 401 before it is looked up.
    return context.fixture("note_factory")(owner=context.user).id


@matrix_object("other_note")
def _other_note(context: MatrixContext) -> Any:
    return context.fixture("note_factory")().id
