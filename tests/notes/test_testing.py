"""sessionary.notes.testing: the note factory and the notes' matrix objects."""

import pytest

from sessionary.notes.models import Note
from sessionary.testing import ANON, NoteFactory, SyncDB, UserFactory
from sessionary.testing.matrix import OBJECTS, MatrixContext
from sessionary.users.models import User


class TestNoteFactory:
    def test_defaults_number_titles_and_give_each_note_a_fresh_owner(
        self, note_factory: NoteFactory
    ) -> None:
        first, second = note_factory.create_batch(2)

        assert (first.title, second.title) == ("note1", "note2")
        assert first.owner_id != second.owner_id
        assert (first.body, first.version) == ("", 1)

    def test_owner_title_and_body_are_taken(
        self, note_factory: NoteFactory, user_factory: UserFactory
    ) -> None:
        alice: User = user_factory()

        note: Note = note_factory(owner=alice, title="t", body="b")

        assert (note.owner_id, note.title, note.body) == (alice.id, "t", "b")

    @pytest.mark.anyio
    async def test_async_create(self, note_factory: NoteFactory) -> None:
        note: Note = await note_factory.acreate()

        assert note.id is not None


class TestMatrixObjects:
    def test_own_note_belongs_to_the_principal(
        self, request: pytest.FixtureRequest, user: User, db: SyncDB
    ) -> None:
        note_id = OBJECTS["own_note"](MatrixContext(request, "member", user))

        note = db.get(Note, note_id)
        assert note is not None
        assert note.owner_id == user.id

    def test_own_note_for_anonymous_is_some_note(
        self, request: pytest.FixtureRequest, db: SyncDB
    ) -> None:
        note_id = OBJECTS["own_note"](MatrixContext(request, ANON, None))

        assert db.get(Note, note_id) is not None

    def test_other_note_belongs_to_someone_else(
        self, request: pytest.FixtureRequest, user: User, db: SyncDB
    ) -> None:
        note_id = OBJECTS["other_note"](MatrixContext(request, "member", user))

        note = db.get(Note, note_id)
        assert note is not None
        assert note.owner_id != user.id
