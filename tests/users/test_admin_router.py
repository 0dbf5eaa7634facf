"""GET/POST/PATCH/DELETE /users: the administrator's view of accounts (docs/security.md
"Authorization")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sessionary.roles.models import UserRole
from sessionary.testing import DEFAULT_PASSWORD, LoginAs, SessionaryTestClient, SyncDB, UserFactory
from sessionary.users.models import User
from tests.people import NEW_USER_BODY

USER_FIELDS = {
    "user_id",
    "username",
    "email",
    "email_verified",
    "roles",
    "is_active",
    "created_at",
}
NEW_USER = NEW_USER_BODY


def roles_of(db: SyncDB, user_id: int) -> list[str]:
    rows = db.execute(select(UserRole.role_name).where(UserRole.user_id == user_id))
    return sorted(row.role_name for row in rows)


class TestListingUsers:
    def test_pages_by_id_with_the_exact_shape(
        self, admin_client: SessionaryTestClient, user_factory: UserFactory
    ) -> None:
        user_factory.create_batch(3)

        first = admin_client.get("/users", params={"limit": 2}).json()
        second = admin_client.get("/users", params={"limit": 2, "offset": 2}).json()

        assert first["next_offset"] == 2
        assert second["next_offset"] is None
        ids = [user["user_id"] for user in first["items"] + second["items"]]
        assert ids == sorted(ids)
        assert len(ids) == 4
        assert all(set(user) == USER_FIELDS for user in first["items"])
        assert first["items"][0]["roles"] == ["admin"]

    @pytest.mark.parametrize("limit", [0, 101])
    def test_a_limit_outside_1_to_100_is_422(
        self, admin_client: SessionaryTestClient, limit: int
    ) -> None:
        assert admin_client.get("/users", params={"limit": limit}).status_code == 422

    def test_a_member_is_refused(self, member_client: SessionaryTestClient) -> None:
        assert member_client.get("/users").status_code == 403


class TestReadingOneUser:
    def test_answers_the_user_with_roles(
        self, admin_client: SessionaryTestClient, member: User
    ) -> None:
        body = admin_client.get(f"/users/{member.id}").json()

        assert body["username"] == "bob"
        assert body["roles"] == ["member"]
        assert set(body) == USER_FIELDS

    def test_an_unknown_user_is_404(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.get("/users/999999").status_code == 404


class TestCreatingUsers:
    def test_without_roles_makes_a_member(
        self, admin_client: SessionaryTestClient, db: SyncDB
    ) -> None:
        response = admin_client.post("/users", json=NEW_USER)

        assert response.status_code == 201
        body = response.json()
        assert set(body) == USER_FIELDS
        assert body["username"] == "Carol"
        assert body["roles"] == ["member"]
        assert body["is_active"] is True
        assert roles_of(db, body["user_id"]) == ["member"]

    def test_with_roles_assigns_them(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.post("/users", json={**NEW_USER, "roles": ["admin", "member"]})

        assert response.status_code == 201
        assert response.json()["roles"] == ["admin", "member"]

    def test_the_new_user_can_log_in(
        self, admin_client: SessionaryTestClient, client: SessionaryTestClient
    ) -> None:
        admin_client.post("/users", json=NEW_USER)

        login = {"username": "carol", "password": NEW_USER["password"]}
        assert client.post("/auth/login", json=login).status_code == 200


class TestCreatingConflicts:
    def test_a_username_taken_case_insensitively_is_409(
        self, admin_client: SessionaryTestClient, member: User
    ) -> None:
        body = {**NEW_USER, "username": "BOB"}

        assert admin_client.post("/users", json=body).status_code == 409

    def test_an_email_taken_case_insensitively_is_409(
        self, admin_client: SessionaryTestClient, member: User
    ) -> None:
        body = {**NEW_USER, "email": "Bob@Example.com"}

        assert admin_client.post("/users", json=body).status_code == 409


class TestCreatingInvalidUsers:
    def test_an_unknown_role_is_422(self, admin_client: SessionaryTestClient, db: SyncDB) -> None:
        response = admin_client.post("/users", json={**NEW_USER, "roles": ["wizard"]})

        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"type": "value_error", "loc": ["body", "roles"], "msg": "Unknown role: wizard"}
        ]
        assert db.count(User, User.username == "Carol") == 0

    def test_a_common_password_is_422(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.post("/users", json={**NEW_USER, "password": "password123"})

        assert response.status_code == 422

    def test_an_unlisted_field_is_422(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.post("/users", json={**NEW_USER, "is_active": False})

        assert response.status_code == 422

    def test_a_member_is_refused(self, member_client: SessionaryTestClient) -> None:
        assert member_client.post("/users", json=NEW_USER).status_code == 403


class TestUpdatingUsers:
    def test_changes_the_email(self, admin_client: SessionaryTestClient, member: User) -> None:
        response = admin_client.patch(f"/users/{member.id}", json={"email": "b@new.example"})

        assert response.status_code == 200
        assert response.json()["email"] == "b@new.example"
        assert set(response.json()) == USER_FIELDS

    def test_replaces_the_roles(
        self, admin_client: SessionaryTestClient, member: User, db: SyncDB
    ) -> None:
        response = admin_client.patch(f"/users/{member.id}", json={"roles": ["admin"]})

        assert response.status_code == 200
        assert response.json()["roles"] == ["admin"]
        assert roles_of(db, member.id) == ["admin"]

    def test_an_email_another_user_has_is_409(
        self, admin_client: SessionaryTestClient, member: User, user_factory: UserFactory
    ) -> None:
        other = user_factory(email="other@example.com")

        response = admin_client.patch(f"/users/{member.id}", json={"email": other.email})

        assert response.status_code == 409

    @pytest.mark.parametrize("field", ["username", "password", "created_at", "user_id"])
    def test_any_other_field_is_422(
        self, admin_client: SessionaryTestClient, member: User, field: str
    ) -> None:
        response = admin_client.patch(f"/users/{member.id}", json={field: "x"})

        assert response.status_code == 422

    def test_an_unknown_role_is_422(self, admin_client: SessionaryTestClient, member: User) -> None:
        response = admin_client.patch(f"/users/{member.id}", json={"roles": ["wizard"]})

        assert response.status_code == 422

    def test_an_unknown_user_is_404(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.patch("/users/999999", json={"is_active": False}).status_code == 404


class TestDeactivating:
    def test_revokes_every_session_at_once(
        self, admin_client: SessionaryTestClient, member: User, login_as: LoginAs
    ) -> None:
        browser, phone = login_as(member), login_as(member)

        response = admin_client.patch(f"/users/{member.id}", json={"is_active": False})

        assert response.status_code == 200
        assert response.json()["is_active"] is False
        assert browser.get("/users/me").status_code == 401
        assert phone.get("/users/me").status_code == 401

    def test_the_user_cannot_log_in_until_reactivated(
        self, admin_client: SessionaryTestClient, member: User, client: SessionaryTestClient
    ) -> None:
        login = {"username": "bob", "password": DEFAULT_PASSWORD}
        admin_client.patch(f"/users/{member.id}", json={"is_active": False})

        assert client.post("/auth/login", json=login).status_code == 401

        admin_client.patch(f"/users/{member.id}", json={"is_active": True})
        assert client.post("/auth/login", json=login).status_code == 200


class TestRoleChangesTakeEffectAtOnce:
    def test_a_granted_role_works_on_the_users_next_request(
        self, admin_client: SessionaryTestClient, member: User, login_as: LoginAs
    ) -> None:
        browser = login_as(member)
        assert browser.get("/users").status_code == 403

        admin_client.patch(f"/users/{member.id}", json={"roles": ["member", "admin"]})

        assert browser.get("/users").status_code == 200

    def test_a_removed_role_stops_working_on_the_users_next_request(
        self, admin_client: SessionaryTestClient, login_as: LoginAs, user_factory: UserFactory
    ) -> None:
        other_admin = user_factory(roles=["admin"])
        browser = login_as(other_admin)
        assert browser.get("/users").status_code == 200

        admin_client.patch(f"/users/{other_admin.id}", json={"roles": ["member"]})

        assert browser.get("/users").status_code == 403
