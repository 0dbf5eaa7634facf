"""Object-level access to notes: own notes, another user's (404), read_all, write_all."""

from sessionary.notes.models import Note
from sessionary.testing import (
    LoginAs,
    NoteFactory,
    RoleFactory,
    SessionaryTestClient,
    SyncDB,
)
from sessionary.users.models import User


def _login_with(
    login_as: LoginAs, role_factory: RoleFactory, *permissions: str
) -> SessionaryTestClient:
    role = role_factory(permissions=list(permissions))
    return login_as(role.name)


class TestAnonymousAndUnpermitted:
    def test_anonymous_is_401_everywhere(
        self, client: SessionaryTestClient, note_factory: NoteFactory
    ) -> None:
        note: Note = note_factory()

        assert client.get("/notes").status_code == 401
        assert client.post("/notes", json={"title": "x"}).status_code == 401
        assert client.get(f"/notes/{note.id}").status_code == 401
        assert client.patch(f"/notes/{note.id}", json={"title": "x"}).status_code == 401
        assert client.delete(f"/notes/{note.id}").status_code == 401

    def test_without_notes_permissions_is_403(
        self, login_as: LoginAs, role_factory: RoleFactory
    ) -> None:
        client = _login_with(login_as, role_factory, "audit:read")

        assert client.get("/notes").status_code == 403
        assert client.post("/notes", json={"title": "x"}).status_code == 403

    def test_read_only_role_cannot_create(
        self, login_as: LoginAs, role_factory: RoleFactory
    ) -> None:
        client = _login_with(login_as, role_factory, "notes:read")

        assert client.get("/notes").status_code == 200
        assert client.post("/notes", json={"title": "x"}).status_code == 403


class TestMemberOwnNotes:
    def test_create_answers_201_with_the_note_etag_and_location(
        self, member_client: SessionaryTestClient
    ) -> None:
        response = member_client.post("/notes", json={"title": "Groceries", "body": "milk"})

        assert response.status_code == 201
        body = response.json()
        assert body["title"] == "Groceries"
        assert body["body"] == "milk"
        assert body["owner_id"] == member_client.user.id
        assert response.headers["ETag"] == f'"note-{body["id"]}-v1"'
        assert response.headers["Location"] == f"/notes/{body['id']}"

    def test_body_defaults_to_empty(self, member_client: SessionaryTestClient) -> None:
        assert member_client.post("/notes", json={"title": "t"}).json()["body"] == ""

    def test_member_reads_updates_and_deletes_own_note(
        self, login_as: LoginAs, user: User, note_factory: NoteFactory, db: SyncDB
    ) -> None:
        client = login_as(user)
        note: Note = note_factory(owner=user, title="mine")

        assert client.get(f"/notes/{note.id}").json()["title"] == "mine"
        patched = client.patch(f"/notes/{note.id}", json={"body": "new body"})
        assert patched.status_code == 200
        assert patched.json()["title"] == "mine"
        assert patched.json()["body"] == "new body"
        assert client.delete(f"/notes/{note.id}").status_code == 204
        assert db.count(Note) == 0

    def test_listing_shows_only_own_notes(
        self, login_as: LoginAs, user: User, note_factory: NoteFactory
    ) -> None:
        mine = [note_factory(owner=user), note_factory(owner=user)]
        note_factory()  # someone else's

        body = login_as(user).get("/notes").json()

        assert [item["id"] for item in body["items"]] == [note.id for note in mine]

    def test_unknown_note_is_404(self, member_client: SessionaryTestClient) -> None:
        response = member_client.get("/notes/999999")

        assert response.status_code == 404
        assert response.json() == {"detail": "Note not found"}


class TestOtherUsersNoteIs404:
    def test_get_patch_delete_are_404_and_leave_it_unchanged(
        self, member_client: SessionaryTestClient, note_factory: NoteFactory, db: SyncDB
    ) -> None:
        note: Note = note_factory(title="secret", body="keep")

        for response in (
            member_client.get(f"/notes/{note.id}"),
            member_client.patch(f"/notes/{note.id}", json={"title": "pwned"}),
            member_client.patch(
                f"/notes/{note.id}", json={"title": "x"}, headers={"If-Match": "*"}
            ),
            member_client.delete(f"/notes/{note.id}"),
            member_client.delete(f"/notes/{note.id}", headers={"If-Match": "*"}),
        ):
            assert response.status_code == 404
            assert response.json() == {"detail": "Note not found"}
        stored = db.get(Note, note.id)
        assert stored is not None
        assert (stored.title, stored.body, stored.version) == ("secret", "keep", 1)

    def test_a_stale_tag_on_another_users_note_is_still_404(
        self, member_client: SessionaryTestClient, note_factory: NoteFactory
    ) -> None:
        # 404 before 412: the precondition never reveals that the note exists.
        note: Note = note_factory()
        stale = {"If-Match": '"note-0-v9"'}

        assert member_client.patch(f"/notes/{note.id}", json={}, headers=stale).status_code == 404
        assert member_client.delete(f"/notes/{note.id}", headers=stale).status_code == 404


class TestReadAll:
    def test_lists_and_reads_everyones_notes(
        self, login_as: LoginAs, role_factory: RoleFactory, note_factory: NoteFactory
    ) -> None:
        notes = note_factory.create_batch(3)
        client = _login_with(login_as, role_factory, "notes:read", "notes:read_all")

        listed = client.get("/notes").json()["items"]

        assert [item["id"] for item in listed] == [note.id for note in notes]
        assert all(client.get(f"/notes/{note.id}").status_code == 200 for note in notes)

    def test_still_cannot_write_others_notes(
        self,
        login_as: LoginAs,
        role_factory: RoleFactory,
        note_factory: NoteFactory,
        db: SyncDB,
    ) -> None:
        # Readable but not writable: still 404 (another user's note is a 404), so a
        # write never says more than "there is nothing here you may change".
        note: Note = note_factory(title="theirs")
        client = _login_with(login_as, role_factory, "notes:read", "notes:write", "notes:read_all")

        assert client.patch(f"/notes/{note.id}", json={"title": "x"}).status_code == 404
        assert client.delete(f"/notes/{note.id}").status_code == 404
        stored = db.get(Note, note.id)
        assert stored is not None
        assert stored.title == "theirs"


class TestWriteAll:
    def test_edits_and_deletes_anyones_note(
        self, admin_client: SessionaryTestClient, note_factory: NoteFactory, db: SyncDB
    ) -> None:
        first, second = note_factory.create_batch(2)

        patched = admin_client.patch(f"/notes/{first.id}", json={"title": "moderated"})
        assert patched.status_code == 200
        assert patched.json()["title"] == "moderated"
        assert patched.json()["owner_id"] == first.owner_id
        assert admin_client.delete(f"/notes/{second.id}").status_code == 204
        assert db.count(Note) == 1

    def test_custom_role_with_write_all(
        self, login_as: LoginAs, role_factory: RoleFactory, note_factory: NoteFactory
    ) -> None:
        note: Note = note_factory()
        client = _login_with(
            login_as,
            role_factory,
            "notes:read",
            "notes:write",
            "notes:read_all",
            "notes:write_all",
        )

        assert client.patch(f"/notes/{note.id}", json={"body": "b"}).status_code == 200
        assert client.delete(f"/notes/{note.id}").status_code == 204

    def test_write_all_without_read_all_reaches_only_own_notes(
        self, login_as: LoginAs, role_factory: RoleFactory, note_factory: NoteFactory
    ) -> None:
        # A PATCH answers with the whole note: writing must not show what reading would not.
        note: Note = note_factory()
        client = _login_with(login_as, role_factory, "notes:read", "notes:write", "notes:write_all")

        assert client.patch(f"/notes/{note.id}", json={"body": "b"}).status_code == 404
