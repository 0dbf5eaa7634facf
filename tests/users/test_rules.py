"""The rules behind user administration (docs/security.md "Authorization", "Re-authentication"):
no escalation, the last active admin stays, role assignment needs a fresh password."""

from __future__ import annotations

from sessionary.roles.permissions import BUILTIN_ROLES, MEMBER
from sessionary.testing import (
    DEFAULT_PASSWORD,
    ApiKeyClientMaker,
    AuditLog,
    LoginAs,
    RoleFactory,
    SessionaryTestClient,
    UserFactory,
)
from sessionary.users.models import User
from tests.people import NEW_USER_BODY, MakeAdmin, user_id_of

MEMBER_PERMISSIONS = sorted(str(p) for p in BUILTIN_ROLES[MEMBER])


class TestNobodyGrantsAPermissionTheyLack:
    def test_assigning_admin_on_create_is_403(self, manager_client: SessionaryTestClient) -> None:
        response = manager_client.post("/users", json={**NEW_USER_BODY, "roles": ["admin"]})

        assert response.status_code == 403

    def test_assigning_admin_on_update_is_403(
        self, manager_client: SessionaryTestClient, member: User
    ) -> None:
        response = manager_client.patch(f"/users/{member.id}", json={"roles": ["admin"]})

        assert response.status_code == 403

    def test_assigning_roles_within_my_permissions_works(
        self, manager_client: SessionaryTestClient, member: User
    ) -> None:
        created = manager_client.post("/users", json={**NEW_USER_BODY, "roles": ["member"]})
        updated = manager_client.patch(f"/users/{member.id}", json={"roles": []})

        assert created.status_code == 201
        assert updated.status_code == 200
        assert updated.json()["roles"] == []

    def test_setting_roles_without_roles_assign_is_403(
        self, login_as: LoginAs, user_factory: UserFactory, role_factory: RoleFactory
    ) -> None:
        role_factory(name="writer", permissions=["users:write", "notes:read", "notes:write"])
        writer = login_as(user_factory(roles=["writer"]))

        without_roles = writer.post("/users", json=NEW_USER_BODY)
        other = {"username": "dave", "email": "d@example.com", "roles": []}
        with_roles = writer.post("/users", json={**NEW_USER_BODY, **other})

        assert without_roles.status_code == 201
        assert with_roles.status_code == 403


class TestTheDefaultRoleGrantsNothingTheCreatorLacks:
    """No ``roles`` field: ``member`` only when the creator holds all it grants, else none."""

    def test_a_creator_lacking_a_member_permission_makes_a_user_without_roles(
        self,
        login_as: LoginAs,
        user_factory: UserFactory,
        role_factory: RoleFactory,
        client: SessionaryTestClient,
        audit_log: AuditLog,
    ) -> None:
        role_factory(name="writer", permissions=["users:write", "notes:read", "notes:write"])
        writer = login_as(user_factory(roles=["writer"]))

        response = writer.post("/users", json=NEW_USER_BODY)

        assert response.status_code == 201
        assert response.json()["roles"] == []
        login = {"username": "carol", "password": NEW_USER_BODY["password"]}
        assert client.post("/auth/login", json=login).status_code == 200
        assert client.get("/users/me").json()["permissions"] == []
        created = audit_log.assert_recorded("user.created", target=response.json()["user_id"])
        assert created.detail["roles"] == []

    def test_a_creator_holding_every_member_permission_makes_a_member(
        self, login_as: LoginAs, user_factory: UserFactory, role_factory: RoleFactory
    ) -> None:
        role_factory(name="writer", permissions=["users:write", *MEMBER_PERMISSIONS])
        writer = login_as(user_factory(roles=["writer"]))

        response = writer.post("/users", json=NEW_USER_BODY)

        assert response.status_code == 201
        assert response.json()["roles"] == ["member"]

    def test_an_admins_key_scoped_to_users_write_makes_a_user_without_roles(
        self, api_key_client: ApiKeyClientMaker, make_admin: MakeAdmin
    ) -> None:
        keyed = api_key_client(["users:write"], owner=make_admin())

        response = keyed.post("/users", json=NEW_USER_BODY)

        assert response.status_code == 201
        assert response.json()["roles"] == []


class TestNobodyTouchesAUserWhoOutranksThem:
    def test_deactivating_an_admin_is_403(
        self, manager_client: SessionaryTestClient, make_admin: MakeAdmin
    ) -> None:
        admin = make_admin()

        response = manager_client.patch(f"/users/{admin.id}", json={"is_active": False})

        assert response.status_code == 403

    def test_deleting_an_admin_is_403(
        self, manager_client: SessionaryTestClient, make_admin: MakeAdmin
    ) -> None:
        admin = make_admin()

        assert manager_client.delete(f"/users/{admin.id}").status_code == 403

    def test_a_member_may_be_deactivated_and_deleted(
        self, manager_client: SessionaryTestClient, member: User
    ) -> None:
        deactivated = manager_client.patch(f"/users/{member.id}", json={"is_active": False})

        assert deactivated.status_code == 200
        assert manager_client.delete(f"/users/{member.id}").status_code == 204


class TestTheLastActiveAdminStays:
    def test_demoting_them_is_409(self, admin_client: SessionaryTestClient) -> None:
        me = user_id_of(admin_client)

        response = admin_client.patch(f"/users/{me}", json={"roles": ["member"]})

        assert response.status_code == 409
        assert admin_client.get(f"/users/{me}").json()["roles"] == ["admin"]

    def test_deactivating_them_is_409(self, admin_client: SessionaryTestClient) -> None:
        me = user_id_of(admin_client)

        assert admin_client.patch(f"/users/{me}", json={"is_active": False}).status_code == 409

    def test_deleting_them_is_409(self, admin_client: SessionaryTestClient) -> None:
        me = user_id_of(admin_client)

        assert admin_client.delete(f"/users/{me}").status_code == 409

    def test_an_inactive_admin_does_not_count(
        self, admin_client: SessionaryTestClient, user_factory: UserFactory
    ) -> None:
        user_factory(roles=["admin"], is_active=False)
        me = user_id_of(admin_client)

        assert admin_client.delete(f"/users/{me}").status_code == 409

    def test_with_another_active_admin_demotion_works(
        self, admin_client: SessionaryTestClient, make_admin: MakeAdmin
    ) -> None:
        make_admin()
        me = user_id_of(admin_client)

        response = admin_client.patch(f"/users/{me}", json={"roles": ["member"]})

        assert response.status_code == 200
        # The change applies to this very session's next request.
        assert admin_client.get("/users").status_code == 403


class TestRoleAssignmentNeedsAFreshPassword:
    def test_creating_with_roles_on_a_stale_session_is_403(self, login_as: LoginAs) -> None:
        stale = login_as("admin", fresh=False)

        response = stale.post("/users", json={**NEW_USER_BODY, "roles": ["member"]})

        assert response.status_code == 403
        assert response.json() == {"detail": "Reauthentication required"}

    def test_changing_roles_on_a_stale_session_is_403(
        self, login_as: LoginAs, member: User
    ) -> None:
        stale = login_as("admin", fresh=False)

        response = stale.patch(f"/users/{member.id}", json={"roles": ["admin"]})

        assert response.status_code == 403
        assert response.json() == {"detail": "Reauthentication required"}

    def test_other_changes_need_no_fresh_password(self, login_as: LoginAs, member: User) -> None:
        stale = login_as("admin", fresh=False)

        assert stale.post("/users", json=NEW_USER_BODY).status_code == 201
        assert stale.patch(f"/users/{member.id}", json={"is_active": False}).status_code == 200

    def test_reauthenticating_allows_it(self, login_as: LoginAs, member: User) -> None:
        stale = login_as("admin", fresh=False)
        assert stale.post("/auth/reauth", json={"password": DEFAULT_PASSWORD}).status_code == 204

        response = stale.patch(f"/users/{member.id}", json={"roles": ["admin"]})

        assert response.status_code == 200
