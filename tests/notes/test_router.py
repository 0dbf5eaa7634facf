"""The notes routes' shapes, limits, pagination, and the cascade from a deleted user."""

from datetime import datetime

from sqlalchemy import delete

from sessionary.notes.models import Note
from sessionary.testing import (
    Clock,
    LoginAs,
    NoteFactory,
    SessionaryTestClient,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User

NOTE_KEYS = {"id", "owner_id", "title", "body", "created_at", "updated_at"}


class TestShape:
    def test_keys_are_exact_and_timestamps_carry_an_offset(
        self, member_client: SessionaryTestClient
    ) -> None:
        created = member_client.post("/notes", json={"title": "t"}).json()
        read = member_client.get(f"/notes/{created['id']}").json()
        listed = member_client.get("/notes").json()["items"][0]

        for body in (created, read, listed):
            assert set(body) == NOTE_KEYS
            for key in ("created_at", "updated_at"):
                assert datetime.fromisoformat(body[key]).utcoffset() is not None

    def test_update_moves_updated_at_only(
        self, login_as: LoginAs, user: User, note_factory: NoteFactory, clock: Clock
    ) -> None:
        note: Note = note_factory(owner=user)
        clock.advance(minutes=5)

        body = login_as(user).patch(f"/notes/{note.id}", json={"title": "later"}).json()

        created_at = datetime.fromisoformat(body["created_at"])
        updated_at = datetime.fromisoformat(body["updated_at"])
        assert created_at == note.created_at
        assert (updated_at - created_at).total_seconds() == 300


class TestLimits:
    def test_title_bounds(self, member_client: SessionaryTestClient) -> None:
        assert member_client.post("/notes", json={"title": ""}).status_code == 422
        assert member_client.post("/notes", json={"title": "x" * 201}).status_code == 422
        assert member_client.post("/notes", json={"title": "x" * 200}).status_code == 201
        assert member_client.post("/notes", json={}).status_code == 422

    def test_body_bounds(self, member_client: SessionaryTestClient) -> None:
        too_long = {"title": "t", "body": "b" * 10_001}
        assert member_client.post("/notes", json=too_long).status_code == 422
        longest = {"title": "t", "body": "b" * 10_000}
        assert member_client.post("/notes", json=longest).status_code == 201

    def test_extra_fields_are_422(self, admin_client: SessionaryTestClient) -> None:
        # Not even an admin chooses the owner: a note belongs to whoever created it.
        for extra in ({"id": 5}, {"owner_id": 1}, {"version": 3}):
            response = admin_client.post("/notes", json={"title": "t", **extra})
            assert response.status_code == 422, extra

    def test_patch_limits_and_nulls(
        self, login_as: LoginAs, user: User, note_factory: NoteFactory, db: SyncDB
    ) -> None:
        client = login_as(user)
        note: Note = note_factory(owner=user, title="same")

        for bad in (
            {"title": ""},
            {"title": "x" * 201},
            {"body": "b" * 10_001},
            {"title": None},
            {"body": None},
            {"owner_id": 1},
            {"version": 7},
        ):
            assert client.patch(f"/notes/{note.id}", json=bad).status_code == 422, bad
        stored = db.get(Note, note.id)
        assert stored is not None
        assert (stored.title, stored.version) == ("same", 1)

    def test_non_integer_id_is_422(self, member_client: SessionaryTestClient) -> None:
        assert member_client.get("/notes/abc").status_code == 422


class TestPagination:
    def test_pages_in_id_order_with_next_offset(
        self, login_as: LoginAs, user: User, note_factory: NoteFactory
    ) -> None:
        client = login_as(user)
        notes = note_factory.create_batch(5, owner=user)

        first = client.get("/notes", params={"limit": 2}).json()
        last = client.get("/notes", params={"limit": 2, "offset": 4}).json()

        assert [item["id"] for item in first["items"]] == [n.id for n in notes[:2]]
        assert (first["limit"], first["offset"], first["next_offset"]) == (2, 0, 2)
        assert [item["id"] for item in last["items"]] == [notes[4].id]
        assert last["next_offset"] is None

    def test_limit_over_100_or_under_1_is_422(self, member_client: SessionaryTestClient) -> None:
        assert member_client.get("/notes", params={"limit": 101}).status_code == 422
        assert member_client.get("/notes", params={"limit": 0}).status_code == 422
        assert member_client.get("/notes", params={"offset": -1}).status_code == 422
        assert member_client.get("/notes", params={"limit": 100}).status_code == 200

    def test_default_page(self, member_client: SessionaryTestClient) -> None:
        assert member_client.get("/notes").json() == {
            "items": [],
            "limit": 50,
            "offset": 0,
            "next_offset": None,
        }


class TestDeletedUsersNotesGoWithThem:
    def test_cascade(
        self, user_factory: UserFactory, note_factory: NoteFactory, db: SyncDB
    ) -> None:
        alice: User = user_factory()
        note_factory.create_batch(2, owner=alice)
        kept: Note = note_factory()

        db.execute(delete(User).where(User.id == alice.id))

        assert db.count(Note, Note.owner_id == alice.id) == 0
        assert db.count(Note) == 1
        assert db.get(Note, kept.id) is not None
