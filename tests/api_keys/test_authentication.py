"""Authorization: Bearer <key> — who a key acts as, and when it stops working."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from sessionary.api_keys.models import ApiKey
from sessionary.api_keys.testing import (
    ApiKeyClientMaker,
    ApiKeyFactory,
    AsyncApiKeyClientMaker,
)
from sessionary.roles.models import RolePermission
from sessionary.testing import (
    ApiKeyPrincipal,
    Clock,
    LoginAs,
    RoleFactory,
    Row,
    SessionaryTestClient,
    SyncDB,
    UserFactory,
)
from sessionary.testing.matrix import run_cell
from sessionary.users.models import User


def _me(client: SessionaryTestClient, key: str) -> int:
    return client.get("/users/me", headers={"Authorization": f"Bearer {key}"}).status_code


class TestWhoAKeyActsAs:
    def test_scopes_intersected_with_the_owners_permissions(
        self,
        api_key_factory: ApiKeyFactory,
        user_factory: UserFactory,
        client: SessionaryTestClient,
    ) -> None:
        owner: User = user_factory()  # a member: no users:read
        issued = api_key_factory(owner=owner, scopes=["notes:read", "users:read"])

        body = client.get("/users/me", headers=issued.authorization).json()

        assert body["user_id"] == owner.id
        assert body["permissions"] == ["notes:read"]

    def test_a_permission_taken_from_the_owner_leaves_the_key_at_once(
        self,
        role_factory: RoleFactory,
        user_factory: UserFactory,
        api_key_factory: ApiKeyFactory,
        client: SessionaryTestClient,
        db: SyncDB,
    ) -> None:
        role = role_factory(permissions=["notes:read", "notes:write"])
        owner: User = user_factory(roles=[role.name])
        issued = api_key_factory(owner=owner, scopes=["notes:read", "notes:write"])
        before = client.get("/users/me", headers=issued.authorization).json()
        assert before["permissions"] == ["notes:read", "notes:write"]

        db.execute(
            delete(RolePermission).where(
                RolePermission.role_name == role.name, RolePermission.permission == "notes:write"
            )
        )

        after = client.get("/users/me", headers=issued.authorization).json()
        assert after["permissions"] == ["notes:read"]

    def test_the_key_is_not_fresh_for_reauthenticated_routes(
        self, api_key_client: ApiKeyClientMaker
    ) -> None:
        keyed = api_key_client(["notes:read"])

        response = keyed.patch("/users/me", json={"email": "new@example.com"})

        assert response.status_code == 403
        assert response.json() == {"detail": "Reauthentication required"}

    def test_session_only_routes_refuse_a_key(
        self, api_key_client: ApiKeyClientMaker, login_as: LoginAs, user_factory: UserFactory
    ) -> None:
        owner: User = user_factory()
        login_as(owner)  # a session the key must not be able to see as "current"
        keyed = api_key_client(owner=owner)

        response = keyed.get("/auth/sessions")

        assert response.status_code == 403
        assert response.json() == {"detail": "A cookie session is required"}

    @pytest.mark.anyio
    async def test_async_clients_work_too(
        self, async_api_key_client: AsyncApiKeyClientMaker
    ) -> None:
        keyed = await async_api_key_client(["notes:read"])

        response = await keyed.get("/users/me")

        assert response.status_code == 200
        assert response.json()["permissions"] == ["notes:read"]


class TestUnusableKeys:
    def test_an_expired_key_is_401(
        self, api_key_factory: ApiKeyFactory, client: SessionaryTestClient, clock: Clock
    ) -> None:
        issued = api_key_factory(expires_at=clock.now() + timedelta(hours=1))
        assert _me(client, issued.key) == 200

        clock.advance(hours=1)

        assert _me(client, issued.key) == 401

    @pytest.mark.parametrize(
        "authorization",
        [
            "Bearer sk_" + "A" * 43,  # well-formed, unknown
            "Bearer sk_short",
            "Bearer " + "A" * 43,  # a session-token shape is not a key
            "Bearer ",
            "Bearer",
            "Basic dXNlcjpwYXNz",
            "Token sk_" + "A" * 43,
            "",
        ],
    )
    def test_unknown_malformed_or_other_schemes_are_401(
        self, client: SessionaryTestClient, authorization: str
    ) -> None:
        response = client.get("/users/me", headers={"Authorization": authorization})

        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}

    def test_a_key_of_an_inactive_owner_is_401(
        self, api_key_factory: ApiKeyFactory, client: SessionaryTestClient, db: SyncDB
    ) -> None:
        issued = api_key_factory()

        db.execute(update(User).where(User.id == issued.owner.id).values(is_active=False))

        assert _me(client, issued.key) == 401

    def test_a_revoked_key_is_401(
        self, api_key_factory: ApiKeyFactory, client: SessionaryTestClient, db: SyncDB, clock: Clock
    ) -> None:
        issued = api_key_factory()

        db.execute(update(ApiKey).where(ApiKey.id == issued.id).values(revoked_at=clock.now()))

        assert _me(client, issued.key) == 401

    def test_the_scheme_name_is_case_insensitive(
        self, api_key_factory: ApiKeyFactory, client: SessionaryTestClient
    ) -> None:
        issued = api_key_factory()

        response = client.get("/users/me", headers={"Authorization": f"bearer {issued.key}"})

        assert response.status_code == 200


class TestLastUsed:
    def test_written_at_most_once_a_minute(
        self, api_key_factory: ApiKeyFactory, client: SessionaryTestClient, clock: Clock, db: SyncDB
    ) -> None:
        issued = api_key_factory()

        def last_used() -> object:
            return db.scalar(select(ApiKey.last_used_at).where(ApiKey.id == issued.id))

        assert last_used() is None
        assert _me(client, issued.key) == 200
        first = last_used()
        assert first is not None
        clock.advance(seconds=59)
        assert _me(client, issued.key) == 200
        assert last_used() == first
        clock.advance(seconds=1)
        assert _me(client, issued.key) == 200
        assert last_used() == clock.now()


class TestAuthorizationHeaderAlone:
    def test_a_valid_cookie_with_a_bad_bearer_is_401(
        self, member_client: SessionaryTestClient
    ) -> None:
        response = member_client.get(
            "/users/me", headers={"Authorization": "Bearer sk_" + "A" * 43}
        )

        assert response.status_code == 401

    def test_a_key_beside_a_cookie_acts_as_the_key(
        self, login_as: LoginAs, api_key_factory: ApiKeyFactory
    ) -> None:
        admin = login_as("admin")
        issued = api_key_factory(owner=admin.user, scopes=["notes:read"])

        body = admin.get("/users/me", headers=issued.authorization).json()

        assert body["permissions"] == ["notes:read"]

    def test_cross_site_bearer_requests_are_exempt_from_csrf(
        self, api_key_client: ApiKeyClientMaker, api_key_factory: ApiKeyFactory
    ) -> None:
        keyed = api_key_client(["api_keys:write"])
        sibling = api_key_factory(owner=keyed.user)

        response = keyed.cross_site().delete(f"/api-keys/{sibling.id}")

        assert response.status_code == 204

    def test_cross_site_cookie_requests_are_still_refused(
        self, member_client: SessionaryTestClient, api_key_factory: ApiKeyFactory
    ) -> None:
        mine = api_key_factory(owner=member_client.user)

        response = member_client.cross_site().delete(f"/api-keys/{mine.id}")

        assert response.status_code == 403


class TestToolkit:
    def test_matrix_api_key_principals_and_objects(self, request: pytest.FixtureRequest) -> None:
        run_cell(request, Row("GET", "/users/me", 200), ApiKeyPrincipal("notes:read"), 200)
        run_cell(
            request,
            Row("DELETE", "/api-keys/{own_api_key}", 204),
            ApiKeyPrincipal("api_keys:write"),
            204,
        )
        run_cell(
            request,
            Row("DELETE", "/api-keys/{other_api_key}", 404),
            ApiKeyPrincipal("api_keys:write"),
            404,
        )
        run_cell(request, Row("GET", "/api-keys", 403), ApiKeyPrincipal("notes:read"), 403)

    def test_the_default_owner_holds_exactly_the_scopes(
        self, api_key_client: ApiKeyClientMaker
    ) -> None:
        keyed = api_key_client(["notes:read", "audit:read"])

        body = keyed.get("/users/me").json()

        assert body["permissions"] == ["audit:read", "notes:read"]
        assert keyed.user.id == body["user_id"]

    def test_openapi_declares_the_bearer_scheme(self, client: SessionaryTestClient) -> None:
        schema = client.get("/openapi.json").json()

        assert schema["components"]["securitySchemes"]["ApiKey"] == {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Bearer sk_…`",
        }
        assert {"ApiKey": []} in schema["paths"]["/users/me"]["get"]["security"]
