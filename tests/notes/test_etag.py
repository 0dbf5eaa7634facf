"""ETag on every note response; If-Match on PATCH and DELETE, checked in the statement itself."""

import asyncio

import pytest

from sessionary.notes.models import Note
from sessionary.testing import (
    AsyncLoginAs,
    LoginAs,
    NoteFactory,
    SessionaryTestClient,
    SyncDB,
    UserFactory,
)
from sessionary.users.models import User


def _tag(note_id: int, version: int) -> str:
    return f'"note-{note_id}-v{version}"'


@pytest.fixture
def own(
    login_as: LoginAs, user: User, note_factory: NoteFactory
) -> tuple[SessionaryTestClient, Note]:
    """A logged-in member and one note of theirs (version 1)."""
    return login_as(user), note_factory(owner=user, title="v1")


class TestETagOnEveryNoteResponse:
    def test_create_read_and_update_carry_the_current_version(
        self, member_client: SessionaryTestClient
    ) -> None:
        created = member_client.post("/notes", json={"title": "t"})
        note_id = created.json()["id"]
        assert created.headers["ETag"] == _tag(note_id, 1)

        assert member_client.get(f"/notes/{note_id}").headers["ETag"] == _tag(note_id, 1)
        patched = member_client.patch(f"/notes/{note_id}", json={"title": "u"})
        assert patched.headers["ETag"] == _tag(note_id, 2)
        assert member_client.get(f"/notes/{note_id}").headers["ETag"] == _tag(note_id, 2)

    def test_an_empty_patch_changes_nothing(
        self, own: tuple[SessionaryTestClient, Note], db: SyncDB
    ) -> None:
        client, note = own

        response = client.patch(
            f"/notes/{note.id}", json={}, headers={"If-Match": _tag(note.id, 1)}
        )

        assert response.status_code == 200
        assert response.headers["ETag"] == _tag(note.id, 1)
        assert response.json()["updated_at"] == client.get(f"/notes/{note.id}").json()["updated_at"]


class TestIfMatchOnPatch:
    def test_current_tag_succeeds(self, own: tuple[SessionaryTestClient, Note]) -> None:
        client, note = own

        response = client.patch(
            f"/notes/{note.id}", json={"title": "v2"}, headers={"If-Match": _tag(note.id, 1)}
        )

        assert response.status_code == 200
        assert response.json()["title"] == "v2"

    def test_stale_tag_is_412_and_changes_nothing(
        self, own: tuple[SessionaryTestClient, Note], db: SyncDB
    ) -> None:
        client, note = own
        client.patch(f"/notes/{note.id}", json={"title": "v2"})  # now version 2

        response = client.patch(
            f"/notes/{note.id}", json={"title": "lost"}, headers={"If-Match": _tag(note.id, 1)}
        )

        assert response.status_code == 412
        assert response.json() == {"detail": "Precondition failed"}
        stored = db.get(Note, note.id)
        assert stored is not None
        assert (stored.title, stored.version) == ("v2", 2)

    def test_star_matches_any_existing_version(
        self, own: tuple[SessionaryTestClient, Note]
    ) -> None:
        client, note = own
        client.patch(f"/notes/{note.id}", json={"title": "v2"})

        response = client.patch(
            f"/notes/{note.id}", json={"title": "v3"}, headers={"If-Match": "*"}
        )

        assert response.status_code == 200
        assert response.headers["ETag"] == _tag(note.id, 3)

    def test_star_on_a_missing_note_is_404(self, member_client: SessionaryTestClient) -> None:
        response = member_client.patch("/notes/999999", json={}, headers={"If-Match": "*"})

        assert response.status_code == 404

    def test_weak_tag_never_matches(self, own: tuple[SessionaryTestClient, Note]) -> None:
        client, note = own

        weak = {"If-Match": f"W/{_tag(note.id, 1)}"}
        response = client.patch(f"/notes/{note.id}", json={"title": "x"}, headers=weak)

        assert response.status_code == 412

    def test_a_list_matches_when_any_tag_is_current(
        self, own: tuple[SessionaryTestClient, Note]
    ) -> None:
        client, note = own
        tags = f'"junk", W/{_tag(note.id, 1)}, {_tag(note.id, 1)}'

        response = client.patch(
            f"/notes/{note.id}", json={"title": "x"}, headers={"If-Match": tags}
        )

        assert response.status_code == 200

    def test_another_notes_tag_does_not_match(
        self, own: tuple[SessionaryTestClient, Note], note_factory: NoteFactory
    ) -> None:
        client, note = own
        mine_too: Note = note_factory(owner=client.user)

        headers = {"If-Match": _tag(mine_too.id, 1)}
        response = client.patch(f"/notes/{note.id}", json={"title": "x"}, headers=headers)

        assert response.status_code == 412

    @pytest.mark.parametrize("header", ["", "garbage", '"unterminated', "note-1-v1"])
    def test_malformed_header_matches_nothing(
        self, own: tuple[SessionaryTestClient, Note], header: str
    ) -> None:
        client, note = own

        response = client.patch(
            f"/notes/{note.id}", json={"title": "x"}, headers={"If-Match": header}
        )

        assert response.status_code == 412


class TestIfMatchOnDelete:
    def test_stale_tag_is_412_and_the_note_stays(
        self, own: tuple[SessionaryTestClient, Note], db: SyncDB
    ) -> None:
        client, note = own
        client.patch(f"/notes/{note.id}", json={"title": "v2"})

        response = client.delete(f"/notes/{note.id}", headers={"If-Match": _tag(note.id, 1)})

        assert response.status_code == 412
        assert db.get(Note, note.id) is not None

    def test_current_tag_deletes(self, own: tuple[SessionaryTestClient, Note], db: SyncDB) -> None:
        client, note = own

        response = client.delete(f"/notes/{note.id}", headers={"If-Match": _tag(note.id, 1)})

        assert response.status_code == 204
        assert db.get(Note, note.id) is None

    def test_star_deletes_and_a_second_delete_is_404(
        self, own: tuple[SessionaryTestClient, Note]
    ) -> None:
        client, note = own

        assert client.delete(f"/notes/{note.id}", headers={"If-Match": "*"}).status_code == 204
        assert client.delete(f"/notes/{note.id}", headers={"If-Match": "*"}).status_code == 404

    def test_weak_tag_is_412(self, own: tuple[SessionaryTestClient, Note]) -> None:
        client, note = own

        weak = {"If-Match": f"W/{_tag(note.id, 1)}"}
        assert client.delete(f"/notes/{note.id}", headers=weak).status_code == 412


class TestConcurrentEditorsNeverBothWin:
    async def _race(
        self, async_login_as: AsyncLoginAs, user_factory: UserFactory, note_factory: NoteFactory
    ) -> list[int]:
        alice: User = await user_factory.acreate()
        note: Note = await note_factory.acreate(owner=alice, title="v1")
        laptop, phone = await async_login_as(alice), await async_login_as(alice)
        headers = {"If-Match": _tag(note.id, 1)}

        responses = await asyncio.gather(
            laptop.patch(f"/notes/{note.id}", json={"title": "laptop"}, headers=headers),
            phone.patch(f"/notes/{note.id}", json={"title": "phone"}, headers=headers),
        )

        winner = next(r for r in responses if r.status_code == 200)
        assert winner.headers["ETag"] == _tag(note.id, 2)
        final = await laptop.get(f"/notes/{note.id}")
        assert final.json()["title"] == winner.json()["title"]
        return sorted(r.status_code for r in responses)

    @pytest.mark.anyio
    async def test_same_etag_twice_gives_one_200_and_one_412(
        self, async_login_as: AsyncLoginAs, user_factory: UserFactory, note_factory: NoteFactory
    ) -> None:
        statuses = await self._race(async_login_as, user_factory, note_factory)

        assert statuses == [200, 412]

    @pytest.mark.anyio
    @pytest.mark.sessionary_db(transaction=True)
    async def test_also_with_real_commits_on_separate_connections(
        self, async_login_as: AsyncLoginAs, user_factory: UserFactory, note_factory: NoteFactory
    ) -> None:
        # Savepoint isolation lets requests take turns on one connection; here each has its
        # own, so on PostgreSQL the row lock decides (a read-then-write check fails this).
        statuses = await self._race(async_login_as, user_factory, note_factory)

        assert statuses == [200, 412]
