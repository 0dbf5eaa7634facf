"""GET /users/me and the seed-compatible GET /protected_data/."""

from datetime import datetime

from fastapi.testclient import TestClient

from sessionary.roles.permissions import Permission
from sessionary.testing import ApiKeyClientMaker, LoginAs, QueryCounter, UserFactory
from sessionary.users.models import User


class TestUsersMe:
    def test_member_sees_own_profile_roles_and_permissions(self, member_client: TestClient) -> None:
        response = member_client.get("/users/me")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {
            "user_id",
            "username",
            "email",
            "email_verified",
            "roles",
            "permissions",
            "is_active",
            "created_at",
        }
        assert body["username"] == member_client.user.username  # type: ignore[attr-defined]
        assert body["email_verified"] is True  # the factory's users are, unless told
        assert body["roles"] == ["member"]
        assert body["permissions"] == ["api_keys:write", "notes:read", "notes:write"]
        assert body["is_active"] is True
        assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None

    def test_admin_holds_every_permission(self, admin_client: TestClient) -> None:
        body = admin_client.get("/users/me").json()

        assert body["roles"] == ["admin"]
        assert body["permissions"] == sorted(p.value for p in Permission)

    def test_anonymous_is_401(self, client: TestClient) -> None:
        response = client.get("/users/me")

        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}

    def test_hot_path_is_one_query(
        self, member_client: TestClient, assert_num_queries: QueryCounter
    ) -> None:
        with assert_num_queries(1):
            assert member_client.get("/users/me").status_code == 200
            assert member_client.get("/protected_data/").status_code == 200

    def test_bearer_hot_path_is_one_query(
        self,
        api_key_client: ApiKeyClientMaker,
        assert_num_queries: QueryCounter,
    ) -> None:
        keyed = api_key_client(["notes:read"])
        keyed.get("/users/me")  # the first use records last_used_at (once a minute at most)

        with assert_num_queries(1):
            assert keyed.get("/users/me").status_code == 200
            assert keyed.get("/protected_data/").status_code == 200


class TestProtectedData:
    def test_returns_the_seed_shape(self, login_as: LoginAs, user_factory: UserFactory) -> None:
        alice: User = user_factory(username="alice", email="alice@example.com")

        response = login_as(alice).get("/protected_data/")

        assert response.status_code == 200
        assert response.json() == {
            "user_id": alice.id,
            "username": "alice",
            "email": "alice@example.com",
        }
