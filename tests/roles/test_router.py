"""GET/POST/PATCH/DELETE /roles: custom permission sets (docs/security.md "Authorization").

Decisions: roles have no id, so ``GET /roles`` is ordered by name; ``admin`` is immutable
and built-in roles are undeletable, both answered 409 (the caller may write roles, the
role's state forbids it)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sessionary.roles.models import Role, UserRole
from sessionary.testing import LoginAs, RoleFactory, SessionaryTestClient, SyncDB, UserFactory
from sessionary.users.models import User

ROLE_FIELDS = {"name", "permissions", "builtin"}


@pytest.fixture
def role_writer(
    login_as: LoginAs, role_factory: RoleFactory, user_factory: UserFactory
) -> SessionaryTestClient:
    """Holds roles:read/roles:write and the member set, but not audit:read."""
    role_factory(
        name="role-writer",
        permissions=["roles:read", "roles:write", "notes:read", "notes:write", "api_keys:write"],
    )
    return login_as(user_factory(roles=["role-writer"]))


class TestListingRoles:
    def test_shows_the_builtin_roles_by_name(
        self, admin_client: SessionaryTestClient, role_factory: RoleFactory
    ) -> None:
        role_factory(name="auditor", permissions=["audit:read"])

        body = admin_client.get("/roles").json()

        names = [role["name"] for role in body["items"]]
        assert names == sorted(names)
        by_name = {role["name"]: role for role in body["items"]}
        assert by_name["member"] == {
            "name": "member",
            "permissions": ["api_keys:write", "notes:read", "notes:write"],
            "builtin": True,
        }
        assert by_name["admin"]["builtin"] is True
        assert by_name["auditor"] == {
            "name": "auditor",
            "permissions": ["audit:read"],
            "builtin": False,
        }

    def test_pages(self, admin_client: SessionaryTestClient) -> None:
        body = admin_client.get("/roles", params={"limit": 1}).json()

        assert len(body["items"]) == 1
        assert body["next_offset"] == 1

    def test_a_limit_over_100_is_422(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.get("/roles", params={"limit": 101}).status_code == 422

    def test_a_member_is_refused(self, member_client: SessionaryTestClient) -> None:
        assert member_client.get("/roles").status_code == 403


class TestCreatingRoles:
    def test_answers_201_with_the_role(self, admin_client: SessionaryTestClient) -> None:
        body = {"name": "auditor", "permissions": ["audit:read", "users:read"]}

        response = admin_client.post("/roles", json=body)

        assert response.status_code == 201
        assert response.json() == {**body, "builtin": False}
        assert set(response.json()) == ROLE_FIELDS

    def test_an_existing_name_is_409(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.post("/roles", json={"name": "member", "permissions": []})

        assert response.status_code == 409

    def test_an_unknown_permission_is_422(
        self, admin_client: SessionaryTestClient, db: SyncDB
    ) -> None:
        response = admin_client.post("/roles", json={"name": "x", "permissions": ["moon:land"]})

        assert response.status_code == 422
        assert db.count(Role, Role.name == "x") == 0

    @pytest.mark.parametrize("name", ["Auditor", "1st", "", "a" * 65, "has space"])
    def test_a_bad_name_is_422(self, admin_client: SessionaryTestClient, name: str) -> None:
        response = admin_client.post("/roles", json={"name": name, "permissions": []})

        assert response.status_code == 422

    def test_granting_a_permission_i_lack_is_403(
        self, role_writer: SessionaryTestClient, db: SyncDB
    ) -> None:
        body = {"name": "auditor", "permissions": ["audit:read"]}

        assert role_writer.post("/roles", json=body).status_code == 403
        assert db.count(Role, Role.name == "auditor") == 0

    def test_granting_permissions_i_hold_works(self, role_writer: SessionaryTestClient) -> None:
        body = {"name": "reader", "permissions": ["notes:read"]}

        assert role_writer.post("/roles", json=body).status_code == 201


class TestUpdatingRoles:
    def test_admin_is_immutable(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.patch("/roles/admin", json={"permissions": ["notes:read"]})

        assert response.status_code == 409
        assert len(admin_client.get("/users/me").json()["permissions"]) > 1

    def test_member_is_editable_and_members_see_it_at_once(
        self, admin_client: SessionaryTestClient, member_client: SessionaryTestClient
    ) -> None:
        wanted = ["api_keys:write", "notes:read", "notes:read_all", "notes:write"]

        response = admin_client.patch("/roles/member", json={"permissions": wanted})

        assert response.status_code == 200
        assert response.json() == {"name": "member", "permissions": wanted, "builtin": True}
        assert member_client.get("/users/me").json()["permissions"] == wanted

    def test_a_custom_role_is_replaced(
        self, admin_client: SessionaryTestClient, role_factory: RoleFactory
    ) -> None:
        role_factory(name="auditor", permissions=["audit:read"])

        response = admin_client.patch("/roles/auditor", json={"permissions": ["users:read"]})

        assert response.json()["permissions"] == ["users:read"]

    def test_an_unknown_role_is_404(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.patch("/roles/nope", json={"permissions": []}).status_code == 404

    def test_an_unknown_permission_is_422(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.patch("/roles/member", json={"permissions": ["moon:land"]})

        assert response.status_code == 422

    def test_adding_a_permission_i_lack_is_403(self, role_writer: SessionaryTestClient) -> None:
        wanted = ["api_keys:write", "audit:read", "notes:read", "notes:write"]

        assert role_writer.patch("/roles/member", json={"permissions": wanted}).status_code == 403

    def test_an_unlisted_field_is_422(self, admin_client: SessionaryTestClient) -> None:
        response = admin_client.patch("/roles/member", json={"permissions": [], "name": "x"})

        assert response.status_code == 422


class TestDeletingRoles:
    @pytest.mark.parametrize("name", ["admin", "member"])
    def test_builtin_roles_are_undeletable(
        self, admin_client: SessionaryTestClient, db: SyncDB, name: str
    ) -> None:
        assert admin_client.delete(f"/roles/{name}").status_code == 409
        assert db.count(Role, Role.name == name) == 1

    def test_a_custom_role_goes_with_its_assignments(
        self,
        admin_client: SessionaryTestClient,
        role_factory: RoleFactory,
        user_factory: UserFactory,
        db: SyncDB,
    ) -> None:
        role_factory(name="auditor", permissions=["audit:read"])
        holder: User = user_factory(roles=["member", "auditor"])

        assert admin_client.delete("/roles/auditor").status_code == 204

        assert db.count(Role, Role.name == "auditor") == 0
        rows = db.execute(select(UserRole.role_name).where(UserRole.user_id == holder.id))
        assert [row.role_name for row in rows] == ["member"]

    def test_its_holders_lose_it_on_their_next_request(
        self,
        admin_client: SessionaryTestClient,
        role_factory: RoleFactory,
        user_factory: UserFactory,
        login_as: LoginAs,
    ) -> None:
        role_factory(name="auditor", permissions=["audit:read"])
        browser = login_as(user_factory(roles=["auditor"]))
        assert browser.get("/audit-events").status_code == 200

        admin_client.delete("/roles/auditor")

        assert browser.get("/audit-events").status_code == 403

    def test_an_unknown_role_is_404(self, admin_client: SessionaryTestClient) -> None:
        assert admin_client.delete("/roles/nope").status_code == 404
