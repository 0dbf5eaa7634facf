"""POST/GET/DELETE /api-keys: issuing, listing and revoking my keys."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sessionary.api_keys.models import ApiKey
from sessionary.testing import (
    ApiKeyClientMaker,
    ApiKeyFactory,
    AuditLog,
    Clock,
    LoginAs,
    SessionaryTestClient,
    SyncDB,
)

CREATED_FIELDS = {"id", "key", "prefix", "name", "scopes", "expires_at", "created_at"}
LISTED_FIELDS = {"id", "name", "prefix", "scopes", "expires_at", "created_at", "last_used_at"}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class TestCreate:
    def test_a_fresh_session_gets_the_key_once_and_only_its_hash_is_stored(
        self, member_client: SessionaryTestClient, db: SyncDB
    ) -> None:
        response = member_client.post("/api-keys", json={"name": "ci", "scopes": ["notes:read"]})

        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == CREATED_FIELDS
        assert body["name"] == "ci"
        assert body["scopes"] == ["notes:read"]
        assert body["expires_at"] is None
        assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
        key = body["key"]
        assert key.startswith("sk_")
        assert len(key) == 46  # sk_ + 256 bits, URL-safe
        assert body["prefix"] == key[:11]
        row = db.get(ApiKey, body["id"])
        assert row is not None
        assert row.key_hash == hashlib.sha256(key.encode()).digest()
        assert row.owner_id == member_client.user.id
        listing = member_client.get("/api-keys")
        assert key not in listing.text
        assert [item["id"] for item in listing.json()["items"]] == [body["id"]]

    def test_the_new_key_acts_with_its_scopes(
        self, member_client: SessionaryTestClient, client: SessionaryTestClient
    ) -> None:
        key = member_client.post(
            "/api-keys", json={"name": "reader", "scopes": ["notes:read"]}
        ).json()["key"]

        response = client.get("/users/me", headers=_bearer(key))

        assert response.status_code == 200
        body = response.json()
        assert body["username"] == member_client.user.username
        assert body["roles"] == ["member"]
        assert body["permissions"] == ["notes:read"]

    def test_an_expiry_in_the_future_is_kept_in_utc(
        self, member_client: SessionaryTestClient, clock: Clock
    ) -> None:
        expires = (clock.now() + timedelta(days=30)).astimezone(timezone(timedelta(hours=2)))

        response = member_client.post(
            "/api-keys", json={"name": "k", "scopes": [], "expires_at": expires.isoformat()}
        )

        assert response.status_code == 201, response.text
        stored = datetime.fromisoformat(response.json()["expires_at"])
        assert stored == expires
        assert stored.utcoffset() == timedelta(0)

    def test_creation_is_audited_without_the_key(
        self, member_client: SessionaryTestClient, audit_log: AuditLog
    ) -> None:
        body = member_client.post(
            "/api-keys", json={"name": "ci", "scopes": ["notes:write"]}
        ).json()

        event = audit_log.assert_recorded(
            "api_key.created",
            actor=member_client.user,
            target=body["id"],
        )
        assert event.target_type == "api_key"
        assert event.detail == {"name": "ci", "scopes": ["notes:write"]}
        assert body["key"] not in str(event.detail)

    def test_a_scope_the_creator_lacks_is_403(
        self, member_client: SessionaryTestClient, db: SyncDB
    ) -> None:
        response = member_client.post(
            "/api-keys", json={"name": "k", "scopes": ["notes:read", "users:read"]}
        )

        assert response.status_code == 403
        assert db.count(ApiKey) == 0

    def test_an_unknown_scope_is_422(self, member_client: SessionaryTestClient) -> None:
        response = member_client.post("/api-keys", json={"name": "k", "scopes": ["notes:fly"]})

        assert response.status_code == 422
        assert "notes:fly" not in response.text

    def test_bad_bodies_are_422(self, member_client: SessionaryTestClient, clock: Clock) -> None:
        past = (clock.now() - timedelta(seconds=1)).isoformat()
        naive = (clock.now() + timedelta(days=1)).replace(tzinfo=None).isoformat()
        for body in (
            {"name": "", "scopes": []},
            {"name": "x" * 101, "scopes": []},
            {"name": "k"},
            {"name": "k", "scopes": [], "expires_at": past},
            {"name": "k", "scopes": [], "expires_at": naive},
            {"name": "k", "scopes": [], "owner_id": 1},
        ):
            assert member_client.post("/api-keys", json=body).status_code == 422, body

    def test_a_bearer_caller_must_reauthenticate(
        self, api_key_client: ApiKeyClientMaker, db: SyncDB
    ) -> None:
        keyed = api_key_client(["api_keys:write", "notes:read"])

        response = keyed.post("/api-keys", json={"name": "k", "scopes": ["notes:read"]})

        assert response.status_code == 403
        assert response.json() == {"detail": "Reauthentication required"}
        assert db.count(ApiKey) == 1

    def test_a_stale_session_must_reauthenticate(self, login_as: LoginAs) -> None:
        stale = login_as("member", fresh=False)

        response = stale.post("/api-keys", json={"name": "k", "scopes": []})

        assert response.status_code == 403
        assert response.json() == {"detail": "Reauthentication required"}

    def test_without_api_keys_write_is_403(
        self, login_as: LoginAs, client: SessionaryTestClient
    ) -> None:
        assert (
            login_as("admin").post("/api-keys", json={"name": "k", "scopes": []}).status_code == 201
        )
        assert client.post("/api-keys", json={"name": "k", "scopes": []}).status_code == 401


class TestList:
    def test_lists_my_unrevoked_keys_by_id_without_secrets(
        self,
        member_client: SessionaryTestClient,
        api_key_factory: ApiKeyFactory,
    ) -> None:
        me = member_client.user
        first = api_key_factory(owner=me, scopes=["notes:read"], name="first")
        second = api_key_factory(owner=me, name="second")
        revoked = api_key_factory(owner=me)
        api_key_factory()  # someone else's
        assert member_client.delete(f"/api-keys/{revoked.id}").status_code == 204

        response = member_client.get("/api-keys")

        assert response.status_code == 200
        body = response.json()
        assert body["next_offset"] is None
        assert [item["id"] for item in body["items"]] == [first.id, second.id]
        item = body["items"][0]
        assert set(item) == LISTED_FIELDS
        assert item["name"] == "first"
        assert item["prefix"] == first.key[:11]
        assert item["scopes"] == ["notes:read"]
        assert item["last_used_at"] is None
        assert first.key not in response.text

    def test_is_paginated(
        self, member_client: SessionaryTestClient, api_key_factory: ApiKeyFactory
    ) -> None:
        me = member_client.user
        keys = api_key_factory.create_batch(3, owner=me)

        page = member_client.get("/api-keys", params={"limit": 2}).json()
        rest = member_client.get("/api-keys", params={"limit": 2, "offset": 2}).json()

        assert [item["id"] for item in page["items"]] == [keys[0].id, keys[1].id]
        assert page["next_offset"] == 2
        assert [item["id"] for item in rest["items"]] == [keys[2].id]
        assert rest["next_offset"] is None
        assert member_client.get("/api-keys", params={"limit": 101}).status_code == 422

    def test_shows_last_used_at(
        self, member_client: SessionaryTestClient, api_key_factory: ApiKeyFactory, clock: Clock
    ) -> None:
        issued = api_key_factory(owner=member_client.user)
        member_client.get("/users/me", headers=_bearer(issued.key))

        item = member_client.get("/api-keys").json()["items"][0]

        assert abs(datetime.fromisoformat(item["last_used_at"]) - clock.now()) < timedelta(
            seconds=1
        )


class TestRevoke:
    def test_revoking_my_key_stops_it_and_is_audited(
        self, member_client: SessionaryTestClient, client: SessionaryTestClient, audit_log: AuditLog
    ) -> None:
        key = member_client.post("/api-keys", json={"name": "k", "scopes": []}).json()
        assert client.get("/users/me", headers=_bearer(key["key"])).status_code == 200

        response = member_client.delete(f"/api-keys/{key['id']}")

        assert response.status_code == 204
        assert client.get("/users/me", headers=_bearer(key["key"])).status_code == 401
        audit_log.assert_recorded(
            "api_key.revoked",
            actor=member_client.user,
            target=key["id"],
        )
        assert member_client.delete(f"/api-keys/{key['id']}").status_code == 404

    def test_another_users_key_is_404_and_keeps_working(
        self,
        member_client: SessionaryTestClient,
        api_key_factory: ApiKeyFactory,
        client: SessionaryTestClient,
    ) -> None:
        theirs = api_key_factory(scopes=["notes:read"])

        assert member_client.delete(f"/api-keys/{theirs.id}").status_code == 404
        assert member_client.delete("/api-keys/999999").status_code == 404
        assert client.get("/users/me", headers=theirs.authorization).status_code == 200

    def test_a_key_with_api_keys_write_may_revoke_its_owners_keys(
        self, api_key_client: ApiKeyClientMaker, api_key_factory: ApiKeyFactory, audit_log: AuditLog
    ) -> None:
        keyed = api_key_client(["api_keys:write"])
        sibling = api_key_factory(owner=keyed.user)

        assert keyed.delete(f"/api-keys/{sibling.id}").status_code == 204
        event = audit_log.assert_recorded("api_key.revoked", target=sibling.id)
        assert event.actor_api_key_id == keyed.api_key.id
        assert event.actor_user_id == keyed.user.id
