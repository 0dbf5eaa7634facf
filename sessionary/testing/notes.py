"""Notes in tests: ``note_factory`` and the ``{own_note}`` / ``{other_note}`` matrix objects."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from sessionary.notes import service as notes_service
from sessionary.notes.models import Note
from sessionary.testing.factories import Factory, UserFactory
from sessionary.testing.isolation import TestProvider
from sessionary.testing.loops import TestLoop
from sessionary.testing.matrix import MatrixContext, matrix_object
from sessionary.users.models import User


class NoteFactory(Factory):
    """Notes: ``note_factory(owner=user, title=…, body=…)`` (titles ``note1``, ``note2``…;
    the owner defaults to a fresh member)."""

    def __init__(self, database: TestProvider, loop: TestLoop, users: UserFactory) -> None:
        super().__init__(database, loop)
        self._users = users

    async def acreate(
        self, *, owner: User | None = None, title: str | None = None, body: str = ""
    ) -> Note:
        title = title or f"note{self._next()}"
        owner = owner or await self._users.acreate()
        with self._database.queries.paused():
            async with self._database.session() as session:
                note = await notes_service.create(
                    session, owner_id=owner.id, title=title, body=body
                )
                await session.commit()
        return note


@pytest.fixture
def note_factory(
    sessionary_app: FastAPI, sessionary_loop: TestLoop, user_factory: UserFactory
) -> NoteFactory:
    """Make notes through the app's service: ``note_factory(owner=user, title=…, body=…)``."""
    database = sessionary_app.state.database
    if not isinstance(database, TestProvider):
        raise pytest.UsageError("note_factory needs the database; remove @pytest.mark.no_db")
    return NoteFactory(database, sessionary_loop, user_factory)


@matrix_object("own_note")
def _own_note(context: MatrixContext) -> Any:
    # Anonymous: any note's id will do, the answer is 401 before it is looked up.
    return context.fixture("note_factory")(owner=context.user).id


@matrix_object("other_note")
def _other_note(context: MatrixContext) -> Any:
    return context.fixture("note_factory")().id
