"""DELETE /users/{id}: the user's sessions, keys, devices, role assignments and notes go with them
(foreign-key cascades, on both engines); the audit log keeps its rows (docs/security.md
"Authorization", "Audit log")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sessionary import clock
from sessionary.api_keys.models import ApiKey
from sessionary.audit.models import AuditEvent
from sessionary.core.security import hash_token
from sessionary.notes.models import Note
from sessionary.roles.models import UserRole
from sessionary.sessions.models import LoginSession
from sessionary.testing import LoginAs, SessionaryTestClient, SyncDB
from sessionary.users.models import User


def give_note_and_key(db: SyncDB, user: User) -> None:
    async def add(session: AsyncSession) -> None:
        now = clock.now()
        session.add(Note(owner_id=user.id, title="t", body="b", created_at=now, updated_at=now))
        session.add(
            ApiKey(
                owner_id=user.id,
                name="ci",
                prefix="sk_test",
                key_hash=hash_token("not-a-real-key"),
                scopes=["notes:read"],
                created_at=now,
            )
        )

    db.run(add)


class TestDeletingAUser:
    def test_answers_204_and_the_user_is_gone(
        self, admin_client: SessionaryTestClient, member: User, db: SyncDB
    ) -> None:
        assert admin_client.delete(f"/users/{member.id}").status_code == 204

        assert db.get(User, member.id) is None
        assert admin_client.get(f"/users/{member.id}").status_code == 404

    def test_removes_sessions_keys_notes_and_role_assignments(
        self, admin_client: SessionaryTestClient, member: User, db: SyncDB, login_as: LoginAs
    ) -> None:
        browser = login_as(member)
        give_note_and_key(db, member)
        assert db.count(LoginSession, LoginSession.user_id == member.id) == 1

        admin_client.delete(f"/users/{member.id}")

        assert db.count(LoginSession, LoginSession.user_id == member.id) == 0
        assert db.count(ApiKey, ApiKey.owner_id == member.id) == 0
        assert db.count(Note, Note.owner_id == member.id) == 0
        assert db.count(UserRole, UserRole.user_id == member.id) == 0
        assert browser.get("/users/me").status_code == 401

    def test_keeps_the_audit_rows_about_them(
        self, admin_client: SessionaryTestClient, member: User, db: SyncDB
    ) -> None:
        admin_client.patch(f"/users/{member.id}", json={"email": "b2@example.com"})

        admin_client.delete(f"/users/{member.id}")

        kept = db.execute(select(AuditEvent.type).where(AuditEvent.target_id == str(member.id)))
        assert sorted(row.type for row in kept) == ["user.deleted", "user.updated"]

    def test_an_unknown_user_is_404(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.delete("/users/999999").status_code == 404

    def test_a_member_is_refused(self, member_client: SessionaryTestClient, member: User) -> None:
        assert member_client.delete(f"/users/{member.id}").status_code == 403
